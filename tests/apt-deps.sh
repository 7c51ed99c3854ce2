#!/bin/sh
# apt-deps.sh LABEL PACKAGE... - installs the Debian packages that are
# missing: with apt-get when root, otherwise prints the exact command and
# fails.  Used by the Makefile's deps steps.
label=$1; shift
missing=""
for p in "$@"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
	    missing="$missing $p"
done
[ -n "$missing" ] || exit 0
if [ "$(id -u)" = 0 ]; then
	echo "$label: installing$missing"
	apt-get update -qq &&
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
else
	echo "$label: missing packages; run as root:"
	echo "  apt-get update && apt-get install -y$missing"
	exit 1
fi
