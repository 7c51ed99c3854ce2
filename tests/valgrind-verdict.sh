#!/bin/sh
# valgrind-verdict.sh LOGDIR - fails when any dispatchd process under
# memcheck reported an error, a leak, or a descriptor (other than stdin,
# stdout and stderr) still open at exit.  Prints "valgrind: N passed, N failed"
# counting processes.
dir=$1
passed=0; failed=0
for log in "$dir"/vg.*.log; do
	[ -e "$log" ] || continue
	bad=""
	grep -q "ERROR SUMMARY: [1-9]" "$log" && bad="$bad errors"
	grep -qE "(definitely|indirectly) lost: [1-9]" "$log" && bad="$bad leaks"
	# "Open ... descriptor N" beyond 0, 1 and 2, unless the next line
	# says it was inherited (valgrind's own log file).
	awk '/Open .*descriptor ([3-9]|[1-9][0-9]+)/ { open = 1; next }
	     open && /inherited from parent/ { open = 0; next }
	     open { bad = 1; open = 0 }
	     END { exit !bad }' "$log" && bad="$bad descriptors"
	if [ -n "$bad" ]; then
		failed=$((failed + 1))
		echo "valgrind: $log:$bad"
		cat "$log"
	else
		passed=$((passed + 1))
	fi
done
echo "valgrind: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
