#!/bin/sh
# run-suites.sh KIND TEST... - runs Check programs and shell tests, then
# prints one closing line "KIND: N passed, N failed" counting the single
# tests (from Check's "Checks: N, Failures: F, Errors: E" lines and the
# shell tests' own "N passed, N failed" lines); exits 1 on any failure.
kind=$1; shift
out=$(mktemp) || exit 1
trap 'rm -f "$out"' EXIT
passed=0; failed=0; broken=""
for t in "$@"; do
	case $t in
	*.sh) sh "$t" >"$out" 2>&1 ;;
	*) "$t" >"$out" 2>&1 ;;
	esac
	rc=$?
	cat "$out"
	counts=$(sed -n \
	    -e 's/.*Checks: \([0-9]*\), Failures: \([0-9]*\), Errors: \([0-9]*\).*/\1 \2 \3/p' \
	    -e 's/^[a-z_]*: *\([0-9]*\) passed, \([0-9]*\) failed.*/PF \1 \2/p' "$out" | tail -n 1)
	set -- $counts "$@"
	case $1 in
	PF) passed=$((passed + $2)); failed=$((failed + $3)); shift 3 ;;
	"") ;;
	*) passed=$((passed + $1 - $2 - $3)); failed=$((failed + $2 + $3)); shift 3 ;;
	esac
	if [ $rc -ne 0 ]; then
		broken="$broken $t"
		[ -n "$counts" ] || failed=$((failed + 1))
	fi
done
[ -z "$broken" ] || echo "$kind: FAILED:$broken"
echo "$kind: $passed passed, $failed failed"
[ -z "$broken" ]
