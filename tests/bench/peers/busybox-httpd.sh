#!/bin/sh
# busybox-httpd.sh - busybox httpd in the foreground: a child forked per
# connection (inetd style), one request per connection (it answers
# "Connection: close"), children left to the kernel to reap (SIGCHLD
# ignored: their CPU never reaches the parent's cutime, see README).
# Usage: busybox-httpd.sh ROOT PORT DIR (PORT 0: a free port); an empty
# DIR/httpd.conf so that no /etc/httpd.conf applies; no access log (it logs
# only with -v).  Prints "listening on 127.0.0.1:PORT (busybox-httpd)" and
# becomes busybox httpd (the same process id).
root=$1
port=${2:-0}
dir=$3
if [ -z "$root" ] || [ -z "$dir" ] || ! mkdir -p "$dir"; then
	echo "usage: busybox-httpd.sh ROOT PORT DIR" >&2
	exit 2
fi
if [ "$port" = 0 ]; then
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') || exit 1
fi
: >"$dir/httpd.conf"
echo "listening on 127.0.0.1:$port (busybox-httpd)" >&2
exec busybox httpd -f -p "127.0.0.1:$port" -h "$root" -c "$dir/httpd.conf"
