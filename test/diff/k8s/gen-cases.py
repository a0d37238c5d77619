#!/usr/bin/env python3
"""Generate the Kubernetes data set's case lists.

usage: test/diff/k8s/gen-cases.py > test/diff/k8s/cases
       test/diff/k8s/gen-cases.py --silent > test/diff/k8s/silent.cases

Like test/diff/gen-cases.py (syntax: test/tools/gaidiff.c), for the zone in
zone and the pod's resolv.conf (search ns.svc.cluster.local
svc.cluster.local cluster.local, ndots:5). silent.cases runs with
resolv-silent.conf, whose third server never answers: a few cases only,
since each one that reaches that server costs glibc a 1 s timeout.
"""
import sys

# 235 octets, 4 dots (searched first): the first candidate is 256 octets,
# too long for DNS; the second is 253. LONG exists as-is and under
# svc.cluster.local, LONGSVC only under svc.cluster.local (zone).
LONG = "a" * 63 + "." + "b" * 63 + "." + "c" * 63 + "." + "d" * 38 + ".test"
LONGSVC = "e" + LONG[1:]
assert len(LONG) == 235 and LONG.count(".") == 4

# Every name here is plain ASCII without spaces: written as is.
NAMES = [
    # found in the first / second / third search domain
    "web",                      # first domain, A + AAAA
    "api",                      # first, A only
    "v6svc",                    # first, AAAA only
    "multi",                    # first, 3 A + 2 AAAA
    "db.other",                 # second (SERVICE.NAMESPACE)
    "second",                   # second, single label
    "db.other.svc",             # third
    "third",                    # third, single label
    "pod-1.ns.pod",             # third, 3 dots
    "dup",                      # in all three: the first wins
    "WEB",                      # upper case through the search list
    "Db.Other",
    "ext",                      # ExternalName: CNAME to an outside name
    "dangling",                 # CNAME to NXDOMAIN
    "txtonly",                  # NODATA for every address type
    # the full service name without a final dot (4 dots < ndots: searched)
    "web.ns.svc.cluster.local",
    "db.other.svc.cluster.local",
    # NODATA in the middle
    "nd",
    "ndonly",
    # SERVFAIL in the middle
    "sf",
    "sfnx",
    "sf1",
    "half",
    # REFUSED
    "rf",
    "rf1",
    "rfhalf",
    # outside names
    "www.example.test",
    "v4.example.test",
    "v6.example.test",
    "alias.example.test",
    "intocluster.example.test",
    "nx.example.test",          # NXDOMAIN everywhere: all four candidates
    "nosuchname",               # single label, NXDOMAIN everywhere
    "tld",                      # single label that exists only as-is
    "api.broken.test",          # first candidate SERVFAIL
    "api.refusing.test",        # first candidate REFUSED
    "down.example.test",        # the as-is question (last) SERVFAILs
    "closed.example.test",      # the as-is question (last) is REFUSED
    # ndots:5 edges
    "a.b.c.d.e.example.test",   # 6 dots: as-is first
    "b.c.d.e.example.test",     # 5 dots: as-is first
    "c.d.e.example.test",       # 4 dots: search first, found as-is
    "x.y.z.w.example.test",     # 5 dots: as-is wins over the first domain
    "y.z.w.example.test",       # 4 dots: the first domain wins
    "p.q.r.s.t.u",              # 5 dots: as-is NXDOMAIN, then the second domain
    "q.r.s.t.u.v.w.nx",         # 7 dots, NXDOMAIN everywhere
    LONG,                       # first candidate too long for DNS
    LONGSVC,
    # trailing dots: no search list
    "web.",
    "web.ns.svc.cluster.local.",
    "db.other.svc.cluster.local.",
    "www.example.test.",
    "nx.example.test.",
    "tld.",
    "sf.",
    "sf.svc.cluster.local.",
    "rf.svc.cluster.local.",
    # /etc/hosts (files before dns)
    "mypod",
    "localhost",
]

HINTS = [
    ("AF_UNSPEC", "SOCK_STREAM", "0", "0"),
    ("AF_UNSPEC", "0", "0", "0"),
    ("AF_INET", "0", "0", "0"),
    ("AF_INET6", "SOCK_STREAM", "0", "0"),
    ("AF_UNSPEC", "SOCK_STREAM", "0", "AI_CANONNAME"),
    ("AF_INET6", "SOCK_STREAM", "0", "AI_V4MAPPED|AI_CANONNAME"),
    ("AF_UNSPEC", "SOCK_STREAM", "0", "AI_V4MAPPED|AI_ADDRCONFIG"),
]

# res_search / res_query names and types.
RES_SEARCH = [
    ("web", "A"), ("web", "AAAA"), ("api", "AAAA"), ("db.other", "A"), ("third", "AAAA"),
    ("dup", "A"), ("nd", "AAAA"), ("ndonly", "AAAA"), ("txtonly", "TXT"), ("txtonly", "A"),
    ("sf", "A"), ("sfnx", "A"), ("sf1", "AAAA"), ("half", "AAAA"), ("rf", "A"),
    ("rf1", "A"), ("rfhalf", "AAAA"), ("ext", "A"), ("ext", "CNAME"), ("dangling", "A"),
    ("_http._tcp.web", "SRV"), ("_pg._tcp.db.other", "SRV"), ("cfg.other", "TXT"),
    ("www.example.test", "A"), ("www.example.test", "AAAA"), ("example.test", "MX"),
    ("_sip._udp.example.test", "SRV"), ("nx.example.test", "A"), ("api.broken.test", "A"),
    ("api.refusing.test", "A"), ("down.example.test", "A"), ("closed.example.test", "A"),
    ("a.b.c.d.e.example.test", "A"), ("c.d.e.example.test", "A"),
    ("x.y.z.w.example.test", "A"), ("y.z.w.example.test", "A"), ("p.q.r.s.t.u", "A"),
    ("web.", "A"), ("www.example.test.", "A"), ("sf.", "A"), ("nosuchname", "A"),
    ("tld", "A"), ("web.ns.svc.cluster.local", "A"), (LONG, "A"), (LONGSVC, "A"),
]
RES_QUERY = [
    ("web.ns.svc.cluster.local", "A"), ("web", "A"), ("sf.svc.cluster.local", "A"),
    ("rf.svc.cluster.local", "A"), ("half.ns.svc.cluster.local", "AAAA"),
    ("txtonly.ns.svc.cluster.local", "A"), ("nx.example.test", "A"),
    ("www.example.test", "AAAA"), ("ext.ns.svc.cluster.local", "A"),
]

# Names whose first candidate answers 100 ms late (each case costs that
# in every run, so a few only).
SLOW = [
    "gai slowdup - AF_UNSPEC SOCK_STREAM 0 0",
    "gai slowdup - AF_INET 0 0 0",
    "gai slowdup - AF_INET6 SOCK_STREAM 0 AI_CANONNAME",
    "ghbn slowdup",
    "rs slowdup IN A",
    "gai slownx - AF_UNSPEC SOCK_STREAM 0 AI_CANONNAME",
    "gai slownx - AF_INET 0 0 0",
    "ghbn2r slownx AF_INET6 8192",
    "gai slowaaaa - AF_UNSPEC SOCK_STREAM 0 0",
    "gai slowaaaa - AF_INET6 SOCK_STREAM 0 0",
    "ghbn2 slowaaaa AF_INET6",
]

# With a silent third server: only cases that glibc answers without it,
# plus one SERVFAIL and one REFUSED walk that must wait for it (1 s each)
# and one candidate no server answers (3 s).
SILENT = [
    "gai web - AF_UNSPEC SOCK_STREAM 0 0",
    "gai web - AF_UNSPEC SOCK_STREAM 0 AI_CANONNAME",
    "gai db.other.svc - AF_INET 0 0 0",
    "gai www.example.test - AF_UNSPEC SOCK_STREAM 0 0",
    "gai nx.example.test - AF_UNSPEC SOCK_STREAM 0 0",
    "gai nd - AF_INET6 SOCK_STREAM 0 0",
    "gai a.b.c.d.e.example.test - AF_UNSPEC 0 0 0",
    "gai www.example.test. - AF_INET 0 0 0",
    "ghbn2 dup AF_INET6",
    "rs ext IN A",
    "rs nosuchname IN A",
    "gai sf - AF_UNSPEC SOCK_STREAM 0 0",
    "rs rf IN A",
    # No server answers the second candidate: glibc stops the walk there
    # (3 x 1 s) even though the third candidate exists.
    "gai to - AF_UNSPEC SOCK_STREAM 0 0",
]


def main():
    cases = []

    def section(title):
        cases.append("")
        cases.append("# ---- %s ----" % title)

    if sys.argv[1:] == ["--silent"]:
        section("a silent third server (resolv-silent.conf)")
        cases.extend(SILENT)
    elif sys.argv[1:]:
        sys.exit("usage: gen-cases.py [--silent]")
    else:
        section("getaddrinfo: search list x hints")
        for name in NAMES:
            for h in HINTS:
                cases.append(" ".join(("gai", name, "-") + h))
            cases.append("gai0 %s -" % name)
        section("gethostbyname / gethostbyname2 / _r")
        for name in NAMES:
            cases.append("ghbn %s" % name)
            cases.append("ghbn2 %s AF_INET6" % name)
            cases.append("ghbnr %s 8192" % name)
            cases.append("ghbn2r %s AF_INET6 8192" % name)
        section("a late answer before a quick one")
        cases.extend(SLOW)
        section("res_search / res_nsearch / res_query")
        for name, t in RES_SEARCH:
            cases.append("rs %s IN %s" % (name, t))
        for name, t in RES_SEARCH[::4]:
            cases.append("rns %s IN %s" % (name, t))
        for name, t in RES_QUERY:
            cases.append("rq %s IN %s" % (name, t))
        for name, dom in [("web", "ns.svc.cluster.local"), ("sf", "svc.cluster.local"),
                          ("db", "other.svc.cluster.local")]:
            cases.append("rqd %s %s IN A" % (name, dom))
    n = sum(1 for c in cases if c and not c.startswith("#"))
    sys.stdout.write("# Generated by test/diff/k8s/gen-cases.py%s; do not edit. %d cases.\n"
                     % (" --silent" if sys.argv[1:] else "", n))
    sys.stdout.write("\n".join(cases).lstrip("\n") + "\n")


main()
