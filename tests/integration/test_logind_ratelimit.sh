#!/usr/bin/env bash
# Repeated login failures are slowed down, then refused with 429 for a
# while, per source address, and logged; a user name is only slowed (never
# locked), unknown users are treated alike, and an administrator can end a
# user's slow-down.
. "$(dirname "$0")/../lib.sh"

logind_init "[ratelimit]" "slow_after = 2" "lockout_after = 4" "window = 60s" "lockout = 4s" \
	"max_delay = 1s"
logind_start
add_user alice "alice password"
add_user bob "bob password"
make_csr c

timed_login() { # USER PASSWORD [CURL-OPTIONS]: prints "STATUS MILLISECONDS"
	local s e code
	s=$(date +%s%N)
	code=$(login "$1" "$2" c "${@:3}")
	e=$(date +%s%N)
	echo "$code $(((e - s) / 1000000))"
}

note "two failures are answered at once, the next ones after a delay"
read -r code ms <<<"$(timed_login alice wrong1)"
assert_eq 401 "$code" "failure 1"
[ "$ms" -lt 900 ] || fail "failure 1 took ${ms} ms"
read -r code ms <<<"$(timed_login alice wrong2)"
assert_eq 401 "$code" "failure 2"
read -r code ms <<<"$(timed_login alice wrong3)"
assert_eq 401 "$code" "failure 3"
[ "$ms" -ge 950 ] || fail "failure 3 was not delayed (${ms} ms)"

note "a correct password while slowed is also delayed, so the delay tells nothing"
read -r code ms <<<"$(timed_login alice "alice password")"
assert_eq 200 "$code" "correct password while slowed"
[ "$ms" -ge 950 ] || fail "success while slowed came at once (${ms} ms)"

note "the address keeps counting: the fourth failure from it locks it out"
read -r code ms <<<"$(timed_login bob wrong)"
assert_eq 401 "$code" "failure 4 (bob)"
read -r code ms <<<"$(timed_login bob "bob password")"
assert_eq 429 "$code" "right password from a locked address"
grep -q "Retry-After\|try again" "$T/resp" || fail "429 without a reason"
assert_contains "$(cat "$T/resp")" "too many failed logins" "429 body"
grep -q "address 127.0.0.1 locked out" "$T/logind.log" || fail "lockout not logged"
admin user list >/dev/null || fail "admin not served while locked"

note "after the lockout, logins work again"
sleep 4.2
assert_eq 200 "$(login bob "bob password" c)" "login after the lockout ended"

note "a user name is slowed by failures from anywhere, never locked; admin enable ends it"
# Other loopback addresses stand in for other clients.
for i in 1 2 3 4; do login alice "guess$i" c --interface 127.0.0.2 >/dev/null; done
read -r code ms <<<"$(timed_login alice "alice password" --interface 127.0.0.3)"
assert_eq 200 "$code" "alice from another address"
[ "$ms" -ge 950 ] || fail "alice was not slowed (${ms} ms)"
grep -q "user alice slowed" "$T/logind.log" || fail "slow-down not logged"
grep -q "user alice locked" "$T/logind.log" && fail "a user was locked"
for i in 1 2 3 4; do login carol "guess$i" c --interface 127.0.0.4 >/dev/null; done
assert_eq 429 "$(login carol "guess5" c --interface 127.0.0.4)" "the guessing address is locked"
assert_eq 401 "$(login carol "guess5" c --interface 127.0.0.5)" "unknown user from a new address"
assert_eq 200 "$(login bob "bob password" c --interface 127.0.0.6)" "bob unaffected"
for i in 1 2 3; do login alice "guess$i" c --interface 127.0.0.8 >/dev/null; done
admin user enable alice >/dev/null || fail "enable"
read -r code ms <<<"$(timed_login alice "alice password" --interface 127.0.0.7)"
assert_eq 200 "$code" "alice after enable"
[ "$ms" -lt 900 ] || fail "alice still slowed after enable (${ms} ms)"
echo ok
