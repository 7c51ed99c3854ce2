#!/bin/sh
# lighttpd-http.sh - lighttpd serving a directory, one process, from a
# generated configuration.  Usage: lighttpd-http.sh ROOT PORT DIR (PORT 0: a
# free port); writes DIR/lighttpd.conf, prints "listening on
# 127.0.0.1:PORT (lighttpd)" and becomes lighttpd -D (the same process id).
# server.max-worker = 0 (its default: the one process serves, no watcher);
# network backend sendfile (the default on Linux, named); no mod_accesslog,
# so no access log; server.max-keep-alive-requests 100000 (the default 1000
# closes a keep-alive connection every 1000 requests; as for nginx).
root=$1
port=${2:-0}
dir=$3
if [ -z "$root" ] || [ -z "$dir" ] || ! mkdir -p "$dir"; then
	echo "usage: lighttpd-http.sh ROOT PORT DIR" >&2
	exit 2
fi
if [ "$port" = 0 ]; then
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') || exit 1
fi
cat >"$dir/lighttpd.conf" <<CONF
server.document-root = "$root"
server.bind = "127.0.0.1"
server.port = $port
server.errorlog = "$dir/error.log"
server.max-worker = 0
server.network-backend = "sendfile"
server.max-keep-alive-requests = 100000
mimetype.assign = (".bin" => "application/octet-stream")
CONF
echo "listening on 127.0.0.1:$port (lighttpd)" >&2
exec lighttpd -D -f "$dir/lighttpd.conf"
