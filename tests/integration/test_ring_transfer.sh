#!/usr/bin/env bash
# Stores during a join are not lost: two super nodes hold 20,000 values, and
# sn3 joins (its successor sends it its range, which takes seconds) while
# dht_bench keeps storing through sn1. Every value stored must be fetchable
# afterwards through sn3 and sn2. Before, a store into sn3's range that
# reached its successor while the transfer ran was in neither the transfer
# nor at sn3, and fetches, routed to sn3, found nothing.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/ring_lib.sh"
DB=$TOP/build/bench/dht_bench
PRELOAD=${PRELOAD:-20000} WRITES=${WRITES:-8000} # smaller under valgrind
[ -x "$DB" ] || skip "needs $DB (make check builds it)"

logind_init
logind_start
bootstrapd_init "heartbeat_timeout = 4s" "[timers]" "heartbeat_interval = 1s" \
	"stabilize_interval = 1s" "[limits]" "records_per_user = 1000000"
bootstrapd_start
snodes_start 2 "[limits]" "client_rate = 1000000"
snode_init sn3 "[limits]" "client_rate = 1000000"
cli_user alice
bench() { # MODE SN ARGS...
	"$DB" "$1" --sn "127.0.0.1:${SN_PORT[$2]}" --ca "$CA" --key "$T/alice.key" \
		--cert "$T/alice.crt" --user alice "${@:3}"
}

note "$PRELOAD values in a ring of two"
bench put sn1 --seq 1 --tput "$PRELOAD" --conc 64 --keys "$T/keys0" >"$T/put0" ||
	fail "preload: $(cat "$T/put0")"

note "sn3 joins while stores go on"
bench put sn1 --seq 1 --tput "$WRITES" --conc 8 --keys "$T/keys1" >"$T/put1" 2>&1 &
writer=$!
sleep 0.5 # the stores are under way
snode_start sn3
wait "$writer" || fail "stores during the join: $(cat "$T/put1")"
grep -q "admitted" "$T/sn_sn1.log" "$T/sn_sn2.log" || fail "sn3 was not admitted"
snode_wait sn3 30
wait_until 30 "the ring of three did not settle" ring_exact sn1
n=$(grep -c . "$T/keys1")
for sn in sn3 sn2; do
	bench get "$sn" --seq 1 --tput "$n" --conc 16 --keys "$T/keys1" >"$T/get.$sn" 2>&1 ||
		fail "through $sn: $(grep -o 'errors=[0-9]*' "$T/get.$sn" | tail -n 1) of $n values not fetched: $(head -n 3 "$T/get.$sn")"
done
echo ok
