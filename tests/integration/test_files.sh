#!/bin/sh
# test_files.sh - the files handler with real HTTP clients, curl and wget, under every model.
#
# For each model of `dispatchd --help`: a download with curl (compared with
# cmp), a download resumed with `curl -C -`, an upload with `curl -T` (201,
# then 204 for the replace; compared on disk), `curl -I`, and a mirror of a
# small tree (3 levels, 10 files, names with spaces) by `wget -r` through the
# listings, compared with `diff -r`.  Prints "test_files: N passed, N failed".

DISPATCHD=${DISPATCHD:-build/dispatchd}
MODELS=$("$DISPATCHD" --help | sed -n '/^models /,/^$/p' | awk 'NR > 1 && NF { print $1 }')

name=test_files
. "$(dirname "$0")/../lib/t.sh"
# A closed stdout must not leave a server behind either.
trap 'exit 2' HUP INT TERM PIPE

if [ -z "$MODELS" ]; then
	fail "no models in $DISPATCHD --help"
	summary
	exit 1
fi
for tool in curl wget cmp diff; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "test_files: $tool is missing (make deps installs it): skipped"
		summary
		exit 0
	fi
done

srv=""	# the running server's pid

t_cleanup() {
	if [ -n "$srv" ]; then
		kill -9 "$srv" 2>/dev/null
		wait "$srv" 2>/dev/null
	fi
	rm -rf "$tmp"
}

fail() {
	t_fail "$model: $*"
	[ -s "$tmp/err" ] && sed 's/^/    server: /' "$tmp/err"
}

# check WHAT COMMAND...: one test, passed when COMMAND succeeds.
check() {
	_what=$1
	shift
	if "$@"; then ok; else fail "$_what"; fi
}

# poll SECONDS COMMAND...: COMMAND every 0.05 s until it succeeds (0) or
# SECONDS have passed (1).
poll() {
	_left=$(($1 * 20))
	shift
	until "$@"; do
		[ "$_left" -gt 0 ] || return 1
		sleep 0.05
		_left=$((_left - 1))
	done
}

# Sets $port once the server printed its listening line (or it exited).
listening() {
	port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9][0-9]*\) (.*$/\1/p' "$tmp/err")
	[ -n "$port" ] || ! kill -0 "$srv" 2>/dev/null
}

gone() { ! kill -0 "$srv" 2>/dev/null; }

# serve MODEL: the files server over $tmp/root with uploads; $srv, $port.
serve() {
	: >"$tmp/err"
	"$DISPATCHD" -m "$1" -H files -l 127.0.0.1:0 --files-root "$tmp/root" --files-upload \
		2>"$tmp/err" </dev/null &
	srv=$!
	port=""
	poll 5 listening
	[ -n "$port" ]
}

# halt: SIGTERM, then exit status 0 within 5 s (not in a subshell: it waits).
halt() {
	kill -TERM "$srv" 2>/dev/null
	poll 5 gone || kill -9 "$srv" 2>/dev/null
	wait "$srv"
	_st=$?
	srv=""
	[ "$_st" -eq 0 ]
}

CURL="curl -sS --max-time 30"

# Every byte of a download, and a resume of one cut short.
download() {
	$CURL -o "$tmp/got" "$url/big.bin" && cmp "$tmp/got" "$tmp/root/big.bin"
}

resume() {
	head -c 3000001 "$tmp/root/big.bin" >"$tmp/part" &&
		code=$($CURL -C - -o "$tmp/part" -w '%{http_code}' "$url/big.bin") &&
		[ "$code" = 206 ] && cmp "$tmp/part" "$tmp/root/big.bin"
}

# curl -T: 201 for a new file, 204 for the replace; the bytes on disk.
upload() {
	code=$($CURL -T "$tmp/up.bin" -w '%{http_code}' "$url/up/$model.bin") &&
		[ "$code" = 201 ] && cmp "$tmp/up.bin" "$tmp/root/up/$model.bin" &&
		code=$($CURL -T "$tmp/big.bin" -w '%{http_code}' "$url/up/$model.bin") &&
		[ "$code" = 204 ] && cmp "$tmp/big.bin" "$tmp/root/up/$model.bin"
}

# curl -I: the status line and the length, no body.
head_only() {
	$CURL -I "$url/big.bin" | tr -d '\r' >"$tmp/head" &&
		sed -n 1p "$tmp/head" | grep -qx 'HTTP/1.1 200 OK' &&
		grep -qix "content-length: $(wc -c <"$tmp/root/big.bin" | tr -d ' ')" "$tmp/head" &&
		grep -qi '^accept-ranges: bytes$' "$tmp/head" &&
		! grep -qi '^connection: close$' "$tmp/head"
}

# wget -r through the listings: the same tree, file for file (the
# listings it read are rejected, so only the files stay).
mirror() {
	mkdir "$tmp/mirror-$model" &&
		(cd "$tmp/mirror-$model" &&
			wget -q -r -np -nH -e robots=off --reject 'index.html*' --timeout=10 \
				--tries=1 "$url/tree/") &&
		diff -r "$tmp/root/tree" "$tmp/mirror-$model/tree"
}

# The served tree: a large file, and 10 files in 3 levels, names with spaces.
mkdir -p "$tmp/root/up" "$tmp/root/tree/level 1/deeper 2/third 3" "$tmp/root/tree/other dir"
head -c 8388608 /dev/urandom >"$tmp/root/big.bin"
cp "$tmp/root/big.bin" "$tmp/big.bin"
head -c 2500000 /dev/urandom >"$tmp/up.bin"
i=0
for f in "top one.txt" readme.txt "level 1/a b.txt" "level 1/second.dat" \
	"level 1/deeper 2/c d e.txt" "level 1/deeper 2/x.bin" \
	"level 1/deeper 2/third 3/last file.txt" "level 1/deeper 2/third 3/z.txt" \
	"other dir/f g.txt" "other dir/h.txt"; do
	i=$((i + 1))
	head -c $((i * 997)) /dev/urandom >"$tmp/root/tree/$f"
done

for model in $MODELS; do
	if ! serve "$model"; then
		fail "server did not start"
		halt
		continue
	fi
	url="http://127.0.0.1:$port"
	check "curl download differs" download
	check "curl -C - did not resume to the same bytes" resume
	check "curl -T upload" upload
	check "curl -I" head_only
	check "wget -r mirror differs" mirror
	if halt; then ok; else fail "exit status $_st after SIGTERM, want 0"; fi
done

summary
