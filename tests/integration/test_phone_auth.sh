#!/usr/bin/env bash
# Phones authenticate (SIP digest), played by an attacker on the phones'
# side with sipp and python sockets: REGISTER and INVITE without
# credentials get 401/407 and change no binding; a replayed Authorization
# (same nonce and nonce-count) is refused; alice's credentials do not
# register or call as bob (403); wrong passwords are refused, logged in the
# form the fail2ban filter reads, and after auth_fail_max of them the
# source gets 403 even with the right password until auth_block_time has
# passed, and /status and /metrics count those failures and the block; the
# right password works with MD5 and SHA-256 (a stale nonce gets
# stale=true); a node with phone_networks answers others 403; a node whose
# account has no SIP password does not start.
. "$(dirname "$0")/../lib.sh"
need sipp python3

overlay_start 1
add_user alice "password of alice"
add_user bob "password of bob"
ON_AUTH_FAIL_MAX=6 ON_EXTRA=$'auth_block_time = 4s\nauth_nonce_lifetime = 10s' on_init on alice bob
vg_on
on_start on
SIP=${ON_SIP[on]}
SC=$TOP/tests/sipp
LOG=$T/on_on.log

# The attacker's tool: SIP over UDP from python, with digest done by hand.
cat >"$T/sipc.py" <<'PY'
import random, socket, sys
sys.path.insert(0, sys.argv[5])
import sipdigest
from sipdigest import param

port, user, pw, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
s.settimeout(3)
me = s.getsockname()[1]
cseq = [0]

def send(method, ruri, frm, to, extra=""):
    cseq[0] += 1
    msg = (f"{method} {ruri} SIP/2.0\r\n"
           f"Via: SIP/2.0/UDP 127.0.0.1:{me};branch=z9hG4bK{random.getrandbits(48):x};rport\r\n"
           f"From: <sip:{frm}@overlay.example>;tag=t1\r\nTo: <sip:{to}@overlay.example>\r\n"
           f"Call-ID: attack-{mode}@127.0.0.1\r\nCSeq: {cseq[0]} {method}\r\n"
           f"Contact: <sip:{frm}@127.0.0.1:9>\r\nMax-Forwards: 70\r\n{extra}"
           f"Content-Length: 0\r\n\r\n")
    s.sendto(msg.encode(), ("127.0.0.1", port))
    while True:
        r = s.recv(65535).decode()
        if not r.startswith("SIP/2.0 1"):
            return r

def creds(resp, method, uri, nc, alg="MD5", who=None):
    return sipdigest.authorization(resp, method, uri, who or user, pw, nc, alg)

def status(r):
    return r.split("\r\n")[0].split(" ")[1]

reg = "sip:overlay.example"
if mode == "nocreds":      # REGISTER and INVITE without credentials
    r = send("REGISTER", reg, user, user)
    print(status(r), [l.split(":")[0] for l in r.split("\r\n") if "uthenticate" in l])
    print(" ".join(param(l, "algorithm") for l in r.split("\r\n") if "uthenticate" in l))
    r = send("INVITE", "sip:bob@overlay.example", user, "bob")
    print(status(r), [l.split(":")[0] for l in r.split("\r\n") if "uthenticate" in l])
elif mode == "replay":     # a good REGISTER, then the same credentials again
    c = send("REGISTER", reg, user, user)
    a = creds(c, "REGISTER", reg, "00000001")
    print(status(send("REGISTER", reg, user, user, a + "Expires: 0\r\n")))
    print(status(send("REGISTER", reg, user, user, a)))
elif mode == "sha256":     # SHA-256, then a stale nonce
    c = send("REGISTER", reg, user, user)
    print(status(send("REGISTER", reg, user, user, creds(c, "REGISTER", reg, "00000001", "SHA-256") + "Expires: 0\r\n")))
elif mode == "stale":
    c = send("REGISTER", reg, user, user)
    import time; time.sleep(11)
    r = send("REGISTER", reg, user, user, creds(c, "REGISTER", reg, "00000001", "SHA-256") + "Expires: 0\r\n")
    print(status(r), "stale=true" in r)
elif mode == "asbob":      # alice's credentials, bob's name
    c = send("REGISTER", reg, "bob", "bob")
    print(status(send("REGISTER", reg, "bob", "bob", creds(c, "REGISTER", reg, "00000001"))))
    c = send("INVITE", "sip:alice@overlay.example", "bob", "alice")
    print(status(send("INVITE", "sip:alice@overlay.example", "bob", "alice",
                      creds(c, "INVITE", "sip:alice@overlay.example", "00000001"))))
PY
sipc() { timeout 30 python3 "$T/sipc.py" "$SIP" "$@" "$TOP/tests/tools"; }
contacts() { on_status on | jq -c '[.sip.phones[]?.contact]'; }
no_attacker_binding() { [ "$(contacts | grep -c '127.0.0.1:9')" = 0 ] || fail "a binding changed: $(contacts)"; }

note "no credentials: REGISTER 401, INVITE 407, both algorithms offered; no binding"
out=$(sipc alice x nocreds) || fail "sipc: $out"
assert_eq "401 ['WWW-Authenticate', 'WWW-Authenticate']
MD5 SHA-256
407 ['Proxy-Authenticate', 'Proxy-Authenticate']" "$out" "answers without credentials"
no_attacker_binding
grep -q "phone authentication failed" "$LOG" && fail "a first challenge counted as a failure"
auth_count() { on_status on | jq -r ".sip.phone_auth.$1"; }
assert_eq 0 "$(auth_count failed)" "failures shown after challenges only"
[ "$(auth_count challenged)" -ge 2 ] || fail "challenges not counted: $(on_status on | jq -c .sip.phone_auth)"

note "the right password (sipp, MD5): 200 and alice's binding"
ALICE=$(free_port)
phone_register on alice "$ALICE"
contacts | grep -q "127.0.0.1:$ALICE" || fail "no binding for alice: $(contacts)"

note "SHA-256 (python): 200; an expired nonce with the right password gets stale=true"
assert_eq 200 "$(sipc alice "$(sip_pw alice)" sha256)" "SHA-256 REGISTER"

note "a replayed Authorization (same nonce and nonce-count): refused, no binding"
assert_eq "200
401" "$(sipc alice "$(sip_pw alice)" replay)" "replay"
no_attacker_binding
grep -q 'failed from 127.0.0.1: user "alice": nonce-count replayed' "$LOG" || fail "no log line for the replay"

note "alice's credentials registering and calling as bob: 403"
assert_eq "403
403" "$(sipc alice "$(sip_pw alice)" asbob)" "alice as bob"
no_attacker_binding
grep -q 'user "alice": To is another user' "$LOG" || fail "no log line for REGISTER as bob"
grep -q 'user "alice": From is another user' "$LOG" || fail "no log line for INVITE as bob"

note "wrong passwords (sipp): 403, then the source is blocked (403 without a challenge)"
sed 's|<recv response="200"/>|<recv response="403"/>|' "$SC/register.xml" >"$T/register_403.xml"
for i in 1 2 3; do
	sipp_run "wrong$i" on "$T/register_403.xml" -s alice -au alice -ap wrong \
		-auth_uri overlay.example -key expires 300 -p "$(free_port)" -m 1 ||
		fail "wrong password $i not refused: $(tail -n 5 "$T/sipp_wrong$i.out")"
done
grep -q 'phone authentication blocked for 127.0.0.1: 6 failures' "$LOG" || fail "no block after 6 failures"
{ sed -n '1,/<\/send>/p' "$SC/register.xml"; echo '  <recv response="403"/>'; echo '</scenario>'; } >"$T/register_blocked.xml"
sipp_run blocked on "$T/register_blocked.xml" -s alice -key expires 300 -p "$(free_port)" -m 1 ||
	fail "a blocked source was not refused at once: $(tail -n 5 "$T/sipp_blocked.out")"

note "the log lines are what the fail2ban filter reads"
grep 'phone authentication failed from' "$LOG" >"$T/fails.log"
FILTER=$TOP/etc/fail2ban/filter.d/p2psip-ordinarynode.conf
if command -v fail2ban-regex >/dev/null; then
	f2b=$(fail2ban-regex "$T/fails.log" "$FILTER" 2>&1) || fail "fail2ban-regex: $f2b"
	grep -q "^Lines: 6 lines, 0 ignored, 6 matched, 0 missed" <<<"$f2b" ||
		fail "fail2ban-regex did not match every line: $f2b"
else
	# The filter's own failregex, with fail2ban's <ADDR> as a group: the
	# file is checked even where fail2ban is not installed.
	got=$(python3 - "$FILTER" "$T/fails.log" <<'PY'
import re, sys
rx = [l.split("=", 1)[1].strip() for l in open(sys.argv[1]) if l.startswith("failregex")][0]
rx = re.compile(rx.replace("<ADDR>", r"(?P<addr>[0-9A-Fa-f.:]+)"))
# fail2ban matches after taking the time stamp off
lines = [re.sub(r"^\d{4}-\d\d-\d\dT[\d:.]+Z ", "", l) for l in open(sys.argv[2])]
print(" ".join((m.group("addr") if m else "missed") for m in map(rx.search, lines)))
PY
)
	assert_eq "127.0.0.1 127.0.0.1 127.0.0.1 127.0.0.1 127.0.0.1 127.0.0.1" "$got" "the filter's failregex on the log lines"
fi

note "/status and /metrics show the failures this test caused, and the block"
nfail=$(grep -c 'phone authentication failed from' "$LOG")
assert_eq 6 "$nfail" "failure lines in the log"
assert_eq "$nfail" "$(auth_count failed)" "failures in /status"
assert_eq 1 "$(auth_count blocked)" "blocks in /status"
[ "$(auth_count refused)" -ge 1 ] || fail "the blocked REGISTER not counted: $(on_status on | jq -c .sip.phone_auth)"
scrape "${ON_STATUS[on]}" # (the node's older metrics have no HELP: no prefix)
grep -qx "p2psip_on_phone_auth_failures_total $nfail" "$T/metrics" ||
	fail "failures in /metrics: $(grep phone_auth "$T/metrics")"
grep -qx "p2psip_on_phone_auth_blocks_total 1" "$T/metrics" || fail "blocks in /metrics: $(grep phone_auth "$T/metrics")"
for m in challenges refused; do
	grep -qE "^p2psip_on_phone_auth_${m}_total [1-9]" "$T/metrics" ||
		fail "$m missing in /metrics: $(grep phone_auth "$T/metrics")"
done

note "after auth_block_time the right password works again"
ok_again() { sipp_run again on "$SC/register.xml" -s alice -key expires 300 -p "$ALICE" -m 1; }
poll 10 ok_again || fail "alice still refused: $(tail -n 5 "$T/sipp_again.out")"
sipc alice "$(sip_pw alice)" stale >"$T/stale.out" || fail "sipc stale"
assert_eq "401 True" "$(cat "$T/stale.out")" "an expired nonce"

note "an account without a SIP password: the node does not start"
grep -v '^sip_password' "$T/on/ordinarynode.conf" >"$T/nosip.conf"
"$BIN/ordinarynode" -c "$T/nosip.conf" >"$T/nosip.out" 2>&1 && fail "started without SIP passwords"
grep -q 'give sip_password or sip_password_file' "$T/nosip.out" || fail "no clear error: $(cat "$T/nosip.out")"

note "phone_networks: a source outside gets 403 and nothing else"
ON_EXTRA="phone_networks = 10.0.0.0/8 fd00::/8" on_init on2 bob
on_launch on2
wait_port "${ON_SIP[on2]}" 10
{ sed -n '1,/<\/send>/p' "$SC/register.xml"; echo '  <recv response="403"/>'; echo '</scenario>'; } >"$T/register_nonet.xml"
sipp_run nonet on2 "$T/register_nonet.xml" -s bob -key expires 300 -p "$(free_port)" -m 1 ||
	fail "a source outside phone_networks was served: $(tail -n 5 "$T/sipp_nonet.out")"
grep -q "SIP from 127.0.0.1 refused: not in phone_networks" "$T/on_on2.log" || fail "no log line for phone_networks"

note "the node still serves alice"
phone_register on alice "$ALICE"
vg_check
echo ok
