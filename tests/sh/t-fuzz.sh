#!/bin/sh
# The libFuzzer targets of tests/fuzz/ (issue 7), briefly: `make check` builds them
# (fuzz-build) and this runs, for each one,
#   - its regression inputs, tests/fuzz/regress/NAME/: inputs of crashes found and fixed,
#     each of which must now run clean;
#   - its known bugs, tests/fuzz/known/NAME/: found, reported to the code's owner, not yet
#     fixed (the target skips that case, see its CHECK_* switches): listed as skipped;
#   - FUZZ_CHECK_SECONDS (default 8) of fuzzing from its seed corpus, new inputs kept in
#     $T only. A crash is saved in $O/fuzz/crash/NAME/ and fails the test.
# `make fuzz` is the long run (FUZZ_SECONDS each).
. "$(dirname "$0")/lib.sh"

F=$O/fuzz
src=$top/tests/fuzz
secs=${FUZZ_CHECK_SECONDS:-8}
# Per-input store and config writes go to tmpfs when there is one (fuzz/harness.h).
FUZZ_TMPDIR=$(mktemp -d /dev/shm/rotsec-fuzz-t.XXXXXX 2>/dev/null) || FUZZ_TMPDIR=$T
export FUZZ_TMPDIR
[ "$FUZZ_TMPDIR" = "$T" ] || at_exit "rm -rf '$FUZZ_TMPDIR'"

for n in $(cd "$src" && ls fuzz_*.c | sed 's/^fuzz_//; s/\.c$//'); do
	bin=$F/fuzz_$n
	if [ ! -x "$bin" ]; then
		skip "fuzz_$n" "$bin is not built (make fuzz-build needs clang and libclang-rt-14-dev)"
		continue
	fi

	reg=$src/regress/$n
	if [ -d "$reg" ] && [ -n "$(ls "$reg")" ]; then
		check "fuzz_$n: the $(ls "$reg" | wc -l | tr -d ' ') inputs of fixed crashes run clean" \
			"$bin" -timeout=20 "$reg"/*
	fi
	for k in "$src"/known/"$n"/*; do
		[ -f "$k" ] || continue
		skip "fuzz_$n: known bug $(basename "$k")" "reported, not fixed yet (fuzz_$n.c says which)"
	done

	dict=""
	[ -f "$src/$n.dict" ] && dict="-dict=$src/$n.dict"
	mkdir -p "$T/corpus-$n" "$F/crash/$n"
	log=$T/fuzz-$n.log
	# shellcheck disable=SC2086
	if "$bin" -max_total_time="$secs" -timeout=20 $dict -artifact_prefix="$F/crash/$n/" \
		"$T/corpus-$n" "$src/corpus/$n" >"$log" 2>&1; then
		rate=$(grep -o 'exec/s: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
		cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
		ok "fuzz_$n: ${secs}s from the seed corpus, no crash (${rate:-?} execs/s, cov ${cov:-?})"
	else
		not_ok "fuzz_$n: crashed within ${secs}s; input saved in $F/crash/$n/"
		grep -E 'ERROR|invariant|SUMMARY|#[0-9]+ in ' "$log" | head -15 | sed 's/^/# /'
	fi
done
done_testing
