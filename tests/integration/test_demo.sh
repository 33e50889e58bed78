#!/usr/bin/env bash
# make demo keeps working: scripts/demo.sh runs to its end and says so.
. "$(dirname "$0")/../lib.sh"
TMPDIR=$T "$TOP/scripts/demo.sh" >"$T/demo.log" 2>&1 || fail "demo failed: $(tail -n 20 "$T/demo.log")"
grep -q "^DEMO OK$" "$T/demo.log" || fail "demo did not say DEMO OK"
grep -q "bootstrapd's CRL lists" "$T/demo.log" || fail "demo skipped the revocation"
echo ok
