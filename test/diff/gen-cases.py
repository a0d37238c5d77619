#!/usr/bin/env python3
"""Generate test/diff/cases, the differential harness's case list.

usage: test/diff/gen-cases.py > test/diff/cases

The output is committed next to this script so a change in the cases shows
up as a reviewable diff. Syntax of a case: see test/tools/gaidiff.c. Names
refer to the zone in zone.conf / zone.hosts and to the hosts file beside it.
"""
import sys

NULL = object()

LABEL63 = "a" * 63
# 253 octets as text: the longest legal name (zone.conf defines it).
NAME253 = "a" * 63 + "." + "b" * 63 + "." + "c" * 63 + "." + "d" * 52 + ".lab.test"
NAME254 = "a" * 63 + "." + "b" * 63 + "." + "c" * 63 + "." + "d" * 53 + ".lab.test"
NAME255 = "e" + "." + NAME253
assert len(NAME253) == 253 and len(NAME254) == 254 and len(NAME255) == 255


def enc(tok):
    """One token in gaidiff's syntax."""
    if tok is NULL:
        return "-"
    if isinstance(tok, str):
        tok = tok.encode("latin-1")
    if tok == b"":
        return "''"
    out = []
    for b in tok:
        c = chr(b)
        if b <= 0x20 or b >= 0x7F or c == "\\" or (c == "-" and len(tok) == 1):
            out.append("\\x%02x" % b)
        elif c == "'" and tok == b"''":
            out.append("\\x27")
        else:
            out.append(c)
    return "".join(out)


cases = []
seen = set()


def add(*toks):
    line = " ".join(enc(t) for t in toks)
    if line not in seen:
        seen.add(line)
        cases.append(line)


def section(title):
    cases.append("")
    cases.append("# ---- %s ----" % title)


# Names answered by DNS (zone.conf / zone.hosts), by /etc/hosts, or by
# nobody, each chosen for one behaviour.
DNS_NAMES = [
    "a4.lab.test",          # A only
    "a6.lab.test",          # AAAA only
    "both.lab.test",        # A and AAAA
    "multi.lab.test",       # 3 A + 2 AAAA
    "multi4.lab.test",      # 3 A
    "multi6.lab.test",      # 2 AAAA
    "big.lab.test",         # 40 A: truncated over UDP, TCP retry
    "c1.lab.test",          # CNAME chain of 3 to an A
    "c6.lab.test",          # CNAME to AAAA only
    "cboth.lab.test",       # CNAME to A+AAAA
    "cmulti.lab.test",      # CNAME to several addresses
    "dangle.lab.test",      # CNAME to a name with no addresses
    "totxt.lab.test",       # CNAME to a TXT-only name
    "txtonly.lab.test",     # NODATA
    "nope.lab.test",        # NXDOMAIN in a local zone
    "nx.example",           # NXDOMAIN anywhere else
    "srch",                 # only srch.corp.test (first search domain)
    "only2",                # only only2.lab.test (second search domain)
    "dup",                  # both search domains: first wins
    "srchc",                # CNAME found through the search list
    "deep.sub",             # 1 dot < ndots:2: search list first
    "one.dot",              # exists as-is and under corp.test: search first wins
    "two.dots.test",        # 2 dots = ndots: as-is first
    "tld",                  # single label that exists as-is
    "tld.",                 # ... absolute
    "a4.lab.test.",         # trailing dot
    "srch.",                # trailing dot: no search list
    "A4.LAB.TEST",          # upper case
    "mixed.lab.test",       # zone spells it MiXeD
    "SrCh",                 # upper case through the search list
    "under_score.lab.test",
    "hy-phen.lab.test",
    "lab.test",             # the zone apex (MX, no address)
    LABEL63 + ".lab.test",  # 63-octet label
    NAME253,                # longest name
]
HOSTS_NAMES = [
    "hostsonly",            # /etc/hosts short name with two addresses
    "hostsonly.lab.test",
    "hoalias",              # alias in /etc/hosts
    "HOSTSONLY",
    "hostsonly6",
    "dual.hosts.test",      # /etc/hosts v4 + v6
    "shadowed",             # /etc/hosts shadows DNS
    "shadowed.lab.test",
    "upperhosts.lab.test",  # mixed case in /etc/hosts
    "labhost",
    "localhost",
    "localhost.",
    "LOCALHOST",
    "ip6-localhost",
    "ip6-loopback",
]
ODD_NAMES = [
    "",                     # empty string
    NULL,                   # NULL node
    NAME254,                # too long
    NAME255,
    NAME253 + ".",          # longest name, absolute
    "a" * 64 + ".lab.test", # 64-octet label
    "caf\xc3\xa9.lab.test", # UTF-8
    "\xff.lab.test",        # invalid byte
    "a b.lab.test",         # space
    "a..b",                 # empty label
    ".",
    "..",
    ".lab.test",
    "*.lab.test",
    "-",                    # a name that is a dash
    "x" * 300,              # absurdly long single label
    "a4.lab.test..",
]
NUMERIC4 = [
    "1", "1.2", "1.2.3", "1.2.3.4", "127.1", "0x7f.1", "017.0.0.1", "0x7f000001",
    "2130706433", "0", "0.0.0.0", "255.255.255.255", "4294967295", "4294967296",
    "127.0.0.256", "1.2.3.4.5", "08.0.0.1", "0x", "1.2.3.4.", "1.2.3.4 ", " 1.2.3.4",
    "127.0.0.1 x", "0X7F.0.0.1", "1.0x2.3",
]
NUMERIC6 = [
    "::1", "::", "::1%lo", "::1%1", "fe80::1%lo", "fe80::1%1", "fe80::1%nosuchif",
    "fe80::1%", "fe80::1%99999", "fe80::1%0", "ff02::1%lo", "::ffff:1.2.3.4", "::ffff:127.0.0.1",
    "2001:db8::1", "2001:DB8::A", "[::1]", "1::2::3", "::1.2.3.4", "fe80::1%LO", "::1 ",
]

# The hint combinations programs use: (family, socktype, protocol, flags).
HINTS = [
    ("AF_UNSPEC", "SOCK_STREAM", "0", "0"),                        # curl, most clients
    ("AF_UNSPEC", "0", "0", "0"),                                  # python socket.getaddrinfo
    ("AF_INET", "0", "0", "0"),
    ("AF_INET6", "SOCK_DGRAM", "0", "0"),
    ("AF_UNSPEC", "SOCK_STREAM", "0", "AI_CANONNAME"),             # getent ahosts
    ("AF_UNSPEC", "SOCK_STREAM", "0", "AI_V4MAPPED|AI_ADDRCONFIG"),  # glibc's NULL-hints default
    ("AF_INET6", "SOCK_STREAM", "0", "AI_V4MAPPED"),
    ("AF_INET6", "0", "0", "AI_V4MAPPED|AI_ALL|AI_CANONNAME"),
]

section("getaddrinfo: DNS and hosts names x the hints programs use")
for name in DNS_NAMES + HOSTS_NAMES:
    for h in HINTS:
        add("gai", name, NULL, *h)
    add("gai0", name, NULL)

section("getaddrinfo: odd names")
for name in ODD_NAMES:
    for h in HINTS[:3] + [HINTS[4]]:
        add("gai", name, NULL, *h)
    add("gai", name, "80", "AF_UNSPEC", "SOCK_STREAM", "0", "0")
    add("gai0", name, NULL)

section("getaddrinfo: numeric IPv4 (inet_aton forms)")
for name in NUMERIC4:
    add("gai", name, NULL, "AF_UNSPEC", "SOCK_STREAM", "0", "0")
    add("gai", name, NULL, "AF_INET", "SOCK_STREAM", "0", "AI_NUMERICHOST")
    add("gai", name, "80", "AF_INET6", "SOCK_STREAM", "0", "AI_V4MAPPED")
    add("gai", name, NULL, "AF_UNSPEC", "0", "0", "AI_CANONNAME")

section("getaddrinfo: numeric IPv6, with and without scope")
for name in NUMERIC6:
    add("gai", name, NULL, "AF_UNSPEC", "SOCK_STREAM", "0", "0")
    add("gai", name, "80", "AF_INET6", "SOCK_STREAM", "0", "AI_NUMERICHOST")
    add("gai", name, NULL, "AF_INET", "SOCK_STREAM", "0", "0")
    add("gai", name, NULL, "AF_UNSPEC", "0", "0", "AI_CANONNAME")

section("getaddrinfo: services x socktypes")
SERVICES = [NULL, "0", "80", "65535", "65536", "-1", "http", "domain", "ssh", "ntp",
            "nosuchservice", "", "80x", "0x50", " 80", "HTTP"]
SOCKTYPES = ["0", "SOCK_STREAM", "SOCK_DGRAM", "SOCK_RAW", "SOCK_SEQPACKET"]
for svc in SERVICES:
    for st in SOCKTYPES:
        add("gai", "a4.lab.test", svc, "AF_UNSPEC", st, "0", "0")
    add("gai", NULL, svc, "AF_UNSPEC", "SOCK_STREAM", "0", "AI_PASSIVE")
    add("gai", "127.0.0.1", svc, "AF_INET", "SOCK_DGRAM", "0", "AI_NUMERICSERV")
    add("gai", "both.lab.test", svc, "AF_UNSPEC", "0", "0", "AI_NUMERICSERV")

section("getaddrinfo: protocols and families")
for st, proto in [("0", "IPPROTO_TCP"), ("0", "IPPROTO_UDP"), ("SOCK_STREAM", "IPPROTO_UDP"),
                  ("SOCK_DGRAM", "IPPROTO_TCP"), ("0", "IPPROTO_SCTP"), ("SOCK_STREAM", "IPPROTO_SCTP"),
                  ("0", "IPPROTO_UDPLITE"), ("SOCK_RAW", "IPPROTO_ICMP"), ("SOCK_RAW", "IPPROTO_RAW"),
                  ("0", "IPPROTO_RAW"), ("SOCK_STREAM", "IPPROTO_TCP"), ("0", "99")]:
    for svc in [NULL, "53", "domain"]:
        add("gai", "both.lab.test", svc, "AF_UNSPEC", st, proto, "0")
for fam in ["AF_UNIX", "99", "-1", "AF_INET", "AF_INET6"]:
    add("gai", "a4.lab.test", NULL, fam, "0", "0", "0")
    add("gai", "a6.lab.test", "80", fam, "SOCK_STREAM", "0", "0")
add("gai", "a4.lab.test", NULL, "AF_UNSPEC", "99", "0", "0")

section("getaddrinfo: every AI_* flag alone and in combinations")
FLAGS = ["AI_PASSIVE", "AI_CANONNAME", "AI_NUMERICHOST", "AI_V4MAPPED", "AI_ALL",
         "AI_ADDRCONFIG", "AI_IDN", "AI_CANONIDN", "AI_NUMERICSERV", "0x10000",
         "AI_CANONNAME|AI_NUMERICHOST", "AI_V4MAPPED|AI_ALL", "AI_IDN|AI_CANONNAME",
         "AI_IDN|AI_CANONIDN|AI_CANONNAME", "AI_PASSIVE|AI_NUMERICHOST",
         "AI_ADDRCONFIG|AI_CANONNAME", "AI_ADDRCONFIG|AI_V4MAPPED|AI_ALL"]
FLAG_NODES = [("a4.lab.test", "80"), ("both.lab.test", NULL), ("a6.lab.test", NULL),
              ("c1.lab.test", NULL), ("127.0.0.1", "80"), ("::1", NULL), (NULL, "80"),
              ("localhost", NULL), ("caf\xc3\xa9.lab.test", NULL), ("nope.lab.test", NULL)]
for fl in FLAGS:
    for node, svc in FLAG_NODES:
        add("gai", node, svc, "AF_UNSPEC", "SOCK_STREAM", "0", fl)
    add("gai", "both.lab.test", NULL, "AF_INET6", "SOCK_STREAM", "0", fl)
    add("gai", "a4.lab.test", NULL, "AF_INET6", "SOCK_STREAM", "0", fl)

section("gethostbyname / gethostbyname2 / _r with large and too-small buffers")
GHBN_NAMES = (DNS_NAMES + HOSTS_NAMES + ["", NULL, NAME254, "a" * 64 + ".lab.test",
              "caf\xc3\xa9.lab.test", "a..b", "1", "1.2.3", "0x7f.1", "017.0.0.1",
              "1.2.3.4 ", "::1", "::ffff:1.2.3.4", "fe80::1%lo", "2001:db8::1"])
for name in GHBN_NAMES:
    add("ghbn", name)
    add("ghbn2", name, "AF_INET6")
    add("ghbnr", name, "8192")
    add("ghbn2r", name, "AF_INET6", "8192")
for name in ["a4.lab.test", "multi.lab.test", "c1.lab.test", "big.lab.test", "hostsonly",
             "localhost", "1.2.3.4", "::1", "nope.lab.test", "both.lab.test"]:
    for buflen in ["0", "1", "16", "64", "100", "200", "512"]:
        add("ghbnr", name, buflen)
    add("ghbn2r", name, "AF_INET6", "64")
    add("ghbn2r", name, "AF_INET", "100")
    add("ghbn2", name, "AF_INET")
    add("ghbn2", name, "AF_UNSPEC")

section("res_query / res_search and friends")
RES_NAMES = ["a4.lab.test", "a6.lab.test", "both.lab.test", "c1.lab.test", "dangle.lab.test",
             "txtonly.lab.test", "nope.lab.test", "mx.lab.test", "lab.test", "txt.lab.test",
             "_http._tcp.lab.test", "_ldap._tcp.corp.test", "big.lab.test", "A4.LAB.TEST",
             "a4.lab.test.", "hostsonly.lab.test", "", NAME253, NAME254]
for name in RES_NAMES:
    for t in ["A", "AAAA", "CNAME", "MX", "TXT", "SRV"]:
        add("rq", name, "IN", t)
SHORT = ["srch", "dup", "mx", "txt", "deep.sub", "one.dot", "two.dots.test", "srch.",
         "_ldap._tcp", "nope", "a4.lab.test", "mx.lab.test"]
for name in SHORT:
    for t in ["A", "MX", "TXT", "SRV"]:
        add("rs", name, "IN", t)
for name in ["srch", "mx.lab.test", "c1.lab.test", "nope.lab.test", "dangle.lab.test"]:
    for op in ["rnq", "rns", "rqo", "rso"]:
        add(op, name, "IN", "A")
        add(op, name, "IN", "MX")
for name, dom in [("srch", "corp.test"), ("mx", "lab.test"), ("a4", "lab.test"),
                  ("nope", "lab.test"), ("mx", "corp.test"), ("txt", "lab.test")]:
    add("rqd", name, dom, "IN", "A")
    add("rqd", name, dom, "IN", "MX")
    add("rnqd", name, dom, "IN", "TXT")
for cls in ["CH", "HS", "ANY", "IN"]:
    add("rq", "a4.lab.test", cls, "A")
    add("rq", "version.bind", cls, "TXT")
for t in ["NS", "SOA", "PTR", "ANY", "99"]:
    add("rq", "lab.test", "IN", t)
    add("rq", "a4.lab.test", "IN", t)
add("rq", "1.0.0.10.in-addr.arpa", "IN", "PTR")
# Answer buffers too small for the reply.
for name, t in [("mx.lab.test", "MX"), ("big.lab.test", "A"), ("c1.lab.test", "A"),
                ("txt.lab.test", "TXT")]:
    for anslen in ["0", "12", "40", "100", "512"]:
        add("rq", name, "IN", t, anslen)
        add("rs", name, "IN", t, anslen)

n = sum(1 for c in cases if c and not c.startswith("#"))
sys.stdout.write("# Generated by test/diff/gen-cases.py; do not edit. %d cases.\n" % n)
sys.stdout.write("\n".join(cases).lstrip("\n") + "\n")
