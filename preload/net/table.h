/* fastres network layer: what the process knows about each nameserver.
 *
 * One table per process, shared by all threads: for each server of the
 * current list, a smoothed round-trip time and its variance (RFC 6298's
 * estimator, as unbound's util/rtt.c), the count of consecutive failures
 * since its last good reply, and counters for FASTRES_STATS. Every send
 * the exchange makes and every outcome it sees is recorded here; the
 * scheduler (plan.h) reads a snapshot of it to decide whom to ask first.
 *
 * Knowledge ages: a server not heard from for FR_TABLE_FORGET_US is
 * unknown again, so a server that was dead or slow is tried again in due
 * course, and a failed server is offered for a probe at most once per
 * FR_TABLE_PROBE_US. The table is cleared when the server list changes
 * (resolv.conf edited, FASTRES_SERVERS); a forked child keeps what its
 * parent learned (the servers are the same) with a fresh lock.
 *
 * Times are microseconds of CLOCK_MONOTONIC passed in by the caller, so
 * tests drive the table with made-up times. */
#ifndef FR_NET_TABLE_H
#define FR_NET_TABLE_H

#include <stdint.h>

#include "base/config.h"

/* unbound keeps an address's RTT for 900 s (infra-ttl); so do we, for the
 * RTT and for the failures alike. */
#define FR_TABLE_FORGET_US (900ull * 1000000u)
/* A failed server gets one real question as a probe at most this often.
 * One datagram a second per dead server is what today's re-send cap
 * already allows; c-ares 1.34 waits 5 s (ARES_OPT_SERVER_FAILOVER) but
 * only probes with chance 1/10. */
#define FR_TABLE_PROBE_US (1000u * 1000u)

enum fr_table_event {
    FR_TABLE_SENT,          /* a datagram (or TCP message) went out */
    FR_TABLE_ANSWER,        /* NOERROR/NXDOMAIN reply: rtt_us is its round trip */
    FR_TABLE_ANSWER_UNTIMED, /* the same, but its time says nothing of the
                              * server (Karn: over TCP, a reply that came
                              * after its question was asked again waited
                              * for the transport's loss recovery) */
    FR_TABLE_WON,           /* that answer was the one the question took */
    FR_TABLE_TIMEOUT,       /* a send's re-send time passed without a reply */
    FR_TABLE_SERVFAIL,
    FR_TABLE_REFUSED,
    FR_TABLE_FORMERR,
    FR_TABLE_BADREPLY,      /* another rcode, truncated over TCP, malformed */
    FR_TABLE_CONNREFUSED,   /* ICMP port unreachable / TCP reset */
};

/* What the scheduler sees of one server. */
struct fr_server_view {
    uint32_t srtt_us, rttvar_us;
    uint32_t samples;        /* 0: no round trip known (never, or forgotten) */
    uint32_t fails;          /* consecutive failures since the last answer */
    int probe_due;           /* failed, and this caller may probe it now */
};

/* Views of cfg's servers at now_us into out[0..cfg->nservers). Clears the
 * table first when cfg's server list is not the one it holds. Claims the
 * probes it reports (probe_due): the next one for that server is due
 * FR_TABLE_PROBE_US later, whoever asks. Returns the table generation to
 * pass to fr_table_record. */
unsigned fr_table_snapshot(const struct fr_config *cfg, uint64_t now_us, struct fr_server_view *out);

/* Record one event for cfg's server idx, made with a snapshot of
 * generation gen; ignored when the table has been cleared since. */
void fr_table_record(unsigned gen, unsigned idx, enum fr_table_event ev, uint32_t rtt_us,
                     uint64_t now_us);

/* One log line per server (FASTRES_STATS). */
void fr_table_print(void);

#endif
