# Shared by the bench/*.sh scripts (source it first): the build, a work dir removed at
# exit, private mount namespaces, and the statistics. See bench/README.md.
#
# Nothing here touches the host: every file is under $W (a temp dir), and every change to
# /etc or /dev is an overlay mount inside a private mount namespace (unshare -m), which
# disappears with the namespace's last process.

set -u
: "${O:?O must point at the build directory}"
top=${top:-$(cd "$(dirname "$0")/.." && pwd)}
REL=$O/rel
BIN=$REL/bench
CTL=$REL/rotsecctl
# Where results land: tables for README.md, data and plot for the NSS figure.
OUT=${BENCH_OUT:-$O/bench}
mkdir -p "$OUT"
# Fewer rounds for a quick look (BENCH_QUICK=1); the figures are then noisier.
QUICK=${BENCH_QUICK:-}

# A script that runs a part of itself inside a namespace calls itself again with
# BENCH_W set: that inner run works in the outer run's directory and leaves its removal
# to it.
if [ -n "${BENCH_W:-}" ]; then
	W=$BENCH_W
else
	W=$(mktemp -d /tmp/rotsec-bench.XXXXXX)
	# rotsec refuses a store under a directory that others can write to
	# (ARCHITECTURE.md, contract §2); /tmp is sticky and allowed, and $W itself must be
	# 0755 root.
	chmod 0755 "$W"
	# A tmpfs mounted in a namespace is gone with it; whatever is left is on disk.
	trap 'rm -rf "$W"' EXIT
	trap 'exit 130' INT TERM
fi


say() { printf '%s\n' "$*"; }
die() {
	say "  could not run: $*" >&2
	exit 1
}

# need PROG...: die unless every program is there.
need() {
	for _p in "$@"; do
		[ -x "$_p" ] || command -v "$_p" >/dev/null 2>&1 || die "$_p not found"
	done
}

# in_ns ETCUP CMD...: run CMD in a private mount namespace where
#  - /etc is an overlay whose upper layer is the directory ETCUP: files put there replace
#    the host's (passwd, shadow, pam.d/...), and whatever the command writes under /etc
#    (chpasswd's lock and temp files, the new shadow) lands there too, never in the
#    host's /etc;
#  - /dev is an overlay with bench/logsink reading /dev/log, so that syslog(3) costs what
#    it costs on a host with a syslog daemon (see logsink.c).
# With NS_TMPFS set to a list of directories, each gets a fresh tmpfs (mode 0700) in the
# namespace: what lives in tmpfs on a real host (/run) lives in tmpfs here too.
# Exits with CMD's status.
in_ns() {
	_up=$1
	shift
	# overlayfs wants its work dirs on the upper layer's filesystem (a tmpfs, maybe)
	_ns=$(mktemp -d "$(dirname "$_up")/ns.XXXXXX")
	mkdir -p "$_ns/devup" "$_ns/devwork" "$_ns/etcwork"
	unshare -m sh -c '
		ns=$1 up=$2 bin=$3 tmpfs=$4
		shift 4
		mount --make-rprivate / &&
			mount -t overlay overlay \
				-o "lowerdir=/dev,upperdir=$ns/devup,workdir=$ns/devwork" /dev &&
			mount -t overlay overlay \
				-o "lowerdir=/etc,upperdir=$up,workdir=$ns/etcwork" /etc || exit 97
		for d in $tmpfs; do
			mount -t tmpfs -o mode=0700 tmpfs "$d" || exit 97
		done
		"$bin/logsink" /dev/log "$ns/sink.ready" &
		sink=$!
		i=0
		while [ ! -e "$ns/sink.ready" ] && [ $i -lt 200 ]; do sleep 0.01; i=$((i + 1)); done
		"$@"
		rc=$?
		kill $sink 2>/dev/null
		wait $sink 2>/dev/null
		exit $rc' sh "$_ns" "$_up" "$BIN" "${NS_TMPFS:-}" "$@"
}

# ---- statistics over "ROUND LABEL NS" lines ----

# med FILE LABEL: median of the NS column of LABEL's lines.
med() {
	awk -v l="$2" '$2 == l { print $3 }' "$1" | sort -g | awk '
		{ v[NR] = $1 }
		END { if (NR == 0) { print "nan"; exit }
		      print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# pair FILE A B: median over rounds of A's time / B's time in the same round. Two cases
# measured side by side in one round see the same machine; the ratio of their medians
# would mix rounds with different background load.
pair() {
	awk -v a="$2" -v b="$3" '
		$2 == a { ta[$1] = $3 }
		$2 == b { tb[$1] = $3 }
		END { for (r in ta) if ((r in tb) && tb[r] > 0) print ta[r] / tb[r] }' "$1" |
		sort -g | awk '
		{ v[NR] = $1 }
		END { if (NR == 0) { print "nan"; exit }
		      print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# verdict RATIO OP BOUND [BOUND2]: "ok" or "MISSED" for RATIO <= BOUND (OP "le"), or
# BOUND <= RATIO <= BOUND2 (OP "in").
verdict() {
	awk -v r="$1" -v op="$2" -v a="$3" -v b="${4:-0}" 'BEGIN {
		if (r == "nan") { print "n/a"; exit }
		ok = (op == "le") ? (r + 0 <= a + 0) : (r + 0 >= a + 0 && r + 0 <= b + 0)
		print ok ? "ok" : "MISSED" }'
}

# fmt_ns NS: a time for people: "850 ns", "12.3 us", "4.56 ms", "1.23 s".
fmt_ns() {
	awk -v t="$1" 'BEGIN {
		if (t == "nan") print "n/a"
		else if (t < 1e3) printf "%.0f ns\n", t
		else if (t < 1e6) printf "%.3g us\n", t / 1e3
		else if (t < 1e9) printf "%.3g ms\n", t / 1e6
		else printf "%.3g s\n", t / 1e9 }'
}

# fmt_x RATIO: "1.05x".
fmt_x() {
	awk -v r="$1" 'BEGIN {
		if (r == "nan") print "n/a"
		else if (r < 0.1) printf "%.2gx\n", r
		else printf "%.2fx\n", r }'
}

# ---- rotsec configs ----

# bench_conf DIR NAME_PREFIX N UID0 [DELIVER_DIR [D]]: a rotsec config at DIR/rotsec.conf
# with every path under DIR and N accounts PREFIX000001.. (uids UID0+1..) in group "bsvc";
# with DELIVER_DIR, the first D accounts (default 1) deliver their secret to
# DELIVER_DIR/NAME.pw.
bench_conf() {
	_d=$1 _p=$2 _n=$3 _u=$4 _out=${5:-} _nd=${6:-1}
	mkdir -p "$_d/store"
	chmod 0755 "$_d" "$_d/store"
	printf 'root:x:0:0:root:/root:/bin/bash\n' >"$_d/passwd"
	printf 'root:x:0:\n' >"$_d/group"
	{
		cat <<EOF
store_dir = "$_d/store";
state_dir = "$_d/state";
key_file = "$_d/rotsec.key";
run_dir = "$_d/run";
audit_log = "$_d/audit.jsonl";
metrics_file = "$_d/rotsec.prom";
passwd_file = "$_d/passwd";
group_file = "$_d/group";
defaults = { rotate_every = "30d"; grace = "1h"; max_grace = "24h"; length = 32; alphabet = "alnum"; };
groups = ( { name = "bsvc"; gid = 64000; } );
accounts = (
EOF
		awk -v n="$_n" -v p="$_p" -v u="$_u" -v out="$_out" -v nd="$_nd" 'BEGIN {
			for (i = 1; i <= n; i++) {
				name = sprintf("%s%06d", p, i)
				d = (i <= nd && out != "") ? sprintf(" deliver = ( { file = \"%s/%s.pw\"; } );", out, name) : ""
				printf "{ name = \"%s\"; uid = %d; group = \"bsvc\"; gecos = \"bench account %d\"; home = \"/nonexistent\"; shell = \"/usr/sbin/nologin\";%s }%s\n", name, u + i, i, d, (i < n ? "," : "")
			}
		}'
		echo ");"
	} >"$_d/rotsec.conf"
}
