# baresip as a headless test phone: no sound card (a silent 8 kHz WAV of a
# minute in, a paced null sink out), control over TCP
# (ctrl_tcp netstrings), SIP trace on, answering by itself. Source it after
# lib.sh. Phones are named; everything of phone NAME is in $T/bs_NAME.

declare -A BS_CTRL BS_PID

# bs_wav FILE SECONDS: silence as an 8 kHz mono 16-bit WAV (aufile ends the
# call at the end of its file, so longer than any call).
bs_wav() {
	local n=$((16000 * $2))
	le32() { printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)); }
	{
		printf "RIFF$(le32 $((36 + n)))WAVEfmt "
		printf "$(le32 16)\\x01\\x00\\x01\\x00$(le32 8000)$(le32 16000)\\x02\\x00\\x10\\x00"
		printf "data$(le32 $n)"
		head -c "$n" /dev/zero
	} >"$1"
}

# bs_start NAME ACCOUNT-LINE: starts phone NAME with that accounts line
# (e.g. <sip:alice@overlay.example;transport=tcp>;outbound="sip:...").
# BS_MODULES: more modules to load (e.g. "srtp.so dtls_srtp.so"); BS_IP:
# the phone's own address for SIP and RTP (default 127.0.0.1; its control
# port stays on 127.0.0.1).
bs_start() {
	local name=$1 acc=$2 dir=$T/bs_$1 sip rtp ip=${BS_IP:-127.0.0.1}
	mkdir -p "$dir"
	bs_wav "$dir/in.wav" 60
	sip=$(free_port)
	BS_CTRL[$name]=$(free_port)
	rtp=$(free_port)
	cat >"$dir/config" <<CONF
module_path         /usr/lib/baresip/modules
sip_listen          $ip:$sip
net_interface       $ip
dns_server          127.0.0.1:53
audio_source        aufile,$dir/in.wav
audio_player        aubridge,null-$name
audio_alert         aubridge,alert-$name
ausrc_srate         8000
ausrc_channels      1
rtp_ports           $rtp-$((rtp + 1))
rtp_stats           yes
statmode_default    off
module g711.so
module aufile.so
module aubridge.so
$(for m in ${BS_MODULES:-}; do echo "module $m"; done)
module_tmp account.so
module_app menu.so
module_app ctrl_tcp.so
ctrl_tcp_listen     127.0.0.1:${BS_CTRL[$name]}
CONF
	printf '%s\n' "$acc" >"$dir/accounts"
	start_bg "bs_$name" baresip -4 -s -f "$dir"
	BS_PID[$name]=$LAST_PID
	wait_port "${BS_CTRL[$name]}" 10
}

# bs_cmd NAME COMMAND [PARAMS]: one ctrl_tcp command; prints the response.
bs_cmd() {
	local name=$1 j
	j=$(jq -cn --arg c "$2" --arg p "${3:-}" '{command: $c, params: $p, token: "t"}')
	exec 9<>"/dev/tcp/127.0.0.1/${BS_CTRL[$name]}" || fail "ctrl_tcp of $name"
	printf '%d:%s,' "${#j}" "$j" >&9
	timeout 3 head -c 2000 <&9 | tr -d '\0' | grep -o '{"response".*}' | head -n 1
	exec 9>&-
}

# bs_wait NAME REGEXP [SECONDS]: until the phone's log matches.
bs_wait() {
	local i
	for i in $(seq 1 $((${3:-15} * 10))); do
		grep -aqE "$2" "$T/bs_$1.log" && return 0
		sleep 0.1
	done
	fail "phone $1: no '$2' within ${3:-15}s: $(tail -n 20 "$T/bs_$1.log" | cat -v)"
}
