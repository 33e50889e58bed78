#!/bin/sh
# Installs the Debian packages that the build, the tests and the demo need.
# As root it installs what is missing; otherwise it prints what it would do.
# Usage: scripts/install-deps.sh [--check] [--update] [--phones]
#   --check   exit 1 if something is missing, install nothing
#   --update  run apt-get update first (what a fresh machine needs)
#   --phones  also Linphone's command-line phone (about 80 packages, 140 MB),
#             which only its test uses: make check asks for it, make demo not
set -eu

# kamailio is the public SIP server of another domain that gateways meet
# (the tests start it themselves; the package's service is not used).
# dnsmasq-base is dnsmasq without a service: the tests' DNS for that world.
PKGS="build-essential pkg-config
 libssl-dev libevent-dev libsqlite3-dev libjansson-dev libsofia-sip-ua-dev
 openssl sqlite3 curl jq netcat-openbsd ca-certificates iproute2 procps psmisc
 kamailio
 libcmocka-dev valgrind sip-tester baresip-core iptables mandoc dnsmasq-base
 clang libclang-rt-14-dev clang-format"

check=0
update=0
for a in "$@"; do
	case "$a" in
	--check) check=1 ;;
	--update) update=1 ;;
	--phones) PKGS="$PKGS linphone-cli" ;;
	*) echo "usage: $0 [--check] [--update] [--phones]" >&2; exit 2 ;;
	esac
done

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = installed ] || missing="$missing $p"
done

if [ -z "$missing" ]; then
	[ "$check" = 1 ] || echo "install-deps: all packages present"
	exit 0
fi
if [ "$check" = 1 ]; then
	echo "install-deps: missing:$missing" >&2
	exit 1
fi
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: not root; would run:" >&2
	echo "  apt-get update && apt-get install -y --no-install-recommends$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if [ "$update" = 1 ] || ! apt-get install -y --no-install-recommends $missing; then
	apt-get update
	apt-get install -y --no-install-recommends $missing
fi
# Debian starts a newly installed kamailio as a service on port 5060 of
# every address, with its example configuration; nothing here wants that.
case " $missing " in
*" kamailio "*)
	if [ -d /run/systemd/system ]; then
		echo "install-deps: stopping and disabling the kamailio service that the package started"
		systemctl disable --now kamailio.service || true
	fi
	;;
esac
