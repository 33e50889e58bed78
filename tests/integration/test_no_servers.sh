#!/usr/bin/env bash
# An overlay that runs on with no central server (issue 16): three super
# nodes, ordinary nodes on1 (alice) and on2 (bob), a call; then logind and
# bootstrapd are killed (-9) and every super node is restarted in turn
# (SIGTERM, one with kill -9), then every ordinary node, each back (joined
# or attached) from what it kept in its database, and calls between the
# phones still work (after each kind of restart). Then the whole ring is
# killed at once and started again: the first super node forms the ring,
# the others rejoin it from their cache, the ordinary nodes come back by
# going round the super nodes they remember. Ordinary certificates are inside renew_before from the
# start (cert_renew_before 25h > user_lifetime 24h), so each restart of an
# ordinary node also shows that a valid certificate serves with logind down
# and that the failed renewal is warned about with the time left. A cache
# row planted with garbage is refused with a log line; a super node that
# never ran does not pretend: it retries and says why. Then logind and
# bootstrapd come back and the nodes go back to them by themselves. sn3,
# sn4 and on2 (after their restarts) run under valgrind.
. "$(dirname "$0")/../lib.sh"
need sipp

logind_init
logind_start
bootstrapd_init "heartbeat_timeout = 4s" "crl_refresh = 1s" "[timers]" "heartbeat_interval = 1s" \
	"stabilize_interval = 1s" "cert_renew_before = 25h"
bootstrapd_start
# A CRL with one entry, so that there is one to keep.
sn_make revoked
admin cert revoke "$(serial_of "$T/revoked.crt")" >/dev/null || fail "revoke"
poll 20 bs_crl_lists "$(serial_of "$T/revoked.crt")" || fail "bootstrapd has no CRL"
snodes_start 3
for u in alice bob; do add_user $u "password of $u"; done
snode_init sn4 # an account, never started while the servers are up
on_init on1 alice
on_init on2 bob
on_start on1
on_start on2
SC=$TOP/tests/sipp
ALICE=$(free_port)
BOB=$(free_port)
phone_register on1 alice "$ALICE"
phone_register on2 bob "$BOB"

# ring_whole: every super node joined, with a predecessor and two successors.
ring_whole() {
	local n
	for n in sn1 sn2 sn3; do
		snode_has $n '.state == "joined" and .predecessor != null and (.successors | length) == 2' ||
			return 1
	done
}
# calls NAME: alice calls bob, then bob calls alice.
calls() {
	local p
	phone "uas_$1_bob" "$SC/uas.xml" bob "$BOB"
	p=$PHONE
	call "$1_ab" on1 "$SC/uac.xml" alice bob
	phone_ok "uas_$1_bob" "$p"
	phone "uas_$1_alice" "$SC/uas.xml" alice "$ALICE"
	p=$PHONE
	call "$1_ba" on2 "$SC/uac.xml" bob alice
	phone_ok "uas_$1_alice" "$p"
}
rows() { sqlite3 -cmd ".timeout 2000" "$1" "$2" 2>/dev/null; }
log_has() { grep -q -- "$2" "$T/$1.log"; }

wait_until 30 "ring not whole" ring_whole
sleep 1.2 # the phones' records are published
note "a call with every server up"
calls up

note "each node kept the configuration, the CRL and (super nodes) ring members"
for n in sn1 sn2 sn3; do
	wait_until 10 "$n kept no configuration and CRL" \
		test "$(rows "$T/$n/records.db" "SELECT count(*) FROM boot_cache")" = 2
	wait_until 40 "$n kept no ring members" \
		test "$(rows "$T/$n/records.db" "SELECT count(*) FROM ring_cache")" -ge 1
done
for o in on1 on2; do
	wait_until 10 "$o kept no configuration and CRL" \
		test "$(rows "$T/$o/state/ordinarynode.db" "SELECT count(*) FROM boot_cache")" = 2
done

note "logind and bootstrapd killed"
{ kill -9 "$LD_PID" "$BS_PID" && wait "$LD_PID" "$BS_PID"; } 2>/dev/null

note "a super node that never ran does not pretend to join (under valgrind)"
vg_on
snode_start sn4
VG_DAEMONS=0
wait_until 10 "sn4 did not say why it waits" log_has sn_sn4 "none kept from an earlier run; retrying"
sleep 2
snode_has sn4 '.state == "starting"' || fail "sn4 went on: $(snode_status sn4)"
stop_pid "${SN_PID[sn4]}"

# restart_sn NAME SIGNAL: stopped, started again on what it kept, joined.
restart_sn() {
	stop_pid "${SN_PID[$1]}" "$2"
	snode_start "$1"
	wait_until 30 "$1 did not rejoin with the servers down" ring_whole
	log_has "sn_$1" "going on with the cached one" || fail "$1: cached configuration not used"
	log_has "sn_$1" "rejoining from [0-9]* cached ring member" || fail "$1: ring cache not used"
	for o in on1 on2; do wait_until 30 "$o not attached" on_has $o '.state == "attached"'; done
}
note "sn1 restarted (SIGTERM)"
restart_sn sn1 TERM
log_has sn_sn1 "using the cached CRL [0-9]* (1 revoked" || fail "sn1: cached CRL not used"
sleep 1.2
calls sn1

note "sn2 killed (-9) and started again"
restart_sn sn2 KILL
sleep 1.2
calls sn2

note "sn3 restarted (under valgrind) with garbage planted in its cached CRL and ring members"
stop_pid "${SN_PID[sn3]}" TERM
rows "$T/sn3/records.db" "UPDATE boot_cache SET data = x'3082ffff00' WHERE name = 'crl';
	INSERT INTO ring_cache VALUES ('zz', 'evil.example', 99999, 9e15);" ||
	fail "planting garbage in sn3's database"
vg_on
snode_start sn3
VG_DAEMONS=0
wait_until 30 "sn3 did not rejoin with the servers down" ring_whole
log_has sn_sn3 "cached CRL ignored" || fail "sn3: garbage CRL not refused"
log_has sn_sn3 "skipping an unreadable row of ring members" || fail "sn3: garbage ring row not refused"
log_has sn_sn3 "rejoining from" || fail "sn3: ring cache not used"
for o in on1 on2; do wait_until 30 "$o not attached" on_has $o '.state == "attached"'; done

# restart_on NAME: stopped, started again on what it kept, attached.
restart_on() {
	stop_pid "${ON_PID[$1]}" || fail "$1 exit status $?"
	on_start "$1"
	log_has "on_$1" "going on with the cached one" || fail "$1: cached configuration not used"
	log_has "on_$1" "using the cached CRL" || fail "$1: cached CRL not used"
	wait_until 10 "$1: no warning that renewal fails" log_has "on_$1" "alice: certificate ends in 2[0-9]h[0-9][0-9]m (.* UTC) and renewal failed\|bob: certificate ends in 2[0-9]h"
}
note "on1 and on2 restarted in turn"
restart_on on1
vg_on # on2 under valgrind
restart_on on2
VG_DAEMONS=0
sleep 1.2
calls on2

note "the whole ring killed (-9) at once, started again one after the other"
for n in sn1 sn2 sn3; do kill -9 "${SN_PID[$n]}"; done
for n in sn1 sn2 sn3; do wait "${SN_PID[$n]}" 2>/dev/null; done
snode_start sn1
wait_until 30 "sn1 did not form a ring again" snode_has sn1 '.state == "joined"'
log_has sn_sn1 "no seed reachable: forming a ring of one" || fail "sn1: how did it join?"
snode_start sn2
wait_until 30 "sn2 did not join sn1" snode_has sn2 '.state == "joined"'
snode_start sn3
wait_until 30 "ring not whole after the whole ring restarted" ring_whole
for o in on1 on2; do
	wait_until 40 "$o not attached again" on_has $o '.state == "attached"'
	log_has "on_$o" "trying the [0-9]* remembered super nodes again" ||
		fail "$o: no round of remembered super nodes"
done
sleep 1.2
calls ring

note "status and metrics show how long each certificate has left"
on_has on1 '.accounts[0].cert_expires_in > 80000' || fail "on1 status: $(on_status on1 | jq -c .accounts)"
snode_has sn1 '.cert_expires_in > 80000' || fail "sn1 status: $(snode_status sn1 | jq -c .cert_expires_in)"
scrape "${ON_STATUS[on1]}"
v=$(mval "$T/metrics" 'p2psip_on_cert_expiry_seconds{account="alice"}')
[ "${v:-0}" -gt 80000 ] || fail "on1 metrics: $(grep cert_expiry "$T/metrics")"
scrape "${SN_STATUS[sn2]}"
[ "$(mval "$T/metrics" p2psip_sn_cert_expiry_seconds)" -gt 80000 ] || fail "sn2 metrics"
note "logind and bootstrapd back: the nodes go back to them without a restart"
logind_start
bootstrapd_start
for n in sn1 sn2 sn3; do
	wait_until 70 "$n did not announce itself again" log_has "sn_$n" "announced to bootstrapd"
done
for o in on1 on2; do
	wait_until 35 "$o did not take bootstrapd's configuration again" \
		log_has "on_$o" "bootstrapd answers again: overlay configuration refreshed"
done
calls back

stop_pid "${ON_PID[on2]}" || fail "on2 exit status $?"
stop_pid "${SN_PID[sn3]}" || fail "sn3 exit status $?"
vg_check
echo "no servers: all passed"
