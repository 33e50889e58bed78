# The SIP world outside the overlay, for the tests of gateways: a network
# namespace of its own with a DNS server (dnsmasq) that answers for foreign
# domains, and Kamailio as the registrar and proxy of such a domain.
# Source it after tests/lib.sh; a test calls netns_enter "$@" first.

FOREIGN_DNS_ARGS=()

# netns_enter "$@": outside, creates a network namespace whose resolv.conf
# names 127.0.0.1, runs this script again inside it, deletes the namespace
# afterwards and exits with the inner status. Inside, it returns at once:
# everything of the test then runs on 127.0.0.x of that namespace, where
# every resolver (libc, sofia-sip's, Kamailio's) asks our dnsmasq.
netns_enter() {
	[ -z "${P2PF_NETNS:-}" ] || return 0
	local ns=p2pf$$ rc
	command -v ip >/dev/null || skip "needs ip (iproute2)"
	ip netns add "$ns" 2>/dev/null || skip "cannot create a network namespace (not root, or a chroot?)"
	if ! mkdir -p "/etc/netns/$ns" 2>/dev/null ||
		! echo "nameserver 127.0.0.1" >"/etc/netns/$ns/resolv.conf" ||
		! ip -n "$ns" link set lo up 2>/dev/null ||
		! ip netns exec "$ns" true 2>/dev/null; then
		netns_del "$ns"
		skip "cannot enter a network namespace"
	fi
	trap 'netns_del '"$ns"'; t_cleanup' EXIT
	P2PF_NETNS=$ns ip netns exec "$ns" bash "$0" "$@"
	rc=$?
	exit "$rc"
}

# netns_del NAME: stops what the test left running in it (sipp phones in
# the background), then deletes it and its /etc/netns directory.
netns_del() {
	local pid
	for pid in $(ip netns pids "$1" 2>/dev/null); do kill "$pid" 2>/dev/null; done
	ip netns del "$1" 2>/dev/null
	rm -rf "/etc/netns/$1"
}

# Records for dns_start, collected in the order given.
dns_a() { FOREIGN_DNS_ARGS+=("--host-record=$1,$2"); } # NAME IP
dns_srv() { # NAME TARGET PORT PRIO WEIGHT, NAME as _sip._udp.DOMAIN
	FOREIGN_DNS_ARGS+=("--srv-host=$1,$2,$3,$4,$5")
}
dns_naptr() { # DOMAIN ORDER PREF FLAGS SERVICE REPLACEMENT (no regexp)
	FOREIGN_DNS_ARGS+=("--naptr-record=$1,$2,$3,$4,$5,,$6")
}

# dns_start [dnsmasq options]: dnsmasq on 127.0.0.1:53 with the records
# given so far, and nothing else: every other name is NXDOMAIN (--local=/#/),
# none is asked upstream. Queries are logged in $T/dns.log.
dns_start() {
	[ -n "${P2PF_NETNS:-}" ] || fail "dns_start outside the test's namespace (netns_enter first)"
	[ -x /usr/sbin/dnsmasq ] || skip "needs dnsmasq (package dnsmasq-base)"
	start_bg dnsmasq /usr/sbin/dnsmasq -k -C /dev/null -u root --no-resolv --no-hosts \
		--local=/#/ --listen-address=127.0.0.1 --bind-interfaces --port=53 \
		--log-queries --log-facility="$T/dns.log" "${FOREIGN_DNS_ARGS[@]}" "$@"
	DNS_PID=$LAST_PID
	# A name we did not give: NXDOMAIN (exit 1) once it answers, 2 before.
	poll 10 dns_answers || fail "dnsmasq does not answer: $(cat "$T/dnsmasq.log")"
}
dns_answers() {
	local rc
	python3 "$TOP/tests/tools/dnsq.py" ready.invalid A >/dev/null
	rc=$?
	[ "$rc" != 2 ]
}

# dnsq NAME [A|SRV|NAPTR]: what our DNS server answers, one record a line.
dnsq() { python3 "$TOP/tests/tools/dnsq.py" "$@"; }

# kam_start DOMAIN ADDR PORT [CONFIG-LINES...]: Kamailio as the registrar
# and proxy of DOMAIN on ADDR:PORT (UDP and TCP), from
# tests/kamailio/foreign.cfg with the lines given added after its module
# parameters (e.g. 'modparam("tm", "fr_timer", 5000)'). The password of
# user U is pw-U. Log and files in $T/kam_DOMAIN-ADDR(.log), pid in KAM_PID.
# Returns once it accepts TCP connections.
kam_start() {
	local dom=$1 addr=$2 port=$3 name=kam_$1-$2
	shift 3
	[ -n "${P2PF_NETNS:-}" ] || fail "kam_start outside the test's namespace (netns_enter first)"
	command -v kamailio >/dev/null || skip "needs kamailio"
	mkdir -p "$T/$name"
	printf '%s\n' "$@" >"$T/$name/extra.cfg"
	sed -e "s/@DOMAIN@/$dom/g" -e "s/@ADDR@/$addr/g" -e "s/@PORT@/$port/g" \
		-e "/^# @EXTRA@/r $T/$name/extra.cfg" "$TOP/tests/kamailio/foreign.cfg" >"$T/$name/kamailio.cfg"
	kamailio -c -f "$T/$name/kamailio.cfg" >"$T/$name/check.log" 2>&1 ||
		fail "kamailio -c $name: $(tail -n 5 "$T/$name/check.log")"
	start_bg "$name" kamailio -DD -E -m 32 -M 4 -Y "$T/$name" -f "$T/$name/kamailio.cfg"
	KAM_PID=$LAST_PID
	poll 10 kam_ready "$addr" "$port" || fail "kamailio $name does not listen on $addr:$port"
}
kam_ready() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; } # ADDR PORT

# ---- sipp in the foreign world ----

# sipp_open SCENARIO: prints the path of a variant of tests/sipp/SCENARIO
# for servers that do not challenge (Kamailio relays calls unauthenticated):
# the first request and its 407 (and ACK) are left out, and [authentication].
sipp_open() {
	local out=$T/open_$1
	awk '!started && /<send/ { skipping = 1; started = 1 }
		skipping && /response="407"/ { seen = 1 }
		skipping && seen && /<send retrans/ { skipping = 0 }
		skipping || /^ *\[authentication\] *$/ { next }
		{ print }' "$TOP/tests/sipp/$1" >"$out"
	echo "$out"
}

# fsipp NAME SERVER LOCAL-IP SCENARIO [sipp args]: one sipp client from
# LOCAL-IP to SERVER (ADDR:PORT), output in $T/sipp_NAME.out; returns its status.
fsipp() {
	local name=$1 server=$2 ip=$3 sf=$4
	shift 4
	(cd "$T" && timeout 40 sipp "$server" -sf "$sf" -i "$ip" -m 1 -timeout 30s -timeout_error \
		-nostdin -trace_err -error_file "$T/sipp_$name.err" "$@" >"$T/sipp_$name.out" 2>&1)
}
fsipp_ok() { # NAME SERVER LOCAL-IP SCENARIO [sipp args]
	fsipp "$@" || fail "sipp $1: $(tail -n 20 "$T/sipp_$1.out"; cat "$T/sipp_$1.err" 2>/dev/null)"
}

# fphone NAME USER@DOMAIN IP:PORT SCENARIO [sipp args]: a phone answering
# one call in the background at IP:PORT; its pid in PHONE (phone_ok waits).
fphone() {
	local name=$1 user=${2%@*} dom=${2#*@} ip=${3%:*} port=${3#*:} sf=$4
	shift 4
	(cd "$T" && exec timeout 40 sipp -sf "$sf" -s "$user" -key domain "$dom" -i "$ip" -p "$port" \
		-m 1 -nostdin -timeout 30s -timeout_error -trace_err -error_file "$T/sipp_$name.err" \
		"$@" >"$T/sipp_$name.out" 2>&1) &
	PHONE=$!
	poll 5 fphone_listens "$ip" "$port" || fail "phone $name does not listen on $ip:$port"
}
fphone_listens() { ss -Hlun "src $1:$2" | grep -q .; } # IP PORT

# kam_register NAME SERVER USER@DOMAIN IP:PORT [PATH-URI [PASSWORD]]: a
# REGISTER of USER sent from IP:PORT (its Contact, where nothing listens
# afterwards) to SERVER, with digest (password pw-USER unless given) and a
# Path header when PATH-URI is given ("-" for none). Returns sipp's status.
kam_register() {
	local name=$1 server=$2 user=${3%@*} dom=${3#*@} ip=${4%:*} port=${4#*:}
	local path=${5:--} pw=${6:-pw-${3%@*}} sf=$TOP/tests/sipp/register.xml
	if [ "$path" != - ]; then
		sf=$T/register_path_$name.xml
		sed "s|^\( *\)Expires: \[expires\]|&\n\1Path: <$path>|" \
			"$TOP/tests/sipp/register.xml" >"$sf"
	fi
	fsipp "$name" "$server" "$ip" "$sf" -p "$port" -s "$user" -key domain "$dom" \
		-key expires 300 -au "$user" -ap "$pw" -auth_uri "$dom"
}
