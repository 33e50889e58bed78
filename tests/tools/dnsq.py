"""One DNS query over UDP, as the tests' foreign world needs it without dig:
prints the answers (A: the address; SRV: prio weight port target; NAPTR:
order pref flags service replacement) one a line; exit 0 if there was at
least one answer, 1 if none, 2 if no reply came.

    python3 dnsq.py NAME [A|SRV|NAPTR] [SERVER]"""
import random
import socket
import struct
import sys

TYPES = {"A": 1, "SRV": 33, "NAPTR": 35}


def qname(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def read_name(msg, off):
    """The name at off (following compression pointers) and the offset after it."""
    labels, end = [], None
    while True:
        n = msg[off]
        if n & 0xC0 == 0xC0:
            end = end or off + 2
            off = struct.unpack("!H", msg[off:off + 2])[0] & 0x3FFF
        elif n == 0:
            return ".".join(labels) or ".", end or off + 1
        else:
            labels.append(msg[off + 1:off + 1 + n].decode())
            off += 1 + n


def rdata(msg, typ, off, length):
    if typ == 1:
        return socket.inet_ntoa(msg[off:off + 4])
    if typ == 33:
        prio, weight, port = struct.unpack("!HHH", msg[off:off + 6])
        return "%d %d %d %s" % (prio, weight, port, read_name(msg, off + 6)[0])
    if typ == 35:
        order, pref = struct.unpack("!HH", msg[off:off + 4])
        off += 4
        fields = []
        for _ in range(3):  # flags, service, regexp
            n = msg[off]
            fields.append(msg[off + 1:off + 1 + n].decode())
            off += 1 + n
        return "%d %d %s %s %s" % (order, pref, fields[0], fields[1], read_name(msg, off)[0])
    return msg[off:off + length].hex()


def main():
    name = sys.argv[1]
    typ = TYPES[sys.argv[2].upper()] if len(sys.argv) > 2 else 1
    server = sys.argv[3] if len(sys.argv) > 3 else "127.0.0.1"
    qid = random.randrange(65536)
    query = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + qname(name) + struct.pack("!HH", typ, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1)
    try:
        s.sendto(query, (server, 53))
        msg = s.recv(4096)
    except OSError:
        return 2
    _, _, qd, an = struct.unpack("!HHHH", msg[:8])
    off = 12
    for _ in range(qd):
        off = read_name(msg, off)[1] + 4
    found = 0
    for _ in range(an):
        off = read_name(msg, off)[1]
        rtype, _, _, length = struct.unpack("!HHIH", msg[off:off + 10])
        off += 10
        if rtype == typ:
            print(rdata(msg, rtype, off, length))
            found += 1
        off += length
    return 0 if found else 1


if __name__ == "__main__":
    sys.exit(main())
