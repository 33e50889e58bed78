#!/usr/bin/env bash
# Self-selected super nodes: a promotable user's ordinary node becomes a
# super node when the overlay wants one, serves records, and steps down
# with nothing lost when the ring grows past want_supernodes. Attacks: a
# user that is not promotable asks logind for role supernode; a node whose
# owner did not allow it; a reach_check that names another host; a flood
# of reach_checks.
. "$(dirname "$0")/../lib.sh"
need jq curl openssl sqlite3 python3

R=20 # records stored while carol's super node is in the ring

overlay_start 2 "heartbeat_timeout = 4s" "crl_refresh = 1s" "[timers]" \
	"heartbeat_interval = 1s" "stabilize_interval = 1s" "[limits]" "records_per_user = 1000" \
	"[promotion]" "enable = yes" "want_supernodes = 3" "min_uptime = 2s" "max_load = 100" \
	"demote_after = 3s"
cli_user alice
cli_user bob

note "logind: a promotable account, shown by user list"
echo "password of carol" | admin user add carol --password-stdin --promotable >/dev/null ||
	fail "user add carol --promotable"
echo "password of erin" | admin user add erin --password-stdin --promotable >/dev/null ||
	fail "user add erin --promotable"
add_user dave "password of dave"
admin user list --json | jq -e '.[] | select(.name == "carol" and .promotable)' >/dev/null ||
	fail "carol not listed as promotable"
admin user list --json | jq -e '.[] | select(.name == "dave" and (.promotable | not))' \
	>/dev/null || fail "dave listed as promotable"
admin user promotable sn1 >/dev/null 2>&1 && fail "a supernode account made promotable"

note "attack: dave (not promotable) asks logind for role supernode: 403, no certificate"
make_csr dave
jq -n --rawfile c "$T/dave.csr" '{user: "dave", password: "password of dave", csr: $c,
	role: "supernode"}' >"$T/dave.json"
code=$(https POST "$LD_URL/v1/login" "$T/dave.json")
assert_eq 403 "$code" "dave's login as supernode"
jq -e '.error | test("may not hold")' "$T/resp" >/dev/null || fail "error: $(cat "$T/resp")"
admin cert list --user dave --json | jq -e 'length == 0' >/dev/null ||
	fail "dave got a certificate"
grep -q "login: dave .* refused: role supernode asked" "$T/logind.log" || fail "no log line"

note "carol's node (allow = yes) and erin's (allow = no) start"
# promo NODE ALLOW: its [promotion] section in PROMO_CONF; the ports of
# its super node in PROMO_PORT[NODE], PROMO_STATUS[NODE].
declare -A PROMO_PORT PROMO_STATUS
promo() {
	PROMO_PORT[$1]=$(free_port)
	PROMO_STATUS[$1]=$(free_port)
	PROMO_CONF=$(printf '[promotion]\nallow = %s\nlisten = 127.0.0.1:%s\nstatus_listen = 127.0.0.1:%s\ncheck_interval = 1s\n' \
		"$2" "${PROMO_PORT[$1]}" "${PROMO_STATUS[$1]}")
}
promo onc yes
ON_EXTRA=$PROMO_CONF on_init onc carol
promo one no
ON_EXTRA=$PROMO_CONF on_init one erin
on_start onc
on_start one

note "carol's node steps up: ring of 3, listed by bootstrapd"
wait_until 60 "carol's node was not promoted: $(on_status onc | jq -c .promotion)" \
	on_has onc '.promotion.state == "super"'
SN_PORT[csn]=${PROMO_PORT[onc]}
SN_STATUS[csn]=${PROMO_STATUS[onc]}
SN_PID[csn]=0
snode_wait csn 60
ring_wait sn1 3 60
[ -f "$T/onc/state/promoted/supernode.conf" ] || fail "no supernode.conf"
grep -q "^promoted = yes" "$T/onc/state/promoted/supernode.conf" || fail "conf: not promoted"
openssl x509 -in "$T/onc/state/promoted/node.crt" -noout -text | grep -q "supernode" ||
	fail "carol's super node certificate is not of role supernode"
scrape "${ON_STATUS[onc]}"
assert_eq 2 "$(mval "$T/metrics" p2psip_on_promotion_state)" "promotion gauge"

note "its super node killed: the node notices and is ordinary"
kill -KILL "$(on_status onc | jq .promotion.pid)" || fail "no pid of carol's super node"
# (The log, not /status: the node tries again min_uptime later, and the
# status says why that try failed.)
wait_until 20 "the end of carol's super node went unnoticed" \
	grep -q "super -> ordinary: the super node ended by itself (signal 9)" "$T/on_onc.log"
# Its next try comes within the minute of its last reachability test: the
# super node refuses it, and the node stays ordinary until the minute is over.
wait_until 20 "the retry was not refused: $(on_status onc | jq -c .promotion)" \
	grep -q "checking -> ordinary: .*one reachability check a minute" "$T/on_onc.log"
on_has onc '.promotion.state != "super"' || fail "carol's node: $(on_status onc | jq -c .promotion)"

note "attack: erin's node (allow = no) never steps up"
on_has one '.promotion.state == "ordinary" and (.promotion.why | test("allow = no"))' ||
	fail "erin's node: $(on_status one | jq -c .promotion)"
[ ! -e "$T/one/state/promoted" ] || fail "erin's node made a promoted directory"

note "attack: a reach_check naming a host connects only to the link's peer"
P=$(free_port)
start_bg heard_far python3 "$TOP/tests/tools/listener.py" 127.0.0.2 "$P" "$T/heard_far"
start_bg heard_near python3 "$TOP/tests/tools/listener.py" 127.0.0.1 "$P" "$T/heard_near"
wait_port "$P"
far_up() { (exec 3<>"/dev/tcp/127.0.0.2/$P") 2>/dev/null; }
wait_until 10 "the listener on 127.0.0.2 did not start" far_up
sleep 0.5 # the listeners write their lines of our probes
: >"$T/heard_near" # the probes' lines
: >"$T/heard_far"
echo "{\"t\":\"reach_check\",\"port\":$P,\"host\":\"127.0.0.2\"}" |
	CLI_USER=alice SN_ATTACH=sn1 p2p raw >"$T/reach.out" 2>&1 || fail "raw: $(cat "$T/reach.out")"
jq -e 'select(.ok == true and .reachable == false)' "$T/reach.out" >/dev/null ||
	fail "reach_check answer: $(cat "$T/reach.out")"
wait_until 10 "no connection back to the link's peer" test -s "$T/heard_near"
[ ! -s "$T/heard_far" ] || fail "the super node connected to the named host: $(cat "$T/heard_far")"

note "attack: the test passes only for a super node certificate of the link's own account"
# reach_as USER PORT: USER's reach_check of PORT; its answer's "why".
reach_as() {
	echo "{\"t\":\"reach_check\",\"port\":$2}" | CLI_USER=$1 SN_ATTACH=sn1 p2p raw |
		jq -r 'select(.ok == true and .reachable == false) | .why'
}
cli_user frank
cli_user gina
Q=$(free_port)
start_bg s_server_sn2 openssl s_server -quiet -accept "127.0.0.1:$Q" -cert "$T/sn2/node.crt" \
	-key "$T/sn2/node.key" -CAfile "$CA" -Verify 1 </dev/null
wait_port "$Q"
why=$(reach_as frank "$Q")
assert_contains "$why" "another account" "frank's check against sn2's certificate"
stop_pid "$LAST_PID"
start_bg s_server_gina openssl s_server -quiet -accept "127.0.0.1:$Q" -cert "$T/gina.crt" \
	-key "$T/gina.key" -CAfile "$CA" -Verify 1 </dev/null
wait_port "$Q"
why=$(reach_as gina "$Q")
assert_contains "$why" "not a super node" "gina's check against her own user certificate"
stop_pid "$LAST_PID"

note "attack: malformed reach_checks are refused before anything is done"
printf '%s\n' '{"t":"reach_check"}' '{"t":"reach_check","port":0}' \
	'{"t":"reach_check","port":70000}' '{"t":"reach_check","port":"7400"}' \
	'{"t":"reach_check","port":-1,"host":"127.0.0.2"}' |
	CLI_USER=gina SN_ATTACH=sn1 p2p raw >"$T/bad.out" 2>&1 || fail "raw: $(cat "$T/bad.out")"
assert_eq 5 "$(jq -s 'map(select(.err == "bad_request")) | length' "$T/bad.out")" \
	"malformed reach_checks refused"

note "attack: a flood of 30 reach_checks gets one check"
: >"$T/heard_near"
for i in $(seq 1 30); do echo "{\"t\":\"reach_check\",\"port\":$P}"; done |
	CLI_USER=bob SN_ATTACH=sn1 p2p raw >"$T/flood.out" 2>&1 || fail "raw: $(tail -n 3 "$T/flood.out")"
assert_eq 1 "$(jq -s 'map(select(.ok == true)) | length' "$T/flood.out")" "checks done"
assert_eq 29 "$(jq -s 'map(select(.err == "busy")) | length' "$T/flood.out")" "checks refused"
sleep 1
assert_eq 1 "$(grep -c "tcp connection" "$T/heard_near")" "connections back"
snode_has sn1 '.reach_checks.refused >= 29' || fail "sn1 status: $(snode_status sn1 | jq -c .reach_checks)"

note "carol's node steps up again once the minute is over"
wait_until 60 "carol's node did not step up again: $(on_status onc | jq -c .promotion)" \
	on_has onc '.promotion.state == "super"'
snode_wait csn 60
ring_wait sn1 3 60

note "$R records stored, half through carol's super node"
names() { for i in $(seq 1 $R); do echo "user:alice@overlay.example/rec$i"; done; }
for i in $(seq 1 $R); do
	via=sn1
	[ $((i % 2)) = 0 ] && via=csn
	SN_ATTACH=$via p2p put "user:alice@overlay.example/rec$i" "value $i" >/dev/null ||
		fail "put rec$i through $via"
done

held() { [ "$(sqlite3 "$T/onc/state/promoted/records.db" \
	"SELECT count(*) FROM vals WHERE name LIKE 'user:alice@%/rec%'" 2>/dev/null)" -gt 0 ]; }
wait_until 10 "carol's super node holds none of the records" held

note "the ring grows to 5 > 3: carol's node steps down and hands over"
snode_init sn3
snode_init sn4
snode_start sn3
snode_start sn4
snode_wait sn3 60
snode_wait sn4 60
wait_until 60 "carol's node did not step down: $(on_status onc | jq -c .promotion)" \
	on_has onc '.promotion.state == "ordinary" and (.promotion.why | test("stepped down"))'
grep -q "handover to the successor done" "$T/on_onc.log" || fail "carol's super node did not hand over"
ring_wait sn1 4 60
lost=0
for i in $(seq 1 $R); do
	SN_ATTACH=sn1 p2p --json get "user:alice@overlay.example/rec$i" >"$T/got" 2>/dev/null
	[ "$(jq -r '.values[0].data' "$T/got" 2>/dev/null)" = "value $i" ] || lost=$((lost + 1))
done
note "records lost: $lost of $R"
assert_eq 0 "$lost" "records lost"
sleep 3 # a few more ticks: it must stay down (the ring is at 4)
on_has onc '.promotion.state == "ordinary"' || fail "carol's node stepped up again"

note "renewal of carol's super node certificate: granted, then refused once unpromotable"
PD=$T/onc/state/promoted
openssl req -new -key "$PD/node.key" -subj /CN=carol -out "$T/carol-renew.csr" 2>/dev/null ||
	fail "renewal CSR"
jq -n --rawfile c "$T/carol-renew.csr" '{csr: $c}' >"$T/carol-renew.json"
code=$(https POST "$LD_URL/v1/renew" "$T/carol-renew.json" --cert "$PD/node.crt" --key "$PD/node.key")
assert_eq 200 "$code" "renewal while promotable"
jq -j .certificate "$T/resp" >"$T/carol-sn2.crt"
admin user unpromotable carol >/dev/null || fail "user unpromotable carol"
code=$(https POST "$LD_URL/v1/renew" "$T/carol-renew.json" --cert "$T/carol-sn2.crt" --key "$PD/node.key")
assert_eq 401 "$code" "renewal once unpromotable"
jq -e '.error | test("promotable")' "$T/resp" >/dev/null || fail "error: $(cat "$T/resp")"
admin cert list --user carol --json | jq -e 'map(select(.role == "user" and (.revoked | not))) | length >= 1' \
	>/dev/null || fail "carol's user certificate was revoked by her super node ones"

note "carol's node stops: no super node left behind"
stop_pid "${ON_PID[onc]}"
pgrep -f "$T/onc/state/promoted/supernode.conf" >/dev/null && fail "carol's super node still runs"
vg_check
echo "all passed"
