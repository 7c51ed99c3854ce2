#!/bin/sh
# socat-echo.sh - the admin's echo server: socat forking a PIPE per connection.
# Usage: socat-echo.sh PORT (0: a free port); prints "listening on 127.0.0.1:PORT (socat)"
# and becomes socat (the same process id), which does the listening.
port=${1:-0}
if [ "$port" = 0 ]; then
	# socat does not report the port it got: take one the kernel says is free.
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') || exit 1
fi
echo "listening on 127.0.0.1:$port (socat)" >&2
exec socat "TCP-LISTEN:$port,bind=127.0.0.1,fork,reuseaddr,backlog=128" PIPE
