#!/bin/sh
# Runs every test tier and prints one summary line: "N passed, N failed[, N skipped]".
#
# Every test speaks TAP ("ok N - name", "not ok N - name", "# SKIP reason"):
#   unit    $O/asan/tests/unit/test_*     cmocka, CMOCKA_MESSAGE_OUTPUT=TAP
#   module  $O/asan/tests/module/test_*   cmocka, the PAM and NSS modules dlopened
#   shell   tests/sh/t-*.sh                through tests/sh/lib.sh
# A program that exits non-zero, or reports no test at all, counts as one failure.
# TESTS="pattern ..." runs only the files whose name matches one of the shell patterns.
set -u
: "${O:?O must point at the build directory}"
top=$(cd "$(dirname "$0")/.." && pwd)
export O top
# The system's commands only: every one comes from a Debian package that .ci/deps names
# (t-deps.sh), never from /usr/local or a language version manager earlier in PATH.
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=86}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export CMOCKA_MESSAGE_OUTPUT=TAP

pass=0 fail=0 skip=0
start=$(date +%s)
logdir=$(mktemp -d /tmp/rotsec-check.XXXXXX)
failed_names=""

selected() {
	[ -z "${TESTS:-}" ] && return 0
	for p in $TESTS; do
		case "$1" in *$p*) return 0 ;; esac
	done
	return 1
}

run_one() {
	name=$1
	shift
	out="$logdir/$(echo "$name" | tr '/' '_').log"
	t0=$(date +%s)
	"$@" >"$out" 2>&1
	rc=$?
	secs=$(($(date +%s) - t0))
	p=$(grep -c '^ok ' "$out" | tr -d ' ')
	s=$(grep '^ok ' "$out" | grep -c '# SKIP' | tr -d ' ')
	f=$(grep -c '^not ok ' "$out" | tr -d ' ')
	p=$((p - s))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "not ok - $name exited with status $rc" >>"$out"
	fi
	if [ $((p + f + s)) -eq 0 ]; then
		f=1
		echo "not ok - $name ran no test" >>"$out"
	fi
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	if [ "$f" -gt 0 ]; then
		printf '%-40s %3d passed, %d FAILED (%d s)\n' "$name" "$p" "$f" "$secs"
		grep -E '^not ok|^# |ERROR|Sanitizer|runtime error' "$out" | head -40 | sed 's/^/    /'
		failed_names="$failed_names $name"
	else
		printf '%-40s %3d passed%s (%d s)\n' "$name" "$p" "$([ "$s" -gt 0 ] && echo ", $s skipped")" "$secs"
	fi
	grep '# SKIP' "$out" | sed 's/^/    /'
}

for tier in unit module; do
	for t in "$O/asan/tests/$tier"/test_*; do
		[ -x "$t" ] || continue
		case "$t" in *.o | *.d) continue ;; esac
		# A program whose source is gone (moved to another tier) is a stale build.
		[ -f "$top/tests/$tier/$(basename "$t").c" ] || continue
		selected "$(basename "$t")" || continue
		run_one "$tier/$(basename "$t")" "$t"
	done
done

for t in "$top"/tests/sh/t-*.sh; do
	[ -f "$t" ] || continue
	selected "$(basename "$t")" || continue
	run_one "sh/$(basename "$t" .sh)" sh "$t"
done

echo
echo "tests took $(($(date +%s) - start)) s"
[ -n "$failed_names" ] && echo "failed:$failed_names (logs in $logdir)"
[ -z "$failed_names" ] && rm -rf "$logdir"
if [ "$skip" -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ "$fail" -eq 0 ]
