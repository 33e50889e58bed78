#!/usr/bin/env bash
# Calls with media between phones behind real NATs, built from network
# namespaces (needs root, ip, iptables; skipped otherwise):
#
#   wan  : a bridge for the lab's "internet", 198.51.100.0/24 (TEST-NET-2)
#   pub  : logind (.2:443), bootstrapd (.3:443), super nodes sn1 (.11) and
#          sn2 (.12), each on port 7400 (TLS, STUN, relay ports 40000-40999)
#          and on 443 (fall-back TLS)
#   8 sites, two of each kind, a router rN (wan .10N, lan 10.0.N.1) and a
#   host hN (10.0.N.2) with an ordinary node and sipp phones:
#     cone       MASQUERADE + inbound UDP forwarded to the host (full cone)
#     restricted MASQUERADE (port-restricted cone: only exact replies in)
#     symmetric  MASQUERADE --random-fully (a new port per destination)
#     tcp443     MASQUERADE, and only TCP to port 443 may leave
#
# Each node's middlebox detection must say what its NAT is. Then, for every
# ordered pair of kinds (caller at the first site of a kind, callee at the
# second site of a kind, so a pair of one kind is two different NATs), a
# call is set up by sipp, both phones send RTP for 3 s (udpx started by the
# scenarios, 50 packets/s from the port in their SDP to the port in the far
# end's SDP) and count what arrives, and the call is hung up. No phone may
# see a private address in the far end's SDP. The test prints the matrix;
# every cell must pass.
set -u
skip_now() { echo "skipped: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip_now "the NAT lab needs root (network namespaces, iptables)"
for c in ip iptables sipp; do command -v "$c" >/dev/null || skip_now "the NAT lab needs $c"; done
probe=p2pnlprobe$$
ip netns add "$probe" 2>/dev/null || skip_now "cannot create a network namespace"
if ! ip netns exec "$probe" true 2>/dev/null; then
	ip netns del "$probe"
	skip_now "cannot run commands in a network namespace here (a chroot?)"
fi
ip netns del "$probe"

. "$(dirname "$0")/../lib.sh"
UDPX=$TOP/build/tests/udpx
[ -x "$UDPX" ] || fail "build first: $UDPX missing"
P=p2pnl$$-
WAN=198.51.100
KINDS=(cone restricted symmetric tcp443)
NSES=()

nsx() { ip netns exec "$P$1" "${@:2}"; }
mkns() {
	ip netns add "$P$1" || fail "ip netns add $P$1"
	NSES+=("$1")
	nsx "$1" ip link set lo up
	nsx "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 2>/dev/null
}
lab_down() {
	local n pid
	t_cleanup
	for n in "${NSES[@]}"; do
		for pid in $(ip netns pids "$P$n" 2>/dev/null); do kill "$pid" 2>/dev/null; done
	done
	sleep 0.2
	for n in "${NSES[@]}"; do ip netns del "$P$n" 2>/dev/null; done
}
trap lab_down EXIT
wire() { # NS IFNAME: a port of the wan bridge into NS
	ip -n "${P}wan" link add "$1" type veth peer name "$2" netns "$P$1"
	ip -n "${P}wan" link set "$1" master br0 up
	ip -n "$P$1" link set "$2" up
}
kind_of() { echo "${KINDS[$((($1 - 1) / 2))]}"; }

note "building the lab: wan, pub, 8 sites"
mkns wan
ip -n "${P}wan" link add br0 type bridge
ip -n "${P}wan" link set br0 up
mkns pub
wire pub eth0
for a in 2 3 11 12; do ip -n "${P}pub" addr add "$WAN.$a/24" dev eth0; done
for i in $(seq 1 8); do
	k=$(kind_of "$i")
	mkns "r$i"
	mkns "h$i"
	wire "r$i" wan0
	ip -n "${P}r$i" addr add "$WAN.10$i/24" dev wan0
	ip -n "${P}r$i" link add lan0 type veth peer name eth0 netns "${P}h$i"
	ip -n "${P}r$i" addr add "10.0.$i.1/24" dev lan0
	ip -n "${P}r$i" link set lan0 up
	ip -n "${P}h$i" addr add "10.0.$i.2/24" dev eth0
	ip -n "${P}h$i" link set eth0 up
	ip -n "${P}h$i" route add default via "10.0.$i.1"
	nsx "r$i" sysctl -qw net.ipv4.ip_forward=1
	nsx "r$i" iptables -P FORWARD DROP
	nsx "r$i" iptables -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
	case $k in
	tcp443) nsx "r$i" iptables -A FORWARD -i lan0 -o wan0 -p tcp --dport 443 -j ACCEPT ;;
	*) nsx "r$i" iptables -A FORWARD -i lan0 -o wan0 -j ACCEPT ;;
	esac
	if [ "$k" = symmetric ]; then
		nsx "r$i" iptables -t nat -A POSTROUTING -o wan0 -j MASQUERADE --random-fully
	else
		nsx "r$i" iptables -t nat -A POSTROUTING -o wan0 -j MASQUERADE
	fi
	if [ "$k" = cone ]; then
		nsx "r$i" iptables -t nat -A PREROUTING -i wan0 -d "$WAN.10$i" -p udp --dport 1024:65535 \
			-j DNAT --to-destination "10.0.$i.2"
		nsx "r$i" iptables -A FORWARD -i wan0 -o lan0 -m conntrack --ctstate DNAT -j ACCEPT
	fi
done

note "logind, bootstrapd and two super nodes on the public host"
CA=$T/data/ca.crt
ADMIN_SOCK=$T/run/logind.sock
LD_URL=https://$WAN.2:443
BS_URL=https://$WAN.3:443
export P2PSIP_ADMIN_SOCKET=$ADMIN_SOCK
cat >"$T/logind.conf" <<CONF
[logind]
overlay = overlay.example
listen = $WAN.2:443
admin_socket = $ADMIN_SOCK
database = $T/data/logind.db
ca_key = $T/data/ca.key
ca_cert = $CA
tls_key = $T/data/logind.key
tls_cert = $T/data/logind.crt
tls_names = $WAN.2
workers = 2
[passwords]
scrypt_n = 1024
CONF
"$BIN/logind" -c "$T/logind.conf" --init >"$T/logind-init.log" 2>&1 || fail "logind --init: $(cat "$T/logind-init.log")"
start_bg logind ip netns exec "${P}pub" "$BIN/logind" -c "$T/logind.conf"
wait_file "$ADMIN_SOCK" 10
make_csr bootstrapd
admin cert issue-server --csr "$T/bootstrapd.csr" --dns bootstrapd.lab --ip "$WAN.3" --out "$T/bootstrapd.crt" 2>/dev/null ||
	fail "bootstrapd certificate"
cat >"$T/bootstrapd.conf" <<CONF
[bootstrapd]
overlay = overlay.example
listen = $WAN.3:443
ca_cert = $CA
tls_cert = $T/bootstrapd.crt
tls_key = $T/bootstrapd.key
database = $T/data/bootstrapd.db
logind_url = $LD_URL
allow_private = yes
CONF
start_bg bootstrapd ip netns exec "${P}pub" "$BIN/bootstrapd" -c "$T/bootstrapd.conf"
for s in 1 2; do
	add_user "sn$s" "password of sn$s" supernode
	mkdir -p "$T/sn$s"
	cat >"$T/sn$s/supernode.conf" <<CONF
[supernode]
overlay = overlay.example
bootstrap_url = $BS_URL
ca_cert = $CA
account = sn$s
password = password of sn$s
key = $T/sn$s/node.key
cert = $T/sn$s/node.crt
database = $T/sn$s/records.db
listen = $WAN.1$s:7400
fallback_listen = $WAN.1$s:443
status_listen = 127.0.0.1:748$s
[relay]
ports = 40000-40999
CONF
done
sn_status() { nsx pub curl -s --max-time 5 "http://127.0.0.1:748$1/status"; }
sn_joined() { [ "$(sn_status "$1" | jq -r .state 2>/dev/null)" = joined ]; }
start_bg sn_sn1 ip netns exec "${P}pub" "$BIN/supernode" -c "$T/sn1/supernode.conf"
poll 30 sn_joined 1
start_bg sn_sn2 ip netns exec "${P}pub" "$BIN/supernode" -c "$T/sn2/supernode.conf"
for s in 1 2; do
	poll 30 sn_joined $s || fail "sn$s did not join: $(sn_status $s)"
done

note "an ordinary node and a user per site"
on_status_of() { nsx "h$1" curl -s --max-time 5 "http://127.0.0.1:7490/status"; }
# site_ready SITE: its node is attached, has probed its middlebox and holds relay streams.
site_ready() {
	json_has "$(on_status_of "$1")" '.state == "attached" and .middlebox.result != "not probed yet" and
		.media.pool >= 1'
}
for i in $(seq 1 8); do
	add_user "u$i" "password of u$i"
	mkdir -p "$T/on$i"
	cat >"$T/on$i/ordinarynode.conf" <<CONF
[ordinarynode]
overlay = overlay.example
bootstrap_url = $BS_URL
ca_cert = $CA
state_dir = $T/on$i/state
status_listen = 127.0.0.1:7490
sip_listen = 10.0.$i.2:5060
digest_algorithms = MD5 SHA-256

[account u$i]
password = password of u$i
sip_password = $(sip_pw "u$i")
CONF
	start_bg "on_on$i" ip netns exec "${P}h$i" "$BIN/ordinarynode" -c "$T/on$i/ordinarynode.conf"
done
for i in $(seq 1 8); do
	poll 60 site_ready "$i"
	st=$(on_status_of "$i")
	[ "$(jq .media.pool <<<"$st")" -ge 1 ] || fail "site $i ($(kind_of "$i")) not ready: $(jq -c '{state, middlebox, media}' <<<"$st")"
done

note "middlebox detection per site"
for i in $(seq 1 8); do
	k=$(kind_of "$i")
	mb=$(on_status_of "$i" | jq -c .middlebox)
	case $k in
	cone | restricted) want='.result == "nat, same mapping for every destination" and .udp and .tcp_main_port' ;;
	symmetric) want='.result == "nat, mapping per destination" and .udp and .tcp_main_port' ;;
	tcp443) want='(.udp | not) and .tcp_fallback_port' ;;
	esac
	jq -e "$want" <<<"$mb" >/dev/null || fail "site $i ($k): middlebox $mb"
	echo "   site $i $k: $(jq -r '.result + ", UDP " + (if .udp then "out" else "blocked" end) + ", TLS via " + (if .tcp_fallback_port then "fall-back port" else "main port" end)' <<<"$mb")"
done

note "phones register"
for i in $(seq 1 8); do
	(cd "$T" && nsx "h$i" timeout 30 sipp "10.0.$i.2:5060" -sf "$TOP/tests/sipp/register.xml" -s "u$i" \
		-au "u$i" -ap "$(sip_pw "u$i")" -auth_uri overlay.example -key domain overlay.example -key expires 3600 -i "10.0.$i.2" -p 5070 -m 1 -nostdin \
		-timeout 20s -timeout_error >"$T/sipp_reg_$i.out" 2>&1) || fail "REGISTER at site $i: $(tail -n 5 "$T/sipp_reg_$i.out")"
done
sleep 1

# cell A B: caller at site A calls the phone at site B.
declare -A CELL
cell() {
	local a=$1 b=$2 name="c$1$2" pa=$((20000 + $1 * 100 + $2 * 2)) pb=$((30000 + $1 * 100 + $2 * 2)) rc=0 ra rb leak
	(cd "$T" && nsx "h$b" env P2P_UDPX="$UDPX" P2P_RTP_IP="10.0.$b.2" P2P_RTP_PORT="$pb" P2P_RTP_COUNT=150 \
		P2P_RTP_OUT="$T/rtp_${name}_callee" timeout 40 sipp -sf "$TOP/tests/sipp/uas_media.xml" \
		-s "u$b" -key domain overlay.example -key rtpport "$pb" -i "10.0.$b.2" -p 5070 -m 1 -mp 6100 \
		-nostdin -timeout 30s -timeout_error -trace_msg -message_file "$T/sipp_${name}_callee.msg" \
		>"$T/sipp_${name}_callee.out" 2>&1) &
	local ph=$!
	sleep 0.3
	(cd "$T" && nsx "h$a" env P2P_UDPX="$UDPX" P2P_RTP_IP="10.0.$a.2" P2P_RTP_PORT="$pa" P2P_RTP_COUNT=150 \
		P2P_RTP_OUT="$T/rtp_${name}_caller" timeout 40 sipp "10.0.$a.2:5060" \
		-sf "$TOP/tests/sipp/uac_media.xml" -s "u$b" -key caller "u$a" -key domain overlay.example \
		-au "u$a" -ap "$(sip_pw "u$a")" -auth_uri "u$b@overlay.example" \
		-key rtpport "$pa" -i "10.0.$a.2" -p 5072 -m 1 -mp 6200 -nostdin -timeout 30s -timeout_error \
		-trace_msg -message_file "$T/sipp_${name}_caller.msg" >"$T/sipp_${name}_caller.out" 2>&1) || rc=1
	wait "$ph" || rc=1
	sleep 1.2
	ra=$(sed -n 's/.*recv=\([0-9]*\).*/\1/p' "$T/rtp_${name}_caller" 2>/dev/null)
	rb=$(sed -n 's/.*recv=\([0-9]*\).*/\1/p' "$T/rtp_${name}_callee" 2>/dev/null)
	# what each phone was told by the far end: no private address
	leak=$(cat "$T/sipp_${name}_caller.msg" "$T/sipp_${name}_callee.msg" 2>/dev/null |
		grep -E '^(c=IN IP4|o=)' | grep -v -e "10\.0\.$a\.2" -e "10\.0\.$b\.2" | grep -E '(^| )10\.' || true)
	if [ "$rc" = 0 ] && [ "${ra:-0}" -ge 120 ] && [ "${rb:-0}" -ge 120 ] && [ -z "$leak" ]; then
		CELL[$a$b]="ok ${ra}/${rb}"
	else
		CELL[$a$b]="FAIL ${ra:-0}/${rb:-0}"
		FAILED+=("$(kind_of "$a")->$(kind_of "$b"): sip rc $rc, rtp caller ${ra:-none} callee ${rb:-none}${leak:+, leaked: $leak}")
	fi
}

note "calls: every caller kind x every callee kind, RTP both ways (150 packets each)"
FAILED=()
for ka in 0 1 2 3; do
	for kb in 0 1 2 3; do
		cell $((2 * ka + 1)) $((2 * kb + 2))
	done
done
printf '\n%-22s' "caller \\ callee"
for kb in 0 1 2 3; do printf '%-14s' "${KINDS[$kb]}"; done
echo
for ka in 0 1 2 3; do
	printf '%-22s' "${KINDS[$ka]}"
	for kb in 0 1 2 3; do printf '%-14s' "${CELL[$((2 * ka + 1))$((2 * kb + 2))]}"; done
	echo
done
echo "(cells: packets the caller / the callee received of 150)"
echo
for s in 1 2; do echo "   sn$s relay: $(sn_status $s | jq -c '.relay | {packets, streams, dropped}')"; done
[ ${#FAILED[@]} = 0 ] || fail "cells failed: $(printf '%s; ' "${FAILED[@]}")"
echo PASS
