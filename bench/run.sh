#!/bin/sh
# make bench: rotsec next to its peers, side by side in one run, printing ratios.
#
#   O=BUILD sh bench/run.sh            every bench (make bench builds and runs it so)
#   BENCH="pam rotate" ...             only those (pam, rotate, nss, fleet)
#   BENCH_QUICK=1 ...                  fewer rounds: a quick look, noisier figures
#
# Each bench prints its table with every target next to its ratio and "ok" or "MISSED":
# the benches measure, they never fail on a ratio. The exit status is 0 when every bench
# ran, 1 when one could not (a tool missing, a setup step failing). Results also land in
# $O/bench/ (*.tsv, nss.dat, nss.png) for README.md. bench/README.md says what each
# bench measures and how to read it.
set -u
: "${O:?O must point at the build directory (make bench sets it)}"
top=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" = 0 ] || {
	echo "bench: needs root (private mount namespaces, pam_unix reading shadow)" >&2
	exit 1
}

failed=""
start=$(date +%s)
echo "rotsec bench, $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -r), $(nproc) cores," \
	"load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "(times are medians; a ratio is the median over rounds of the two cases run side by side)"
for b in ${BENCH:-pam rotate nss fleet}; do
	echo
	if [ ! -f "$top/bench/$b.sh" ]; then
		echo "$b: no such bench" >&2
		failed="$failed $b"
		continue
	fi
	O=$O top=$top sh "$top/bench/$b.sh" || failed="$failed $b"
done
echo
if [ -n "$failed" ]; then
	echo "bench: could not run:$failed ($(($(date +%s) - start)) s)"
	exit 1
fi
echo "bench: done in $(($(date +%s) - start)) s; results in $O/bench/"
