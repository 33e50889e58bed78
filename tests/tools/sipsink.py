"""A phone that only listens, over UDP: every request it gets is appended
to a file (then a line "----"); MESSAGE and OPTIONS are answered 200,
INVITE 486 so that a call that reaches it ends at once, ACK nothing.
For tests that check what reaches a phone, and what must not.

    python3 sipsink.py PORT FILE"""
import socket
import sys

KEEP = ("via", "v", "from", "f", "to", "t", "call-id", "i", "cseq")


def answer(text):
    method = text.split(" ", 1)[0]
    if method == "ACK":
        return None
    code = "486 Busy Here" if method == "INVITE" else "200 OK"
    head = text.split("\r\n\r\n", 1)[0].split("\r\n")[1:]
    lines = []
    for line in head:
        name = line.split(":", 1)[0].strip().lower()
        if name not in KEEP:
            continue
        if name in ("to", "t") and ";tag=" not in line:
            line += ";tag=sink"
        lines.append(line)
    return "SIP/2.0 %s\r\n%s\r\nContent-Length: 0\r\n\r\n" % (code, "\r\n".join(lines))


def main():
    port, out = int(sys.argv[1]), sys.argv[2]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    while True:
        data, addr = s.recvfrom(65535)
        text = data.decode(errors="replace")
        if text.startswith("SIP/2.0") or not text.strip():
            continue
        with open(out, "a") as f:
            f.write(text + "\n----\n")
        r = answer(text)
        if r is not None:
            s.sendto(r.encode(), addr)


main()
