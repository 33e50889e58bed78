#!/usr/bin/env bash
# make install PREFIX=... DESTDIR=... puts the programs, the example
# configurations, the systemd units and the man pages (both pointing at
# PREFIX) in place.
. "$(dirname "$0")/../lib.sh"
make -s -C "$TOP" install PREFIX=/opt/p2psip DESTDIR="$T/root" >"$T/install.log" 2>&1 ||
	fail "make install: $(tail -n 5 "$T/install.log")"
R=$T/root/opt/p2psip
for f in sbin/logind sbin/bootstrapd sbin/supernode sbin/ordinarynode bin/p2psip-admin bin/p2psip \
	bin/p2psip-adhoc; do
	[ -x "$R/$f" ] || fail "$f not installed"
done
"$R/sbin/logind" --version | grep -q "^logind " || fail "installed logind does not run"
[ -f "$R/share/p2psip/examples/logind.conf" ] || fail "example configuration"
"$R/sbin/bootstrapd" -c "$R/share/p2psip/examples/bootstrapd.conf" -n >/dev/null ||
	fail "installed example configuration does not check"
"$R/sbin/supernode" -c "$R/share/p2psip/examples/supernode.conf" -n >/dev/null ||
	fail "installed example supernode.conf does not check"
"$R/sbin/ordinarynode" -c "$R/share/p2psip/examples/ordinarynode.conf" -n >/dev/null ||
	fail "installed example ordinarynode.conf does not check"
grep -q "^ExecStart=/opt/p2psip/sbin/logind " "$R/lib/systemd/system/p2psip-logind.service" ||
	fail "unit file does not point at PREFIX"
grep -q "^ExecStart=/opt/p2psip/sbin/supernode " "$R/lib/systemd/system/p2psip-supernode.service" ||
	fail "supernode unit file does not point at PREFIX"
for f in man1/p2psip.1 man1/p2psip-admin.1 man1/p2psip-adhoc.1 man5/logind.conf.5 man5/bootstrapd.conf.5 \
	man5/supernode.conf.5 man5/ordinarynode.conf.5 man8/logind.8 man8/bootstrapd.8 \
	man8/supernode.8 man8/ordinarynode.8; do
	[ -f "$R/share/man/$f" ] || fail "man page $f not installed"
	assert_eq 644 "$(stat -c %a "$R/share/man/$f")" "mode of man page $f"
done
grep -q "/opt/p2psip/share/p2psip/examples/logind.conf" "$R/share/man/man5/logind.conf.5" ||
	fail "logind.conf.5 does not name the examples under PREFIX"
if command -v mandoc >/dev/null; then
	mandoc -T ascii "$R/share/man/man8/logind.8" | grep -q "certificate authority" ||
		fail "installed logind.8 does not render"
fi
echo ok
