"""One SIP request over TLS with a client certificate, as a gateway of a
peered overlay would send it (or one that claims to be): prints the final
status code, ACKs a non-2xx; exit 0 with a final answer, 3 when the TLS
connection was refused or closed before one.

    python3 siptls.py HOST PORT CERT KEY CAFILE REQUEST-FILE

REQUEST-FILE: the request's head, one header a line (LF), without
Content-Length; the Via must name transport TLS."""
import socket
import ssl
import sys


def ack(request, response):
    head = request.split("\r\n")
    ruri = head[0].split(" ")[1]
    keep = []
    for line in head[1:]:
        name = line.split(":", 1)[0].strip().lower()
        if name in ("via", "from", "call-id", "max-forwards"):
            keep.append(line)
    to = [l for l in response.split("\r\n") if l.lower().startswith("to:")][0]
    cseq = [l for l in head if l.lower().startswith("cseq:")][0].split()[1]
    return ("ACK %s SIP/2.0\r\n%s\r\n%s\r\nCSeq: %s ACK\r\nContent-Length: 0\r\n\r\n"
            % (ruri, "\r\n".join(keep), to, cseq))


def main():
    host, port, cert, key, ca, path = sys.argv[1:7]
    with open(path) as f:
        lines = [l.rstrip("\r\n") for l in f if l.strip()]
    request = "\r\n".join(lines) + "\r\nContent-Length: 0\r\n\r\n"
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.load_verify_locations(ca)
    ctx.load_cert_chain(cert, key)
    try:
        raw = socket.create_connection((host, int(port)), timeout=10)
        s = ctx.wrap_socket(raw)
        s.sendall(request.encode())
        buf = b""
        while True:
            data = s.recv(65535)
            if not data:
                break
            buf += data
            while b"\r\n\r\n" in buf:
                msg, buf = buf.split(b"\r\n\r\n", 1)
                text = msg.decode(errors="replace")
                if not text.startswith("SIP/2.0 "):
                    continue
                code = int(text.split(" ")[1])
                if code < 200:
                    continue
                if code >= 300:
                    s.sendall(ack(request, text).encode())
                print(code)
                return 0
    except (OSError, ssl.SSLError) as e:
        print("refused: %s" % e)
        return 3
    print("refused: closed")
    return 3


sys.exit(main())
