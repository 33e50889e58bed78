#!/usr/bin/env bash
# The man pages in man/: mandoc -T lint finds nothing in them; each
# program's --help and its page name the same options (and, for the
# command-line tools, the same commands); every [section] key that a
# daemon's -n prints for its example configuration is in its section-5
# page. Then a page with an option taken out must fail the check.
. "$(dirname "$0")/../lib.sh"
need mandoc
MAN=$TOP/man

# The rendered text of a page, without the overstrike of bold and underline.
page_text() { mandoc -T ascii -O width=400 "$1" | sed 's/.\x08//g'; }

# The source lines of the page's section NAME (.Sh NAME up to the next .Sh).
page_section() { # PAGE NAME
	awk -v want="$2" '/^\.Sh / { on = (substr($0, 5) == want); next } on' "$1"
}

# Every -x and --xyz in a --help text (not the dash inside a word like Node-ID).
help_opts() {
	grep -oE -- '(^|[][ (,|])--?[A-Za-z][A-Za-z0-9-]*' | sed 's/^[][ (,|]//' | sort -u
}

# The commands of a --help text: lines indented by two spaces that start
# with a lower-case word; the leading lower-case words before the
# description (two spaces) are the command, e.g. "user add".
help_cmds() {
	sed -n 's/^  \([a-z].*\)$/\1/p' | sed 's/  .*//' |
		awk '{ c = ""; for (i = 1; i <= NF && $i ~ /^[a-z][a-z-]*$/; i++) c = c (c ? " " : "") $i; print c }' |
		sort -u
}

# The flags (Fl) on the .It lines of the page's OPTIONS and COMMANDS.
page_flags() { # PAGE
	{ page_section "$1" OPTIONS; page_section "$1" COMMANDS; } |
		awk '/^\.It / { for (i = 2; i < NF; i++) if ($i == "Fl") print "-" $(i + 1) }' |
		sed 's/[,;.]$//' | sort -u
}

# The commands (.It Cm WORDS...) listed under the page's COMMANDS.
page_cmds() { # PAGE
	page_section "$1" COMMANDS |
		awk '/^\.It Cm / { c = ""; for (i = 3; i <= NF && $i ~ /^[a-z][a-z-]*$/; i++) c = c (c ? " " : "") $i; print c }' |
		sort -u
}

# True if LIST (one item a line) has the line ITEM.
in_list() { [[ $'\n'$2$'\n' == *$'\n'"$1"$'\n'* ]]; }

# Checks that PAGE and the --help of PROG agree: each option of --help is in
# the page's text and in its lists of options or commands, each option
# listed there is in --help, and so for the commands. Prints what is wrong.
check_page() { # PROG PAGE
	local prog=$1 page=${2##*/} help o c bad=0 hopts hcmds popts pcmds topts
	help=$("$BIN/$prog" --help) || { echo "$prog --help failed"; return 1; }
	hopts=$(help_opts <<<"$help")
	hcmds=$(help_cmds <<<"$help")
	popts=$(page_flags "$2")
	pcmds=$(page_cmds "$2")
	topts=$(page_text "$2" | help_opts)
	[ -n "$hopts" ] || { echo "$prog: no options found in --help"; bad=1; }
	[ -n "$popts" ] || { echo "$page: no options found under OPTIONS"; bad=1; }
	for o in $hopts; do
		in_list "$o" "$topts" || { echo "$prog: $o is in --help but not in $page"; bad=1; }
		in_list "$o" "$popts" ||
			{ echo "$prog: $o is in --help but not listed under OPTIONS or COMMANDS in $page"; bad=1; }
	done
	for o in $popts; do
		in_list "$o" "$hopts" || { echo "$prog: $o is in $page but not in --help"; bad=1; }
	done
	while read -r c; do
		[ -z "$c" ] || in_list "$c" "$pcmds" ||
			{ echo "$prog: command '$c' is in --help but not under COMMANDS in $page"; bad=1; }
	done <<<"$hcmds"
	while read -r c; do
		[ -z "$c" ] || in_list "$c" "$hcmds" ||
			{ echo "$prog: command '$c' is in $page but not in --help"; bad=1; }
	done <<<"$pcmds"
	return $bad
}

# "[section] key" for every key that PROG -n prints for CONF ("[account
# alice]" becomes "[account NAME]"), keys not set included.
printed_keys() { # PROG CONF
	"$BIN/$1" -n -c "$2" | awk '
		/^\[.*\]$/ { s = substr($0, 2, length($0) - 2); if (split(s, w, " ") == 2) s = w[1] " NAME"; next }
		/^# [A-Za-z0-9_.@-]+ is not set$/ { print "[" s "] " $2; next }
		/^[A-Za-z0-9_.@-]+ = / { print "[" s "] " $1 }'
}

# "[section] key" for every .It Cm key under a .Ss [section] of a page.
page_keys() { # PAGE
	awk '
		/^\.Sh / { s = ""; next }
		/^\.Ss / { s = ""; if (match($0, /\[[^]]*\]/)) s = substr($0, RSTART, RLENGTH); next }
		/^\.It Cm / && s != "" { print s " " $3 }' "$1"
}

check_keys() { # PROG CONF PAGE
	local k bad=0 printed documented
	printed=$(printed_keys "$1" "$2") || { echo "$1 -n -c $2 failed"; return 1; }
	documented=$(page_keys "$3")
	[ "$(wc -l <<<"$printed")" -ge 5 ] || { echo "$1 -n printed too few keys"; return 1; }
	while read -r k; do
		in_list "$k" "$documented" ||
			{ echo "$1: $k is printed by -n but not in ${3##*/}"; bad=1; }
	done <<<"$printed"
	return $bad
}

note "mandoc -T lint -W warning"
pages=("$MAN"/*.[158])
[ "${#pages[@]}" = 11 ] || fail "expected 11 pages in man/, found ${#pages[@]}"
out=$(mandoc -T lint -W warning "${pages[@]}" 2>&1)
[ -z "$out" ] || fail "mandoc lint: $out"

note "--help and the pages agree"
for p in logind bootstrapd supernode ordinarynode p2psip p2psip-admin p2psip-adhoc; do
	case $p in p2psip*) page=$MAN/$p.1 ;; *) page=$MAN/$p.8 ;; esac
	[ -f "$page" ] || fail "no page for $p"
	out=$(check_page "$p" "$page") || fail "$out"
done
for p in p2psip p2psip-admin; do
	[ "$("$BIN/$p" --help | help_cmds | wc -l)" -ge 6 ] || fail "$p: commands not found in --help"
done

note "every key printed by -n is in the section-5 page"
for p in logind bootstrapd supernode ordinarynode; do
	out=$(check_keys "$p" "$TOP/etc/$p.conf" "$MAN/$p.conf.5") || fail "$out"
done

note "the checks catch a page that lost an option, a command or a key"
grep -v -e '^\.It Fl -init' "$MAN/logind.8" >"$T/logind.8"
check_page logind "$T/logind.8" >/dev/null && fail "logind.8 without --init passed"
sed 's/^\.It Fl -hold .*/.It Fl -holdx Ar secs/' "$MAN/p2psip.1" >"$T/p2psip.1"
check_page p2psip "$T/p2psip.1" >/dev/null && fail "p2psip.1 with an unknown option passed"
grep -v -e '^\.It Cm user passwd' "$MAN/p2psip-admin.1" >"$T/p2psip-admin.1"
check_page p2psip-admin "$T/p2psip-admin.1" >/dev/null && fail "p2psip-admin.1 without user passwd passed"
grep -v -e '^\.It Cm flush_ms' "$MAN/supernode.conf.5" >"$T/supernode.conf.5"
check_keys supernode "$TOP/etc/supernode.conf" "$T/supernode.conf.5" >/dev/null &&
	fail "supernode.conf.5 without flush_ms passed"
echo ok
