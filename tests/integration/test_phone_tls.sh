#!/usr/bin/env bash
# SIP over TLS for the phones (sip_tls_listen, with the operator's
# certificate and key): openssl s_client writing a REGISTER without
# credentials gets 401 over TLS; a python TLS client that checks the
# node's certificate authenticates (SHA-256) and registers, and the binding
# shows; plain TCP to the TLS port gets nothing; UDP and TCP still serve.
# A node told to listen for TLS without a certificate does not start.
. "$(dirname "$0")/../lib.sh"
need openssl python3 sipp

overlay_start 1
add_user alice "password of alice"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=127.0.0.1 \
	-addext "subjectAltName=IP:127.0.0.1" -keyout "$T/sip.key" -out "$T/sip.crt" 2>/dev/null ||
	fail "openssl req"
TLS=$(free_port)
ON_EXTRA="sip_tls_listen = 127.0.0.1:$TLS
sip_tls_cert = $T/sip.crt
sip_tls_key = $T/sip.key" on_init on alice
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

note "sip_tls_listen without a certificate: the node does not start"
grep -v '^sip_tls_cert' "$T/on/ordinarynode.conf" >"$T/nocert.conf"
"$BIN/ordinarynode" -c "$T/nocert.conf" -n >"$T/nocert.out" 2>&1 && fail "started without sip_tls_cert"
grep -q "sip_tls_listen needs sip_tls_cert and sip_tls_key" "$T/nocert.out" || fail "no clear error: $(cat "$T/nocert.out")"
vg_check
echo ok
