/* fastres: logging to stderr. */
#include "base/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* One line is formatted whole and written with a single write(2), so lines
 * from several threads never interleave; longer messages are cut. */
#define LOG_LINE_MAX 512

static _Atomic int log_level = FR_LOG_WARN;

static const char *const level_name[] = { "error", "warn", "info", "debug" };

void fr_log_set_level(enum fr_log_level lvl)
{
    atomic_store_explicit(&log_level, (int)lvl, memory_order_relaxed);
}

int fr_log_enabled(enum fr_log_level lvl)
{
    return (int)lvl <= atomic_load_explicit(&log_level, memory_order_relaxed);
}

void fr_log(enum fr_log_level lvl, const char *func, const char *fmt, ...)
{
    if (!fr_log_enabled(lvl))
        return;
    int saved = errno;  /* logging must never change the caller's errno */
    char line[LOG_LINE_MAX];
    int n = snprintf(line, sizeof line, "fastres[%s:%ld] %s %s: ", program_invocation_short_name,
                     (long)getpid(), level_name[lvl], func);
    if (n < 0)
        n = 0;
    if ((size_t)n < sizeof line) {
        va_list ap;
        va_start(ap, fmt);
        int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
        va_end(ap);
        if (m > 0)
            n += m;
    }
    if ((size_t)n >= sizeof line - 1)
        n = sizeof line - 2;
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
    errno = saved;
}
