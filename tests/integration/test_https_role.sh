#!/usr/bin/env bash
# A valid overlay certificate of the wrong role cannot pose as logind or
# bootstrapd: a user called "localhost" serves its own certificate (same CA,
# CN=localhost) with openssl s_server, and the p2psip CLI, an ordinary node
# and bootstrapd, sent there, refuse it with a clear error naming the role.
. "$(dirname "$0")/../lib.sh"

logind_init
logind_start
add_user localhost "password of localhost"
add_user alice "password of alice"
make_csr fake
assert_eq 200 "$(login localhost "password of localhost" fake)" "login of the user localhost"
openssl x509 -in "$T/fake.crt" -noout -subject | grep -q "OU = user" || fail "not a user certificate"

FAKE=$(free_port)
start_bg s_server openssl s_server -accept "127.0.0.1:$FAKE" -cert "$T/fake.crt" \
	-key "$T/fake.key" -www -quiet
wait_port "$FAKE" 10
# "localhost" may name ::1 first (Debian's /etc/hosts): the impostor is
# there too, wherever the loopback has IPv6.
if ip -6 addr show dev lo 2>/dev/null | grep -q "inet6 ::1/"; then
	start_bg s_server6 openssl s_server -accept "[::1]:$FAKE" -cert "$T/fake.crt" \
		-key "$T/fake.key" -www -quiet
	poll 10 bash -c "exec 3<>/dev/tcp/::1/$FAKE" 2>/dev/null || fail "s_server on [::1]:$FAKE"
fi
note "the chain and the name (CN) are good: only the role gives it away"
echo | openssl s_client -connect "127.0.0.1:$FAKE" -CAfile "$CA" -verify_hostname localhost \
	2>/dev/null | grep -q "Verify return code: 0" || fail "the attacker's certificate does not verify"

note "the CLI, sent to the impostor as bootstrapd, refuses it"
make_csr alice
out=$(echo "password of alice" | "$BIN/p2psip" -b "https://localhost:$FAKE" -a "$CA" -u alice \
	-k "$T/alice.key" -c "$T/alice.crt" --password-stdin login 2>&1) && fail "CLI accepted: $out"
assert_contains "$out" "server certificate has role 'user', not 'server'" "CLI error"
[ -e "$T/alice.crt" ] && fail "a certificate was written"

note "an ordinary node, sent to the impostor as bootstrapd, refuses it and says why"
real_bs=${BS_URL:-}
BS_URL=https://localhost:$FAKE
on_init on1 alice
BS_URL=$real_bs
on_launch on1
wait_until 15 "the ordinary node logged no role error" \
	grep -q "server certificate has role 'user', not 'server'" "$T/on_on1.log"
on_has on1 '.state != "attached"' || fail "on1 attached through the impostor"

note "bootstrapd, sent to the impostor as logind, refuses it and says why"
bootstrapd_init
sed -i "s|^logind_url = .*|logind_url = https://localhost:$FAKE|" "$T/bootstrapd.conf"
vg_on
bootstrapd_start
wait_until 15 "bootstrapd logged no role error" \
	grep -q "server certificate has role 'user', not 'server'" "$T/bootstrapd.log"
assert_eq 503 "$(https GET "$BS_URL/v1/crl")" "bootstrapd took no CRL from the impostor"
stop_pid "$BS_PID" || fail "bootstrapd did not stop cleanly"
vg_check
echo ok
