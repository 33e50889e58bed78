#!/usr/bin/env bash
# SRTP end to end through two relays: two baresip phones at two ordinary
# nodes, each node attached to its own super node and relaying every call
# ([media] relay = always), so that the media crosses both relays. With SDES
# (srtp-mand: a=crypto) and with DTLS-SRTP (dtls_srtp: a=fingerprint,
# a=setup), calls both ways. Checked: media counted at both phones (baresip
# counts only packets its SRTP accepted), the phones say the media is
# encrypted, the relays forwarded the packets, and the crypto lines each
# phone received are byte for byte those the other phone sent. sn1 and on1
# run under valgrind.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/baresip.sh"
need baresip

overlay_start 0
r1=$(($(free_port) / 2 * 2))
r2=$(($(free_port) / 2 * 2))
seq "$((r1 - 2))" "$((r1 + 59))" >>"$PORTS_FILE"
seq "$((r2 - 2))" "$((r2 + 59))" >>"$PORTS_FILE"
vg_on # sn1 and on1 (the offerer's side of the first calls)
snode_up sn1 "[relay]" "ports = $r1-$((r1 + 59))"
for u in alice bob; do add_user $u "password of $u"; done
media_on() { # NAME ACCOUNT
	ON_DIGEST=MD5 on_init "$1" "$2"
	printf '\n[media]\nrelay = always\n' >>"$T/$1/ordinarynode.conf"
}
media_on on1 alice
media_on on2 bob
on_start on1 # the only super node: sn1
VG_DAEMONS=0
snode_up sn2 "[relay]" "ports = $r2-$((r2 + 59))"
# on2 must attach to sn2 (bootstrapd's list is shuffled): tried anew, with
# a fresh state, until it does.
on_sn() { on_status "$1" | jq -r .supernode.port; }
for try in 1 2 3 4 5 6 7 8 9 10; do
	on_start on2
	[ "$(on_sn on2)" = "${SN_PORT[sn2]}" ] && break
	stop_pid "${ON_PID[on2]}"
	rm -rf "$T/on2/state"
done
assert_eq "${SN_PORT[sn2]}" "$(on_sn on2)" "on2's super node"
assert_eq "${SN_PORT[sn1]}" "$(on_sn on1)" "on1's super node"
for n in on1 on2; do
	poll 10 on_has $n '.media.pool >= 1' || fail "$n has no relay streams: $(on_status $n | jq -c .media)"
done

acct() { # USER ON MEDIAENC
	printf '<sip:%s@overlay.example;transport=tcp>;outbound="sip:127.0.0.1:%s;transport=tcp";auth_pass=%s;answermode=auto;audio_codecs=pcmu;ptime=20;regint=600;mediaenc=%s' \
		"$1" "${ON_SIP[$2]}" "$(sip_pw "$1")" "$3"
}
relayed() { echo $(($(snode_status sn1 | jq .relay.packets) + $(snode_status sn2 | jq .relay.packets))); }
ended() { [ "$(grep -ac '^packets:' "$T/bs_$1.log")" -ge "$2" ]; } # PHONE N

# crypto_lines PHONE: the key and DTLS lines of every SDP in the phone's
# SIP trace (what it sent and what it received).
crypto_lines() { grep -aE '^a=(crypto|fingerprint|setup):' "$T/bs_$1.log" | sort -u; }

# srtp_calls ENC SECURE: alice and bob with that media encryption call each
# other, one call each way; SECURE: what each phone logs when its media is
# encrypted.
srtp_calls() {
	local enc=$1 secure=$2 n k
	BS_MODULES="srtp.so dtls_srtp.so" bs_start "a_$enc" "$(acct alice on1 "$enc")"
	BS_MODULES="srtp.so dtls_srtp.so" bs_start "b_$enc" "$(acct bob on2 "$enc")"
	bs_wait "a_$enc" "200 OK" 10
	bs_wait "b_$enc" "200 OK" 10
	sleep 1.2 # the records (at most one store a second per account)
	k=0
	for dir in "a_$enc b_$enc bob" "b_$enc a_$enc alice"; do
		set -- $dir
		k=$((k + 1))
		p0=$(relayed)
		note "$enc: $1 calls $3"
		bs_cmd "$1" dial "sip:$3@overlay.example" >/dev/null
		bs_wait "$2" "Call answered|answering call" 15
		sleep 3
		bs_cmd "$1" hangup >/dev/null
		poll 10 ended "$1" $k || fail "$1: no end of call"
		poll 10 ended "$2" $k || fail "$2: no end of call"
		for n in "$1" "$2"; do
			grep -a '^packets:' "$T/bs_$n.log" | tail -n 1 | {
				read -r _ tx rx
				[ "$tx" -ge 100 ] && [ "$rx" -ge 100 ]
			} || fail "$enc, $1 -> $3: $n's RTP: $(grep -a '^packets:' "$T/bs_$n.log" | tail -n 1)"
		done
		for n in "$1" "$2"; do
			[ "$(grep -acE "$secure" "$T/bs_$n.log")" -ge "$k" ] ||
				fail "$enc, $1 -> $3: $n does not say its media is encrypted ($secure)"
		done
		p1=$(relayed)
		[ $((p1 - p0)) -ge 400 ] || fail "$enc: the relays forwarded $((p1 - p0)) packets"
		note "$enc $1 -> $3: $(grep -a '^packets:' "$T/bs_$1.log" | tail -n 1), $((p1 - p0)) relayed"
	done
	# Both phones saw the same key and DTLS lines: each crossed two nodes'
	# SDP rewriting unchanged, byte for byte.
	[ -n "$(crypto_lines "a_$enc")" ] || fail "$enc: no a=crypto or a=fingerprint in the SDP"
	[ "$(crypto_lines "a_$enc")" = "$(crypto_lines "b_$enc")" ] ||
		fail "$enc: the key lines changed on the way: $(diff <(crypto_lines "a_$enc") <(crypto_lines "b_$enc"))"
	# Stopped while their nodes still answer the un-REGISTER (else each
	# waits 32 s for it at the end of the test).
	kill -TERM "${BS_PID[a_$enc]}" "${BS_PID[b_$enc]}"
	pid_gone "${BS_PID[a_$enc]}" 10
	pid_gone "${BS_PID[b_$enc]}" 10
}

srtp_calls srtp-mand "srtp: audio: SRTP is Enabled"
srtp_calls dtls_srtp "DTLS-SRTP complete \(audio/RTP\)"
stop_pid "${ON_PID[on1]}" || fail "on1 exit status $?"
stop_pid "${SN_PID[sn1]}" || fail "sn1 exit status $?"
vg_check
echo PASS
