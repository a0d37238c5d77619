/* fastres: logging.
 *
 * One line per event on stderr, carrying program name, pid and the
 * function that speaks, like cwrap's resolv_wrapper. The level comes from
 * FASTRES_LOG (error|warn|info|debug, default warn).
 *
 * Contract: any module may log; a line is written whole with one write(2)
 * to fd 2, so threads never interleave, and errno is left as it was.
 * Thread- and fork-safe (no lock, no descriptor of its own). */
#ifndef FR_LOG_H
#define FR_LOG_H

enum fr_log_level { FR_LOG_ERROR = 0, FR_LOG_WARN, FR_LOG_INFO, FR_LOG_DEBUG };

void fr_log(enum fr_log_level lvl, const char *func, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int fr_log_enabled(enum fr_log_level lvl);
/* Set the level (config_env.c does, from FASTRES_LOG, on every load). */
void fr_log_set_level(enum fr_log_level lvl);

#endif
