/* Test seams: only test/ includes this (and the module itself, so the
 * prototypes are checked). config.c also builds its snapshots with
 * fr_config_parse/fr_config_free.
 *
 * fastres config: build a configuration from strings, forget the current
 * snapshot, glibc's give-up time. */
#ifndef FR_CONFIG_TEST_H
#define FR_CONFIG_TEST_H

#include "base/config.h"

/* Build a configuration from file contents (NULL means the file is
 * missing) and an environment lookup function (NULL: an empty
 * environment). NULL when out of memory. */
struct fr_config *fr_config_parse(const char *resolv_conf, const char *nsswitch_conf,
                                  const char *(*getenv_fn)(const char *));
/* Accepts NULL. */
void fr_config_free(struct fr_config *cfg);

/* glibc's give-up time in ms for timeout_s/attempts/nservers (res_send.c:
 * server i waits (timeout << i) / nservers seconds for i > 0, at least 1). */
unsigned fr_config_glibc_deadline_ms(unsigned timeout_s, unsigned attempts, unsigned nservers);

/* Forget the current snapshot's file identities so the next acquire
 * re-reads the files, whatever the clock says. */
void fr_config_reset(void);

#endif
