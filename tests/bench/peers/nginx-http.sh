#!/bin/sh
# nginx-http.sh - nginx serving a directory, one worker, from a generated
# configuration.  Usage: nginx-http.sh ROOT PORT DIR (PORT 0: a free port);
# writes DIR/nginx.conf, prints "listening on 127.0.0.1:PORT (nginx)" and
# becomes the nginx master (the same process id), in the foreground.
# Changed from Debian's stock nginx.conf, as an admin benchmarking it would:
# worker_processes 1 (the stock "auto" gives one per core), access_log off,
# keepalive_requests 100000 (the default 1000 closes a keep-alive connection
# of wrk's every 1000 requests, about 3 times a second per connection at
# this rate; dispatchd, lighttpd at the same setting and Python do not), the
# error log, pid file and temporary paths under DIR.  Kept: the master
# process (its default; it idles), sendfile on and tcp_nopush on (as in
# the stock file), no open_file_cache (its default).
root=$1
port=${2:-0}
dir=$3
if [ -z "$root" ] || [ -z "$dir" ] || ! mkdir -p "$dir"; then
	echo "usage: nginx-http.sh ROOT PORT DIR" >&2
	exit 2
fi
if [ "$port" = 0 ]; then
	# nginx does not report the port it got: take one the kernel says is free.
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') || exit 1
fi
cat >"$dir/nginx.conf" <<CONF
worker_processes 1;
daemon off;
master_process on;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events {
	worker_connections 1024;
}
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	keepalive_requests 100000;
	types {
		application/octet-stream bin;
	}
	default_type application/octet-stream;
	client_body_temp_path $dir/body;
	proxy_temp_path $dir/proxy;
	fastcgi_temp_path $dir/fastcgi;
	uwsgi_temp_path $dir/uwsgi;
	scgi_temp_path $dir/scgi;
	server {
		listen 127.0.0.1:$port;
		root $root;
	}
}
CONF
echo "listening on 127.0.0.1:$port (nginx)" >&2
exec nginx -e "$dir/error.log" -p "$dir/" -c "$dir/nginx.conf"
