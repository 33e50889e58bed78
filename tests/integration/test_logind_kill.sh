#!/usr/bin/env bash
# kill -9 of logind while it adds users and issues certificates: after a
# restart every user whose addition was confirmed is there, every
# certificate a client received is on record, and the database is sound.
. "$(dirname "$0")/../lib.sh"

logind_init
logind_start
signer=$(pgrep -P "$LD_PID" | head -n 1)
[ -n "$signer" ] || fail "no CA signing process"
add_user alice "alice password"

note "load: user additions and logins in parallel"
adder() {
	local i=0
	while :; do
		i=$((i + 1))
		if echo "password-$i" | admin user add "u$1x$i" --password-stdin >/dev/null 2>&1; then
			echo "u$1x$i" >>"$T/added.$1"
		fi
	done
}
loginer() {
	make_csr "l$1"
	while :; do
		if [ "$(login alice "alice password" "l$1")" = 200 ]; then
			serial_of "$T/l$1.crt" >>"$T/issued.$1"
		fi
	done
}
loads=()
for k in 1 2; do
	adder "$k" &
	loads+=($!)
	loginer "$k" &
	loads+=($!)
done
sleep 4
note "kill -9"
kill -KILL "$LD_PID"
wait "$LD_PID" 2>/dev/null
for p in "${loads[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
pid_gone "$signer" 5 || fail "the CA signing process outlived logind"

added=$(cat "$T"/added.* 2>/dev/null | sort -u)
issued=$(cat "$T"/issued.* 2>/dev/null | sort -u)
[ "$(echo "$added" | grep -c .)" -ge 5 ] || fail "too few additions before the kill"
[ "$(echo "$issued" | grep -c .)" -ge 3 ] || fail "too few logins before the kill"
note "$(echo "$added" | grep -c .) users added and $(echo "$issued" | grep -c .) certificates issued before the kill"

note "restart; nothing confirmed is lost"
assert_eq ok "$(sqlite3 "$T/data/logind.db" 'PRAGMA integrity_check')" "integrity check"
logind_start
admin user list --json | jq -r '.[].name' | sort >"$T/users.now"
missing=$(comm -23 <(echo "$added") "$T/users.now")
[ -z "$missing" ] || fail "confirmed users lost: $missing"
admin cert list --json | jq -r '.[].serial' | sort >"$T/certs.now"
missing=$(comm -23 <(echo "$issued") "$T/certs.now")
[ -z "$missing" ] || fail "issued certificates not on record: $missing"
make_csr after
assert_eq 200 "$(login alice "alice password" after)" "login after the restart"
echo ok
