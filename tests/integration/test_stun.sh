#!/usr/bin/env bash
# The super node's STUN server: p2psip stun gets a Binding answer on UDP at
# the super node's port with the address it sent from, in an answer no
# larger than needed (1.6 times a bare request at most); garbage, truncated
# and oversized datagrams are counted and not answered; a flood from one
# address is held at its rate (burst 2 x rate) and the server answers again
# once the flood stops; the super node advertises itself as service:stun
# in the DHT (signed, checked by p2psip); [stun] listen = off turns it off;
# an ordinary node on loopback finds no NAT (its STUN answers name its own
# address) and its user record says media needs no relay. sn1 runs under
# valgrind.
. "$(dirname "$0")/../lib.sh"
need sipp

overlay_start 0
vg_on
snode_up sn1 "[stun]" "rate_per_addr = 20"
VG_DAEMONS=0
snode_up sn2 "[stun]" "listen = off"
snode_up sn3
port=${SN_PORT[sn1]}
stun() { "$BIN/p2psip" --timeout 3 "$@"; }

note "a Binding request: the answer names our address"
out=$(stun stun "127.0.0.1:$port") || fail "no STUN answer: $out"
case "$out" in 127.0.0.1:[0-9]*) ;; *) fail "mapped address: $out" ;; esac
jq -e '.mapped | startswith("127.0.0.1:")' <<<"$(stun --json stun "127.0.0.1:$port")" >/dev/null ||
	fail "--json output"
[ "$(snode_status sn1 | jq .stun.requests)" -ge 2 ] || fail "requests not counted: $(snode_status sn1 | jq -c .stun)"

note "no amplifier: answers to a bare 20-byte request and to our nodes' 28-byte one"
sizes=$(python3 - "$port" <<'PY'
import os, socket, struct, sys, zlib
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
def ask(req):
    s.sendto(req, ("127.0.0.1", int(sys.argv[1])))
    return len(s.recv(2048))
bare = struct.pack("!HHI", 1, 0, 0x2112A442) + os.urandom(12)
fp = bytearray(struct.pack("!HHI", 1, 8, 0x2112A442) + os.urandom(12))
fp += struct.pack("!HHI", 0x8028, 4, (zlib.crc32(fp) ^ 0x5354554E) & 0xFFFFFFFF)
print(len(bare), ask(bare), len(fp), ask(bytes(fp)))
PY
) || fail "no answer to the size probes"
read -r q1 a1 q2 a2 <<<"$sizes"
echo "   request $q1 B -> answer $a1 B; request $q2 B -> answer $a2 B"
# XOR-MAPPED-ADDRESS alone (32 B, 1.6x); with FINGERPRINT when asked (40 B, 1.43x)
[ "$q1" = 20 ] && [ $((a1 * 10)) -le $((q1 * 16)) ] && [ $((a2 * 10)) -le $((q2 * 15)) ] ||
	fail "STUN answers too large: $sizes (request, answer bytes)"

note "garbage, a truncated request, an oversized datagram: counted, not answered"
bad0=$(snode_status sn1 | jq .stun.bad)
printf 'hello, not STUN' >"/dev/udp/127.0.0.1/$port"
printf '\x00\x01\x00\x08\x21\x12\xa4\x42\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x80\x28' >"/dev/udp/127.0.0.1/$port"
head -c 1400 /dev/zero >"/dev/udp/127.0.0.1/$port"
sleep 0.3
[ "$(snode_status sn1 | jq .stun.bad)" -ge $((bad0 + 3)) ] || fail "bad datagrams: $(snode_status sn1 | jq -c .stun)"
stun stun "127.0.0.1:$port" >/dev/null || fail "no answer after garbage"

note "a flood from one address is held at rate_per_addr (20/s, burst 40)"
sleep 2.5 # the bucket fills again
# (the kernel may drop some of the 500 before the super node reads them)
r=$(stun --json --count 500 stun "127.0.0.1:$port") || fail "flood: $r"
a=$(jq .answered <<<"$r")
[ "$a" -ge 20 ] && [ "$a" -le 60 ] || fail "flood answered $a of 500 (expected about 40)"
[ "$(snode_status sn1 | jq .stun.dropped)" -ge 100 ] || fail "drops not counted: $(snode_status sn1 | jq -c .stun)"
sleep 1
stun stun "127.0.0.1:$port" >/dev/null || fail "no answer after the flood"

note "service:stun in the DHT names the STUN servers of sn1 and sn3 (not sn2: it is off)"
cli_user carol
CLI_USER=carol poll 10 p2p_has_values service:stun 2
v=$(cat "$T/got.json")
jq -e --argjson p "$port" '.values | length == 2 and all(.signer != "sn2") and
	any(.signer == "sn1" and (.data | fromjson | .host == "127.0.0.1" and .port == $p))' \
	<<<"$v" >/dev/null || fail "service:stun: $v"

note "[stun] listen = off"
[ "$(snode_status sn2 | jq .stun.on)" = false ] || fail "sn2 STUN on: $(snode_status sn2 | jq -c .stun)"
if stun --timeout 1 stun "127.0.0.1:${SN_PORT[sn2]}" >/dev/null 2>&1; then fail "sn2 answered STUN"; fi

note "the ordinary node's middlebox detection: on loopback, no NAT, no relay"
add_user alice "password of alice"
on_init on1 alice
on_start on1
poll 5 on_has on1 '.middlebox.result != "not probed yet"'
mb=$(on_status on1 | jq -c .middlebox)
jq -e '.result == "none" and .udp and .tcp_main_port and (.answers | length) >= 1 and
	(.answers[0].mapped == .local)' <<<"$mb" >/dev/null || fail "middlebox: $mb"
phone_register on1 alice "$(free_port)"
CLI_USER=carol poll 5 p2p_has_values user:alice@overlay.example 1
d=$(jq -r '.values[0].data // empty' "$T/got.json" 2>/dev/null)
jq -e '.relay == false' <<<"$d" >/dev/null || fail "alice's record: $d"

stop_pid "${SN_PID[sn1]}" || fail "sn1 exit status $?"
vg_check
echo "stun: all passed"
