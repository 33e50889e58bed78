#!/usr/bin/env bash
# Runs the whole test suite: unit tests (under valgrind when it is installed),
# integration scripts against the real daemons, and a short run of every fuzz
# harness that was built. One line per test, then "N passed, N failed, N skipped".
#
#   tests/run.sh [PATTERN]     only tests whose name contains PATTERN
#   VALGRIND=0 tests/run.sh    unit tests without valgrind
#   FUZZ_SECS=N                seconds per fuzz harness (default 5; 0 skips)
set -u
cd "$(dirname "$0")/.."
top=$(pwd)
pattern=${1:-}
logs="$top/build/test-logs"
mkdir -p "$logs"
pass=0 fail=0 skip=0
failed=()

vg=()
if [ "${VALGRIND:-1}" != 0 ] && command -v valgrind >/dev/null; then
	vg=(valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect
		--errors-for-leak-kinds=definite,indirect --track-fds=no)
fi

result() { # name rc seconds log
	local name=$1 rc=$2 secs=$3 log=$4
	if [ "$rc" = 0 ]; then
		pass=$((pass + 1)); printf 'PASS  %-44s %5ss\n' "$name" "$secs"
	elif [ "$rc" = 77 ]; then
		skip=$((skip + 1)); printf 'SKIP  %-44s %s\n' "$name" "$(tail -n 1 "$log")"
	else
		fail=$((fail + 1)); failed+=("$name")
		printf 'FAIL  %-44s %5ss (exit %s, log %s)\n' "$name" "$secs" "$rc" "${log#$top/}"
		tail -n 25 "$log" | sed 's/^/      | /'
	fi
}

run_one() { # name log cmd...
	local name=$1 log=$2 start rc
	shift 2
	case "$name" in *"$pattern"*) ;; *) return ;; esac
	start=$(date +%s)
	"$@" >"$log" 2>&1
	rc=$?
	result "$name" "$rc" "$(($(date +%s) - start))" "$log"
}

for t in build/tests/test_*; do
	[ -x "$t" ] || continue
	n=$(basename "$t")
	run_one "unit/$n" "$logs/unit_$n.log" "${vg[@]}" "$t"
done

for t in tests/integration/test_*.sh; do
	[ -f "$t" ] || continue
	n=$(basename "$t" .sh)
	run_one "integration/$n" "$logs/int_$n.log" bash "$t"
done

fuzz_secs=${FUZZ_SECS:-5}
if [ "$fuzz_secs" != 0 ]; then
	# The harnesses in the tree, not every binary in build/: one renamed
	# or removed leaves its old binary (and no seeds) behind.
	for src in tests/fuzz/fuzz_*.c; do
		n=$(basename "$src" .c)
		f=build/fuzz/$n
		[ -x "$f" ] || continue
		corpus="$top/build/fuzz-corpus/$n"
		mkdir -p "$corpus"
		# libFuzzer's own exit status for a crash is 77, which would read
		# as "skipped" here
		run_one "fuzz/$n" "$logs/$n.log" "$f" -max_total_time="$fuzz_secs" \
			-rss_limit_mb=1024 -timeout=10 -error_exitcode=1 -timeout_exitcode=1 \
			"$corpus" "tests/fuzz/seeds/${n#fuzz_}"
	done
fi

echo
[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
