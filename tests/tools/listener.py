"""A UDP and a TCP socket at one address and port that answer nothing and
write a line to FILE for whatever reaches them ("udp N bytes", "tcp
connection", "tcp N bytes"): the victim a test checks stays silent.

    python3 listener.py IP PORT FILE"""
import select
import socket
import sys


def main():
    ip, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind((ip, port))
    t = socket.socket()
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind((ip, port))
    t.listen(16)
    socks = [u, t]

    def note(s):
        with open(out, "a") as f:
            f.write(s + "\n")

    while True:
        for s in select.select(socks, [], [])[0]:
            if s is u:
                note("udp %d bytes" % len(u.recvfrom(65535)[0]))
            elif s is t:
                socks.append(t.accept()[0])
                note("tcp connection")
            else:
                d = s.recv(65535)
                if not d:
                    socks.remove(s)
                    s.close()
                else:
                    note("tcp %d bytes" % len(d))


main()
