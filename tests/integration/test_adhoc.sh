#!/usr/bin/env bash
# An ad-hoc overlay (docs/adhoc.md): machines on a LAN with no route out
# and no DNS, nothing configured in advance, one p2psip-adhoc each. Machine
# 1 makes the join code (alice), machines 2 and 3 join with it (bob,
# carol); bob's phone calls carol's; machine 1 leaves and carol calls bob.
# Machine 4 plays an attacker without the code: its own code, the same
# overlay name. Its super node is not let into the ring, its ordinary node
# attaches to no member's super node, and its phone cannot call bob.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/foreign.sh"
. "$TOP/tests/lanlab.sh"
need sipp curl
netns_enter "$@"
lan_up 4
SC=$TOP/tests/sipp
SN_STATUS_PORT=7480 # p2psip-adhoc's fixed ports (adhoc/adhoc_cmd.h)
ON_STATUS_PORT=7490
SIP_PORT=5060

# adhoc_fail WHAT: fails with the last lines of every machine's daemons.
adhoc_fail() {
	local f
	for f in "$T"/m*/supernode.log "$T"/m*/ordinarynode.log "$T"/adhoc_*.log; do
		[ -f "$f" ] && { echo "--- $f" && tail -n 12 "$f"; } >&2
	done
	fail "$@"
}

# adhoc_run K NAME [ARGS...]: p2psip-adhoc on machine K for user NAME, its
# output in $T/adhoc_NAME.log, its state in $T/mK; pid in AD_PID[NAME].
declare -A AD_PID
adhoc_run() {
	local k=$1 name=$2
	shift 2
	# ip netns exec execs it: the pid is p2psip-adhoc's, for stop_pid
	# shellcheck disable=SC2046
	start_bg "adhoc_$name" ip netns exec "${LAN_NS[$k]}" $(vg_prefix "adhoc_$name") \
		"$BIN/p2psip-adhoc" --name "$name" \
		--dir "$T/m$k" --sip-password "$(sip_pw "$name")" "$@"
	AD_PID[$name]=$LAST_PID
}
printed() { sed -n "s/^$2 //p" "$T/adhoc_$1.log"; } # NAME FIELD: what p2psip-adhoc printed

sn_status() { lan_exec "$1" curl -s --max-time 5 "http://127.0.0.1:$SN_STATUS_PORT/status"; }
on_status_of() { lan_exec "$1" curl -s --max-time 5 "http://127.0.0.1:$ON_STATUS_PORT/status"; }
# ring_is K HOSTS...: machine K's super node has joined, and its own host
# and successors are exactly HOSTS (a whole ring of them, nobody else).
ring_is() {
	local k=$1 want got
	shift
	want=$(printf '%s\n' "$@" | sort -u | tr '\n' ' ')
	got=$(sn_status "$k" | jq -r 'select(.state == "joined") |
		([.self.host] + [.successors[].host] + [.predecessor.host // empty])[]' 2>/dev/null |
		sort -u | tr '\n' ' ')
	RING_SEEN=$got
	[ "$got" = "$want" ]
}
attached_to() { on_status_of "$1" | jq -e --arg h "$2" '.state == "attached" and .supernode.host == $h' >/dev/null 2>&1; }
attached() { on_status_of "$1" | jq -e '.state == "attached"' >/dev/null 2>&1; }

# sip K NAME SCENARIO USER [sipp args]: a phone of USER on machine K towards
# K's ordinary node; output in $T/sipp_NAME.out.
sip() {
	local k=$1 name=$2 sf=$3 user=$4 uri
	shift 4
	case $(basename "$sf") in register*) uri=$OVL ;; *) uri="$(sipp_service "$@")@$OVL" ;; esac
	(cd "$T" && lan_exec "$k" timeout 60 sipp "$(lan_ip "$k"):$SIP_PORT" -sf "$sf" \
		-key domain "$OVL" -i "$(lan_ip "$k")" -timeout 30s -timeout_error -nostdin \
		-trace_err -error_file "$T/sipp_$name.err" -au "$user" -ap "$(sip_pw "$user")" \
		-auth_uri "$uri" "$@" >"$T/sipp_$name.out" 2>&1)
}
sipp_service() { while [ $# -gt 1 ]; do [ "$1" = -s ] && { echo "$2"; return; }; shift; done; }
register() { # K USER PORT
	sip "$1" "reg_$2" "$SC/register.xml" "$2" -s "$2" -key expires 300 -p "$3" -m 1 ||
		adhoc_fail "REGISTER of $2 on machine $1: $(tail -n 5 "$T/sipp_reg_$2.out")"
}
# answer K NAME USER PORT: USER's phone on machine K waits for one call.
answer() {
	(cd "$T" && exec ip netns exec "${LAN_NS[$1]}" timeout 60 sipp -sf "$SC/uas.xml" -s "$3" -key domain "$OVL" \
		-i "$(lan_ip "$1")" -p "$4" -m 1 -nostdin -timeout 40s -timeout_error -trace_err \
		-error_file "$T/sipp_$2.err" >"$T/sipp_$2.out" 2>&1) &
	PHONE=$!
	sleep 0.3
}
dial() { # K NAME SCENARIO FROM TO
	sip "$1" "$2" "$3" "$4" -s "$5" -key caller "$4" -p "$(free_port)" -m 1
}

note "the machines have no route out and no DNS"
for k in 1 2 3 4; do
	lan_exec "$k" ip route get 192.0.2.1 >/dev/null 2>&1 && fail "machine $k has a route out"
	lan_exec "$k" timeout 5 getent hosts example.com >/dev/null 2>&1 &&
		fail "machine $k resolves names"
done

note "a code or a name that is not one is refused, and nothing is written"
out=$(lan_exec 1 "$BIN/p2psip-adhoc" --name x --code ABCDE-FGHIJ-KLMNO-PQRS1 --dir "$T/bad" 2>&1) &&
	fail "a code with a 1 was accepted"
assert_contains "$out" "A-Z, 2-7" "refused code"
out=$(lan_exec 1 "$BIN/p2psip-adhoc" --name x --code ABCDE-FGHIJ --dir "$T/bad" 2>&1) &&
	fail "a code of 10 characters was accepted"
assert_contains "$out" "at least 20" "short code"
lan_exec 1 "$BIN/p2psip-adhoc" --name ../x --dir "$T/bad" >/dev/null 2>&1 && fail "name ../x accepted"
[ ! -e "$T/bad" ] || fail "a refused command left $T/bad behind"

note "machine 1: p2psip-adhoc --name alice makes the join code"
adhoc_run 1 alice
poll 60 grep -q '^join code: ' "$T/adhoc_alice.log" || adhoc_fail "no join code printed"
CODE=$(printed alice "join code:")
OVL=$(printed alice overlay)
[[ $CODE =~ ^[A-Z2-7]{5}(-[A-Z2-7]{5}){3}$ ]] || fail "join code '$CODE'"
[[ $OVL =~ ^adhoc-[0-9a-f]{8}\.p2psip$ ]] || fail "overlay name '$OVL'"
grep -q "server    $(lan_ip 1):$SIP_PORT" "$T/adhoc_alice.log" || fail "no phone settings printed"
poll 60 ring_is 1 "$(lan_ip 1)" || adhoc_fail "alice's super node alone: ring $RING_SEEN"

note "machines 2 and 3 join with the code"
vg_on # bob's p2psip-adhoc (not the daemons it starts)
adhoc_run 2 bob --code "$CODE"
VG_DAEMONS=0
adhoc_run 3 carol --code "$(tr 'A-Z' 'a-z' <<<"$CODE")" # as typed: case does not matter
A=("$(lan_ip 1)" "$(lan_ip 2)" "$(lan_ip 3)")
for k in 1 2 3; do
	poll 90 ring_is "$k" "${A[@]}" || adhoc_fail "machine $k: ring $RING_SEEN, want ${A[*]}"
done
cmp -s <(openssl x509 -in "$T/m1/ca.crt" -noout -pubkey) \
	<(openssl x509 -in "$T/m3/ca.crt" -noout -pubkey) || fail "machines 1 and 3: other CA keys"
for k in 2 3; do poll 60 attached "$k" || adhoc_fail "machine $k's ordinary node not attached"; done

note "machine 4: an attacker with another code and the same overlay name"
adhoc_run 4 mallory --overlay "$OVL"
poll 60 ring_is 4 "$(lan_ip 4)" || adhoc_fail "mallory's super node: ring $RING_SEEN"
poll 30 attached_to 4 "$(lan_ip 4)" || adhoc_fail "mallory's node: $(on_status_of 4 | jq -c .supernode)"

note "bob (machine 2) calls carol (machine 3)"
register 2 bob 5062
register 3 carol 5063
answer 3 carol_1 carol 5063
p=$PHONE
dial 2 bob_carol "$SC/uac.xml" bob carol || adhoc_fail "call bob -> carol: $(tail -n 20 "$T/sipp_bob_carol.out")"
wait "$p" || adhoc_fail "carol's phone: $(tail -n 20 "$T/sipp_carol_1.out")"

note "the attacker is not in the ring and cannot call bob"
for k in 1 2 3; do
	ring_is "$k" "${A[@]}" || fail "machine $k: ring $RING_SEEN after the attacker came"
done
sn_status 2 | jq -e '.lan.ignored.certificate >= 1' >/dev/null ||
	fail "machine 2 counted no refused announcement: $(sn_status 2 | jq -c .lan)"
sn_status 4 | jq -e '.lan.heard == 0 and .lan.ignored.certificate >= 1' >/dev/null ||
	fail "mallory's super node heard members: $(sn_status 4 | jq -c .lan)"
for k in 2 3; do
	on_status_of "$k" | jq -e --arg h "$(lan_ip 4)" '.supernode.host != $h' >/dev/null ||
		fail "machine $k's ordinary node attached to mallory's super node"
done
register 4 mallory 5064
sed 's/response="486"/response="404"/' "$SC/uac_fail.xml" >"$T/uac_404.xml"
dial 4 mallory_bob "$T/uac_404.xml" mallory bob ||
	adhoc_fail "mallory -> bob was not 404: $(tail -n 20 "$T/sipp_mallory_bob.out")"
stop_pid "${AD_PID[mallory]}"

note "machine 1 leaves; carol calls bob"
stop_pid "${AD_PID[alice]}" || fail "p2psip-adhoc of alice: exit status $?"
pid_gone "${AD_PID[alice]}" 1 || fail "alice's p2psip-adhoc still runs"
grep -q "signal 15" "$T/m1/supernode.log" || fail "alice's super node was not stopped by SIGTERM"
for k in 2 3; do
	poll 60 ring_is "$k" "${A[1]}" "${A[2]}" || adhoc_fail "machine $k: ring $RING_SEEN after alice left"
done
for k in 2 3; do poll 60 attached "$k" || adhoc_fail "machine $k's ordinary node not attached"; done
answer 2 bob_1 bob 5062
p=$PHONE
dial 3 carol_bob "$SC/uac.xml" carol bob || adhoc_fail "call carol -> bob: $(tail -n 20 "$T/sipp_carol_bob.out")"
wait "$p" || adhoc_fail "bob's phone: $(tail -n 20 "$T/sipp_bob_1.out")"
stop_pid "${AD_PID[bob]}" || fail "p2psip-adhoc of bob: exit status $?"
grep -q "signal 15" "$T/m2/supernode.log" || fail "bob's super node was not stopped by SIGTERM"
vg_check
echo "ok"
