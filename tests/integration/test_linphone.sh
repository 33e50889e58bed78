#!/usr/bin/env bash
# Linphone (Debian's linphone-cli, headless) as the phones, over TCP, as a
# new user would plug them in: alice's Linphone on on1 calls bob's on on2,
# bob answers by itself, alice hangs up. Linphone registers with
# +sip.instance and then again with the Contact port it learnt from rport:
# the node must keep one binding per phone, the call must reach bob once
# (no second branch answered 486), and the BYE must arrive. Skipped where
# linphonec is not installed (it is not among the CI packages: 80 of them).
. "$(dirname "$0")/../lib.sh"
need linphonec

overlay_start 1
for u in alice bob; do add_user $u "password of $u"; done
# The default order of challenges, SHA-256 first: Linphone answers it.
ON_DIGEST="SHA-256 MD5" on_init on1 alice
ON_DIGEST="SHA-256 MD5" on_init on2 bob
on_start on1
on_start on2

# lp_start NAME USER ON [linphonec args]: a headless Linphone registered
# over TCP at ordinary node ON; commands go to fd LP_FD[NAME].
declare -A LP_FD
lp_start() {
	local name=$1 user=$2 on=$3 dir=$T/lp_$1 fd
	shift 3
	mkdir -p "$dir/home/.local/share/linphone"
	cat >"$dir/rc" <<CONF
[sip]
sip_port=-1
sip_tcp_port=$(free_port)
sip_tls_port=-1
default_proxy=0
[proxy_0]
reg_proxy=<sip:127.0.0.1:${ON_SIP[$on]};transport=tcp>
reg_route=<sip:127.0.0.1:${ON_SIP[$on]};transport=tcp>
reg_identity=sip:$user@overlay.example
reg_expires=600
reg_sendregister=1
publish=0
[auth_info_0]
username=$user
passwd=$(sip_pw "$user")
realm=overlay.example
domain=overlay.example
[rtp]
audio_rtp_port=$(free_port)
[sound]
echocancellation=0
CONF
	mkfifo "$dir/in"
	exec {fd}<>"$dir/in" # read-write: opening does not wait for a reader
	LP_FD[$name]=$fd
	# Not start_bg: a background command's stdin would be /dev/null.
	HOME=$dir/home linphonec -c "$dir/rc" -d 5 "$@" <"$dir/in" >"$T/lp_$name.log" 2>&1 &
	PIDS+=("$!")
	echo "soundcard use files" >&"$fd"
}
lp_cmd() { echo "$2" >&"${LP_FD[$1]}"; }
lp_wait() { # NAME REGEXP [SECONDS]
	wait_until "${3:-20}" "linphone $1: no '$2'" grep -aqE "$2" "$T/lp_$1.log"
}

lp_start alice alice on1
lp_start bob bob on2 -a
lp_wait alice "Registration on .* successful|registered" 20
lp_wait bob "Registration on .* successful|registered" 20
sleep 3 # a second REGISTER with the Contact learnt from rport, if it comes
on_has on2 '[.sip.phones[] | select(.account == "bob")] | length == 1' ||
	fail "bob's Linphone is more than one binding: $(on_status on2 | jq -c .sip.phones)"

note "alice's Linphone calls bob's, which answers by itself; alice hangs up"
lp_cmd alice "call sip:bob@overlay.example"
lp_wait alice "Call [0-9]+ with .*bob.* connected" 30
lp_wait bob "Call [0-9]+ with .*alice.* connected" 10
sleep 2
lp_cmd alice terminate
lp_wait bob "Call [0-9]+ with .*alice.* ended" 15
lp_wait alice "Call [0-9]+ with .*bob.* ended" 15

note "both authenticated with SHA-256 (REGISTER after a 401, the INVITE after a 407)"
grep -aqE '^Authorization: +Digest .*algorithm=SHA-256' "$T/lp_bob.log" ||
	fail "bob's Linphone did not answer with SHA-256: $(grep -a '^Authorization:' "$T/lp_bob.log" | head -n 2)"
grep -aqE '^Proxy-Authorization: +Digest .*algorithm=SHA-256' "$T/lp_alice.log" ||
	fail "alice's INVITE was not authenticated with SHA-256"

note "one branch, no 486, every SIP message over TCP"
grep -aq "^SIP/2.0 486" "$T/lp_bob.log" && fail "bob's Linphone answered a second branch with 486"
assert_eq 1 "$(grep -ac '^INVITE sip:bob' "$T/lp_bob.log")" "INVITEs reaching bob"
for n in alice bob; do
	grep -aE "(message sent to|new bytes from) \[UDP://" "$T/lp_$n.log" | head -n 3 | grep -q . &&
		fail "$n's Linphone used UDP: $(grep -aE '(message sent to|new bytes from) \[UDP://' "$T/lp_$n.log" | head -n 3)"
done
grep -aA1 "message sent to \[TCP" "$T/lp_alice.log" | grep -aq "^ACK sip:" || fail "alice sent no ACK over TCP"
grep -aA1 "message sent to \[TCP" "$T/lp_alice.log" | grep -aq "^BYE sip:" || fail "alice sent no BYE over TCP"
grep -aA1 "new bytes from \[TCP" "$T/lp_bob.log" | grep -aq "^BYE sip:" || fail "bob got no BYE over TCP"
lp_cmd alice quit
lp_cmd bob quit
exit 0
