#!/bin/sh
# socat-udp.sh - the admin's datagram servers: socat echo or discard over UDP.
# Usage: socat-udp.sh echo|discard PORT (0: a free port); prints
# "listening on udp:127.0.0.1:PORT (socat)" and becomes socat (the same
# process id), which does the listening.
#   echo:    socat UDP-LISTEN:PORT,fork,reuseaddr PIPE -- the common idiom: a
#            child per client address, which connects its socket to that
#            client and echoes its datagrams through a pipe until it is ended
#   discard: socat -u UDP-RECV:PORT /dev/null -- one process, each datagram
#            written to /dev/null
kind=$1
port=${2:-0}
case $kind in
echo | discard) ;;
*)
	echo "usage: socat-udp.sh echo|discard PORT" >&2
	exit 2
	;;
esac
if [ "$port" = 0 ]; then
	# socat does not report the port it got: take one the kernel says is free.
	port=$(python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') || exit 1
fi
echo "listening on udp:127.0.0.1:$port (socat)" >&2
if [ "$kind" = echo ]; then
	exec socat "UDP-LISTEN:$port,bind=127.0.0.1,fork,reuseaddr" PIPE
fi
exec socat -u "UDP-RECV:$port,bind=127.0.0.1" /dev/null
