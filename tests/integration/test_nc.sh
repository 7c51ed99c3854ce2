#!/bin/sh
# test_nc.sh - drives the real binary with netcat-openbsd: every model x handler over TCP.
#
# Starts $DISPATCHD (default build/dispatchd) on 127.0.0.1:0, learns the
# port from its "listening on" line, sends with `nc -N` and compares what
# comes back byte for byte.  Prints "test_nc: N passed, N failed".

DISPATCHD=${DISPATCHD:-build/dispatchd}
# Every model of the registry, as --help lists them: a new model is
# covered without editing this file.  The handlers are the ones checked
# below, each with its own expected bytes.
MODELS=$("$DISPATCHD" --help | sed -n '/^models /,/^$/p' | awk 'NR > 1 && NF { print $1 }')
HANDLERS="echo timestamp logger"
if [ -z "$MODELS" ]; then
	echo "test_nc: no models in $DISPATCHD --help"
	echo "test_nc: 0 passed, 1 failed"
	exit 1
fi

name=test_nc
. "$(dirname "$0")/../lib/t.sh"
pids=""

t_cleanup() {
	for p in $pids; do
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}

if ! command -v nc >/dev/null 2>&1 || ! nc -h 2>&1 | grep -q OpenBSD; then
	echo "test_nc: netcat-openbsd (nc) is required"
	echo "test_nc: 0 passed, 1 failed"
	exit 1
fi

# wait_until SECONDS COMMAND...: runs COMMAND every 0.05 s until it
# succeeds (0) or SECONDS have passed (1).
wait_until() {
	_n=$(($1 * 20))
	shift
	while [ "$_n" -gt 0 ]; do
		"$@" && return 0
		sleep 0.05
		_n=$((_n - 1))
	done
	"$@"
}

alive() { kill -0 "$pid" 2>/dev/null; }
dead() { ! kill -0 "$pid" 2>/dev/null; }

# Sets $port from the server's stderr, or fails if it exited.
have_port() {
	port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9][0-9]*\) (.*$/\1/p' "$err")
	[ -n "$port" ] || ! alive
}

# start MODEL HANDLER [ARGS...]: starts the server, sets $pid and $port.
start() {
	_m=$1
	_h=$2
	shift 2
	err=$tmp/$_m-$_h.err
	: >"$err"	# before the background job opens it: have_port reads it at once
	"$DISPATCHD" -m "$_m" -H "$_h" -l 127.0.0.1:0 "$@" 2>"$err" </dev/null &
	pid=$!
	pids="$pids $pid"
	port=""
	wait_until 5 have_port
	[ -n "$port" ]
}

# stop: SIGTERM, at most 5 s for the exit, then SIGKILL; sets $status.
stop() {
	kill -TERM "$pid" 2>/dev/null
	if ! wait_until 5 dead; then
		kill -9 "$pid" 2>/dev/null
	fi
	wait "$pid"
	status=$?
	pids=$(echo "$pids" | sed "s/ $pid\$//; s/ $pid / /")
}

fail() {
	t_fail "$case: $*"
	[ -f "$err" ] && sed 's/^/    server: /' "$err"
}

# The time stamp of the timestamp handler, as an ERE.
TS='^\[[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z\] '

check_echo() {
	printf 'hello\000world\r\nline two\n\001\377 end' >"$tmp/in"
	nc -N -w 5 127.0.0.1 "$port" <"$tmp/in" >"$tmp/out" 2>"$tmp/nc.err" ||
		{ echo "nc failed: $(cat "$tmp/nc.err")"; return 1; }
	cmp "$tmp/in" "$tmp/out" || { echo "echo differs"; return 1; }
}

check_timestamp() {
	printf 'one\ntwo\r\nthree' | nc -N -w 5 127.0.0.1 "$port" \
		>"$tmp/out" 2>"$tmp/nc.err" ||
		{ echo "nc failed: $(cat "$tmp/nc.err")"; return 1; }
	n=$(grep -cE "$TS" "$tmp/out")
	[ "$n" -eq 3 ] || { echo "want 3 stamped lines, got $n:"; cat "$tmp/out"; return 1; }
	sed 's/^\[[^]]*\] //' "$tmp/out" >"$tmp/text"
	printf 'one\ntwo\nthree\n' >"$tmp/want"
	cmp "$tmp/want" "$tmp/text" || { echo "lines differ:"; cat "$tmp/out"; return 1; }
}

check_logger() {
	printf 'alpha\nbeta\n' | nc -N -w 5 127.0.0.1 "$port" \
		>"$tmp/out" 2>"$tmp/nc.err" ||
		{ echo "nc failed: $(cat "$tmp/nc.err")"; return 1; }
	printf 'OK\nOK\n' >"$tmp/want"
	cmp "$tmp/want" "$tmp/out" || { echo "acks differ:"; cat "$tmp/out"; return 1; }
	wait_until 5 grep -q ' disconnected$' "$log" ||
		{ echo "no disconnected record in $log"; cat "$log"; return 1; }
	for re in ' connected$' ': alpha$' ': beta$' ' disconnected$'; do
		n=$(grep -c "$re" "$log")
		[ "$n" -eq 1 ] || { echo "want one '$re' record, got $n:"; cat "$log"; return 1; }
	done
}

for m in $MODELS; do
	for h in $HANDLERS; do
		case="$m/$h"
		log=$tmp/$m.log
		extra=""
		[ "$h" = logger ] && extra="--logger-output $log --logger-ack"
		# shellcheck disable=SC2086 # $extra is split on purpose
		if ! start "$m" "$h" $extra; then
			fail "server did not start"
			stop
			continue
		fi
		if msg=$(check_"$h" 2>&1); then
			stop
			if [ "$status" -eq 0 ]; then
				ok
			else
				fail "exit status $status after SIGTERM, want 0"
			fi
		else
			stop
			fail "$msg"
		fi
	done
done

summary
