#!/bin/sh
# test_install.sh - make install/uninstall into a DESTDIR: the files, the
# installed binary and config, the systemd units (systemd-analyze verify and
# security), and an uninstall that removes exactly what was installed.
# Run from the repository root (make check does); prints
# "test_install: N passed, N failed" and exits 1 on any failure.

name=test_install
. "$(dirname "$0")/../lib/t.sh"

# check DESCRIPTION COMMAND...: one test, passed when COMMAND succeeds.
check() {
	desc=$1
	shift
	if "$@"; then ok "$desc"; else fail "$desc"; fi
}

skip() {
	echo "SKIP: $*"
}

finish() {
	summary
	exit $?
}

# Runs make quietly; on failure shows its output.
run_make() {
	if ! make --no-print-directory "$@" >"$tmp/make.log" 2>&1; then
		sed 's/^/  make: /' "$tmp/make.log"
		return 1
	fi
}

# Every line of FILE that starts with KEY= uses exactly BIN as its program
# and CONF as its configuration file (where it names one).
exec_lines_use() {
	file=$1 bin=$2 conf=$3
	lines=$(grep -E '^Exec(Start|StartPre|StartPost|Reload|Stop)=' "$file" |
	    grep 'dispatchd') || return 1
	echo "$lines" | while IFS= read -r l; do
		prog=${l#*=}
		prog=${prog%% *}
		prog=${prog#[-@+!:]}
		[ "$prog" = "$bin" ] || { echo "  $l: program is not $bin"; exit 1; }
		case $l in
		*" -c "*) case $l in
			*" -c $conf"|*" -c $conf "*) ;;
			*) echo "  $l: config is not $conf"; exit 1 ;;
			esac ;;
		esac
	done
}

# No line of FILE mentions /usr/local (PREFIX was substituted everywhere).
no_usr_local() {
	! grep -n '/usr/local' "$1" | sed 's/^/  left: /' | grep -q .
}

exposure() {
	systemd-analyze security --offline=true "$1" 2>&1 |
	    sed -n 's/.*Overall exposure level for [^:]*: *\([0-9.]*\).*/\1/p'
}

# exposure_ok UNIT: the overall exposure is at most 1.5.
exposure_ok() {
	x=$(exposure "$1")
	echo "  exposure of $1: ${x:-unknown}"
	awk -v x="$x" 'BEGIN { exit !(x != "" && x + 0 <= 1.5) }'
}

# verify_units DIR: systemd-analyze verify passes with no complaint about
# the units (lines about other units on this system are not ours).
verify_units() {
	out=$(cd "$1" && systemd-analyze verify --man=no ./dispatchd.service \
	    ./dispatchd.socket ./dispatchd@1.service 2>&1)
	rc=$?
	[ -n "$out" ] && echo "$out" | sed 's/^/  verify: /'
	[ $rc -eq 0 ] && ! echo "$out" | grep -q 'dispatchd'
}

d=$tmp/root
p=$d/usr
unitdir=$p/lib/systemd/system

# ---- make install DESTDIR PREFIX=/usr ----------------------------------

if ! run_make install DESTDIR="$d" PREFIX=/usr; then
	fail "make install DESTDIR=... PREFIX=/usr"
	finish
fi
ok "make install DESTDIR=... PREFIX=/usr"

check "usr/sbin/dispatchd is an executable file" \
    test -f "$p/sbin/dispatchd" -a -x "$p/sbin/dispatchd"
for f in share/man/man8/dispatchd.8 share/man/man5/dispatchd.conf.5 \
    etc/dispatchd/dispatchd.conf lib/systemd/system/dispatchd.service \
    lib/systemd/system/dispatchd.socket lib/systemd/system/dispatchd@.service; do
	check "usr/$f installed, not executable" \
	    test -f "$p/$f" -a -s "$p/$f" -a ! -x "$p/$f"
done
check "dispatchd.8 installed as written" \
    cmp -s man/dispatchd.8 "$p/share/man/man8/dispatchd.8"
check "dispatchd.conf.5 installed as written" \
    cmp -s man/dispatchd.conf.5 "$p/share/man/man5/dispatchd.conf.5"
check "config installed as written" \
    cmp -s conf/dispatchd.conf "$p/etc/dispatchd/dispatchd.conf"
check "socket unit installed as written" \
    cmp -s conf/dispatchd.socket "$unitdir/dispatchd.socket"
check "ExecStart= of the service runs /usr/sbin/dispatchd" \
    grep -q '^ExecStart=/usr/sbin/dispatchd\( \|$\)' "$unitdir/dispatchd.service"
check "Exec*= lines use /usr/sbin/dispatchd and /usr/etc/dispatchd/dispatchd.conf" \
    exec_lines_use "$unitdir/dispatchd.service" /usr/sbin/dispatchd \
    /usr/etc/dispatchd/dispatchd.conf
check "no /usr/local left in the installed service" \
    no_usr_local "$unitdir/dispatchd.service"
check "the template unit's Exec*= lines use /usr/sbin/dispatchd and /usr/etc/dispatchd/%i.conf" \
    exec_lines_use "$unitdir/dispatchd@.service" /usr/sbin/dispatchd \
    /usr/etc/dispatchd/%i.conf
check "no /usr/local left in the installed template unit" \
    no_usr_local "$unitdir/dispatchd@.service"

out=$("$p/sbin/dispatchd" -t -c "$p/etc/dispatchd/dispatchd.conf" 2>&1)
rc=$?
[ $rc -eq 0 ] || echo "  $out"
check "installed binary -t -c installed config: configuration ok" \
    test $rc -eq 0 -a "$out" = "configuration ok"

# ---- systemd-analyze --------------------------------------------------

if command -v systemd-analyze >/dev/null 2>&1; then
	# verify wants the binary where ExecStart= says: point it at ours.
	v=$tmp/verify
	mkdir -p "$v"
	sed -e "s|/usr/sbin/dispatchd|$p/sbin/dispatchd|g" \
	    -e "s|/usr/etc/dispatchd/|$p/etc/dispatchd/|g" \
	    "$unitdir/dispatchd.service" >"$v/dispatchd.service"
	# The template, as its first instance.
	sed -e "s|/usr/sbin/dispatchd|$p/sbin/dispatchd|g" \
	    -e "s|/usr/etc/dispatchd/|$p/etc/dispatchd/|g" \
	    "$unitdir/dispatchd@.service" >"$v/dispatchd@1.service"
	cp "$unitdir/dispatchd.socket" "$v/dispatchd.socket"
	check "systemd-analyze verify: installed units" verify_units "$v"
	check "systemd-analyze security: conf/dispatchd.service exposure <= 1.5" \
	    exposure_ok conf/dispatchd.service
	check "systemd-analyze security: installed dispatchd.service exposure <= 1.5" \
	    exposure_ok "$unitdir/dispatchd.service"
	check "systemd-analyze security: conf/dispatchd@.service exposure <= 1.5" \
	    exposure_ok conf/dispatchd@.service
else
	skip "systemd-analyze not installed (Debian package systemd): units not verified"
fi

# ---- make uninstall ---------------------------------------------------

# Something else's files in the same directories must survive.
echo other >"$p/sbin/other"
echo other >"$unitdir/other.service"
if run_make uninstall DESTDIR="$d" PREFIX=/usr; then
	ok "make uninstall DESTDIR=... PREFIX=/usr"
	left=$(cd "$d" && find . ! -type d ! -name other ! -name other.service)
	[ -z "$left" ] || echo "$left" | sed 's/^/  left: /'
	check "make uninstall removed every file it installed" test -z "$left"
	check "make uninstall removed usr/etc/dispatchd" \
	    test ! -e "$p/etc/dispatchd"
	check "make uninstall left other files alone" \
	    test -f "$p/sbin/other" -a -f "$unitdir/other.service"
else
	fail "make uninstall DESTDIR=... PREFIX=/usr"
fi

# ---- another PREFIX ---------------------------------------------------

d2=$tmp/opt
if run_make install DESTDIR="$d2" PREFIX=/opt/dd; then
	ok "make install DESTDIR=... PREFIX=/opt/dd"
	check "PREFIX=/opt/dd: Exec*= lines use /opt/dd/sbin/dispatchd and /opt/dd/etc/dispatchd/dispatchd.conf" \
	    exec_lines_use "$d2/opt/dd/lib/systemd/system/dispatchd.service" \
	    /opt/dd/sbin/dispatchd /opt/dd/etc/dispatchd/dispatchd.conf
	run_make uninstall DESTDIR="$d2" PREFIX=/opt/dd
	left=$(cd "$d2" && find . ! -type d)
	[ -z "$left" ] || echo "$left" | sed 's/^/  left: /'
	check "PREFIX=/opt/dd: make uninstall removed every file" test -z "$left"
else
	fail "make install DESTDIR=... PREFIX=/opt/dd"
fi

finish
