#!/bin/sh
# test_docs.sh - the documentation keeps up with the code.
#
# Fails when a long option of `$DISPATCHD --help` is missing from
# man/dispatchd.8, when a model or handler it lists is missing there, when
# a key of src/conf_file.c's libconfuse option table is missing from
# man/dispatchd.conf.5, when `groff -man -ww -z` reports anything for
# either page (skipped with a message without groff), or when README lacks
# `make run` or `make check`.  Prints "test_docs: N passed, N failed".

DISPATCHD=${DISPATCHD:-build/dispatchd}

# Run from the repository root, wherever we were started from; a relative
# $DISPATCHD is taken relative to the directory we were started in.
case $DISPATCHD in
/*) ;;
*/*) DISPATCHD=$(pwd)/$DISPATCHD ;;
esac
root=$(cd "$(dirname "$0")/../.." && pwd) || exit 1
cd "$root" || exit 1

MAN8=man/dispatchd.8
MAN5=man/dispatchd.conf.5
CONF_C=src/conf_file.c

name=test_docs
. "$root/tests/lib/t.sh"

# plain FILE: the man source with the escapes that hide words removed
# (\- \& \fB \f[B] \%), so that "\-\-max\-line" reads "--max-line".
plain() {
	sed -e 's/\\-/-/g' -e 's/\\&//g' -e 's/\\%//g' \
	    -e 's/\\f\[[A-Z]*\]//g' -e 's/\\f(..//g' -e 's/\\f.//g' "$1"
}

# has WORD FILE: WORD occurs in FILE with no name character either side.
has() {
	grep -Eq -- "(^|[^A-Za-z0-9_-])$1([^A-Za-z0-9_-]|$)" "$2"
}

# lacking NAMES FILE: $n, the number of lines of NAMES; $missing, those
# not in FILE; $unresolved, those written "?NAME" (see config_keys).
lacking() {
	n=$(wc -l <"$1")
	missing=""
	unresolved=""
	while read -r w; do
		case $w in
		\?*) unresolved="$unresolved ${w#?}" ;;
		*) has "$w" "$2" || missing="$missing $w" ;;
		esac
	done <"$1"
}

# verdict MIN BROKEN LACKS [UNRESOLVED]: one test, on what lacking found:
# failed with BROKEN when there are fewer than MIN names (the extraction
# is broken), with UNRESOLVED and the names when some were not resolved,
# with LACKS and the missing names when some are missing; else passed.
verdict() {
	if [ "$n" -lt "$1" ]; then
		fail "$2"
	elif [ -n "$unresolved" ]; then
		fail "$(printf "$4" "$unresolved")"
	elif [ -n "$missing" ]; then
		fail "$3$missing"
	else
		ok
	fi
}

# c_code FILE: the C source without comments (string literals kept), so
# that a commented-out option is not taken for a real one.
c_code() {
	awk '
	BEGIN { state = 0 }	# 0 code, 1 block comment, 2 string, 3 char
	{
		line = $0; out = ""; n = length(line)
		for (i = 1; i <= n; i++) {
			c = substr(line, i, 1); d = substr(line, i + 1, 1)
			if (state == 1) {
				if (c == "*" && d == "/") { state = 0; i++ }
				continue
			}
			if (state == 2 || state == 3) {
				out = out c
				if (c == "\\") { out = out d; i++; continue }
				if ((state == 2 && c == "\"") || (state == 3 && c == "\047"))
					state = 0
				continue
			}
			if (c == "/" && d == "*") { state = 1; i++; out = out " "; continue }
			if (c == "/" && d == "/") break
			if (c == "\"") state = 2
			else if (c == "\047") state = 3
			out = out c
		}
		print out
	}' "$1"
}

# config_keys: every option name of the libconfuse tables of src/conf_file.c,
# one per line.  Handles every CFG_<TYPE>(...) and CFG_<TYPE>_CB(...)
# macro, arguments spread over lines, and a name given as a macro that a
# #define in src/ spells out; an argument it cannot resolve is printed as
# "?NAME" so the caller fails instead of silently checking less.
config_keys() {
	c_code "$CONF_C" | tr '\n\t' '  ' |
	    grep -o 'CFG_[A-Z_]*[ ]*([ ]*[^ ,)]*' |
	    grep -v '^CFG_END' |
	    sed 's/^CFG_[A-Z_]*[ ]*([ ]*//' |
	    while read -r arg; do
		case $arg in
		\"*\") echo "$arg" | sed 's/^"\(.*\)"$/\1/' ;;
		*)
			v=$(cat src/*.h src/*.c 2>/dev/null |
			    sed -n "s/^#[ 	]*define[ 	][ 	]*$arg[ 	][ 	]*\"\([^\"]*\)\".*/\1/p" |
			    head -n 1)
			if [ -n "$v" ]; then echo "$v"; else echo "?$arg"; fi
			;;
		esac
	    done | sort -u
}

# --- the binary --------------------------------------------------------
if [ ! -x "$DISPATCHD" ] || ! "$DISPATCHD" --help >"$tmp/help" 2>"$tmp/help.err"; then
	fail "cannot run '$DISPATCHD --help': $(cat "$tmp/help.err" 2>/dev/null)"
	summary
	exit 1
fi
for f in "$MAN8" "$MAN5" README "$CONF_C"; do
	[ -f "$f" ] || { fail "$f is missing"; summary; exit 1; }
done
plain "$MAN8" >"$tmp/man8"
plain "$MAN5" >"$tmp/man5"

# --- 1. every long option of --help is in dispatchd.8 ------------------
grep -o -- '--[a-z][a-z0-9-]*' "$tmp/help" | sort -u >"$tmp/opts"
lacking "$tmp/opts" "$tmp/man8"
verdict 10 "found only $n long options in --help; is the extraction broken?" \
    "$MAN8 lacks the option(s):"

# --- 2. every model and handler of --help is in dispatchd.8 ------------
# The indented names under "models (...):" and "handlers (...):".
awk '/^(models|handlers) /{on = 1; next} /^$/{on = 0} on && NF {print $1}' \
    "$tmp/help" | sort -u >"$tmp/names"
lacking "$tmp/names" "$tmp/man8"
verdict 2 "found no models or handlers in --help; is the extraction broken?" \
    "$MAN8 lacks the model(s) or handler(s):"

# --- 3. every configuration key of src/conf_file.c is in dispatchd.conf.5 ---
config_keys >"$tmp/keys"
lacking "$tmp/keys" "$tmp/man5"
verdict 10 "found only $n configuration keys in $CONF_C; is the extraction broken?" \
    "$MAN5 lacks the configuration key(s):" \
    "cannot tell the key name of CFG_...(%s ) in $CONF_C; teach test_docs.sh"

# --- 4, 5. groff finds nothing to warn about ----------------------------
if command -v groff >/dev/null 2>&1; then
	for page in "$MAN8" "$MAN5"; do
		if ! groff -man -ww -z "$page" >"$tmp/groff" 2>&1; then
			fail "groff -man -ww -z $page failed: $(cat "$tmp/groff")"
		elif [ -s "$tmp/groff" ]; then
			fail "groff -man -ww -z $page reports:"
			sed 's/^/    /' "$tmp/groff"
		else
			ok
		fi
	done
else
	echo "test_docs: groff not installed: skipping the groff checks of the man pages"
fi

# --- 6, 7. README gives the whole set-up --------------------------------
for cmd in "make run" "make check"; do
	if grep -q "$cmd" README; then
		ok
	else
		fail "README does not mention '$cmd'"
	fi
done

summary
