#!/usr/bin/env bash
# Release check: the README's two commands on a clean Debian 12 machine.
# Builds a fresh Debian 12 root with debootstrap for each order (nothing in
# it but the base system, git and make), clones the committed HEAD of this
# repository into it, and runs there, as root:
#   order demo-first:  make demo; make check; make demo
#   order check-first: make check; make demo; make check
# so that each command is seen working first, second and run twice. Network
# namespaces cannot be made inside a chroot, so the NAT tests skip there.
# Not part of make check (about an hour). Needs root and debootstrap.
#
#   scripts/release-check.sh [--order demo-first|check-first|both] [--first] [--keep] [--dir DIR]
#     --order  which order(s) to run (default both)
#     --first  only the first command of each order (a quicker look)
#     --keep   leave the roots in DIR afterwards (default: removed)
#     --dir    where to build the roots (default /var/tmp/p2psip-release)
#     MIRROR=URL  the Debian mirror (default http://deb.debian.org/debian)
set -u
cd "$(dirname "$0")/.."
repo=$(pwd)
order=both first=0 keep=0 dir=/var/tmp/p2psip-release
mirror=${MIRROR:-http://deb.debian.org/debian}
while [ $# -gt 0 ]; do
	case "$1" in
	--order) order=$2; shift ;;
	--first) first=1 ;;
	--keep) keep=1 ;;
	--dir) dir=$2; shift ;;
	*) echo "usage: $0 [--order demo-first|check-first|both] [--first] [--keep] [--dir DIR]" >&2; exit 2 ;;
	esac
	shift
done
case "$order" in
both) orders="demo-first check-first" ;;
demo-first | check-first) orders=$order ;;
*) echo "$0: unknown order '$order'" >&2; exit 2 ;;
esac
[ "$(id -u)" = 0 ] || { echo "$0: needs root (debootstrap, chroot)" >&2; exit 2; }
command -v debootstrap >/dev/null || { echo "$0: needs debootstrap (apt-get install debootstrap)" >&2; exit 2; }
[ -z "$(git status --porcelain)" ] || echo "note: uncommitted changes are not part of the check (it clones HEAD)"
# Every order checks the commit that was HEAD when the script started.
head=$(git rev-parse HEAD)
mkdir -p "$dir"
summary="$dir/summary.txt"
: >"$summary"
say() { echo "$*" | tee -a "$summary"; }

mounted=()
umount_all() {
	local i m
	for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
		umount -R "${mounted[$i]}" 2>/dev/null || umount -lR "${mounted[$i]}" 2>/dev/null
	done
	mounted=()
	# Whatever else got mounted in a root (ip netns tries /run/netns), deepest first.
	for m in $(awk -v d="$dir/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r); do
		umount -l "$m" 2>/dev/null
	done
}
trap umount_all EXIT
trap 'exit 130' INT TERM

# A base root is made once and copied for each order: debootstrap is the
# slow part and both orders start from the same clean system.
base="$dir/base"
if [ ! -x "$base/usr/bin/make" ]; then
	rm -rf "$base"
	echo "debootstrap bookworm into $base ..."
	debootstrap --variant=minbase --include=git,make,ca-certificates bookworm "$base" "$mirror" \
		>"$dir/debootstrap.log" 2>&1 || { tail -n 20 "$dir/debootstrap.log"; exit 1; }
	# What a Debian 12 machine lists as its package sources.
	sec=${mirror%/debian}/debian-security
	cat >"$base/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $sec bookworm-security main
EOF
fi

in_root() { # root command...
	local r=$1
	shift
	chroot "$r" /usr/bin/env -i HOME=/root TERM=dumb PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		LANG=C.UTF-8 /bin/bash -c "$*"
}

run_step() { # root order n command
	local r=$1 o=$2 n=$3 cmd=$4 log start rc secs last
	log="$dir/$o-$n-${cmd// /_}.log"
	start=$(date +%s)
	in_root "$r" "cd /root/p2psip && $cmd" >"$log" 2>&1
	rc=$?
	secs=$(($(date +%s) - start))
	case "$cmd" in
	*demo) last=$(grep -a -E 'DEMO (OK|FAILED)' "$log" | tail -n 1) ;;
	*check) last=$(grep -a -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1) ;;
	esac
	say "$(printf '%-12s %d. %-11s exit %-3s %5ss  %s' "$o" "$n" "$cmd" "$rc" "$secs" "${last:-(no closing line)}")"
	[ "$rc" = 0 ] || { echo "--- last lines of $log:"; tail -n 30 "$log"; }
	return "$rc"
}

status=0
for o in $orders; do
	r="$dir/root-$o"
	umount_all
	rm -rf "$r"
	cp -a "$base" "$r"
	cp /etc/resolv.conf "$r/etc/resolv.conf"
	git clone -q --no-local "$repo" "$r/root/p2psip" && git -C "$r/root/p2psip" checkout -q "$head" ||
		{ echo "cannot clone $head"; exit 1; }
	mount -t proc proc "$r/proc" && mounted+=("$r/proc")
	mount -t sysfs sys "$r/sys" && mounted+=("$r/sys")
	mount --rbind /dev "$r/dev" && mount --make-rslave "$r/dev" && mounted+=("$r/dev")
	mount -t tmpfs tmpfs "$r/tmp" && mounted+=("$r/tmp")
	case "$o" in
	demo-first) steps="make_demo make_check make_demo" ;;
	check-first) steps="make_check make_demo make_check" ;;
	esac
	[ "$first" = 0 ] || steps=${steps%% *}
	n=0
	for s in $steps; do
		n=$((n + 1))
		run_step "$r" "$o" "$n" "${s/_/ }" || status=1
	done
	umount_all
	[ "$keep" = 1 ] || rm -rf "$r"
done

echo
echo "release check of ${head:0:12} ($(date -u +%Y-%m-%dT%H:%MZ)), logs in $dir:"
cat "$summary"
[ "$status" = 0 ] && echo "RELEASE CHECK OK" || echo "RELEASE CHECK FAILED"
exit "$status"
