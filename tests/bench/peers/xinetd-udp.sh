#!/bin/sh
# xinetd-udp.sh - xinetd's internal datagram echo or discard, in the foreground.
# Usage: xinetd-udp.sh echo|discard PORT DIR (PORT 0: a free port); writes
# DIR/xinetd.conf, prints "listening on udp:127.0.0.1:PORT (xinetd)" and
# becomes xinetd -dontfork (the same process id).
# The service is the stock one of Debian's /etc/xinetd.d/echo-udp (type
# INTERNAL, socket_type dgram, wait yes), UNLISTED so that it may take a port
# other than /etc/services' 7 or 9.  Changed from xinetd's defaults, as an
# admin benchmarking it would: no log line per datagram (log_on_success and
# log_on_failure empty), and cps, the limit of "connections" per second
# (each datagram counts as one; the default 50 disables the service for 10 s
# when exceeded), raised out of reach.
kind=$1
port=${2:-0}
dir=$3
case $kind in
echo | discard) ;;
*)
	echo "usage: xinetd-udp.sh echo|discard PORT DIR" >&2
	exit 2
	;;
esac
if [ -z "$dir" ] || ! mkdir -p "$dir"; then
	echo "xinetd-udp.sh: no directory for the configuration" >&2
	exit 2
fi
if [ "$port" = 0 ]; then
	port=$(python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') || exit 1
fi
cat >"$dir/xinetd.conf" <<CONF
defaults
{
	log_on_success =
	log_on_failure =
	cps = 100000000 1
	instances = UNLIMITED
	per_source = UNLIMITED
}

service $kind
{
	type = INTERNAL UNLISTED
	id = $kind-dgram
	socket_type = dgram
	protocol = udp
	wait = yes
	user = root
	bind = 127.0.0.1
	port = $port
}
CONF
echo "listening on udp:127.0.0.1:$port (xinetd)" >&2
exec xinetd -dontfork -f "$dir/xinetd.conf" -pidfile "$dir/xinetd.pid" -filelog "$dir/xinetd.log"
