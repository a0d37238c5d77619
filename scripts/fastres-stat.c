/* fastres-stat: print what the user's shared fastres cache holds.
 *
 *   fastres-stat [--path FILE] [--entries] [--help] [--version]
 *
 * A C program rather than a shell script like the other commands: the file
 * is binary, written concurrently by other processes (per-slot sequence
 * numbers and checksums), and every entry must be checked before it is
 * believed; that is the library's own code (preload/lookup/shcache*.c), which this
 * program links. It maps the file read-only and never creates, repairs or
 * writes it (not even the hit counters).
 *
 * Exit status: 0 printed; 1 no usable file (missing, refused: the reason
 * is printed); 2 usage. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "dns/msg.h"
#include "lookup/shcache.h"

/* The package version, as in the scripts' fr_version (debian/changelog). */
#define FR_STAT_VERSION "0.1.0"

static void usage(FILE *f)
{
    fprintf(f, "usage: fastres-stat [--path FILE] [--entries] [--help] [--version]\n"
               "Print what the shared fastres cache of this user holds: entries, hits, misses,\n"
               "stores, evictions. --entries also lists every live entry (name, type, TTL left,\n"
               "hits). The file is FASTRES_SHARED_CACHE_PATH, else $XDG_RUNTIME_DIR/fastres-shcache-v1,\n"
               "else /dev/shm/fastres-shcache-v1-UID.\n");
}

static const char *type_name(uint16_t t, char *buf, size_t n)
{
    switch (t) {
    case FR_T_A: return "A";
    case FR_T_AAAA: return "AAAA";
    case FR_T_CNAME: return "CNAME";
    case FR_T_MX: return "MX";
    case FR_T_TXT: return "TXT";
    case FR_T_SRV: return "SRV";
    case FR_T_PTR: return "PTR";
    case FR_T_NS: return "NS";
    case FR_T_SOA: return "SOA";
    default: snprintf(buf, n, "TYPE%u", t); return buf;
    }
}

static void print_entry(void *arg, const struct fr_shcache_entry *e)
{
    char tb[16];
    (void)arg;
    printf("  %-40s %-5s ttl %6u  hits %u\n", e->name, type_name(e->qtype, tb, sizeof tb), e->ttl_left, e->hits);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"path", required_argument, NULL, 'p'}, {"entries", no_argument, NULL, 'e'},
        {"help", no_argument, NULL, 'h'},       {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    char path[PATH_MAX];
    const char *given = NULL;
    int entries = 0, c;
    while ((c = getopt_long(argc, argv, "p:eh", opts, NULL)) != -1) {
        switch (c) {
        case 'p': given = optarg; break;
        case 'e': entries = 1; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("fastres-stat " FR_STAT_VERSION "\n"); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    if (given) {
        if (snprintf(path, sizeof path, "%s", given) >= (int)sizeof path) {
            fprintf(stderr, "fastres-stat: path too long\n");
            return 2;
        }
    } else if (fr_shcache_default_path(path, sizeof path) != 0) {
        fprintf(stderr, "fastres-stat: the shared cache's path is too long\n");
        return 1;
    }

    struct fr_shcache *sc = NULL;
    enum fr_status st = fr_shcache_open(path, (size_t)FR_SHCACHE_DEFAULT_KB * 1024, 1, &sc);
    if (st != FR_OK) {
        /* A refusal has been logged with its reason already. */
        fprintf(stderr, "fastres-stat: no usable shared cache at %s%s\n", path,
                st == FR_AGAIN ? " (no such file: nothing stored yet, or the cache is off)" : "");
        return 1;
    }
    uint64_t now = fr_clock_real_ms();
    struct fr_shcache_stats s;
    fr_shcache_stats(sc, now, &s);
    char when[64] = "?";
    time_t ct = (time_t)(s.created_ms / 1000);
    struct tm tm;
    if (localtime_r(&ct, &tm))
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
    uint64_t lookups = s.hits + s.misses;
    printf("fastres shared cache %s\n", path);
    printf("  size %llu bytes, %u slots, created %s\n", (unsigned long long)s.size, s.slots, when);
    printf("  entries: %u live (%llu bytes), %u expired, %u being written, %u damaged\n", s.live,
           (unsigned long long)s.live_bytes, s.expired, s.busy_slots, s.bad_slots);
    printf("  lookups: %llu hits, %llu misses (%.1f%% hits)\n", (unsigned long long)s.hits,
           (unsigned long long)s.misses, lookups ? 100.0 * (double)s.hits / (double)lookups : 0.0);
    printf("  stores: %llu, evictions %llu, given up (slot busy) %llu, entries rejected %llu\n",
           (unsigned long long)s.stores, (unsigned long long)s.evictions, (unsigned long long)s.contended,
           (unsigned long long)s.rejected);
    printf("  fastres in all processes: %llu questions asked upstream, %llu datagrams sent, %llu "
           "unanswered\n",
           (unsigned long long)s.upstream_questions, (unsigned long long)s.upstream_sent,
           (unsigned long long)s.upstream_failed);
    if (entries)
        fr_shcache_walk(sc, now, print_entry, NULL);
    fr_shcache_close(sc);
    return 0;
}
