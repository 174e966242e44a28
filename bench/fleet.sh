#!/bin/sh
# Fleet bench (issue 16): 1,000 simulated hosts, each its own host name, signing key,
# store and journal, publishing to one 3-member etcd cluster on loopback through the real
# engine (rotsecctl sync, then rotsecctl rotate); followers on other "machines"
# (rotsecctl fleet follow) timed from the activation of a new secret on the host to their
# command running; etcd requests per rotation; `fleet status` over the whole fleet.
# Everything runs in a private mount and network namespace, on a tmpfs: what is measured
# is rotsec and etcd, not the disk. Exit 0 when it ran, 1 when not.
#
# BENCH_FLEET_HOSTS (1000; 100 with BENCH_QUICK=1), BENCH_FLEET_FOLLOWERS (20) hosts
# followed, BENCH_FLEET_ROUNDS (10) rotations of each followed host, BENCH_FLEET_PAR (4)
# hosts rotating at once.
. "$(dirname "$0")/lib.sh"

need "$CTL" "$BIN/tmexec" etcd etcdctl unshare ip
HOSTS=${BENCH_FLEET_HOSTS:-$([ -n "$QUICK" ] && echo 100 || echo 1000)}
FOLLOWERS=${BENCH_FLEET_FOLLOWERS:-20}
ROUNDS=${BENCH_FLEET_ROUNDS:-$([ -n "$QUICK" ] && echo 3 || echo 10)}
PAR=${BENCH_FLEET_PAR:-4}
F=$W/fleet
EPS="http://127.0.0.1:12379,http://127.0.0.1:22379,http://127.0.0.1:32379"

# ---- inside the namespace ----

etcd_up() {
	for n in 1 2 3; do
		etcd --name "m$n" --data-dir "$F/etcd/m$n" \
			--listen-client-urls "http://127.0.0.1:${n}2379" \
			--advertise-client-urls "http://127.0.0.1:${n}2379" \
			--listen-peer-urls "http://127.0.0.1:${n}2380" \
			--initial-advertise-peer-urls "http://127.0.0.1:${n}2380" \
			--initial-cluster "m1=http://127.0.0.1:12380,m2=http://127.0.0.1:22380,m3=http://127.0.0.1:32380" \
			--initial-cluster-state new --initial-cluster-token rotsec-bench \
			--quota-backend-bytes 4294967296 >"$F/etcd/m$n.log" 2>&1 &
		echo $! >>"$F/pids"
	done
	i=0
	until ETCDCTL_API=3 etcdctl --endpoints="$EPS" endpoint health >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt 300 ] || return 1
		sleep 0.1
	done
}

# host_conf I: host hI's own store, state, host key, signing key, audit log and config;
# one account, "svc", delivered to consumer c1 through the fleet.
host_conf() {
	d=$F/hosts/h$1
	mkdir -p "$d/store"
	cat >"$d/rotsec.conf" <<EOF
store_dir = "$d/store";
state_dir = "$d/state";
key_file = "$d/rotsec.key";
run_dir = "$d/run";
audit_log = "$d/audit.jsonl";
metrics_file = "$d/rotsec.prom";
passwd_file = "$F/passwd";
group_file = "$F/group";
defaults = { rotate_every = "30d"; grace = "1h"; max_grace = "24h"; };
groups = ( { name = "svc"; gid = 60000; } );
accounts = ( { name = "svc"; uid = 60001; group = "svc";
  deliver = ( { fleet = "c1"; sealed_to = "$F/c1.pub"; } ); } );
fleet = { endpoints = [ "http://127.0.0.1:12379", "http://127.0.0.1:22379", "http://127.0.0.1:32379" ];
  host = "h$1"; signing_key = "$d/sign.key"; };
EOF
}

revision() {
	ETCDCTL_API=3 etcdctl --endpoints="$EPS" get rotsec/v1/none -w json |
		sed -n 's/.*"revision":\([0-9]*\).*/\1/p'
}

# The numbers of rotations whose publish counted its etcd requests, and their sum.
requests() {
	cat "$F"/hosts/h*/audit.jsonl | grep '"event":"publish"' | grep '"reason":"rotation"' |
		grep "\"generation\":$1," | sed -n 's/.*"requests":\([0-9]*\).*/\1/p' |
		awk '{ n++; s += $1 } END { printf "%d %d\n", n, s }'
}

inner() {
	mount --make-rprivate / && mount -t tmpfs -o mode=0755,size=2g tmpfs "$F" || return 97
	ip link set lo up || return 97
	mkdir -p "$F/etcd" "$F/hosts" "$F/follow" "$F/lat"
	: >"$F/pids"
	trap 'for p in $(cat "$F/pids"); do kill -9 "$p" 2>/dev/null; done' EXIT
	printf 'root:x:0:0:root:/root:/bin/bash\n' >"$F/passwd"
	printf 'root:x:0:\n' >"$F/group"
	"$CTL" keygen "$F/c1" >/dev/null || return 1
	etcd_up || { echo "etcd did not start" >&2; return 1; }

	# Setup: every host syncs (its first secret, published; its signing key made).
	for i in $(seq 1 "$HOSTS"); do host_conf "$i"; done
	t0=$(date +%s%N)
	seq 1 "$HOSTS" | xargs -P "$PAR" -I{} "$CTL" -c "$F/hosts/h{}/rotsec.conf" sync \
		>/dev/null 2>"$F/sync.err" || { cat "$F/sync.err" >&2; return 1; }
	echo "setup $(($(date +%s%N) - t0))"

	# Rotations: every host once, PAR at a time, each timed.
	rev0=$(revision)
	seq 1 "$HOSTS" | xargs -P "$PAR" -I{} "$BIN/tmexec" "$CTL" -c "$F/hosts/h{}/rotsec.conf" \
		rotate svc >"$F/rot.ns" 2>"$F/rot.err" || { cat "$F/rot.err" >&2; return 1; }
	rev1=$(revision)
	while read -r t; do echo "rotate $t"; done <"$F/rot.ns"
	echo "revisions $((rev1 - rev0))"
	echo "requests $(requests 2)"

	# Followers: consumer c1's follower of each of the first FOLLOWERS hosts, on its own
	# state; its command records the generation and the time it ran.
	cat >"$F/cmd.sh" <<'CMD'
#!/bin/sh
read -r s
echo "$ROTSEC_GENERATION $(date +%s%N)" >>"$1"
CMD
	chmod 0755 "$F/cmd.sh"
	for i in $(seq 1 "$FOLLOWERS"); do
		mkdir -p "$F/follow/h$i"
		chmod 0700 "$F/follow/h$i"
		"$CTL" fleet follow --endpoints "$EPS" --key "$F/c1.key" \
			--trust "h$i=$F/hosts/h$i/sign.key.pub" --state "$F/follow/h$i" \
			"h$i" svc -- "$F/cmd.sh" "$F/lat/h$i" >"$F/follow/h$i.log" 2>&1 &
		echo $! >>"$F/pids"
	done
	for i in $(seq 1 "$FOLLOWERS"); do
		n=0
		until [ -s "$F/lat/h$i" ]; do
			n=$((n + 1))
			[ $n -lt 300 ] || { echo "follower of h$i did not start" >&2; return 1; }
			sleep 0.1
		done
	done
	# Each round rotates every followed host (the grace ended first, untimed); the
	# activation is the mtime of the secrets.cdb that made the new secret current.
	for r in $(seq 1 "$ROUNDS"); do
		for i in $(seq 1 "$FOLLOWERS"); do
			c="$F/hosts/h$i/rotsec.conf"
			"$CTL" -c "$c" revoke svc >/dev/null 2>&1
			"$CTL" -c "$c" rotate svc >/dev/null 2>&1 || { echo "rotate h$i failed" >&2; return 1; }
			g=$((r + 2))
			echo "h$i $g $(stat -c %.9Y "$F/hosts/h$i/store/secrets.cdb" | tr -d .)" >>"$F/act"
		done
	done
	g=$((ROUNDS + 2))
	for i in $(seq 1 "$FOLLOWERS"); do
		n=0
		until grep -q "^$g " "$F/lat/h$i" 2>/dev/null; do
			n=$((n + 1))
			[ $n -lt 300 ] || { echo "follower of h$i did not see generation $g" >&2; return 1; }
			sleep 0.1
		done
	done
	while read -r h g a; do
		run=$(awk -v g="$g" '$1 == g { print $2; exit }' "$F/lat/$h")
		[ -n "$run" ] && echo "latency $((run - a))"
		[ -n "$run" ] || echo "missed $h $g"
	done <"$F/act"
	echo "runs $(cat "$F"/lat/h* | wc -l)"

	# fleet status over every host. It exits 1 (a warning): the simulated hosts run no
	# rotsecd, so none keeps an alive key, and most consumers have not acked; 3 would be
	# a failure to read etcd.
	t=$("$BIN/tmexec" sh -c '"$0" fleet status --endpoints "$1" >/dev/null; [ $? -lt 3 ]' \
		"$CTL" "$EPS")
	echo "status $t"
	echo "rows $("$CTL" fleet status --endpoints "$EPS" | tail -n +2 | wc -l)"
	echo "keys $(ETCDCTL_API=3 etcdctl --endpoints="$EPS" get --prefix rotsec/ --keys-only | grep -c .)"
}

if [ "${1:-}" = --inner ]; then
	inner
	exit
fi

# ---- outside: run it, then the table ----
mkdir -p "$F"
say "Fleet: $HOSTS hosts publishing to one 3-member etcd cluster on loopback (issue 16)"
unshare -mn env BENCH_W="$W" BENCH_FLEET_HOSTS="$HOSTS" BENCH_FLEET_FOLLOWERS="$FOLLOWERS" \
	BENCH_FLEET_ROUNDS="$ROUNDS" BENCH_FLEET_PAR="$PAR" sh "$0" --inner >"$W/fleet.dat" \
	2>"$W/fleet.err" || {
	sed 's/^/  /' "$W/fleet.err" >&2
	die "the fleet run failed"
}
pct() { # FILE LABEL P: the P-th percentile of LABEL's values
	awk -v l="$2" '$1 == l { print $2 }' "$1" | sort -g | awk -v p="$3" '
		{ v[NR] = $1 }
		END { if (NR == 0) { print "nan"; exit }
		      i = int(p / 100 * NR + 0.999999); if (i < 1) i = 1; if (i > NR) i = NR
		      print v[i] }'
}
val() { awk -v l="$2" '$1 == l { $1 = ""; sub(/^ /, ""); print; exit }' "$1"; }
D=$W/fleet.dat
setup=$(val "$D" setup)
rot50=$(pct "$D" rotate 50)
rot99=$(pct "$D" rotate 99)
revs=$(val "$D" revisions)
set -- $(val "$D" requests)
nreq=$1 sreq=$2
lat50=$(pct "$D" latency 50)
lat99=$(pct "$D" latency 99)
nlat=$(grep -c '^latency ' "$D")
missed=$(grep -c '^missed ' "$D")
per_txn=$(awk -v r="$revs" -v n="$HOSTS" 'BEGIN { printf "%.2f", r / n }')
per_req=$(awk -v s="$sreq" -v n="$nreq" 'BEGIN { if (n) printf "%.2f", s / n; else print "nan" }')
ratio=$(awk -v l="$lat99" 'BEGIN { if (l > 0) printf "%.0f", 3600e9 / l; else print "nan" }')
printf '  %-46s %s (%s per host, %d at once)\n' "setup: sync, first secret published" \
	"$(fmt_ns "$setup")" "$(fmt_ns "$(awk -v s="$setup" -v n="$HOSTS" 'BEGIN { print s / n }')")" "$PAR"
printf '  %-46s p50 %s, p99 %s\n' "rotsecctl rotate, one per host ($HOSTS)" "$(fmt_ns "$rot50")" \
	"$(fmt_ns "$rot99")"
printf '  %-46s %s   target 1   %s\n' "etcd requests per rotation (publish)" "$per_req" \
	"$(verdict "$per_req" le 1.0)"
printf '  %-46s %s   target 1   %s\n' "etcd revisions (transactions) per rotation" "$per_txn" \
	"$(verdict "$per_txn" le 1.0)"
printf '  %-46s p50 %s, p99 %s   target p99 < 1 s   %s\n' \
	"activation -> CMD on a follower ($nlat, $missed missed)" "$(fmt_ns "$lat50")" \
	"$(fmt_ns "$lat99")" "$(awk -v l="$lat99" 'BEGIN { print (l < 1e9) ? "ok" : "MISSED" }')"
printf '  %-46s %sx (the grace, 1h, over the p99)\n' "grace / p99 latency" "$ratio"
printf '  %-46s %s for %s rows (%s keys in etcd)\n' "rotsecctl fleet status over the fleet" \
	"$(fmt_ns "$(val "$D" status)")" "$(val "$D" rows)" "$(val "$D" keys)"
printf '%s|%s|%s|%s|%s|%s|%s|%s|%s\n' "$HOSTS" "$setup" "$rot50" "$per_req" "$per_txn" \
	"$lat50" "$lat99" "$(val "$D" status)" "$(val "$D" rows)" >"$OUT/fleet.tsv"
