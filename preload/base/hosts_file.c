/* fastres: the /etc/hosts file format: one read of the file into an
 * immutable, hashed table (see hosts_int.h).
 *
 * The parser follows glibc 2.36 step by step (nss/nss_readline.c,
 * nss/nss_files/files-parse.c, nss/nss_files/files-hosts.c) so that the
 * same bytes give the same lines, including glibc's quirks; each quirk is
 * marked "glibc:" where it is reproduced. */
#include "base/hosts_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"

/* Initial size of the key table (a power of two); it doubles at half full. */
#define KEYS_INITIAL 64

static unsigned char hosts_fold(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* glibc compares with strcasecmp in the caller's locale. In the C and
 * UTF-8 locales that folds ASCII letters only, as here; single-byte
 * locales with other case rules (tr_TR.ISO-8859-9: 'I' vs 'i') differ and
 * are not imitated. */
static int hosts_caseeq(const char *a, const char *b)
{
    for (;; a++, b++) {
        if (hosts_fold((unsigned char)*a) != hosts_fold((unsigned char)*b))
            return 0;
        if (*a == '\0')
            return 1;
    }
}

/* FNV-1a over the folded bytes. */
static uint32_t hosts_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) {
        h ^= hosts_fold((unsigned char)*s);
        h *= 16777619u;
    }
    return h;
}

void fr_hosts_db_free(struct fr_hosts_db *db)
{
    if (!db)
        return;
    free(db->strs);
    free(db->alias_offs);
    free(db->lines);
    free(db->keys);
    free(db->posts);
    free(db);
}

/* Make room for one more element in a growing array. */
static int hosts_grow(void **arr, size_t *cap, size_t n, size_t elsize)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 16;
    void *p = reallocarray(*arr, ncap, elsize);
    if (!p)
        return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}

static struct fr_hosts_key *hosts_key_find(struct fr_hosts_key *keys, size_t cap, const char *strs,
                                        const char *name, uint32_t h)
{
    size_t mask = cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        struct fr_hosts_key *k = &keys[i];
        if (k->str == FR_HOSTS_NONE)
            return k;
        if (k->hash == h && hosts_caseeq(strs + k->str, name))
            return k;
    }
}

static int hosts_keys_rehash(struct fr_hosts_db *db)
{
    size_t ncap = db->keys_cap ? db->keys_cap * 2 : KEYS_INITIAL;
    struct fr_hosts_key *nk = malloc(ncap * sizeof *nk);
    if (!nk)
        return -1;
    for (size_t i = 0; i < ncap; i++)
        nk[i].str = FR_HOSTS_NONE;
    for (size_t i = 0; i < db->keys_cap; i++) {
        struct fr_hosts_key *k = &db->keys[i];
        if (k->str == FR_HOSTS_NONE)
            continue;
        *hosts_key_find(nk, ncap, db->strs, db->strs + k->str, k->hash) = *k;
    }
    free(db->keys);
    db->keys = nk;
    db->keys_cap = ncap;
    return 0;
}

/* Record that line carries the name at strs offset str. */
static int hosts_index_name(struct fr_hosts_db *db, uint32_t line, uint32_t str)
{
    if ((db->nkeys + 1) * 2 > db->keys_cap && hosts_keys_rehash(db) < 0)
        return -1;
    const char *name = db->strs + str;
    uint32_t h = hosts_hash(name);
    struct fr_hosts_key *k = hosts_key_find(db->keys, db->keys_cap, db->strs, name, h);
    if (k->str != FR_HOSTS_NONE && db->posts[k->last].line == line)
        return 0;  /* the line already matches this name (name repeated as alias) */
    if (hosts_grow((void **)&db->posts, &db->posts_cap, db->nposts, sizeof *db->posts) < 0)
        return -1;
    uint32_t p = (uint32_t)db->nposts++;
    db->posts[p].line = line;
    db->posts[p].next = FR_HOSTS_NONE;
    if (k->str == FR_HOSTS_NONE) {
        k->hash = h;
        k->str = str;
        k->first = p;
        db->nkeys++;
    } else {
        db->posts[k->last].next = p;
    }
    k->last = p;
    return 0;
}

static uint32_t hosts_add_str(struct fr_hosts_db *db, const char *s)
{
    size_t n = strlen(s) + 1;
    uint32_t off = (uint32_t)db->nstrs;
    /* strs was sized for the whole file: no line yields more text than it has */
    memcpy(db->strs + db->nstrs, s, n);
    db->nstrs += n;
    return off;
}

/* glibc's STRING_FIELD (field, isspace, 1): the field at *linep runs to
 * the first white space, which is cut; *linep moves past the white space
 * that follows. Returns the field (possibly empty). */
static char *hosts_field(char **linep)
{
    char *field = *linep, *line = field;
    while (*line && !fr_hosts_isspace((unsigned char)*line))
        line++;
    if (*line) {
        *line++ = '\0';
        while (fr_hosts_isspace((unsigned char)*line))
            line++;
    }
    *linep = line;
    return field;
}

/* Parse one line the way internal_getent + parse_line do. buf holds the
 * line as fgets returned it (newline included when there was one, NUL
 * after); it is modified. 0: done (line taken or skipped), -1: no memory. */
static int hosts_parse_line(struct fr_hosts_db *db, char *buf)
{
    /* __nss_readline: skip leading white space, then empty and comment
     * lines. glibc: memmove (buf, p, strlen (p)) moves the text without
     * its NUL, so the string keeps its old length and ends in the last
     * (p - buf) characters of the original; harmless when a newline ends
     * the line (the cut below removes the tail), visible on a last line
     * without newline: "  1.2.3.4 name" reads as "1.2.3.4 namee". */
    char *p = buf;
    while (fr_hosts_isspace((unsigned char)*p))
        p++;
    if (*p == '\0' || *p == '#')
        return 0;
    if (p != buf)
        memmove(buf, p, strlen(p));

    /* parse_line: the line ends at the first '#' or newline. */
    char *line = buf;
    line[strcspn(line, "#\n")] = '\0';

    /* STRING_FIELD (addr, isspace, 1) */
    char *addr = hosts_field(&line);

    struct fr_hosts_line hl = {0};
    if (inet_pton(AF_INET, addr, hl.addr) > 0)
        hl.kind = AF_INET;
    else if (inet_pton(AF_INET6, addr, hl.addr) > 0)
        hl.kind = AF_INET6;
    else
        return 0;  /* glibc: "Illegal address: ignore line." in every mode */

    /* STRING_FIELD (h_name, isspace, 1): may be empty ("10.0.0.1" alone
     * gives the name ""). */
    char *name = hosts_field(&line);

    if (hosts_grow((void **)&db->lines, &db->lines_cap, db->nlines, sizeof *db->lines) < 0)
        return -1;
    uint32_t li = (uint32_t)db->nlines;
    hl.name = hosts_add_str(db, name);
    hl.alias0 = (uint32_t)db->nalias;

    /* parse_list: white-space separated aliases, empty ones dropped. */
    while (*line) {
        while (fr_hosts_isspace((unsigned char)*line))
            line++;
        char *elt = line;
        while (*line && !fr_hosts_isspace((unsigned char)*line))
            line++;
        if (line == elt)
            break;
        if (*line)
            *line++ = '\0';
        if (hosts_grow((void **)&db->alias_offs, &db->alias_cap, db->nalias,
                       sizeof *db->alias_offs) < 0)
            return -1;
        db->alias_offs[db->nalias++] = hosts_add_str(db, elt);
        hl.nalias++;
    }
    db->lines[li] = hl;
    db->nlines++;

    if (hosts_index_name(db, li, hl.name) < 0)
        return -1;
    for (uint32_t i = 0; i < hl.nalias; i++)
        if (hosts_index_name(db, li, db->alias_offs[hl.alias0 + i]) < 0)
            return -1;
    return 0;
}

/* Split data into lines as fgets does (a line ends after '\n' or at the
 * end of the file; a NUL inside a line ends its text) and parse each. */
static enum fr_status hosts_parse(struct fr_hosts_db *db, const char *data, size_t len)
{
    enum fr_status st = FR_NOMEM;
    char *scratch = malloc(len + 1);
    db->strs = malloc(len + 1);
    if (!scratch || !db->strs)
        goto done;
    size_t off = 0;
    while (off < len) {
        const char *nl = memchr(data + off, '\n', len - off);
        size_t n = nl ? (size_t)(nl - (data + off)) + 1 : len - off;
        memcpy(scratch, data + off, n);
        scratch[n] = '\0';
        off += n;
        if (hosts_parse_line(db, scratch) < 0)
            goto done;
    }
    if (!db->keys && hosts_keys_rehash(db) < 0)
        goto done;
    st = FR_OK;
done:
    free(scratch);
    return st;
}

/* See hosts_int.h. */
enum fr_status fr_hosts_db_load(struct fr_hosts_db **out)
{
    enum fr_status st = FR_NOMEM;
    char *data = NULL;
    int fd = -1;
    struct fr_hosts_db *db = calloc(1, sizeof *db);
    if (!db)
        goto done;
    db->status = FR_PUNT;

    fd = open(FR_HOSTS_PATH, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        /* glibc: fopen fails, nss_files says UNAVAIL and "hosts: files dns"
         * goes on to DNS exactly as after NOTFOUND. A missing file is common
         * in minimal containers, so it must not cost a punt per lookup.
         * Anything else (EACCES, EMFILE, EAGAIN → TRYAGAIN, ...) is rare and
         * may differ in h_errno or nsswitch action: libc decides. */
        if (errno == ENOENT || errno == ENOTDIR)
            db->status = FR_NOTFOUND;
        st = FR_OK;
        goto done;
    }
    struct stat sb;
    if (fstat(fd, &sb) < 0) {
        st = FR_OK;
        goto done;
    }
    fr_fileid_of(&db->sig, &sb);
    /* glibc needs a seekable stream (ESPIPE → UNAVAIL for a FIFO); device
     * files and directories are not worth imitating. */
    if (!S_ISREG(sb.st_mode)) {
        st = FR_OK;
        goto done;
    }
    if ((uintmax_t)sb.st_size > FR_HOSTS_MAX_FILE) {
        fr_log(FR_LOG_WARN, __func__, "%s is %jd bytes, over the %u-byte limit: libc reads it",
               FR_HOSTS_PATH, (intmax_t)sb.st_size, FR_HOSTS_MAX_FILE);
        st = FR_OK;
        goto done;
    }
    /* One byte more than the file's size, to notice a file that grew
     * meanwhile; FR_HOSTS_MAX_FILE stays the limit. */
    size_t len;
    switch (fr_fileid_read_fd(fd, (size_t)sb.st_size + 1, FR_HOSTS_MAX_FILE, &data, &len)) {
    case FR_FILEID_READ_OK:
        break;
    case FR_FILEID_READ_NOMEM:
        goto done;
    case FR_FILEID_READ_TOOBIG:   /* grew past the limit while being read */
    case FR_FILEID_READ_ERROR:    /* EIO and the like: glibc's fgets fails → UNAVAIL */
        st = FR_OK;
        goto done;
    }
    if (hosts_parse(db, data, len) != FR_OK)
        goto done;
    db->status = FR_OK;
    st = FR_OK;
done:
    if (fd >= 0)
        close(fd);
    free(data);
    if (st == FR_OK)
        *out = db;
    else
        fr_hosts_db_free(db);
    return st;
}

const struct fr_hosts_key *fr_hosts_db_find(const struct fr_hosts_db *db, const char *name)
{
    const struct fr_hosts_key *k =
        hosts_key_find(db->keys, db->keys_cap, db->strs, name, hosts_hash(name));
    return k->str == FR_HOSTS_NONE ? NULL : k;
}
