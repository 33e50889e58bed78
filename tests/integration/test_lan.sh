#!/usr/bin/env bash
# LAN discovery (docs/protocol.md, "LAN announcements") on a LAN of
# namespaces (tests/lanlab.sh) with no bootstrapd at all: logind and the
# attacker on the bridge (10.77.0.254); sn1 on machine 1 forms a ring of
# one and announces itself; sn2 on machine 2, with no bootstrap_url, hears
# it and joins; ordinary nodes on machines 3 and 4 with only logind_url
# find a super node and their phones call each other. Then the attacker
# sends an oversized datagram, a malformed one, and announcements under
# another CA's certificate, a user's, another overlay's, with a flipped
# signature, a stale time, another machine's address (a listener there sees
# no connection) and a replay of sn1's own: each is ignored and counted by
# its reason, and a fresh ordinary node on machine 5 started while
# forgeries fly attaches to a genuine super node. sn2 and on1 run under
# valgrind. sn3 (machine 4) has a bootstrapd (on the bridge) that lists no
# super node yet: it joins through those heard rather than forming a ring
# apart.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/foreign.sh"
. "$TOP/tests/lanlab.sh"
need sipp python3
netns_enter "$@"
lan_up 5
GW=10.77.0.254
FORGE=$TOP/build/tests/lanforge
[ -x "$FORGE" ] || fail "build first: make unit ($FORGE missing)"

logind_init "[logind]" "tls_names = localhost, 127.0.0.1, $GW"
sed -i "s/^listen = 127.0.0.1:/listen = 0.0.0.0:/" "$T/logind.conf"
logind_start
LURL=https://$GW:$LD_PORT

# lsn_init K NAME: super node NAME on machine K, no bootstrap_url.
lsn_init() {
	add_user "$2" "password of $2" supernode
	mkdir -p "$T/$2"
	cat >"$T/$2/supernode.conf" <<CONF
[supernode]
overlay = $OVERLAY
logind_url = $LURL
ca_cert = $CA
account = $2
password = password of $2
key = $T/$2/node.key
cert = $T/$2/node.crt
database = $T/$2/records.db
listen = $(lan_ip "$1"):7400
status_listen = 127.0.0.1:7480
[ring]
stabilize_ms = 500
[relay]
allow_networks = 10.77.0.0/24
[lan]
announce = yes
interval = 1s
wait = ${3:-2s}
CONF
}
# lon_init K NAME ACCOUNT: ordinary node NAME on machine K, logind_url only.
lon_init() {
	add_user "$3" "password of $3"
	mkdir -p "$T/$2"
	cat >"$T/$2/ordinarynode.conf" <<CONF
[ordinarynode]
overlay = $OVERLAY
logind_url = $LURL
ca_cert = $CA
state_dir = $T/$2/state
status_listen = 127.0.0.1:7490
sip_listen = 127.0.0.1:5060
digest_algorithms = MD5 SHA-256
[media]
relay = never
[account $3]
password = password of $3
sip_password = $(sip_pw "$3")
CONF
	ON_SIP[$2]=5060
}
declare -A MACH PID_OF
lstart() { # K NAME PROGRAM
	MACH[$2]=$1
	# shellcheck disable=SC2046
	start_bg "$2" ip netns exec "${LAN_NS[$1]}" $(vg_prefix "$2") "$BIN/$3" -c "$T/$2/$3.conf"
	PID_OF[$2]=$LAST_PID
}
st() { lan_exec "${MACH[$1]}" curl -s --max-time 5 "http://127.0.0.1:$2/status"; }
sn_st() { st "$1" 7480; }
on_st() { st "$1" 7490; }
sn_is() { json_has "$(sn_st "$1")" "${@:2}"; }
on_is() { json_has "$(on_st "$1")" "${@:2}"; }

# sn3's bootstrapd (only sn3 asks it), listing no super node yet
bootstrapd_init
admin cert issue-server --csr "$T/bootstrapd.csr" --dns localhost --ip 127.0.0.1 --ip $GW \
	--out "$T/bootstrapd.crt" 2>/dev/null || fail "bootstrapd certificate"
sed -i -e "s/^listen = 127.0.0.1:/listen = 0.0.0.0:/" -e "s|^logind_url = .*|logind_url = $LURL|" "$T/bootstrapd.conf"
bootstrapd_start

note "sn1 alone: a ring of one after [lan] wait, then announced"
lsn_init 1 sn1
lstart 1 sn1 supernode
wait_until 30 "sn1 did not join" sn_is sn1 '.state == "joined"'
grep -q "ring of one" "$T/sn1.log" || fail "sn1 did not form a ring of one"

note "sn2, no bootstrap_url: hears sn1 and joins its ring"
lsn_init 2 sn2 10s
vg_on
lstart 2 sn2 supernode
wait_until 30 "sn2 did not join" sn_is sn2 '.state == "joined"'
grep -q "1 super node heard on the LAN" "$T/sn2.log" || fail "sn2 did not join through the LAN"
wait_until 20 "no ring of two" sn_is sn1 '.predecessor.host == "10.77.0.2" and .lan.accepted >= 1'
sn_is sn2 '.lan.heard == 1 and .lan.sent >= 1' || fail "sn2's LAN counters: $(sn_st sn2 | jq -c .lan)"

note "sn3, whose bootstrapd lists no super node yet, joins through those heard"
lsn_init 4 sn3
sed -i -e "s|^logind_url = .*|bootstrap_url = https://$GW:$BS_PORT|" \
	-e "s|:7400$|:7401|; s|:7480$|:7481|; s|^announce = yes|announce = no|" "$T/sn3/supernode.conf"
lstart 4 sn3 supernode
sn3_joined() { json_has "$(st sn3 7481)" '.state == "joined"'; }
wait_until 30 "sn3 did not join" sn3_joined
grep -q "bootstrapd lists none: joining through 2 super nodes heard on the LAN" "$T/sn3.log" ||
	fail "sn3 did not join through the LAN"

note "ordinary nodes with only logind_url attach to a super node heard"
lon_init 3 on1 alice
lon_init 4 on2 bob
lstart 3 on1 ordinarynode
VG_DAEMONS=0
lstart 4 on2 ordinarynode
wait_until 30 "on1 not attached" on_is on1 '.state == "attached"'
wait_until 30 "on2 not attached" on_is on2 '.state == "attached"'

note "alice (machine 3) calls bob (machine 4)"
mkdir -p "$T/bin"
printf '#!/bin/sh\nexec ip netns exec "$SIPP_NS" %s "$@"\n' "$(command -v sipp)" >"$T/bin/sipp"
chmod +x "$T/bin/sipp"
PATH=$T/bin:$PATH
export SIPP_NS=${LAN_NS[4]}
phone_register on2 bob 5070
export SIPP_NS=${LAN_NS[3]}
phone_register on1 alice 5071
# bob's record reaches the ring within a second or two: the call is tried again until then
called() {
	export SIPP_NS=${LAN_NS[4]}
	phone uas "$TOP/tests/sipp/uas.xml" bob 5070
	export SIPP_NS=${LAN_NS[3]}
	sipp_run call on1 "$TOP/tests/sipp/uac.xml" -s bob -key caller alice -p 5072 -m 1 &&
		wait "$PHONE" && return 0
	kill "$PHONE" 2>/dev/null
	wait "$PHONE" 2>/dev/null
	return 1
}
poll 20 called || fail "call alice -> bob: $(tail -n 20 "$T/sipp_call.out")"

note "the attacker's announcements, from the bridge"
make_csr snx
add_user snx "password of snx" supernode
[ "$(login snx "password of snx" snx)" = 200 ] || fail "login snx"
make_csr mallory
add_user mallory "password of mallory"
[ "$(login mallory "password of mallory" mallory)" = 200 ] || fail "login mallory"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/oca.key" \
	-subj "/O=$OVERLAY/CN=other CA" -days 2 -out "$T/oca.crt" 2>/dev/null || fail "other CA"
openssl req -new -key "$T/snx.key" -subj "/O=$OVERLAY/OU=supernode/CN=snx" 2>/dev/null |
	openssl x509 -req -CA "$T/oca.crt" -CAkey "$T/oca.key" -CAcreateserial -days 1 \
		-out "$T/alien.crt" 2>/dev/null || fail "alien certificate"
# The other machine's listener, which nobody may be sent to.
lan_exec 5 python3 "$TOP/tests/tools/listener.py" 10.77.0.5 7400 "$T/victim.log" &
PIDS+=($!)
lan_exec 1 "$FORGE" --capture "$T/sn1.ann" --from 10.77.0.1 --iface 10.77.0.1 ||
	fail "no announcement of sn1 captured"
forge() { "$FORGE" --iface $GW --addr $GW:7400 "$@" || fail "lanforge $*"; }
raw() { # BYTES: that many zero bytes to the group, from the bridge
	python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(sys.argv[2]))
s.sendto(bytes(int(sys.argv[1])), ("239.255.80.83", 7409))' "$1" $GW || fail "raw datagram"
}
forgeries() {
	# The bad signature first: its log line is checked below, and the nodes
	# log at most 5 refusals a second (a later one may go unlogged).
	forge --key "$T/snx.key" --cert "$T/snx.crt" --flip-sig
	raw 5000
	raw 100
	forge --key "$T/snx.key" --cert "$T/alien.crt"
	forge --key "$T/mallory.key" --cert "$T/mallory.crt"
	forge --key "$T/snx.key" --cert "$T/snx.crt" --overlay other.example
	forge --key "$T/snx.key" --cert "$T/snx.crt" --age 600
	"$FORGE" --iface $GW --key "$T/snx.key" --cert "$T/snx.crt" --addr 10.77.0.5:7400 ||
		fail "lanforge address"
	sleep 1.5 # sn1 announced anew: what was captured is older now
	lan_exec 1 "$FORGE" --iface 10.77.0.1 --replay "$T/sn1.ann" || fail "lanforge replay"
}
forgeries
ign() { on_st on1 | jq -c .lan.ignored; }
counted() {
	on_is on1 '.lan.ignored | .size >= 1 and .parse >= 1 and .certificate >= 1 and .role >= 1 and .overlay >= 1 and
		.signature >= 1 and .time >= 1 and .address >= 1 and .replay >= 1'
}
wait_until 10 "forgeries not all counted: $(ign)" counted
on_is on1 '.lan.heard == 2' || fail "on1 heard a forgery: $(on_st on1 | jq -c .lan)"
grep -q "ignored (signature)" "$T/on1.log" || fail "no log line for the bad signature"

note "a fresh ordinary node, started while forgeries fly, attaches to a genuine super node"
lon_init 5 on3 carol
(while true; do forgeries; done) >/dev/null 2>&1 &
FPID=$!
lstart 5 on3 ordinarynode
wait_until 30 "on3 not attached" on_is on3 '.state == "attached"'
on_is on3 '.supernode.host == "10.77.0.1" or .supernode.host == "10.77.0.2"' ||
	fail "on3 attached to $(on_st on3 | jq -c .supernode)"
poll 20 on_is on3 '.lan.ignored | .address >= 1 and .signature >= 1' ||
	fail "on3's LAN counters: $(on_st on3 | jq -c .lan)"
kill "$FPID" 2>/dev/null
wait "$FPID" 2>/dev/null
on_is on3 '.lan.heard == 2 and .state == "attached"' || fail "on3: $(on_st on3 | jq -c .)"
[ ! -s "$T/victim.log" ] || fail "the other machine was contacted: $(cat "$T/victim.log")"
lan_exec 3 curl -s --max-time 5 http://127.0.0.1:7490/metrics >"$T/metrics"
grep -q 'p2psip_on_lan_announcements_total{result="signature"}' "$T/metrics" ||
	fail "no LAN metrics"
stop_pid "${PID_OF[on1]}" || fail "on1 exit status $?"
stop_pid "${PID_OF[sn2]}" || fail "sn2 exit status $?"
vg_check
echo "ok"
