# t.sh - what the shell tests (tests/integration/test_*.sh) share, sourced
# after setting name (the test's name, as in its closing line):
#   name=test_x; . "$(dirname "$0")/../lib/t.sh"
# gives $tmp, a fresh directory removed at exit (t_cleanup, which a test
# may redefine to clean up more and then call rm -rf "$tmp" itself), the
# counters with ok and fail, and summary, the closing line
# "NAME: N passed, N failed" that tests/run-suites.sh counts (its status
# is 0 when nothing failed).

passed=0
failed=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dispatchd-$name.XXXXXX") || exit 1

t_cleanup() {
	rm -rf "$tmp"
}
trap t_cleanup EXIT
trap 'exit 2' HUP INT TERM

# ok [DESCRIPTION]: one test passed (DESCRIPTION, if given, is printed).
ok() {
	passed=$((passed + 1))
	[ $# -eq 0 ] || echo "ok: $*"
}

# t_fail WHAT: one test failed, said on one line.  fail is t_fail unless a
# test redefines it to say more.
t_fail() {
	failed=$((failed + 1))
	echo "$name: FAIL: $*"
}

fail() {
	t_fail "$@"
}

summary() {
	echo "$name: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}
