#!/usr/bin/env bash
# The certificate role gateway: the admin adds a gateway account, an
# ordinary node with [account gw1] role = gateway gets an OU=gateway
# certificate and attaches as a client; only a gateway certificate may
# store service:gateway and proxy:DOMAIN (users and super nodes are refused,
# nothing is stored, the super node keeps serving); an account that logind
# holds as a user gets no gateway certificate however its node asks.
. "$(dirname "$0")/../lib.sh"

overlay_start 0
vg_on
snode_up sn1
export SN_ATTACH=sn1
cli_user alice

note "the admin adds a gateway account; a node asking for role gateway attaches"
add_user gw1 "password of gw1" gateway
admin user list >"$T/users.txt" || fail "user list"
grep -Eq "^gw1 +gateway" "$T/users.txt" || fail "gw1 is not listed as a gateway: $(cat "$T/users.txt")"
on_init gw gw1
printf 'role = gateway\n' >>"$T/gw/ordinarynode.conf"
on_start gw
VG_DAEMONS=0
openssl x509 -in "$T/gw/state/gw1.crt" -noout -subject | grep -q "OU = gateway" ||
	fail "not a gateway certificate: $(openssl x509 -in "$T/gw/state/gw1.crt" -noout -subject)"
grep -q "client gw1 (gateway) attached" "$T/sn_sn1.log" || fail "sn1 did not take gw1 as a client"
# A gateway keeps its node record as every node does.
poll 10 p2p_has_values user:gw1@overlay.example/node 1 || fail "no node record of gw1"

note "a user stores the gateways' names: refused, nothing stored"
stored() { p2p --json get "$1" 2>/dev/null | jq '.values | length' 2>/dev/null || echo 0; }
CLI_USER=alice
expect_refused "service:gateway may only be stored by gateways" p2p put service:gateway x
expect_refused "proxy records may only be stored by gateways" p2p put proxy:example.net x
assert_eq 0 "$(stored service:gateway)" "service:gateway values after refused stores"
assert_eq 0 "$(stored proxy:example.net)" "proxy:example.net values after refused stores"

note "the gateway's own account stores and fetches proxy:example.net"
echo "password of gw1" | "$BIN/p2psip" -b "$BS_URL" -a "$CA" -u gw1 -k "$T/gw1.key" \
	-c "$T/gw1.crt" --password-stdin login >/dev/null || fail "p2psip login gw1"
CLI_USER=gw1
p2p put proxy:example.net '{"sip":"sip:gw.overlay.example"}' >/dev/null || fail "gw1: put proxy"
p2p put service:gateway '{"sip":"sip:gw.overlay.example"}' >/dev/null || fail "gw1: put service"
expect_refused "the domain must be a lower-case DNS name or *" p2p put proxy:Example.NET x
expect_refused "service records may only be stored by super nodes" p2p put service:relay x
expect_refused "may only be stored by its user" p2p put user:alice@overlay.example x
CLI_USER=alice
assert_eq 1 "$(stored proxy:example.net)" "proxy:example.net values"
assert_eq 1 "$(stored service:gateway)" "service:gateway values"
[ "$(p2p --json get proxy:example.net | jq -r '.values[0].data')" = '{"sip":"sip:gw.overlay.example"}' ] ||
	fail "proxy:example.net: $(p2p --json get proxy:example.net)"

note "an account logind holds as a user gets no gateway certificate"
add_user gw2 "password of gw2"
on_init bad gw2
printf 'role = gateway\n' >>"$T/bad/ordinarynode.conf"
on_launch bad
wait_until 20 "no clear error from the node" \
	grep -q "gw2: certificate: logind issued no gateway certificate" "$T/on_bad.log"
[ -e "$T/bad/state/gw2.crt" ] && fail "a certificate was kept for gw2"
on_has bad '.state != "attached"' || fail "the node attached without its certificate"
stop_pid "${ON_PID[bad]}" TERM
on_has gw '.state == "attached"' || fail "the gateway lost its link"
stop_pid "${ON_PID[gw]}" TERM || fail "gw exit status $? (valgrind error?)"
stop_pid "${SN_PID[sn1]}" TERM || fail "sn1 exit status $? (valgrind error?)"
vg_check
echo ok
