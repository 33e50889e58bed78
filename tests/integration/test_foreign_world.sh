#!/usr/bin/env bash
# The foreign SIP world the gateway tests stand on, proved without any
# overlay: in a namespace of its own, dnsmasq answers for example.net and
# other.example, and Kamailio is the registrar and proxy of each. A phone
# registers with digest and a Path and is called through the Path; a call
# to other.example is routed by NAPTR, SRV and A past a dead first target;
# a wrong password gets no binding.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/foreign.sh"
netns_enter "$@"
need sipp python3

NET=127.0.0.40:5060   # Kamailio of example.net
OTHER=127.0.0.41:5060 # Kamailio of other.example

note "DNS: example.net and other.example, whose first SRV target is dead"
dns_naptr example.net 10 10 s SIP+D2U _sip._udp.example.net
dns_srv _sip._udp.example.net sip.example.net 5060 10 10
dns_a sip.example.net 127.0.0.40
dns_naptr other.example 10 10 s SIP+D2U _sip._udp.other.example
dns_srv _sip._udp.other.example dead.other.example 5060 10 10
dns_srv _sip._udp.other.example sip.other.example 5060 20 10
dns_a dead.other.example 127.0.0.49
dns_a sip.other.example 127.0.0.41
dns_start
assert_eq "10 10 s SIP+D2U _sip._udp.other.example" "$(dnsq other.example NAPTR)" "NAPTR of other.example"
grep -q '^nameserver 127.0.0.1$' /etc/resolv.conf || fail "resolv.conf in the namespace: $(cat /etc/resolv.conf)"

kam_start example.net 127.0.0.40 5060
kam_start other.example 127.0.0.41 5060

uac_404=$T/uac_404.xml
sed 's/response="486"/response="404"/' "$(sipp_open uac_fail.xml)" >"$uac_404"

note "a wrong password gets no binding"
sed 's/<recv response="200"\/>/<recv response="401"\/>/' "$TOP/tests/sipp/register.xml" >"$T/reg_401.xml"
fsipp_ok reg_wrong "$NET" 127.0.0.42 "$T/reg_401.xml" -p 5097 -s dave -key domain example.net \
	-key expires 300 -au dave -ap pw-eve -auth_uri example.net
fsipp_ok call_dave "$NET" 127.0.0.44 "$uac_404" -s dave -key domain example.net -key caller alice

note "bob registers with digest and a Path; his call goes through the Path"
kam_register reg_bob "$NET" bob@example.net 127.0.0.42:5098 "sip:127.0.0.42:5099;lr" ||
	fail "REGISTER of bob: $(tail -n 20 "$T/sipp_reg_bob.out")"
fphone bob bob@example.net 127.0.0.42:5099 "$TOP/tests/sipp/uas.xml"
bob=$PHONE
fsipp_ok call_bob "$NET" 127.0.0.44 "$(sipp_open uac.xml)" -s bob -key domain example.net -key caller alice
phone_ok bob "$bob"

note "a call to other.example goes by NAPTR, SRV and A, past the dead target"
kam_register reg_carol "$OTHER" carol@other.example 127.0.0.43:5099 ||
	fail "REGISTER of carol: $(tail -n 20 "$T/sipp_reg_carol.out")"
fphone carol carol@other.example 127.0.0.43:5099 "$TOP/tests/sipp/uas.xml"
carol=$PHONE
fsipp_ok call_carol "$NET" 127.0.0.44 "$(sipp_open uac.xml)" -s carol -key domain other.example \
	-key caller alice
phone_ok carol "$carol"
for q in "query\[NAPTR\] other.example" "query\[SRV\] _sip._udp.other.example" \
	"query\[A\] dead.other.example" "query\[A\] sip.other.example"; do
	grep -q "$q" "$T/dns.log" || fail "no $q in the DNS log"
done
note "ok"
