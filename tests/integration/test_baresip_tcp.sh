#!/usr/bin/env bash
# Real phones on TCP: two baresip phones registered over TCP at two ordinary
# nodes call each other through the overlay; every request each phone sends
# (REGISTER, INVITE, ACK, BYE) goes over TCP, because each node's
# Record-Route names TCP towards its phone.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/baresip.sh"
need baresip

overlay_start 1
for u in alice bob; do add_user $u "password of $u"; done
# baresip 1.0 (libre 1.1) answers only MD5, and gives up ("Register:
# Function not implemented") on a 401 that carries any other challenge,
# whatever the order: its nodes offer MD5 alone.
ON_DIGEST=MD5 on_init on1 alice
ON_DIGEST=MD5 on_init on2 bob
on_start on1
on_start on2

acct() { # USER ON
	printf '<sip:%s@overlay.example;transport=tcp>;outbound="sip:127.0.0.1:%s;transport=tcp";auth_pass=%s;answermode=auto;audio_codecs=pcmu;regint=600' \
		"$1" "${ON_SIP[$2]}" "$(sip_pw "$1")"
}
bs_start alice "$(acct alice on1)"
bs_start bob "$(acct bob on2)"
bs_wait alice "200 OK" 10
bs_wait bob "200 OK" 10
sleep 1.2 # the records (at most one store a second per account)

# sent NAME METHOD: how many METHOD requests the phone's SIP trace shows
# (sent and received; the phone's own requests are those it logs as sent).
trace_count() { grep -ac "^$2 sip:" "$T/bs_$1.log"; }

note "alice calls bob and hangs up"
bs_cmd alice dial sip:bob@overlay.example >/dev/null
bs_wait alice "Call established|CALL_ESTABLISHED|incoming rtp for 'audio' established" 15
bs_wait bob "incoming rtp for 'audio' established" 15
sleep 2
bs_cmd alice hangup >/dev/null
bs_wait alice "^packets:" 10
bs_wait bob "^packets:" 10

note "alice calls bob again, bob hangs up"
bs_cmd alice dial sip:bob@overlay.example >/dev/null
bs_wait bob "answering call" 15
sleep 2
bs_cmd bob hangup >/dev/null
# Each phone prints its "packets:" line when a call ends.
both_ended() { [ "$(grep -ac '^packets:' "$T/bs_alice.log")" = 2 ] && [ "$(grep -ac '^packets:' "$T/bs_bob.log")" = 2 ]; }
poll 10 both_ended

note "every SIP message of both phones went over TCP"
for n in alice bob; do
	[ "$(grep -acE '^UDP [0-9.]+:[0-9]+ -> ' "$T/bs_$n.log")" = 0 ] ||
		fail "$n sent or got SIP over UDP: $(grep -aA1 -E '^UDP ' "$T/bs_$n.log" | head -n 6)"
	[ "$(grep -acE '^TCP [0-9.]+:[0-9]+ -> ' "$T/bs_$n.log")" -ge 10 ] || fail "$n: too little SIP in its trace"
	# Both ACKs and both BYEs crossed each phone's link (each phone saw them);
	# alice also ACKed the 407 that challenged each of her INVITEs.
	assert_eq "$([ $n = alice ] && echo 4 || echo 2)" "$(trace_count $n ACK)" "ACKs in $n's trace"
	assert_eq 2 "$(trace_count $n BYE)" "BYEs in $n's trace"
done

note "the phones authenticated: REGISTER after a 401, alice's INVITEs after a 407"
grep -aq "^SIP/2.0 401 Unauthorized" "$T/bs_bob.log" || fail "bob was not challenged"
[ "$(grep -ac "^SIP/2.0 407 Proxy Authentication Required" "$T/bs_alice.log")" -ge 2 ] ||
	fail "alice's INVITEs were not challenged"
grep -aq '^Proxy-Authorization: Digest username="alice"' "$T/bs_alice.log" ||
	fail "alice did not answer the challenge"

note "media flowed both ways in both calls"
for n in alice bob; do
	grep -a '^packets:' "$T/bs_$n.log" | while read -r _ tx rx; do
		[ "$tx" -ge 50 ] && [ "$rx" -ge 50 ] || { echo "$n: packets $tx $rx"; exit 1; }
	done || fail "$n's RTP: $(grep -a '^packets:' "$T/bs_$n.log")"
done
exit 0
