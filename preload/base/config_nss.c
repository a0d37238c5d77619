/* fastres: the hosts line of nsswitch.conf (see config_int.h). */
#include "base/config_int.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

/* One hosts line as glibc 2.36's nss_action_parse reads it: sources
 * separated by white space, each optionally followed by
 * [[!]STATUS=ACTION ...] (statuses SUCCESS NOTFOUND UNAVAIL TRYAGAIN,
 * actions RETURN CONTINUE MERGE, any case). What fastres follows: "files
 * dns" and "dns" as before; with other sources (NSS modules it calls,
 * nssmod.h), files and dns at most once each and with default actions, no
 * MERGE. 0 when the line is taken, else c->punt is set. */
/* The word at *sp (up to white space, '=' or ']'), matched without case
 * against words[0..n): its index, or -1; *sp moves past it. */
static int config_word(char **sp, const char *const *words, int n)
{
    char *s = *sp;
    const char *w = s;
    while (*s && !isspace((unsigned char)*s) && *s != '=' && *s != ']')
        s++;
    size_t len = (size_t)(s - w);
    *sp = s;
    for (int i = 0; i < n; i++)
        if (strlen(words[i]) == len && !strncasecmp(w, words[i], len))
            return i;
    return -1;
}

/* A source's "[!STATUS=ACTION ...]" from just after its '[' to just after
 * its ']', into e->ret. -1 for what glibc would not parse, and for MERGE
 * (not for hosts) or a bracket left open (glibc reads past the end). */
static int config_parse_actions(char **sp, struct fr_nss_source *e)
{
    /* In FR_NSS_ST_* order. */
    static const char *const statuses[FR_NSS_NST] = { "TRYAGAIN", "UNAVAIL", "NOTFOUND", "SUCCESS" };
    static const char *const actions[] = { "CONTINUE", "RETURN" };   /* index = e->ret value */
    char *s = *sp + 1;
    do {
        s += strspn(s, " \t\r\n\v\f");
        int not = *s == '!';
        if (not)
            s++;
        int idx = config_word(&s, statuses, FR_NSS_NST);
        if (idx < 0)
            return -1;
        s += strspn(s, " \t\r\n\v\f");
        if (*s != '=')
            return -1;
        s++;
        s += strspn(s, " \t\r\n\v\f");
        int ret = config_word(&s, actions, 2);
        if (ret < 0)
            return -1;
        if (not) {
            for (int k = 0; k < FR_NSS_NST; k++)
                if (k != idx)
                    e->ret[k] = (unsigned char)ret;
        } else {
            e->ret[idx] = (unsigned char)ret;
        }
        s += strspn(s, " \t\r\n\v\f");
        if (!*s)
            return -1;
    } while (*s != ']');
    *sp = s + 1;
    return 0;
}

static int config_parse_hosts_line(struct fr_config *c, char *s)
{
    unsigned n = 0, nfiles = 0, ndns = 0, nmod = 0;
    struct fr_nss_source src[FR_NSS_MAX];
    for (;;) {
        s += strspn(s, " \t\r\n\v\f");
        if (!*s)
            break;
        const char *name = s;
        while (*s && !isspace((unsigned char)*s) && *s != '[')
            s++;
        size_t nl = (size_t)(s - name);
        if (n == FR_NSS_MAX || nl == 0 || nl >= FR_NSS_NAME_MAX)
            goto punt;
        struct fr_nss_source *e = &src[n++];
        memset(e, 0, sizeof *e);
        memcpy(e->name, name, nl);
        e->ret[FR_NSS_ST_SUCCESS] = 1;
        for (size_t i = 0; i < nl; i++)
            if (!isalnum((unsigned char)name[i]) && name[i] != '_' && name[i] != '-')
                goto punt;   /* not a file name fastres will build */
        if (!strcmp(e->name, "files"))
            e->kind = FR_NSS_FILES, nfiles++;
        else if (!strcmp(e->name, "dns"))
            e->kind = FR_NSS_DNS, ndns++;
        else
            e->kind = FR_NSS_MODULE, nmod++;
        s += strspn(s, " \t\r\n\v\f");
        if (*s != '[')
            continue;
        if (config_parse_actions(&s, e) != 0)
            goto punt;
        /* files and dns: fastres reproduces their default actions only. */
        if (e->kind != FR_NSS_MODULE &&
            (e->ret[FR_NSS_ST_SUCCESS] != 1 || e->ret[FR_NSS_ST_NOTFOUND] || e->ret[FR_NSS_ST_UNAVAIL] ||
             e->ret[FR_NSS_ST_TRYAGAIN]))
            goto punt;
    }
    if (n == 0)
        goto punt;
    if (nmod == 0) {
        if (n == 2 && nfiles == 1 && ndns == 1 && src[0].kind == FR_NSS_FILES) {
            c->hosts_first = 1;
            return 0;
        }
        if (n == 1 && ndns == 1) {
            c->hosts_first = 0;
            return 0;
        }
        goto punt;
    }
    if (nfiles > 1 || ndns > 1)
        goto punt;
    for (unsigned i = 0; i < n; i++)
        if (src[i].kind == FR_NSS_MODULE && !src[i].ret[FR_NSS_ST_SUCCESS])
            goto punt;   /* [SUCCESS=continue]: results of several sources */
    memcpy(c->nss, src, n * sizeof src[0]);
    c->nss_n = n;
    c->nss_nmodules = nmod;
    return 0;
punt:
    c->punt = "nsswitch.conf hosts line fastres does not follow";
    return -1;
}

/* nsswitch.conf: the first hosts line (config_parse_hosts_line). */
void fr_config_nsswitch_parse(struct fr_config *c, const char *text)
{
    if (!text) {
        /* glibc's built-in default is "dns [!UNAVAIL=return] files". */
        c->punt = "no nsswitch.conf";
        return;
    }
    const char *p = text;
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        char line[1024];
        if (len >= sizeof line)
            len = sizeof line - 1;
        memcpy(line, p, len);
        line[len] = '\0';
        p += len + (eol ? 1 : 0);
        char *s = line + strspn(line, " \t");
        if (strncmp(s, "hosts", 5) != 0)
            continue;
        s += 5;
        s += strspn(s, " \t");
        if (*s != ':')
            continue;
        s++;
        char *hash = strchr(s, '#');
        if (hash)
            *hash = '\0';
        if (config_parse_hosts_line(c, s) != 0)
            return;
        return;   /* glibc uses the first hosts line */
    }
    c->punt = "nsswitch.conf without a hosts line";
}
