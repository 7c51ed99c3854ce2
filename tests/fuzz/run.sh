#!/bin/sh
# run.sh - runs libFuzzer targets one after another for SECONDS each and
# reports executions and crashes; exit 1 when any target crashed.
#   FUZZ_BUILD=build/fuzz sh tests/fuzz/run.sh SECONDS TARGET...
# Inputs that add coverage go to $FUZZ_BUILD/corpus/TARGET (the committed
# seeds in tests/fuzz/corpus/TARGET are only read), crashes to
# $FUZZ_BUILD/artifacts/TARGET/, the output to $FUZZ_BUILD/TARGET.log; one
# line per run is appended to $FUZZ_BUILD/results.txt.
# FUZZ_FLAGS adds libFuzzer flags (e.g. -seed=1); FUZZ_NICE=N runs the
# fuzzers under nice -n N.

B=${FUZZ_BUILD:-build/fuzz}
SRC=tests/fuzz
secs=${1:?usage: run.sh SECONDS TARGET...}
shift
failed=0

# Longest input per target: enough for what each parses, small enough to
# keep executions fast.
max_len() {
	case $1 in
	fuzz_handlers) echo 2048 ;;
	fuzz_escape) echo 1024 ;;
	fuzz_conf) echo 4096 ;;
	fuzz_addr) echo 300 ;;
	fuzz_http) echo 9216 ;; # past HTTP_HEAD_MAX (8192), for the 431s
	*) echo 4096 ;;
	esac
}

for t in "$@"; do
	bin=$B/$t
	if [ ! -x "$bin" ]; then
		echo "$t: $bin not built (make fuzz-build)" >&2
		failed=1
		continue
	fi
	mkdir -p "$B/corpus/$t" "$B/artifacts/$t"
	seeds=""
	[ -d "$SRC/corpus/$t" ] && seeds="$SRC/corpus/$t"
	dict=""
	[ -f "$SRC/$t.dict" ] && dict="-dict=$SRC/$t.dict"
	log=$B/$t.log
	before=$(find "$B/artifacts/$t" -type f | wc -l)
	# No -jobs/-workers: one in-process fuzzer, whose final lines we read.
	# shellcheck disable=SC2086
	nice -n "${FUZZ_NICE:-0}" "$bin" -max_total_time="$secs" -max_len="$(max_len "$t")" -timeout=10 \
	    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$B/artifacts/$t/" \
	    $dict $FUZZ_FLAGS "$B/corpus/$t" $seeds >"$log" 2>&1 </dev/null
	rc=$?
	after=$(find "$B/artifacts/$t" -type f | wc -l)
	runs=$(sed -n 's/^Done \([0-9][0-9]*\) runs in .*/\1/p' "$log" | tail -n 1)
	[ -n "$runs" ] || runs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9][0-9]*\).*/\1/p' \
	    "$log" | tail -n 1)
	[ -n "$runs" ] || runs=0
	if [ "$rc" -eq 0 ] && [ "$after" -eq "$before" ]; then
		status="no crash"
	else
		status="CRASH (exit $rc)"
		failed=1
	fi
	printf '%-14s %12s executions in %ss: %s\n' "$t" "$runs" "$secs" "$status"
	if [ "$status" != "no crash" ]; then
		grep -E '^(==[0-9]+==ERROR|SUMMARY|fuzz:|.*runtime error)' "$log" | head -n 8 | sed 's/^/    /'
		# shellcheck disable=SC2012 # newest first; libFuzzer names are hex
		ls -t "$B/artifacts/$t" | head -n 3 | sed "s|^|    input: $B/artifacts/$t/|"
		echo "    log: $log"
	fi
	printf '%s %s %s %s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$t" "$secs" "$runs" \
	    "$(echo "$status" | tr ' ' '_')" >>"$B/results.txt"
done
exit $failed
