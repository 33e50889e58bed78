#!/usr/bin/env bash
# Calls between sipp phones through the overlay: a ring of three super
# nodes, ordinary nodes on1 (alice, carol), on2 (bob, dave), on3 (bob
# again, and dave). Basic call with BYE from either side, re-INVITE, INFO and UPDATE
# inside a dialog, busy (486) and decline (603),
# 404 for an unknown user, 480 when the callee's node is gone, CANCEL while
# ringing and right at the start, MESSAGE, forking to bob's phones on two
# nodes (one answers, the other is cancelled), a restart of the callee's
# node (bindings kept in its database), fail-over (the caller's super
# node is killed and the next call works without re-registering), phones
# on TCP, OPTIONS to a user, and a phone whose Contact is a private address
# (reached at the address its REGISTER came from; the dead on3 still holds
# a record for dave, so the call also forks to a gone node), and a call
# whose callee's node moves to another super node before the caller's BYE
# (found again through its "/node" record).
# on1 runs under valgrind.
. "$(dirname "$0")/../lib.sh"
need sipp

overlay_start 3 "heartbeat_timeout = 4s" "[timers]" "heartbeat_interval = 1s" "stabilize_interval = 1s"
for u in alice bob carol dave; do add_user $u "password of $u"; done
on_init on1 alice carol
on_init on2 bob dave
on_init on3 bob dave
vg_on
on_start on1
VG_DAEMONS=0
on_start on2
on_start on3
SC=$TOP/tests/sipp

variant() { # NAME FILE SED-EXPR: a derived scenario in $T
	sed "$3" "$SC/$2" >"$T/$1.xml"
}
counter() { on_status "$1" | jq -r ".sip.counters.$2"; }
# moved_from ON PORT: ON is attached again, to a super node other than the one at PORT.
moved_from() { on_has "$1" '.state == "attached" and .supernode.port != $p' --argjson p "$2"; }

BOB2=$(free_port)
BOB3=$(free_port)
ALICE=$(free_port)
DAVE=$(free_port)
phone_register on2 bob "$BOB2"
phone_register on1 alice "$ALICE"
CLI_USER=carol poll 3 p2p_has_values user:bob@overlay.example 1

note "basic call alice (on1) -> bob (on2), the caller hangs up"
phone uas "$SC/uas.xml" bob "$BOB2"
p=$PHONE
call basic on1 "$SC/uac.xml" alice bob
phone_ok uas "$p"
[ "$(counter on1 invites)" -ge 1 ] && [ "$(counter on2 invites)" -ge 1 ] ||
	fail "INVITE not counted: $(on_status on1 | jq -c .sip)"

note "status: an answered call shows until it is hung up"
variant uac_long uac.xml 's|<pause milliseconds="200"/>|<pause milliseconds="2500"/>|'
phone uas_long "$SC/uas.xml" bob "$BOB2"
p=$PHONE
call long on1 "$T/uac_long.xml" alice bob &
c=$!
poll 4 on_has on1 '.sip.calls_answered == 1' || fail "call not shown: $(on_status on1 | jq -c .sip)"
poll 4 on_has on2 '.sip.calls_answered == 1' || fail "call not shown on on2: $(on_status on2 | jq -c .sip)"
wait "$c" || fail "long call"
phone_ok uas_long "$p"
[ "$(on_status on1 | jq .sip.calls_answered)" = 0 ] || fail "hung-up call still shown: $(on_status on1 | jq -c .sip)"
scrape "${ON_STATUS[on1]}"
[ "$(mval "$T/metrics" p2psip_on_invites_total)" -ge 1 ] || fail "metrics: $(cat "$T/metrics")"

note "basic call, the callee hangs up"
phone uas_bye "$SC/uas_bye.xml" bob "$BOB2"
p=$PHONE
call callee_bye on1 "$SC/uac_wait_bye.xml" alice bob
phone_ok uas_bye "$p"

note "inside the dialog: re-INVITE, ACK, INFO, UPDATE, BYE"
phone uas_dialog "$SC/uas_dialog.xml" bob "$BOB2"
p=$PHONE
call dialog on1 "$SC/uac_dialog.xml" alice bob
phone_ok uas_dialog "$p"

note "bob calls alice back (on2 -> on1)"
phone uas_alice "$SC/uas.xml" alice "$ALICE"
p=$PHONE
call back on2 "$SC/uac.xml" bob alice
phone_ok uas_alice "$p"

note "on2 restarts: bob's binding comes back from its database, no new REGISTER"
stop_pid "${ON_PID[on2]}" || fail "on2 exit status $?"
on_start on2
assert_contains "$(cat "$T/on_on2.log")" "1 binding kept from before the restart" "on2 log"
assert_contains "$(cat "$T/on_on2.log")" "from the last run to try first" "on2 log"
on_has on2 '.sip.phones | length == 1' || fail "bob's phone not kept: $(on_status on2 | jq -c .sip.phones)"
sleep 1.2 # published again once attached
phone uas_restart "$SC/uas.xml" bob "$BOB2"
p=$PHONE
call after_restart on1 "$SC/uac.xml" alice bob
phone_ok uas_restart "$p"

note "busy (486) and decline (603) reach the caller"
for st in "486 Busy Here" "603 Decline"; do
	code=${st%% *}
	variant "uas_$code" uas_reject.xml "s/486 Busy Here/$st/"
	phone "rej$code" "$T/uas_$code.xml" bob "$BOB2"
	p=$PHONE
	variant "uac_$code" uac_fail.xml "s/response=\"486\"/response=\"$code\"/"
	call "fail$code" on1 "$T/uac_$code.xml" alice bob
	phone_ok "rej$code" "$p"
done

note "404 for a user nobody registered"
variant uac_404 uac_fail.xml 's/response="486"/response="404"/'
call nobody on1 "$T/uac_404.xml" alice nobody
call carol_unregistered on1 "$T/uac_404.xml" alice carol

note "CANCEL while the phone rings"
phone uas_cancel "$SC/uas_cancel.xml" bob "$BOB2"
p=$PHONE
call cancel on1 "$SC/uac_cancel.xml" alice bob
phone_ok uas_cancel "$p"

note "CANCEL right after the 100, before the phone rang"
variant uas_cancel_late uas_cancel.xml 's|<recv request="INVITE"/>|<recv request="INVITE"/><pause milliseconds="700"/>|'
variant uac_cancel_early uac_cancel.xml '0,/<recv response="180"\/>/{s|<recv response="180"/>|<pause milliseconds="100"/>|}'
phone uas_cancel_late "$T/uas_cancel_late.xml" bob "$BOB2"
p=$PHONE
call cancel_early on1 "$T/uac_cancel_early.xml" alice bob
phone_ok uas_cancel_late "$p"

note "MESSAGE alice -> bob"
phone uas_message "$SC/uas_message.xml" bob "$BOB2"
p=$PHONE
call message on1 "$SC/uac_message.xml" alice bob
phone_ok uas_message "$p"

note "forking: bob also on on3; on2's phone answers, on3's is cancelled"
phone_register on3 bob "$BOB3"
CLI_USER=carol poll 3 p2p_has_values user:bob@overlay.example 2
variant uas_slow uas.xml 's|<pause milliseconds="100"/>|<pause milliseconds="600"/>|'
phone fork_answer "$T/uas_slow.xml" bob "$BOB2"
pa=$PHONE
phone fork_cancel "$SC/uas_cancel.xml" bob "$BOB3"
pc=$PHONE
call fork on1 "$SC/uac.xml" alice bob
phone_ok fork_answer "$pa"
phone_ok fork_cancel "$pc"

note "480 when the callee's node is gone"
phone_register on3 dave "$DAVE"
CLI_USER=carol poll 3 p2p_has_values user:dave@overlay.example 1
{ kill -9 "${ON_PID[on3]}" && wait "${ON_PID[on3]}"; } 2>/dev/null
variant uac_480 uac_fail.xml 's/response="486"/response="480"/'
call gone on1 "$T/uac_480.xml" alice dave
note "bob is still reached on on2"
phone uas_after "$SC/uas.xml" bob "$BOB2"
p=$PHONE
call after_gone on1 "$SC/uac.xml" alice bob
phone_ok uas_after "$p"

note "fail-over: the caller's super node dies, the next call works"
sn_port=$(on_status on1 | jq -r .supernode.port)
for n in sn1 sn2 sn3; do [ "${SN_PORT[$n]}" = "$sn_port" ] && victim=$n; done
{ kill -9 "${SN_PID[$victim]}" && wait "${SN_PID[$victim]}"; } 2>/dev/null
for on in on1 on2; do
	poll 10 moved_from $on "$sn_port"
	st=$(on_status $on)
	[ "$(jq -r .supernode.port <<<"$st")" != "$sn_port" ] || fail "$on did not move: $st"
done
sleep 1.5 # the republished records (at most one store a second per account)
phone uas_failover "$SC/uas.xml" bob "$BOB2"
p=$PHONE
call failover on1 "$SC/uac.xml" alice bob
phone_ok uas_failover "$p"

note "phones on TCP: carol (on1) calls bob's TCP phone (on2)"
phone_register on1 carol "$(free_port)" # carol's From must be an account of on1: it is
BOBT=$(free_port)
sipp_run reg_tcp on2 "$SC/register.xml" -s bob -key expires 300 -p "$BOBT" -m 1 -t t1 ||
	fail "REGISTER over TCP: $(tail -n 5 "$T/sipp_reg_tcp.out")"
sleep 1.2
phone uas_tcp "$SC/uas.xml" bob "$BOBT" -t t1
pt=$PHONE
phone uas_udp_too "$SC/uas_cancel.xml" bob "$BOB2"
pu=$PHONE
call tcp on1 "$SC/uac.xml" carol bob -t t1
phone_ok uas_tcp "$pt"
phone_ok uas_udp_too "$pu"

note "OPTIONS to a user through the overlay"
sed 's/MESSAGE/OPTIONS/g' "$SC/uas_message.xml" >"$T/uas_options.xml"
sed 's/MESSAGE/OPTIONS/g' "$SC/uac_message.xml" >"$T/uac_options.xml"
phone uas_options "$T/uas_options.xml" bob "$BOB2"
p=$PHONE
call options on1 "$T/uac_options.xml" alice bob
phone_ok uas_options "$p"

note "a phone behind a NAT: its Contact is private, it is reached where it registered from"
sed 's|Contact: <sip:\[service\]@\[local_ip\]:|Contact: <sip:[service]@10.99.0.7:|' "$SC/register.xml" >"$T/register_nat.xml"
NATP=$(free_port)
sipp_run reg_nat on2 "$T/register_nat.xml" -s dave -key expires 300 -p "$NATP" -m 1 ||
	fail "REGISTER with a private Contact: $(tail -n 5 "$T/sipp_reg_nat.out")"
on_has on2 '.sip.phones[] | select(.account == "dave") | .contact | test("10.99.0.7")' ||
	fail "dave's binding: $(on_status on2 | jq -c .sip.phones)"
sleep 1.2
phone uas_nat "$SC/uas.xml" dave "$NATP"
p=$PHONE
call nat on1 "$SC/uac.xml" alice dave
phone_ok uas_nat "$p"

note "the callee's node moves to another super node during a call: the BYE still arrives"
variant uac_move uac.xml 's|<pause milliseconds="200"/>|<pause milliseconds="5000"/>|'
phone uas_move "$SC/uas.xml" bob "$BOB2"
p=$PHONE
call move on1 "$T/uac_move.xml" alice bob &
c=$!
poll 6 on_has on2 '.sip.calls_answered == 1' || fail "the call was not answered: $(on_status on2 | jq -c .sip)"
sn_port=$(on_status on2 | jq -r .supernode.port)
for n in sn1 sn2 sn3; do [ "${SN_PORT[$n]}" = "$sn_port" ] && victim=$n; done
{ kill -9 "${SN_PID[$victim]}" && wait "${SN_PID[$victim]}"; } 2>/dev/null
poll 5 moved_from on2 "$sn_port"
wait "$c" || fail "the BYE after the callee's node moved"
phone_ok uas_move "$p"
grep -q "moved to super node" "$T/on_on1.log" || fail "on1 did not look up where on2 went"

on_has on1 '.sip.calls_setting_up == 0' ||
	fail "calls still in set-up on on1: $(on_status on1 | jq -c .sip)"
stop_pid "${ON_PID[on1]}" || fail "on1 exit status $?"
vg_check
echo "calls: all passed"
