#!/usr/bin/env bash
# Phones are reached, and reach their node back, over the transport they
# registered with (issue 11, as Linphone and desk phones showed):
# - a phone on TCP gets a Record-Route with ";transport=tcp" from its own
#   node, so its ACK and BYE go over TCP (a phone on UDP gets none); a call
#   between a UDP and a TCP phone of one node carries two entries of that
#   node (RFC 5658), and a BYE along both reaches the other phone;
# - a large INVITE reaches a phone that registered over UDP over UDP, not
#   over TCP (a listener on the phone's TCP port sees nothing);
# - a REGISTER with the same +sip.instance (and reg-id) replaces the
#   binding: a phone that moved its Contact is not called twice, and its
#   un-REGISTER removes it; reg-ids are separate flows; instances survive a
#   restart; an oversized instance is refused.
# on1 runs under valgrind.
. "$(dirname "$0")/../lib.sh"
need sipp

overlay_start 2
for u in bob carol dave; do add_user $u "password of $u"; done
cli_user alice
on_init on1 alice carol
on_init on2 bob dave
vg_on
on_start on1
VG_DAEMONS=0
on_start on2
SC=$TOP/tests/sipp
ON1=${ON_SIP[on1]}
ON2=${ON_SIP[on2]}

# rr_variant NAME FILE RECV CHECK...: FILE whose <recv RECV .../> checks the
# Record-Route entries it gets; a CHECK is N=REGEXP (the Nth entry must
# match) or N!REGEXP (must not).
rr_variant() {
	local name=$1 file=$2 recv=$3 c acts="" i=0 how
	shift 3
	for c in "$@"; do
		i=$((i + 1))
		[[ $c =~ ^[0-9]+= ]] && how=check_it || how=check_it_inverse
		acts+="<ereg regexp=\"${c#*[=!]}\" search_in=\"hdr\" header=\"Record-Route:\" occurrence=\"${c%%[=!]*}\" $how=\"true\" assign_to=\"rr$i\"/><log message=\"Record-Route ${c%%[=!]*}: [\$rr$i]\"/>"
	done
	# <recv .../> gets an action; <recv ...> with an <action> below gets ours first.
	sed -e "s#<recv $recv rrs=\"true\"\( rtd=\"true\"\)\?/>#<recv $recv rrs=\"true\"><action>$acts</action></recv>#" \
		-e "/<recv $recv rrs=\"true\">\$/{n;s#<action>#<action>$acts#}" "$SC/$file" >"$T/$name.xml"
	grep -q 'header="Record-Route:"' "$T/$name.xml" || fail "rr_variant $name: no <recv $recv> in $file"
}
register() { # ON USER PORT [EXPIRES [sipp args]]: one REGISTER that must get 200
	sipp_run "reg_$2_$3" "$1" "$SC/register.xml" -s "$2" -key expires "${4:-300}" -p "$3" -m 1 "${@:5}" ||
		fail "REGISTER of $2: $(tail -n 5 "$T/sipp_reg_$2_$3.out")"
}
contacts() { # ON USER: the user's registered Contacts, sorted, one line
	on_status "$1" | jq -r --arg u "$2" '[.sip.phones[] | select(.account == $u) | .contact] | sort | join(" ")'
}
wait_published() { # USER N: the user's record has N values
	CLI_USER=alice wait_until 4 "user:$1 not published with $2 values" p2p_has_values "user:$1@overlay.example" "$2"
}

note "a TCP caller: its node's Record-Route says transport=tcp, the UDP callee's does not"
BOBU=$(free_port)
register on2 bob "$BOBU"
wait_published bob 1
# The callee sees its own node's entry first, the caller its own last.
rr_variant uas_udp uas.xml 'request="INVITE"' "1=sip:127\\.0\\.0\\.1:$ON2;lr;" '1!transport='
rr_variant uac_tcp uac.xml 'response="200"' "2=sip:127\\.0\\.0\\.1:$ON1;transport=tcp;lr;"
phone uas_udp "$T/uas_udp.xml" bob "$BOBU"
p=$PHONE
call tcp_caller on1 "$T/uac_tcp.xml" alice bob -t t1
phone_ok uas_udp "$p"

note "a TCP-only callee: its node's Record-Route says transport=tcp, the UDP caller's does not"
DAVET=$(free_port)
register on2 dave "$DAVET" 300 -t t1
wait_published dave 1
rr_variant uas_tcp uas.xml 'request="INVITE"' "1=sip:127\\.0\\.0\\.1:$ON2;transport=tcp;lr;"
rr_variant uac_udp uac.xml 'response="200"' "2=sip:127\\.0\\.0\\.1:$ON1;lr;" '2!transport='
phone uas_tcp "$T/uas_tcp.xml" dave "$DAVET" -t t1
p=$PHONE
call udp_caller on1 "$T/uac_udp.xml" alice dave
phone_ok uas_tcp "$p"

note "UDP phone to TCP phone on one node: two entries of that node, and the BYE crosses both"
CAROLT=$(free_port)
register on1 carol "$CAROLT" 300 -t t1
rr_variant uas_two uas_bye.xml 'request="INVITE"' "1=sip:127\\.0\\.0\\.1:$ON1;transport=tcp;lr;" \
	"2=sip:127\\.0\\.0\\.1:$ON1;transport=udp;lr;" '3!sip:'
rr_variant uac_two uac_wait_bye.xml 'response="200"' "1=sip:127\\.0\\.0\\.1:$ON1;transport=tcp;lr;" \
	"2=sip:127\\.0\\.0\\.1:$ON1;transport=udp;lr;"
phone uas_two "$T/uas_two.xml" carol "$CAROLT" -t t1
p=$PHONE
call same_node on1 "$T/uac_two.xml" alice carol
phone_ok uas_two "$p"

note "a large INVITE reaches a UDP phone over UDP, not TCP"
pad=$(printf 'x%.0s' $(seq 1 3000))
sed "s#      Subject: p2psip test call#      Subject: p2psip test call\\n      X-Padding: $pad#" "$SC/uac.xml" >"$T/uac_big.xml"
grep -q X-Padding "$T/uac_big.xml" || fail "no padding in the big INVITE"
timeout 50 nc -l 127.0.0.1 "$BOBU" >"$T/bob_tcp.txt" 2>/dev/null &
nc_pid=$!
PIDS+=("$nc_pid")
phone uas_big "$SC/uas.xml" bob "$BOBU"
p=$PHONE
call big on1 "$T/uac_big.xml" alice bob
phone_ok uas_big "$p"
kill "$nc_pid" 2>/dev/null
[ ! -s "$T/bob_tcp.txt" ] || fail "the INVITE went to the UDP phone's TCP port: $(head -c 200 "$T/bob_tcp.txt")"

note "+sip.instance: a phone that moved its Contact is one binding"
sed 's/<recv response="200"/<recv response="400"/' "$SC/register_instance.xml" >"$T/register_400.xml"
inst() { # PORT INSTANCE REGID EXPIRES [400]
	local sf=$SC/register_instance.xml
	[ "${5:-}" = 400 ] && sf=$T/register_400.xml
	sipp_run "inst_$1_$4" on2 "$sf" -s dave -key cport "$1" -key instance "$2" \
		-key regid "$3" -key expires "$4" -p "$(free_port)" -m 1 ||
		fail "REGISTER instance $2 port $1: $(tail -n 5 "$T/sipp_inst_$1_$4.out")"
}
# dave's TCP binding from above goes; two UDP phones of one instance follow.
register on2 dave "$DAVET" 0 -t t1
[ -z "$(contacts on2 dave)" ] || fail "dave's TCP binding stayed: $(contacts on2 dave)"
U1=6a1f0c3e-1111-4d2b-9c7e-0123456789ab
D1=$(free_port)
D2=$(free_port)
inst "$D1" "$U1" "" 300
assert_eq "sip:dave@127.0.0.1:$D1;transport=UDP" "$(contacts on2 dave)" "dave's first Contact"
inst "$D2" "$U1" "" 300
assert_eq "sip:dave@127.0.0.1:$D2;transport=UDP" "$(contacts on2 dave)" "dave's moved Contact"
wait_published dave 1

note "a call rings the moved Contact only"
"$TOP/build/tests/udpx" --bind "127.0.0.1:$D1" --wait 6 >"$T/old_contact.txt" 2>&1 &
ux=$!
phone uas_moved "$SC/uas.xml" dave "$D2"
p=$PHONE
call moved on1 "$SC/uac.xml" alice dave
phone_ok uas_moved "$p"
wait "$ux"
assert_contains "$(cat "$T/old_contact.txt")" "recv=0" "the old Contact"

note "the un-REGISTER of the moved Contact removes the phone"
inst "$D2" "$U1" "" 0
assert_eq "" "$(contacts on2 dave)" "dave after the un-REGISTER"

note "reg-ids are flows of one instance; a flow re-registers in place"
U2=0b8e2d7a-2222-4e3c-8d6f-fedcba987654
D3=$(free_port) D4=$(free_port) D5=$(free_port) D6=$(free_port)
inst "$D3" "$U2" ";reg-id=1" 300
inst "$D4" "$U2" ";reg-id=2" 300
assert_eq "$(printf 'sip:dave@127.0.0.1:%s;transport=UDP sip:dave@127.0.0.1:%s;transport=UDP' "$D3" "$D4" |
	tr ' ' '\n' | sort | paste -sd' ')" "$(contacts on2 dave)" "two flows"
inst "$D5" "$U2" ";reg-id=1" 300
assert_eq "$(printf 'sip:dave@127.0.0.1:%s;transport=UDP sip:dave@127.0.0.1:%s;transport=UDP' "$D4" "$D5" |
	tr ' ' '\n' | sort | paste -sd' ')" "$(contacts on2 dave)" "flow 1 moved"

note "instances survive a restart of the node"
sleep 1.2 # bindings are written at most once a second
stop_pid "${ON_PID[on2]}" || fail "on2 did not stop cleanly"
on_start on2
inst "$D6" "$U2" ";reg-id=2" 300
assert_eq "$(printf 'sip:dave@127.0.0.1:%s;transport=UDP sip:dave@127.0.0.1:%s;transport=UDP' "$D5" "$D6" |
	tr ' ' '\n' | sort | paste -sd' ')" "$(contacts on2 dave)" "flow 2 moved after the restart"

note "an oversized instance or reg-id is refused and changes nothing"
before=$(contacts on2 dave)
inst "$(free_port)" "$(printf 'a%.0s' $(seq 1 200))" "" 300 400
inst "$(free_port)" "$U2" ";reg-id=12345678901234567890" 300 400
assert_eq "$before" "$(contacts on2 dave)" "dave after the refused REGISTERs"

stop_pid "${ON_PID[on1]}" || fail "on1 did not stop cleanly"
vg_check
exit 0
