#!/usr/bin/env python3
"""SIP latencies at a proxy's UDP port, from a loopback packet capture.

usage: sip_lat.py FILE.pcap PORT
For each Call-ID and CSeq, the first INVITE (or REGISTER) that arrives at
PORT and the first 180 / 200 with that CSeq that leaves PORT towards the
phone that sent it: a request challenged by digest (401/407) and sent
again with credentials is timed from the second one, the proxy's work. Prints lines "NAME n p50_ms p99_ms max_ms" for INVITE->180,
INVITE->200 and REGISTER->200. sipp's own timer is too coarse for this.
"""
import struct
import sys


def packets(path):
    with open(path, 'rb') as f:
        gh = f.read(24)
        magic = struct.unpack('<I', gh[:4])[0]
        end = '<' if magic in (0xa1b2c3d4, 0xa1b23c4d) else '>'
        magic = struct.unpack(end + 'I', gh[:4])[0]
        nano = magic == 0xa1b23c4d
        link = struct.unpack(end + 'I', gh[20:24])[0]
        off = {0: 4, 1: 14, 12: 0, 101: 0, 113: 16, 276: 20}.get(link, 14)
        while True:
            h = f.read(16)
            if len(h) < 16:
                return
            sec, frac, incl, _ = struct.unpack(end + 'IIII', h)
            data = f.read(incl)
            ip = data[off:]
            if len(ip) < 28 or ip[0] >> 4 != 4 or ip[9] != 17:
                continue
            ihl = (ip[0] & 15) * 4
            sport, dport = struct.unpack('>HH', ip[ihl:ihl + 4])
            yield sec + frac / (1e9 if nano else 1e6), sport, dport, ip[ihl + 8:]


def header(lines, names):
    for ln in lines:
        k, _, v = ln.partition(b':')
        if k.strip().lower() in names:
            return v.strip()
    return None


def main():
    path, port = sys.argv[1], int(sys.argv[2])
    sent = {}  # (call-id, cseq) -> (time, phone port)
    got = {}   # name -> {call-id: delay}
    for t, sp, dp, pl in packets(path):
        lines = pl.split(b'\r\n', 16)
        first = lines[0]
        cid = header(lines[1:], (b'call-id', b'i'))
        cseq = header(lines[1:], (b'cseq',))
        if cid is None or cseq is None:
            continue
        method = cseq.split()[-1]
        if dp == port and not first.startswith(b'SIP/2.0'):
            if method in (b'INVITE', b'REGISTER') and first.startswith(method):
                sent.setdefault((cid, cseq), (t, sp))
        elif sp == port and first.startswith(b'SIP/2.0 '):
            code = first.split()[1]
            s = sent.get((cid, cseq))
            if s is None or dp != s[1]:
                continue
            name = method.decode() + '->' + code.decode()
            got.setdefault(name, {}).setdefault(cid, (t - s[0]) * 1000.0)
    for name in ('INVITE->180', 'INVITE->200', 'REGISTER->200'):
        v = sorted(got.get(name, {}).values())
        if not v:
            print(name, 0, 'na', 'na', 'na')
            continue
        p = lambda q: v[min(len(v) - 1, int(q * len(v)))]
        print(name, len(v), '%.3f' % p(0.50), '%.3f' % p(0.99), '%.3f' % v[-1])


main()
