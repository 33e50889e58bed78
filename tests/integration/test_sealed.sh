#!/usr/bin/env bash
# SIP sealed between ordinary nodes, asserted callers, and what a hostile
# super node or overlay user can no longer do (docs/security.md):
#   * bob's phone is told who calls by his node (P-Asserted-Identity of the
#     certificate that sealed the INVITE), alice's who answered; identity
#     headers alice's phone put on never reach bob's;
#   * carol's node, built to put alice in the From of what it sends
#     (build/test/ordinarynode, P2PSIP_SPOOF_FROM), gets 403 and bob's
#     phone never rings;
#   * a BYE for alice's call with bob, sent by carol's node with the
#     dialog's Call-ID, tags, Contact and Route: 403; then a new INVITE of
#     carol's with that Call-ID (to become a party) and a BYE: 403 both;
#     the call and its relay streams go on, alice hangs up normally later;
#   * a super node that changes one character of a sealed frame
#     (build/test/supernode, P2PSIP_TAMPER=flip): the message is dropped,
#     bob's phone hears nothing;
#   * the same super node handing down an old frame again (replay): refused,
#     bob's phone gets each MESSAGE once.
# test_calls_hostile and test_on_hostile send sealed garbage and SIP in
# clear text from the CLI (p2psip seal).
. "$(dirname "$0")/../lib.sh"
need sipp python3
HOOKS=$TOP/build/test
[ -x "$HOOKS/supernode" ] && [ -x "$HOOKS/ordinarynode" ] ||
	fail "test builds missing: make $HOOKS/supernode $HOOKS/ordinarynode (make check builds them)"
SC=$TOP/tests/sipp
TAMPER=$T/tamper
: >"$TAMPER"

logind_init
logind_start
bootstrapd_init
bootstrapd_start
snode_init sn1
start_bg sn_sn1 env P2PSIP_TAMPER="$TAMPER" "$HOOKS/supernode" -c "$T/sn1/supernode.conf"
SN_PID[sn1]=$LAST_PID
snode_wait sn1
for u in alice bob; do add_user $u "password of $u"; done
cli_user carol
ON_EXTRA=$'[media]\nrelay = always'
on_init on1 alice
on_init on2 bob
on_init on3 carol
on_start on1
on_start on2
start_bg on_on3 env P2PSIP_SPOOF_FROM=alice "$HOOKS/ordinarynode" -c "$T/on3/ordinarynode.conf"
ON_PID[on3]=$LAST_PID
poll 30 on_has on3 '.state == "attached"' || fail "on3 not attached: $(on_status on3)"
BOB=$(free_port)
phone_register on2 bob "$BOB"
sink_start() {
	: >"$T/bob.heard"
	python3 "$TOP/tests/tools/sipsink.py" "$BOB" "$T/bob.heard" &
	SINK=$!
	PIDS+=("$SINK")
	wait_until 10 "bob's listening phone did not start" udp_bound "$BOB"
}
udp_bound() { ss -Huln "sport = :$1" | grep -q .; }
sink_stop() { stop_pid "$SINK" || true; }
heard() { grep -c "^$1 " "$T/bob.heard"; }
seal_n() { on_status "$1" | jq ".sip.seal.$2"; }

note "alice calls bob: his phone gets P-Asserted-Identity alice, not what her phone claimed"
sink_start
sed 's|^      \[authentication\]$|      [authentication]\n      P-Asserted-Identity: <sip:boss@overlay.example>\n      Remote-Party-ID: <sip:boss@overlay.example>;party=calling|' \
	"$SC/uac_fail.xml" >"$T/uac_pai.xml"
call pai on1 "$T/uac_pai.xml" alice bob
invite=$(awk '/^INVITE /,/^----$/' "$T/bob.heard")
assert_contains "$invite" "P-Asserted-Identity: <sip:alice@overlay.example>" "bob's INVITE"
grep -qi "boss" <<<"$invite" && fail "an identity header of alice's phone reached bob: $invite"
[ "$(seal_n on1 sealed)" -ge 1 ] && [ "$(seal_n on2 opened)" -ge 1 ] ||
	fail "not sealed: on1 $(on_status on1 | jq -c .sip.seal), on2 $(on_status on2 | jq -c .sip.seal)"

note "carol's node sends her call as alice's: 403, bob's phone never rings"
: >"$T/bob.heard"
ref0=$(on_status on2 | jq .sip.counters.refused)
sed 's/response="486"/response="403"/' "$SC/uac_fail.xml" >"$T/uac_403.xml"
call spoof on3 "$T/uac_403.xml" carol bob
poll 1 grep -q '^INVITE ' "$T/bob.heard" && fail "the spoofed INVITE rang bob: $(cat "$T/bob.heard")"
on_has on2 ".sip.counters.refused > $ref0" || fail "on2 did not count it: $(on_status on2 | jq -c .sip.counters)"
grep -q "refused 403: From Is Not The Sender" "$T/on_on2.log" || fail "no log line at on2"
sink_stop

note "carol's node sends a BYE for alice's call with bob: 403, the call goes on"
sed 's|<pause milliseconds="200"/>|<pause milliseconds="12000"/>|' "$SC/uac.xml" >"$T/uac_long.xml"
phone bobcall "$SC/uas.xml" bob "$BOB" -trace_msg -message_file "$T/bob.msgs"
BOBCALL=$PHONE
(sipp_run long on1 "$T/uac_long.xml" -s bob -key caller alice -p "$(free_port)" -m 1 \
	-trace_msg -message_file "$T/alice.msgs") &
ALICE=$!
wait_until 10 "alice's call not answered" grep -q "^ACK " "$T/alice.msgs"
calls0=$(on_status on2 | jq .media.calls)
[ "$calls0" -ge 1 ] || fail "no relay streams at on2 for the call: $(on_status on2 | jq -c .media)"
ref0=$(on_status on2 | jq .sip.counters.refused)
# The Call-ID as it crossed the overlay (bob's phone got it), the rest as
# alice's phone saw it: all that a party of the call could tell carol.
cid=$(grep -m1 -i '^Call-ID:' "$T/bob.msgs" | cut -d: -f2- | tr -d ' \r')
answer=$(python3 - "$T/alice.msgs" "${ON_SIP[on3]}" "$TOP/tests/tools" "$(sip_pw carol)" \
	"${ON_SIP[on1]}" "$(on_status on1 | jq -r '.accounts[0].node_id')" "$cid" <<'PY'
import re, socket, sys
msgs, node, pw, on1_port, on1_id = open(sys.argv[1]).read(), int(sys.argv[2]), sys.argv[4], sys.argv[5], sys.argv[6]
sys.path.insert(0, sys.argv[3])
import sipdigest
ok = [m for m in re.split(r"\n-{20,}[^\n]*\n", msgs) if "SIP/2.0 200 OK" in m and "INVITE" in m][0]
ok = ok[ok.index("SIP/2.0 200"):].replace("\r\n", "\n")
def hdr(name):
    return [l.split(":", 1)[1].strip() for l in ok.split("\n") if l.lower().startswith(name.lower() + ":")]
call_id, frm, to = sys.argv[7], hdr("From")[0], hdr("To")[0]
contact = re.search(r"<([^>]*)>", hdr("Contact")[0]).group(1)
rr = [r.strip() for h in hdr("Record-Route") for r in h.split(",")]
# alice's route set is the Record-Route reversed; carol skips alice's node
route = [r for r in reversed(rr) if on1_id.lower() not in r.lower() and ":%s;" % on1_port not in r]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
s.settimeout(8)
me = s.getsockname()[1]
def bye(cseq, auth=""):
    m = ("BYE %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;rport;branch=z9hG4bKcarol%d\r\n"
         "%sMax-Forwards: 70\r\nFrom: <sip:carol@overlay.example>;tag=%s\r\nTo: %s\r\n"
         "Call-ID: %s\r\nCSeq: %d BYE\r\n%sContent-Length: 0\r\n\r\n" % (
             contact, me, cseq, "".join("Route: %s\r\n" % r for r in route),
             frm.split("tag=")[1], to, call_id, cseq, auth))
    s.sendto(m.encode(), ("127.0.0.1", node))
    while True:
        r = s.recv(65535).decode(errors="replace")
        if not r.startswith("SIP/2.0 100"):
            return r
r = bye(10)
if r.startswith("SIP/2.0 407"):
    r = bye(11, sipdigest.authorization(r, "BYE", contact, "carol", pw, 1))
print(r.split("\r\n")[0])
PY
) || fail "carol's BYE: $answer"
assert_eq "SIP/2.0 403 Not A Party To This Call" "$answer" "answer to carol's BYE"
on_has on2 ".sip.counters.refused > $ref0" || fail "on2 did not count it"
note "... and a new INVITE of carol's with that Call-ID, then a BYE: not made a party, 403"
on2_id=$(on_status on2 | jq -r '.accounts[0].node_id')
on2_sn=$(on_status on2 | jq -r '.supernode.node_id')
carol_id=$(CLI_USER=carol p2p --json whoami | jq -r .node_id)
ref1=$(on_status on2 | jq .sip.counters.refused)
for req in "INVITE sip:bob@overlay.example SIP/2.0|<sip:bob@overlay.example>" \
	"BYE sip:bob@overlay.example SIP/2.0|<sip:bob@overlay.example>;tag=$(grep -m1 -i '^To:.*tag=' "$T/bob.msgs" | sed 's/.*tag=//' | tr -d '\r')"; do
	body=$(printf '%s\r\nVia: SIP/2.0/TLS %s.invalid;branch=z9hG4bKp2p5.0.%s\r\nMax-Forwards: 70\r\nFrom: <sip:carol@overlay.example>;tag=c1\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: 5 %s\r\nContent-Length: 0\r\n\r\n' \
		"${req%%|*}" "$carol_id" "${req%% *}" "${req#*|}" "$cid" "${req%% *}")
	CLI_USER=carol p2p send --via "$on2_sn" "$on2_id" \
		"$(CLI_USER=carol p2p seal "$T/on2/state/bob.crt" "$on2_id" "$body")" >/dev/null || fail "send $req"
done
poll 5 on_has on2 ".sip.counters.refused >= $((ref1 + 2))" ||
	fail "carol's INVITE and BYE with the call's Call-ID not refused: $(on_status on2 | jq -c .sip.counters)"
assert_eq "$calls0" "$(on_status on2 | jq .media.calls)" "on2's relayed calls after carol's BYE"
wait "$ALICE" || fail "alice's call did not end normally: $(tail -n 20 "$T/sipp_long.out")"
phone_ok bobcall "$BOBCALL"
ok=$(awk '/^SIP\/2.0 200 OK/,/^$/' "$T/alice.msgs")
assert_contains "$ok" "P-Asserted-Identity: <sip:bob@overlay.example>" "the 200 alice's phone got"

note "a super node changes one character of a sealed frame: dropped"
sink_start
alt0=$(seal_n on2 altered)
echo flip >"$TAMPER"
sipp_run flip on1 "$SC/uac_message.xml" -s bob -key caller alice -p "$(free_port)" -m 1 \
	-timeout 4s >/dev/null 2>&1 || true # no answer comes
: >"$TAMPER"
poll 5 on_has on2 ".sip.seal.altered > $alt0" || fail "no altered frame at on2: $(on_status on2 | jq -c .sip.seal)"
[ "$(heard MESSAGE)" = 0 ] || fail "a tampered MESSAGE reached bob: $(cat "$T/bob.heard")"

note "a super node hands down an old frame again: refused, each MESSAGE reaches bob once"
rep0=$(seal_n on2 replayed)
echo replay >"$TAMPER"
sed 's/hello through the overlay/message one/' "$SC/uac_message.xml" >"$T/m1.xml"
sed 's/hello through the overlay/message two/' "$SC/uac_message.xml" >"$T/m2.xml"
call m1 on1 "$T/m1.xml" alice bob
sleep 2 # the first MESSAGE's transaction is over at on2 when it comes again
call m2 on1 "$T/m2.xml" alice bob
: >"$TAMPER"
poll 5 on_has on2 ".sip.seal.replayed > $rep0" || fail "no replay refused at on2: $(on_status on2 | jq -c .sip.seal)"
assert_eq 1 "$(grep -c '^message one' "$T/bob.heard")" "copies of the first MESSAGE at bob's phone"
assert_eq 1 "$(grep -c '^message two' "$T/bob.heard")" "copies of the second MESSAGE at bob's phone"
sink_stop
on_has on2 '.state == "attached"' || fail "on2 after all this: $(on_status on2 | jq -c .state)"
echo "sealed: all passed"
