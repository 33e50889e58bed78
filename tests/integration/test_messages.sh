#!/usr/bin/env bash
# Application messages between nodes attached to different super nodes:
# routed to the destination's super node and handed down its link, which
# is what SIP will ride on. Clear errors for a node that is not attached
# and for a super node that does not exist.
. "$(dirname "$0")/../lib.sh"

overlay_start 4 "[timers]" "heartbeat_interval = 1s" "stabilize_interval = 1s"
cli_user alice
cli_user bob
SN_ATTACH=sn1 ring_wait sn1 4 30

node_id() { openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum |
	cut -c1-32 | tr a-f A-F; }
sn_id() { snode_status "$1" | jq -r .node_id; }
BOB=$(node_id "$T/bob.crt")

note "bob listens on sn3; alice, on sn1, sends him messages"
CLI_USER=bob SN_ATTACH=sn3 p2p --json listen --count 2 >"$T/bob.out" 2>"$T/bob.err" &
listener=$!
poll 5 snode_has sn3 '.clients >= 1'
CLI_USER=alice SN_ATTACH=sn1 p2p --json send "$BOB" "INVITE sip:bob@overlay.example SIP/2.0" \
	--via "$(sn_id sn3)" >"$T/send1" || fail "send 1: $(cat "$T/send1")"
jq -e '.delivered == true' "$T/send1" >/dev/null || fail "not delivered: $(cat "$T/send1")"
CLI_USER=alice SN_ATTACH=sn2 p2p send "$BOB" "second message" --via "$(sn_id sn3)" >/dev/null ||
	fail "send 2"
wait "$listener" || fail "bob's listener failed: $(cat "$T/bob.err")"
assert_eq 2 "$(wc -l <"$T/bob.out")" "messages bob received"
ALICE=$(node_id "$T/alice.crt")
jq -e --arg a "$ALICE" --arg s "$(sn_id sn1)" \
	-s 'map(select(.body | startswith("INVITE")))[0] | .from == $a and .from_sn == $s' "$T/bob.out" \
	>/dev/null || fail "sender fields wrong: $(head -n 1 "$T/bob.out"), want from $ALICE via $(sn_id sn1)"
grep -q '"body":"second message"' "$T/bob.out" || fail "second message missing"

note "errors: not attached there, no such super node"
out=$(CLI_USER=alice SN_ATTACH=sn1 p2p send "$BOB" "hello?" --via "$(sn_id sn2)" 2>&1) &&
	fail "delivered to a node not attached there"
assert_contains "$out" "not attached" "node not attached"
out=$(CLI_USER=alice SN_ATTACH=sn1 p2p send "$BOB" "hello?" --via 00000000000000000000000000000001 \
	2>&1) && fail "delivered through a super node that does not exist"
assert_contains "$out" "no super node with that Node-ID" "unknown super node"
echo ok
