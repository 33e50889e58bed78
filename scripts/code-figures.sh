#!/bin/sh
# Figures for a review of the tree: the largest source files, functions over
# 50 lines, which modules have a unit test, and the fuzz harnesses.
# Usage: scripts/code-figures.sh  (from the top of the repository)
set -eu
dirs="common logind bootstrapd supernode ordinarynode cli admin"
echo "largest files (lines):"
for d in $dirs; do ls $d/*.c; done | xargs wc -l | grep -v ' total$' | sort -rn | head -8 |
	awk '{printf "  %5d %s\n", $1, $2}'
# A function starts at a line that begins with a name and "(" outside any
# body, its body at a "{" in column 0 and ends at the next "}" in column 0.
long=$(for d in $dirs; do ls $d/*.c; done | xargs awk '
	FNR == 1 { name = ""; start = 0 }
	/^[A-Za-z_].*\(/ && !/;[ \t]*$/ && start == 0 { name = $0 }
	/^\{/ { start = FNR }
	/^\}/ && start { n = FNR - start - 1; if (n > 50) printf "  %4d %s: %s\n", n, FILENAME, name; start = 0 }
' | sort -rn)
echo "functions over 50 lines: $(printf '%s' "$long" | grep -c . || true)"
[ -z "$long" ] || printf '%s\n' "$long"
total=0 tested=0 untested=""
for d in $dirs; do
	for f in $d/*.c; do
		m=$(basename "$f" .c)
		case "$m" in logind | bootstrapd | supernode | ordinarynode | p2psip | p2psip-admin) continue ;; esac
		total=$((total + 1))
		if [ -f "tests/unit/test_$m.c" ]; then tested=$((tested + 1)); else untested="$untested $m"; fi
	done
done
echo "modules with a unit test: $tested of $total (mains left out)"
echo "  without:$untested"
echo "fuzz harnesses: $(ls tests/fuzz/fuzz_*.c | wc -l):" $(ls tests/fuzz/fuzz_*.c | sed 's,.*/fuzz_,,; s,\.c$,,')
