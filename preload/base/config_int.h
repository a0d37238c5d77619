/* fastres: internal to config*.c: what the configuration module's files
 * share. Nothing outside preload/base/config*.c includes this; the public
 * contract is config.h, the test seams config_test.h.
 *
 * All of these work on a configuration being built (not yet published as
 * a snapshot), so none takes a lock. Parsers record what fastres cannot
 * follow exactly as glibc would in c->punt (then libc answers) and return
 * -1 only when out of memory. */
#ifndef FR_CONFIG_INT_H
#define FR_CONFIG_INT_H

#include "base/config.h"

/* config_resolv.c */

/* Parse "1.2.3.4", "1.2.3.4:53", "::1", "[::1]:53", "fe80::1%eth0",
 * "[fe80::1%2]:5353" into *out (set only on success). allow_port is 0 for
 * resolv.conf, whose nameserver lines take no port (and whose IPv4
 * addresses glibc reads with inet_aton). 0 or -1. */
int fr_config_server_parse(const char *text, int allow_port, struct fr_server *out);
/* Free the search list (c->domains). */
void fr_config_domains_clear(struct fr_config *c);
/* res_setoptions: the options in rest (modified), split on seps. */
void fr_config_options_parse(struct fr_config *c, char *rest, const char *seps);
/* resolv.conf's text (NULL: no file), with LOCALDOMAIN's value or NULL
 * (when set, it is the search list and the file's domain and search
 * lines are ignored). 0, or -1 when out of memory. */
int fr_config_resolv_parse(struct fr_config *c, const char *text, const char *localdomain);

/* config_nss.c: nsswitch.conf's text (NULL: no file): its first hosts
 * line gives c->hosts_first or c->nss, else c->punt. */
void fr_config_nsswitch_parse(struct fr_config *c, const char *text);

/* config_env.c: the FASTRES_* settings from get (ranges checked, one log
 * line per bad value on the first configuration), then the clamps that
 * tie settings together and the servers' budgets. */
void fr_config_env_apply(struct fr_config *c, const char *(*get)(const char *));

/* config_timing.c: split c->deadline_ms over c->nservers in glibc's
 * proportions (c->server_budget_ms). */
void fr_config_server_budgets(struct fr_config *c);

/* config_res.c: what glibc's res_ninit makes of the same files, copied
 * into *r (the state is closed at once); 1, or 0 when res_ninit failed. */
int fr_config_res_take(struct fr_res_ref *r);
/* 1 when c's reading of the files and of LOCALDOMAIN/RES_OPTIONS agrees
 * with r's. */
int fr_config_res_agrees(const struct fr_config *c, const struct fr_res_ref *r);

#endif
