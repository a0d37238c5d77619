#!/usr/bin/env python3
"""Write the seed corpus of the fuzz harnesses (test/fuzz/corpus/<harness>/).

Every seed is a hand-built reply as a server sends it (or, for
fuzz_shape, a pair of them): CNAME chains, compression, NXDOMAIN/NODATA
with SOA, OPT, MX/SRV/TXT, many addresses, TTLs with the top bit set, and
the hostile shapes issue 9 names (a name compressed into a TTL). Run it
again after changing it; files it wrote before are replaced, regression
inputs found by fuzzing (regress-*) are left alone.

    python3 test/fuzz/mkcorpus.py
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
A, NS, CNAME, SOA, PTR, MX, TXT, AAAA, SRV, OPT = 1, 2, 5, 6, 12, 15, 16, 28, 33, 41


def name(text):
    out = b""
    for label in [l for l in text.split(".") if l]:
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def ptr(off):
    return struct.pack(">H", 0xC000 | off)


class Msg:
    def __init__(self, qname, qtype, rcode=0, tc=0, qid=0x1234):
        self.qid, self.rcode, self.tc = qid, rcode, tc
        self.q = name(qname) + struct.pack(">HH", qtype, 1)
        self.sections = [[], [], []]

    def rr(self, sec, owner, rtype, ttl, rdata, rclass=1):
        # owner: bytes (wire form, may be a pointer)
        self.sections[sec].append(owner + struct.pack(">HHIH", rtype, rclass, ttl, len(rdata)) + rdata)
        return self

    def wire(self):
        flags = 0x8180 | (0x200 if self.tc else 0) | self.rcode
        h = struct.pack(">HHHHHH", self.qid, flags, 1, *[len(s) for s in self.sections])
        return h + self.q + b"".join(b"".join(s) for s in self.sections)


Q = ptr(12)  # the question name


def soa(ttl=300, minimum=60):
    return (name("ns.example") + name("admin.example") + struct.pack(">IIIII", 1, 3600, 600, 86400, minimum)), ttl


def replies():
    r = {}
    m = Msg("www.example", A)
    m.rr(0, Q, A, 300, bytes([192, 0, 2, 1]))
    r["a-one"] = m.wire()

    m = Msg("www.example", A)
    for i in range(8):
        m.rr(0, Q, A, 60 + i, bytes([192, 0, 2, 10 + i]))
    r["a-eight"] = m.wire()

    m = Msg("www.example", A)
    off_target = 12 + len(name("www.example")) + 4 + 2 + 10
    m.rr(0, Q, CNAME, 600, name("web.cdn.example"))
    m.rr(0, ptr(off_target), CNAME, 120, name("edge") [:-1] + ptr(off_target + 4))
    m.rr(0, name("edge.cdn.example"), A, 30, bytes([198, 51, 100, 7]))
    r["a-cname-chain"] = m.wire()

    m = Msg("www.example", AAAA)
    m.rr(0, Q, AAAA, 300, bytes.fromhex("20010db8000000000000000000000001"))
    m.rr(0, Q, AAAA, 300, bytes.fromhex("20010db8000000000000000000000002"))
    r["aaaa-two"] = m.wire()

    m = Msg("gone.example", A, rcode=3)
    d, t = soa(900, 60)
    m.rr(1, name("example"), SOA, t, d)
    r["nxdomain-soa"] = m.wire()

    m = Msg("v4only.example", AAAA)
    d, t = soa(300, 30)
    m.rr(1, name("example"), SOA, t, d)
    r["nodata-soa"] = m.wire()

    m = Msg("www.example", A)
    m.rr(0, Q, A, 300, bytes([192, 0, 2, 1]))
    m.rr(1, name("example"), NS, 3600, name("ns1.example"))
    m.rr(2, name("ns1.example"), A, 3600, bytes([192, 0, 2, 53]))
    m.sections[2].append(b"\0" + struct.pack(">HHIH", OPT, 1232, 0x8000, 0))
    r["a-ns-glue-opt"] = m.wire()

    m = Msg("example", MX)
    m.rr(0, Q, MX, 300, struct.pack(">H", 10) + name("mail") [:-1] + Q)
    r["mx"] = m.wire()

    m = Msg("_sip._udp.example", SRV)
    m.rr(0, Q, SRV, 300, struct.pack(">HHH", 1, 5, 5060) + name("sip.example"))
    r["srv"] = m.wire()

    m = Msg("example", TXT)
    m.rr(0, Q, TXT, 300, b"\x05hello\x05world")
    r["txt"] = m.wire()

    m = Msg("1.2.0.192.in-addr.arpa", PTR)
    m.rr(0, Q, PTR, 300, name("host.example"))
    r["ptr"] = m.wire()

    # RFC 2181 8: a TTL with the top bit set beside a normal one.
    m = Msg("www.example", A)
    m.rr(0, Q, A, 0x80000000, bytes([192, 0, 2, 1]))
    m.rr(0, Q, A, 3600, bytes([192, 0, 2, 2]))
    r["a-ttl-top-bit"] = m.wire()

    m = Msg("gone.example", A, rcode=3)
    d, t = soa(0xFFFFFFFF, 60)
    m.rr(1, name("example"), SOA, t, d)
    r["nxdomain-soa-ttl-top-bit"] = m.wire()

    # Issue 9, defect 4: the CNAME target points at the next record's TTL
    # (0x03616263: "abc", ended by RDLENGTH's 0x00).
    m = Msg("www.example", A)
    first = 12 + len(name("www.example")) + 4
    ttl_off = first + 2 + 10 + 2 + len(name("abc")) + 4
    m.rr(0, Q, CNAME, 600, ptr(ttl_off))
    m.rr(0, name("abc"), A, 0x03616263, bytes([10, 0, 0, 1]))
    r["a-cname-into-ttl"] = m.wire()

    m = Msg("www.example", A, tc=1)
    r["truncated"] = m.wire()

    m = Msg("www.example", A, rcode=2)
    r["servfail"] = m.wire()

    # Names with escapes and a long label.
    m = Msg("a\\.b.example", A)
    m.rr(0, Q, CNAME, 60, b"\x05we\"i(" + name("x" * 63 + ".example"))
    m.rr(0, b"\x05we\"i(" + name("x" * 63 + ".example"), A, 60, bytes([192, 0, 2, 9]))
    r["a-odd-names"] = m.wire()
    return r


def write(harness, files):
    d = os.path.join(HERE, "corpus", harness)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        if not f.startswith("regress-"):
            os.remove(os.path.join(d, f))
    for fname, data in files.items():
        with open(os.path.join(d, fname), "wb") as fp:
            fp.write(data)


def main():
    r = replies()
    write("fuzz_msg", dict(r))
    # fuzz_cache: 4 octets of settings (min/max TTL, stale, refresh; two
    # lookup times), then the reply.
    cache = {}
    for i, (k, v) in enumerate(sorted(r.items())):
        cache[k] = bytes([(i * 37) & 0x3F, 1 + i % 5, 3, i]) + v
    write("fuzz_cache", cache)
    # fuzz_shape: flags, 2-octet length of the A reply, A reply, AAAA reply.
    shape = {}
    pairs = [
        ("a-one", "aaaa-two"), ("a-eight", "aaaa-two"), ("a-cname-chain", "nodata-soa"),
        ("nxdomain-soa", "nxdomain-soa"), ("a-ns-glue-opt", "aaaa-two"), ("a-odd-names", "nodata-soa"),
        ("a-cname-into-ttl", "aaaa-two"), ("a-ttl-top-bit", "servfail"),
    ]
    for i, (a, b) in enumerate(pairs):
        for flags in (0x00, 0x01 | 0x04, 0x02 | 0x08 | 0x10 | 0x20, 0xE5):
            shape["%s+%s-%02x" % (a, b, flags)] = bytes([flags]) + struct.pack(">H", len(r[a])) + r[a] + r[b]
    write("fuzz_shape", shape)


if __name__ == "__main__":
    main()
