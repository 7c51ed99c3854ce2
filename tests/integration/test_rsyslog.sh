#!/bin/sh
# test_rsyslog.sh - the forwarding recipe of dispatchd(8), FORWARDING
# RECORDS, run for real: logger records read by rsyslog's imfile with
# conf/rsyslog-dispatchd.conf, sent over TCP to a central rsyslogd, through
# two rotations by logrotate with conf/dispatchd.logrotate and an outage of
# the central rsyslogd.
#
# Everything runs in a temporary directory, on ports of its own (port 0),
# with pid and work files of its own: nothing of the system's rsyslog (its
# configuration, /dev/log, its spool) or logrotate (its state) is touched.
#   - $DISPATCHD (default build/dispatchd) serves two logger services with
#     ack: "main" writes log/dispatchd-logger.log, "inst" log/1/...  (the
#     layout of dispatchd.service and of an instance dispatchd@1; log is a
#     symbolic link to private/dispatchd, as under DynamicUser=yes).
#   - a central rsyslogd (imtcp) writes each host's and tag's messages to a
#     file of their own with the template "%msg%\n": the central set-up as
#     dispatchd(8) shows it, taken from the page;
#   - a local rsyslogd runs the shipped conf/rsyslog-dispatchd.conf with only
#     the paths, the target and the port substituted (and the instance
#     input uncommented for NAME = 1).
# Lines go to dispatchd with nc; each check polls, up to a deadline, until
# the central files hold exactly the records dispatchd wrote, byte for
# byte (sorted: each record once).  logrotate -f runs the shipped
# dispatchd.logrotate with only the paths and the postrotate command
# substituted: the command sends a line to each service (written to the
# renamed file: the window between the rename and the signal) and then
# SIGHUP to this test's dispatchd.
# Prints "test_rsyslog: N passed, N failed"; without rsyslogd, logrotate or
# OpenBSD nc it says so and is skipped (0 passed, 0 failed).

DISPATCHD=${DISPATCHD:-build/dispatchd}
case $DISPATCHD in
/*) ;;
*/*) DISPATCHD=$(pwd)/$DISPATCHD ;;
esac
root=$(cd "$(dirname "$0")/../.." && pwd) || exit 1
RSYSLOG_CONF=$root/conf/rsyslog-dispatchd.conf
LOGROTATE_CONF=$root/conf/dispatchd.logrotate

name=test_rsyslog
. "$root/tests/lib/t.sh"
# A closed stdout must not leave a server behind either.
trap 'exit 2' HUP INT TERM PIPE

# rsyslogd and logrotate live in sbin, which a user's PATH may lack.
PATH=$PATH:/usr/sbin:/sbin
export PATH
for tool in rsyslogd logrotate nc gzip; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "test_rsyslog: $tool is missing (make deps installs it): skipped"
		summary
		exit 0
	fi
done
if ! nc -h 2>&1 | grep -q OpenBSD; then
	echo "test_rsyslog: nc is not netcat-openbsd (make deps installs it): skipped"
	summary
	exit 0
fi

srv=""		# dispatchd
central=""	# the central rsyslogd
local_rs=""	# the local rsyslogd

# stop_pid PID: SIGTERM, up to 5 s, then SIGKILL; reaped.
stop_pid() {
	kill -TERM "$1" 2>/dev/null
	poll 5 gone "$1" || kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

t_cleanup() {
	for p in $srv $central $local_rs; do
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}

# show FILE LABEL: FILE's last lines, indented, if it has any.
show() {
	[ -s "$1" ] && tail -n 15 "$1" | cut -c 1-300 | sed "s/^/    $2: /"
	return 0
}

fail() {
	t_fail "$*"
	show "$tmp/dispatchd.err" dispatchd
	show "$tmp/central-rsyslogd.log" "central rsyslogd"
	show "$tmp/central.out" "central rsyslogd"
	show "$tmp/local-rsyslogd.log" "local rsyslogd"
	show "$tmp/local.out" "local rsyslogd"
}

# check WHAT COMMAND...: one test, passed when COMMAND succeeds.
check() {
	_what=$1
	shift
	if "$@"; then ok; else fail "$_what"; fi
}

# poll SECONDS COMMAND...: COMMAND every 0.1 s until it succeeds (0) or
# SECONDS have passed (1).
poll() {
	_left=$(($1 * 10))
	shift
	until "$@"; do
		[ "$_left" -gt 0 ] || return 1
		sleep 0.1
		_left=$((_left - 1))
	done
}

gone() { ! kill -0 "$1" 2>/dev/null; }
exists() { [ -s "$1" ]; }

# The layout of /var/log/dispatchd under DynamicUser=yes: a symbolic link
# into a private directory; 1/ is the instance dispatchd@1's.
mkdir -p "$tmp/private/dispatchd/1" "$tmp/central" "$tmp/cwork" "$tmp/lwork" || exit 1
chmod 755 "$tmp/private" "$tmp/private/dispatchd" "$tmp/private/dispatchd/1"
ln -s "$tmp/private/dispatchd" "$tmp/log" || exit 1
LOG=$tmp/log
MAIN=$LOG/dispatchd-logger.log
INST=$LOG/1/dispatchd-logger.log

# --- the shipped files, as shipped ---------------------------------------
check "logrotate -d $LOGROTATE_CONF (a dry run) fails or reports an error" \
	sh -c 'logrotate -d -s "$1/dry.state" "$2" >"$1/dry.out" 2>&1 &&
	    ! grep -i "^error" "$1/dry.out"' sh "$tmp" "$LOGROTATE_CONF"

# --- dispatchd -------------------------------------------------------------
cat >"$tmp/dispatchd.conf" <<EOF
service "main" { listen = {"127.0.0.1:0"} handler = "logger" output = "$MAIN" ack = true }
service "inst" { listen = {"127.0.0.1:0"} handler = "logger" output = "$INST" ack = true }
EOF
: >"$tmp/dispatchd.err"
"$DISPATCHD" -c "$tmp/dispatchd.conf" 2>"$tmp/dispatchd.err" </dev/null &
srv=$!
ports() {
	mport=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9][0-9]*\) (main, .*$/\1/p' "$tmp/dispatchd.err")
	iport=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9][0-9]*\) (inst, .*$/\1/p' "$tmp/dispatchd.err")
	[ -n "$mport" ] && [ -n "$iport" ] || gone "$srv"
}
poll 5 ports
if [ -z "$mport" ] || [ -z "$iport" ]; then
	fail "dispatchd did not start"
	summary
	exit 1
fi

# --- the central rsyslogd ----------------------------------------------------
# The central set-up as dispatchd(8), FORWARDING RECORDS, shows it.
man_central() {
	sed -n '/^global(maxMessageSize=/,/^\.EE/p' "$root/man/dispatchd.8" |
		sed -e '/^\.EE/d' -e 's/\\-/-/g' -e 's/\\e/\\/g'
}
man_central >"$tmp/man-central.conf"
check "dispatchd(8), FORWARDING RECORDS, lacks the central rsyslog set-up" \
	sh -c 'grep -q "^module(load=\"imtcp\")" "$1" && grep -q "port=\"514\"" "$1" &&
	    grep -q "/var/log/central/" "$1" && grep -q "string=\"%msg%\\\\n\")" "$1"' \
	sh "$tmp/man-central.conf"

# central_conf PORT: that set-up in $tmp, on PORT of 127.0.0.1 (0: a free
# one, written to central.port).  Its own messages go to a file
# (processInternalMessages), never to the system's log.
central_conf() {
	{
		echo "global(workDirectory=\"$tmp/cwork\" processInternalMessages=\"on\")"
		sed -e "s|/var/log/central/|$tmp/central/|" \
		    -e "s|port=\"514\"|address=\"127.0.0.1\" port=\"$1\" listenPortFileName=\"$tmp/central.port\"|" \
		    "$tmp/man-central.conf"
		echo "action(type=\"omfile\" file=\"$tmp/central-rsyslogd.log\")"
	} >"$tmp/central.conf"
}

# rsyslogd_n NAME: a foreground rsyslogd on $tmp/NAME.conf with a pid file
# of its own, not told it runs under systemd; sets $rs.  Its messages
# before the configuration is read go to $tmp/NAME.out
# (RSYSLOG_DFLT_LOG_INTERNAL), not to syslog(3).
rsyslogd_n() {
	env -u NOTIFY_SOCKET -u LISTEN_FDS -u LISTEN_PID -u LISTEN_FDNAMES \
		RSYSLOG_DFLT_LOG_INTERNAL=1 \
		rsyslogd -n -f "$tmp/$1.conf" -i "$tmp/$1.pid" >"$tmp/$1.out" 2>&1 </dev/null &
	rs=$!
}

# valid NAME: rsyslogd -N1 accepts $tmp/NAME.conf, which loads no imuxsock
# (no /dev/log) and names no file outside $tmp.
valid() {
	rsyslogd -N1 -f "$tmp/$1.conf" >"$tmp/$1.n1" 2>&1 ||
		{ sed 's/^/    rsyslogd -N1: /' "$tmp/$1.n1"; return 1; }
	! grep -q imuxsock "$tmp/$1.conf" &&
		! grep -v '^#' "$tmp/$1.conf" | grep -q '[a-zA-Z]="*/var/'
}

central_port() {
	cport=$(cat "$tmp/central.port" 2>/dev/null)
	[ -n "$cport" ] || gone "$central"
}

central_conf 0
check "rsyslogd -N1 refuses the central configuration" valid central
rsyslogd_n central
central=$rs
cport=""
poll 10 central_port
if [ -z "$cport" ]; then
	fail "the central rsyslogd did not start"
	summary
	exit 1
fi

# --- the local rsyslogd: conf/rsyslog-dispatchd.conf -----------------------
# A frame of the test's own (a working directory, rsyslogd's own messages
# to a file), then the shipped file: paths, target and port substituted,
# and the instance input uncommented for NAME = 1.
{
	cat <<EOF
global(workDirectory="$tmp/lwork" processInternalMessages="on")
action(type="omfile" file="$tmp/local-rsyslogd.log")
EOF
	sed -e "s|/var/log/dispatchd|$LOG|g" \
	    -e 's|target="central\.example"|target="127.0.0.1"|' \
	    -e "s|port=\"514\"|port=\"$cport\"|" \
	    -e '/^#input(type="imfile"/,/)$/ { s/^#//; s/NAME/1/g; }' "$RSYSLOG_CONF"
} >"$tmp/local.conf"
substituted() {
	grep -q '^[[:space:]]*target="127\.0\.0\.1" port="'"$cport"'"' "$tmp/local.conf" &&
		grep -q '^input(type="imfile" File="'"$LOG"'/\*\.log"' "$tmp/local.conf" &&
		grep -q '^input(type="imfile" File="'"$LOG"'/1/\*\.log"' "$tmp/local.conf" &&
		grep -q 'Tag="dispatchd@1:"' "$tmp/local.conf"
}
check "$RSYSLOG_CONF changed: the test's substitutions found nothing to substitute" substituted
check "rsyslogd -N1 refuses $RSYSLOG_CONF (substituted)" valid local
rsyslogd_n local
local_rs=$rs

# --- the records ------------------------------------------------------------
# send PORT FILE: FILE's lines to a logger service; every record written
# once nc returns (ack); $oks is the number of OK replies.
send() {
	oks=$(nc -N -w 10 127.0.0.1 "$1" <"$2" | grep -c '^OK$')
}

# sent WHAT PORT FILE N: one test, passed when sending FILE got N OKs.
sent() {
	send "$2" "$3"
	if [ "$oks" = "$4" ]; then ok; else fail "$1: $oks OK replies, want $4"; fi
}

# records FILE: the records of FILE and its rotated pieces, sorted.
records() {
	for _f in "$1" "$1".*; do
		[ -f "$_f" ] && gzip -dcf "$_f"
	done | LC_ALL=C sort
}

# forwarded TAG FILE: the central files of TAG (one per sending host)
# hold exactly the records of FILE and its rotated pieces.
forwarded() {
	records "$2" >"$tmp/want"
	cat "$tmp/central"/*/"$1".log 2>/dev/null | LC_ALL=C sort >"$tmp/got"
	[ -s "$tmp/want" ] && cmp -s "$tmp/want" "$tmp/got"
}

# arrived WHAT SECONDS: one test, passed when within SECONDS the central
# files hold exactly what dispatchd wrote, for both services.
arrived() {
	_phase=$1
	if poll "$2" forwarded dispatchd "$MAIN" && poll "$2" forwarded dispatchd@1 "$INST"; then
		ok
		return
	fi
	for _t in "dispatchd $MAIN" "dispatchd@1 $INST"; do
		set -- $_t
		forwarded "$1" "$2" && continue
		echo "    $1: $(wc -l <"$tmp/want") records written, $(wc -l <"$tmp/got") received;" \
		    "missing or different (<) and unexpected (>):"
		LC_ALL=C diff "$tmp/want" "$tmp/got" | grep '^[<>]' | head -n 5 | cut -c 1-200 |
		    sed 's/^/      /'
	done
	fail "$_phase: the central rsyslogd did not receive every record"
}

# Records that test the escaping and the sizes: TAB, UTF-8, a backslash,
# control bytes, invalid UTF-8, trailing blanks, CR LF; a line of 8192
# control bytes (a record of 32 KiB, past rsyslog's default 8k) and one of
# 10000 bytes (two records of max_line, 8192, and 1808 bytes).
{
	printf 'plain line one\n'
	printf 'a tab\there, trailing blanks   \n'
	printf 'caf\303\251 \342\234\223 back\\slash \001 \033[1m \177 \377\376 end\n'
	printf 'crlf line\r\n'
	head -c 8192 /dev/zero | tr '\000' '\001'
	printf '\n'
	head -c 10000 /dev/zero | tr '\000' a
	printf '\n'
} >"$tmp/lines1"
printf 'instance line %s\n' 1 2 3 >"$tmp/inst1"

sent "main, first lines" "$mport" "$tmp/lines1" 7
sent "inst, first lines" "$iport" "$tmp/inst1" 3
arrived "before rotation" 20

# --- rotation -----------------------------------------------------------------
# The shipped dispatchd.logrotate with the paths and the postrotate
# command substituted: postrotate.sh writes a line to each service (into
# the renamed files: dispatchd has not reopened yet), then sends SIGHUP.
sed -e "s|/var/log/dispatchd|$LOG|g" \
    -e "s|^\([[:space:]]*\)systemctl kill .*|\1sh $tmp/postrotate.sh|" \
    "$LOGROTATE_CONF" >"$tmp/logrotate.conf"
chmod 644 "$tmp/logrotate.conf"	# logrotate ignores a file others may write
cat >"$tmp/postrotate.sh" <<EOF
n=\$(cat "$tmp/round")
printf 'window %s, main\n' "\$n" | nc -N -w 10 127.0.0.1 $mport >>"$tmp/window.ok"
printf 'window %s, inst\n' "\$n" | nc -N -w 10 127.0.0.1 $iport >>"$tmp/window.ok"
kill -HUP $srv
EOF
check "$LOGROTATE_CONF changed: the test's substitutions found nothing to substitute" \
	sh -c 'grep -q "^[[:space:]]*sh .*/postrotate.sh$" "$1" && grep -q "^$2/\*\.log $2/\*/\*\.log {" "$1"' \
	sh "$tmp/logrotate.conf" "$LOG"

# rotate N: logrotate -f, round N; the window lines were acknowledged.
rotate() {
	echo "$1" >"$tmp/round"
	: >"$tmp/window.ok"
	logrotate -f -s "$tmp/logrotate.state" "$tmp/logrotate.conf" >"$tmp/logrotate.out" 2>&1 ||
		{ sed 's/^/    logrotate: /' "$tmp/logrotate.out"; return 1; }
	[ "$(grep -c '^OK$' "$tmp/window.ok")" = 2 ] ||
		{ echo "    postrotate: the window lines were not acknowledged"; return 1; }
}

# has_line FILE PATTERN: FILE (plain) has a line matching PATTERN.
has_line() { [ -f "$1" ] && grep -q -- "$2" "$1"; }

printf 'second round %s\n' 1 2 3 4 5 >"$tmp/lines2"
printf 'third round %s\n' 1 2 3 4 5 >"$tmp/lines3"
printf 'during the outage %s\n' 1 2 3 4 5 6 7 8 9 10 >"$tmp/lines4"

check "rotation 1: logrotate -f" rotate 1
check "rotation 1: the renamed file (.1, not compressed) has the window line" \
	has_line "$MAIN.1" ': window 1, main$'
check "rotation 1: the instance's renamed file has its window line" \
	has_line "$INST.1" ': window 1, inst$'
sent "main, after rotation 1" "$mport" "$tmp/lines2" 5
sent "inst, after rotation 1" "$iport" "$tmp/lines2" 5
check "rotation 1: dispatchd writes to a new file after SIGHUP" \
	sh -c '[ -f "$1" ] && grep -q ": second round 5$" "$1" && ! grep -q ": second round" "$1.1"' \
	sh "$MAIN"
check "rotation 1: the instance writes to a new file" has_line "$INST" ': second round 5$'
arrived "rotation 1" 20

check "rotation 2: logrotate -f" rotate 2
check "rotation 2: .2.gz compressed (delaycompress: a round late), .1 plain" \
	sh -c 'gzip -t "$1.2.gz" && gzip -dc "$1.2.gz" | grep -q ": window 1, main$" &&
	    grep -q ": window 2, main$" "$1.1" && ! gzip -t "$1.1" 2>/dev/null' sh "$MAIN"
sent "main, after rotation 2" "$mport" "$tmp/lines3" 5
sent "inst, after rotation 2" "$iport" "$tmp/lines3" 5
check "rotation 2: dispatchd writes to a new file" has_line "$MAIN" ': third round 5$'
arrived "rotation 2" 20

# --- an outage of the central rsyslogd --------------------------------------
# Records acknowledged meanwhile wait in the local rsyslogd's disk-assisted
# queue and arrive once the central one is back on its port (the action
# tries again every resumeInterval, 10 s, seconds).
stop_pid "$central"
central=""
sent "main, during the outage" "$mport" "$tmp/lines4" 10
sent "inst, during the outage" "$iport" "$tmp/lines4" 10
central_conf "$cport"
rsyslogd_n central
central=$rs
# (listenPortFileName is written for port 0 only.)
listening() { nc -z -w 1 127.0.0.1 "$cport" || gone "$central"; }
if poll 10 listening && ! gone "$central"; then
	arrived "central outage" 45
else
	fail "the central rsyslogd did not start again on port $cport"
fi

check "no imfile state file in the working directory" \
	sh -c 'ls "$1"/imfile-state:* >/dev/null 2>&1' sh "$tmp/lwork"

# --- the end ----------------------------------------------------------------
stop_pid "$local_rs"
local_rs=""
stop_pid "$central"
central=""
kill -TERM "$srv" 2>/dev/null
poll 10 gone "$srv" || kill -9 "$srv" 2>/dev/null
wait "$srv"
_st=$?
srv=""
if [ "$_st" -eq 0 ]; then ok; else fail "dispatchd: exit status $_st after SIGTERM, want 0"; fi

summary
