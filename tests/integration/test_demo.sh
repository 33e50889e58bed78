#!/usr/bin/env bash
# make demo keeps working: scripts/demo.sh runs to its end and says so,
# including the call between the two sipp phones and the calls between the
# overlay and a phone at example.net (Kamailio) through a gateway.
. "$(dirname "$0")/../lib.sh"
TMPDIR=$T "$TOP/scripts/demo.sh" >"$T/demo.log" 2>&1 || fail "demo failed: $(tail -n 20 "$T/demo.log")"
grep -q "^DEMO OK$" "$T/demo.log" || fail "demo did not say DEMO OK"
grep -q "bootstrapd's CRL lists" "$T/demo.log" || fail "demo skipped the revocation"
grep -q "^   3 super nodes$" "$T/demo.log" || fail "demo ring did not have three super nodes"
grep -q "still there: a replica" "$T/demo.log" || fail "demo did not fetch the record after kill -9"
grep -q "refuses alice" "$T/demo.log" || fail "demo super node did not refuse the revoked user"
grep -q "in order: INVITE 407 ACK INVITE 100 180 200 ACK BYE 200$" "$T/demo.log" || fail "demo call did not go through"
grep -q "answered by bob and hung up by alice" "$T/demo.log" || fail "demo did not say the call ended"
grep -q "end to end: P-Asserted-Identity: <sip:alice@overlay.example>$" "$T/demo.log" || fail "demo: bob's phone was not told alice called"
grep -q "carol's phone sent and received, in order: INVITE 100 180 200 ACK BYE 200$" "$T/demo.log" ||
	fail "demo: carol's call into the overlay did not go through"
grep -q "bob's phone got it From: <sip:carol@example.net>$" "$T/demo.log" || fail "demo: bob's phone was not called by carol"
grep -q "alice's phone sent and received, in order: INVITE 407 ACK INVITE 100 180 200 ACK BYE 200$" <(sed -n '/calls carol@example.net/,$p' "$T/demo.log") ||
	fail "demo: alice's call out to example.net did not go through"
grep -q "who called, as the gateway verified it: P-Asserted-Identity: <sip:alice@overlay.example>$" "$T/demo.log" ||
	fail "demo: carol's phone was not told alice called"
echo ok
