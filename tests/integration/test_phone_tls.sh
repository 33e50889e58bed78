#!/usr/bin/env bash
# SIP over TLS for the phones (sip_tls_listen, with the operator's
# certificate and key): openssl s_client writing a REGISTER without
# credentials gets 401 over TLS; a python TLS client that checks the
# node's certificate authenticates (SHA-256) and registers, and the binding
# shows; plain TCP to the TLS port gets nothing; UDP and TCP still serve.
# A TLS phone (python ssl, Contact naming its source port) called twice by
# a UDP phone: INVITE, ACK and BYE reach it over its TLS connection, its
# own BYE goes through, the Record-Route it sees names the TLS address with
# transport=tls, and nothing reaches its port over UDP or plain TCP.
# A node told to listen for TLS without a certificate does not start.
. "$(dirname "$0")/../lib.sh"
need openssl python3 sipp

overlay_start 1
add_user alice "password of alice"
add_user bob "password of bob"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=127.0.0.1 \
	-addext "subjectAltName=IP:127.0.0.1" -keyout "$T/sip.key" -out "$T/sip.crt" 2>/dev/null ||
	fail "openssl req"
TLS=$(free_port)
ON_EXTRA="sip_tls_listen = 127.0.0.1:$TLS
sip_tls_cert = $T/sip.crt
sip_tls_key = $T/sip.key" on_init on alice bob
vg_on
on_start on
grep -q "SIP over TLS for the phones on 127.0.0.1:$TLS" "$T/on_on.log" || fail "no TLS listener"

note "openssl s_client: a REGISTER without credentials gets 401 over TLS"
reg() { # the REGISTER of alice, from the TLS port
	printf 'REGISTER sip:overlay.example SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bK%s;rport\r\nFrom: <sip:alice@overlay.example>;tag=1\r\nTo: <sip:alice@overlay.example>\r\nCall-ID: tls-%s\r\nCSeq: 1 REGISTER\r\nContact: <sip:alice@127.0.0.1:5999;transport=tls>\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n' "$1" "$1"
}
out=$({ reg a1; sleep 1; } | timeout 5 openssl s_client -connect "127.0.0.1:$TLS" -CAfile "$T/sip.crt" \
	-verify_return_error -quiet 2>&1)
grep -q "^SIP/2.0 401 Unauthorized" <<<"$out" || fail "no 401 over TLS: $out"
grep -q "^WWW-Authenticate: Digest realm=\"overlay.example\"" <<<"$out" || fail "no challenge: $out"

note "plain TCP to the TLS port: no SIP answer"
out=$({ reg a2; sleep 1; } | timeout 3 python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(sys.stdin.buffer.read()); s.settimeout(2)
try: print(s.recv(100))
except Exception as e: print("nothing")' "$TLS")
grep -q "SIP/2.0" <<<"$out" && fail "plain TCP got SIP on the TLS port: $out"

note "a TLS phone (python ssl, the node's certificate checked) authenticates with SHA-256"
cat >"$T/tlsreg.py" <<'PY'
import hashlib, socket, ssl, sys
port, ca, pw = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=ca)
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="127.0.0.1")
s.settimeout(5)
def req(cseq, extra=""):
    m = ("REGISTER sip:overlay.example SIP/2.0\r\n"
         f"Via: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bKtls{cseq};rport\r\n"
         "From: <sip:alice@overlay.example>;tag=1\r\nTo: <sip:alice@overlay.example>\r\n"
         f"Call-ID: tlsreg\r\nCSeq: {cseq} REGISTER\r\n"
         "Contact: <sip:alice@127.0.0.1:5999;transport=tls>\r\nMax-Forwards: 70\r\n"
         f"{extra}Content-Length: 0\r\n\r\n")
    s.sendall(m.encode())
    return s.recv(65535).decode()
r = req(1)
chal = [l for l in r.split("\r\n") if l.startswith("WWW-Authenticate") and "SHA-256" in l][0]
nonce = chal.split('nonce="')[1].split('"')[0]
H = lambda x: hashlib.sha256(x.encode()).hexdigest()
ha1, ha2 = H(f"alice:overlay.example:{pw}"), H("REGISTER:sip:overlay.example")
resp = H(f"{ha1}:{nonce}:00000001:abc:auth:{ha2}")
r = req(2, f'Authorization: Digest username="alice", realm="overlay.example", nonce="{nonce}", '
           f'uri="sip:overlay.example", response="{resp}", algorithm=SHA-256, qop=auth, '
           'nc=00000001, cnonce="abc"\r\n')
print(r.split("\r\n")[0])
PY
out=$(timeout 10 python3 "$T/tlsreg.py" "$TLS" "$T/sip.crt" "$(sip_pw alice)" 2>&1)
assert_eq "SIP/2.0 200 OK" "$out" "REGISTER over TLS"
on_has on '[.sip.phones[] | select(.contact | contains("transport=tls"))] | length == 1' ||
	fail "no TLS binding: $(on_status on | jq -c .sip.phones)"

note "UDP still serves"
phone_register on alice "$(free_port)"

note "a TLS phone (bob) is called by a UDP phone (alice): everything to it goes over its TLS connection"
cat >"$T/tlsphone.py" <<'PY'
# A SIP phone that speaks only TLS (python ssl): registers bob over its
# connection with a Contact naming its own source address and port, then
# answers two calls on that connection. Call 1: the caller hangs up (BYE in).
# Call 2: this phone hangs up (BYE out along the Record-Route). A UDP socket
# and a TCP listener on its port note anything sent to it in the clear.
import hashlib, re, select, socket, ssl, sys, time
port, ca, pw, log = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
out = open(log, "w", buffering=1)
raw = socket.socket()
raw.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
raw.bind(("127.0.0.1", 0))
P = raw.getsockname()[1]
raw.connect(("127.0.0.1", port))
s = ssl.create_default_context(cafile=ca).wrap_socket(raw, server_hostname="127.0.0.1")
s.settimeout(0.1)
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind(("127.0.0.1", P))
clear = [udp]
try:
    tcp = socket.socket()
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind(("127.0.0.1", P))
    tcp.listen(4)
    clear.append(tcp)
except OSError as e:
    out.write(f"NOTCP {e}\n")
ME = f"<sip:bob@127.0.0.1:{P};transport=tls>"
out.write(f"PORT {P}\n")
buf = b""
def recv_msg(secs=30):
    global buf
    end = time.time() + secs
    while time.time() < end:
        h = buf.find(b"\r\n\r\n")
        if h >= 0:
            m = re.search(rb"(?im)^(?:content-length|l)\s*:\s*(\d+)", buf[:h])
            n = h + 4 + (int(m.group(1)) if m else 0)
            if len(buf) >= n:
                msg, buf = buf[:n].decode(), buf[n:]
                return msg
        for c in select.select(clear, [], [], 0)[0]:
            out.write("CLEAR %s\n" % ("udp" if c is udp else "tcp"))
            if c is udp: c.recvfrom(65535)
            else: c.accept()[0].close()
        try:
            d = s.recv(65535)
            if not d: raise SystemExit("TLS connection closed")
            buf += d
        except (socket.timeout, ssl.SSLWantReadError):
            pass
    raise SystemExit("nothing over TLS")
def hdrs(msg, *names):
    return [l.split(":", 1)[1].strip() for l in msg.split("\r\n")[1:]
            if ":" in l and l.split(":", 1)[0].strip().lower() in names]
def h1(msg, *names): return hdrs(msg, *names)[0]
def send(t): s.sendall(t.encode())
def reply(req, code, extra="", body=""):
    to = h1(req, "to", "t")
    if code == 200 and ";tag=" not in to: to += ";tag=py"
    send(f"SIP/2.0 {code} {'OK' if code == 200 else 'Trying'}\r\n"
         + "".join(f"Via: {v}\r\n" for v in hdrs(req, "via", "v"))
         + f"From: {h1(req, 'from', 'f')}\r\nTo: {to}\r\nCall-ID: {h1(req, 'call-id', 'i')}\r\n"
         f"CSeq: {h1(req, 'cseq')}\r\n{extra}Content-Length: {len(body)}\r\n\r\n{body}")
def register(cseq, extra=""):
    send("REGISTER sip:overlay.example SIP/2.0\r\n"
         f"Via: SIP/2.0/TLS 127.0.0.1:{P};branch=z9hG4bKreg{cseq};rport\r\n"
         "From: <sip:bob@overlay.example>;tag=1\r\nTo: <sip:bob@overlay.example>\r\n"
         f"Call-ID: tlsphone\r\nCSeq: {cseq} REGISTER\r\nContact: {ME}\r\nExpires: 300\r\n"
         f"Max-Forwards: 70\r\n{extra}Content-Length: 0\r\n\r\n")
    return recv_msg()
r = register(1)
chal = [c for c in hdrs(r, "www-authenticate") if "SHA-256" in c][0]
nonce = chal.split('nonce="')[1].split('"')[0]
H = lambda x: hashlib.sha256(x.encode()).hexdigest()
ha1, ha2 = H(f"bob:overlay.example:{pw}"), H("REGISTER:sip:overlay.example")
resp = H(f"{ha1}:{nonce}:00000001:abc:auth:{ha2}")
r = register(2, f'Authorization: Digest username="bob", realm="overlay.example", nonce="{nonce}", '
                f'uri="sip:overlay.example", response="{resp}", algorithm=SHA-256, qop=auth, '
                'nc=00000001, cnonce="abc"\r\n')
out.write("REGISTER " + r.split("\r\n")[0] + "\n")
sdp = f"v=0\r\no=bob 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {P} RTP/AVP 0\r\n"
def next_request(method):
    while True:
        m = recv_msg()
        if m.startswith(method + " "):
            out.write(method + "\n")
            return m
for call in (1, 2):
    inv = next_request("INVITE")
    rr = hdrs(inv, "record-route")
    out.write("RR " + ", ".join(rr) + "\n")
    reply(inv, 200, f"Contact: {ME}\r\n" + "".join(f"Record-Route: {v}\r\n" for v in rr)
          + "Content-Type: application/sdp\r\n", sdp)
    next_request("ACK")
    if call == 1:
        reply(next_request("BYE"), 200)
        continue
    time.sleep(0.5)  # the caller (sipp) waits for the BYE only after a pause
    peer = re.search(r"<([^>]*)>", h1(inv, "contact", "m")).group(1)
    send(f"BYE {peer} SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:{P};branch=z9hG4bKpybye;rport\r\n"
         + "".join(f"Route: {v}\r\n" for v in rr)
         + f"From: {h1(inv, 'to', 't')};tag=py\r\nTo: {h1(inv, 'from', 'f')}\r\n"
         f"Call-ID: {h1(inv, 'call-id', 'i')}\r\nCSeq: 1 BYE\r\nMax-Forwards: 70\r\n"
         "Content-Length: 0\r\n\r\n")
    while True:
        m = recv_msg()
        if m.startswith("SIP/2.0 ") and "BYE" in h1(m, "cseq"):
            out.write("BYE-ANSWER " + m.split("\r\n")[0] + "\n")
            if not m.startswith("SIP/2.0 1"):
                break
end = time.time() + 0.5  # a last look at the clear sockets
while time.time() < end:
    for c in select.select(clear, [], [], 0.1)[0]:
        out.write("CLEAR %s\n" % ("udp" if c is udp else "tcp"))
        if c is udp: c.recvfrom(65535)
        else: c.accept()[0].close()
out.write("DONE\n")
PY
timeout 50 python3 "$T/tlsphone.py" "$TLS" "$T/sip.crt" "$(sip_pw bob)" "$T/tlsphone.log" \
	>"$T/tlsphone.out" 2>&1 &
TLSPHONE=$!
poll 10 grep -qs "^REGISTER SIP/2.0 200" "$T/tlsphone.log" ||
	fail "bob not registered over TLS: $(cat "$T/tlsphone.log" "$T/tlsphone.out")"
P=$(awk '$1 == "PORT" { print $2 }' "$T/tlsphone.log")
on_has on '[.sip.phones[] | select(.account == "bob" and (.source | endswith(";transport=tls")))] | length == 1' ||
	fail "bob's binding is not TLS: $(on_status on | jq -c .sip.phones)"
call tls_in on "$TOP/tests/sipp/uac.xml" alice bob
# Every connection to the phone's port is the node's TLS one.
conns=$(ss -Htn state established "( dport = :$P )")
grep -q "127.0.0.1:$TLS " <<<"$conns" || fail "no TLS connection to the phone: $conns"
awk -v tls="127.0.0.1:$TLS" '$3 != tls { bad = 1 } END { exit !bad }' <<<"$conns" &&
	fail "a connection to the TLS phone's port that is not TLS: $conns"
call tls_out on "$TOP/tests/sipp/uac_wait_bye.xml" alice bob
wait "$TLSPHONE" || fail "TLS phone: $(cat "$T/tlsphone.log" "$T/tlsphone.out")"
log=$(cat "$T/tlsphone.log")
assert_eq 2 "$(grep -c '^INVITE$' <<<"$log")" "INVITEs over TLS"
assert_eq 2 "$(grep -c '^ACK$' <<<"$log")" "ACKs over TLS"
assert_eq 1 "$(grep -c '^BYE$' <<<"$log")" "the caller's BYE over TLS"
grep -q "^BYE-ANSWER SIP/2.0 200" <<<"$log" || fail "bob's BYE got no 200 over TLS: $log"
grep -q "^CLEAR" <<<"$log" && fail "SIP for the TLS phone went in the clear: $log"
rr=$(grep -m1 '^RR ' <<<"$log")
assert_contains "$rr" "<sip:127.0.0.1:$TLS;transport=tls;lr;" "the TLS phone's Record-Route"
grep -q "^NOTCP" <<<"$log" && fail "test bug: no TCP listener on the phone's port: $log"

note "sip_tls_listen without a certificate: the node does not start"
grep -v '^sip_tls_cert' "$T/on/ordinarynode.conf" >"$T/nocert.conf"
"$BIN/ordinarynode" -c "$T/nocert.conf" -n >"$T/nocert.out" 2>&1 && fail "started without sip_tls_cert"
grep -q "sip_tls_listen needs sip_tls_cert and sip_tls_key" "$T/nocert.out" || fail "no clear error: $(cat "$T/nocert.out")"
vg_check
echo ok
