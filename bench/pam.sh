#!/bin/sh
# PAM bench (issue 3): authentications through the real libpam, pam_rotsec next to
# pam_permit and pam_unix, in one run and one process (bench/pam_bench.c says how).
# Prints a table; exit 0 when it ran, whatever the ratios, 1 when it could not run.
. "$(dirname "$0")/lib.sh"

need "$BIN/pam_bench" "$REL/pam_rotsec.so" "$CTL" unshare
ROUNDS=${BENCH_PAM_ROUNDS:-$([ -n "$QUICK" ] && echo 7 || echo 31)}
P=$W/pam

# ---- rotsec: two accounts with generated 32-character secrets, through rotsecctl ----
# bpam000001 has only a current secret (outside grace); bpam000002 is rotated once, so
# its previous secret is in grace for an hour and a login checks both hashes.
bench_conf "$P" bpam 2 64100 "$P/out" 2
mkdir -p "$P/out" "$P/sec"
chmod 0700 "$P/sec"
"$CTL" -c "$P/rotsec.conf" sync >/dev/null || die "rotsecctl sync failed"
cp "$P/out/bpam000002.pw" "$P/sec/b-prev"
"$CTL" -c "$P/rotsec.conf" rotate bpam000002 >/dev/null || die "rotsecctl rotate failed"
cp "$P/out/bpam000001.pw" "$P/sec/a-cur"
cp "$P/out/bpam000002.pw" "$P/sec/b-cur"
# A wrong password of the same length and alphabet.
head -c 64 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32 >"$P/sec/wrong"
echo >>"$P/sec/wrong"
[ "$(wc -c <"$P/sec/a-cur")" = 33 ] || die "the delivered secret is not 32 characters"
mkdir -p "$P/run"
chmod 0700 "$P/run"

# ---- pam_unix: a throwaway user with a yescrypt hash, in the namespace's /etc ----
ETC=$P/etc
mkdir -p "$ETC"
head -c 64 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32 >"$P/sec/unix"
echo >>"$P/sec/unix"
hash=$("$BIN/pam_bench" --hash "$P/sec/unix") || die "cannot make a yescrypt hash"
case $hash in '$y$'*) ;; *) die "libcrypt made no yescrypt hash" ;; esac
# The host's passwd (world-readable) plus the user; a shadow with only the user and a
# locked root, so that no host hash is ever copied.
{
	cat /etc/passwd
	echo "rsbench:x:64999:64999:rotsec bench:/nonexistent:/usr/sbin/nologin"
} >"$ETC/passwd"
{
	echo 'root:*:19000:0:99999:7:::'
	echo "rsbench:$hash:19000:0:99999:7:::"
} >"$ETC/shadow"
chmod 0640 "$ETC/shadow"

# ---- the PAM services, read through pam_start_confdir ----
D=$P/pam.d
mkdir -p "$D"
echo 'auth required pam_permit.so' >"$D/permit"
echo 'auth required pam_unix.so' >"$D/unix"
echo "auth required $REL/pam_rotsec.so store=$P/store run=$P/run nodelay" >"$D/rotsec"

CASES="permit:permit:rsbench:$P/sec/unix:success
unix:unix:rsbench:$P/sec/unix:success
current:rotsec:bpam000001:$P/sec/a-cur:success
grace_current:rotsec:bpam000002:$P/sec/b-cur:success
grace_previous:rotsec:bpam000002:$P/sec/b-prev:success
unknown:rotsec:nosuchuser:$P/sec/a-cur:user_unknown
wrong:rotsec:bpam000001:$P/sec/wrong:auth_err"

# The run dir, where pam_rotsec records each login's use of a secret, is /run/rotsec on a
# real host: a tmpfs. On a disk, ext4 flushes a file rewritten through truncate at its
# close (auto_da_alloc), which would cost every login a disk write.
pam_run() { # NAME MODE CASES
	# shellcheck disable=SC2086
	NS_TMPFS="$P/run" in_ns "$ETC" "$BIN/pam_bench" -m "$2" \
		-r "$ROUNDS" -t 20 "$D" $3 >"$P/$1.dat" 2>"$P/$1.err" || {
		sed 's/^/  /' "$P/$1.err" >&2
		die "pam_bench -m $2 failed"
	}
}
pam_run txn txn "$CASES"
pam_run auth auth "$CASES"
# The first login of a process: pam_rotsec.so stays loaded once a process has loaded it
# (-z nodelete), so the logins above, all in one process, load it once; a program that
# forks a process per login (sshd, su) loads it, and libsodium, every time.
pam_run fresh fresh "$(echo "$CASES" | grep -E '^(permit|current|unknown|wrong):')"

label() {
	case $1 in
	permit) echo "pam_permit" ;;
	unix) echo "pam_unix, yescrypt" ;;
	current) echo "pam_rotsec, current secret" ;;
	grace_current) echo "pam_rotsec, in grace: current" ;;
	grace_previous) echo "pam_rotsec, in grace: previous" ;;
	unknown) echo "pam_rotsec, unknown user" ;;
	wrong) echo "pam_rotsec, wrong password" ;;
	esac
}

# One row: label, time per attempt, attempts/s, ratio to pam_permit; then the target
# (as "ratio to REF  bound  verdict") when the case has one. REF "-" prints NOTE instead.
row() { # FILE CASE [REF OP BOUND [BOUND2] | - NOTE]
	_f=$1 _c=$2
	t=$(med "$_f" "$_c")
	x=$(pair "$_f" "$_c" permit)
	ps=$(awk -v t="$t" 'BEGIN { printf "%.0f", 1e9 / t }')
	xs=$(fmt_x "$x")
	# pam_permit's pam_authenticate alone is a function call: no ratio to it means much
	[ "$(basename "$_f")" != auth.dat ] || [ "$_c" = permit ] || xs=-
	line=$(printf '  %-32s %10s %9s/s %8s' "$(label "$_c")" "$(fmt_ns "$t")" "$ps" "$xs")
	if [ "${3:-}" = - ]; then
		line="$line   $4"
	elif [ $# -gt 2 ]; then
		r=$(pair "$_f" "$_c" "$3")
		case $4 in
		le) bound="<= $5" ;;
		in) bound="$5..$6" ;;
		esac
		line=$(printf '%s   %5s of %-14s %-9s %s' "$line" "$(fmt_x "$r")" "$(label "$3" | sed 's/pam_rotsec, //')" "$bound" "$(verdict "$r" "$4" "$5" "${6:-}")")
	fi
	say "$line"
	printf '%s|%s|%s|%s\n' "$_c" "$t" "$x" "${r:-}" >>"$OUT/pam-$(basename "$_f" .dat).tsv"
	r=""
}

table() { # FILE TITLE
	: >"$OUT/pam-$(basename "$1" .dat).tsv"
	say "$2"
	printf '  %-32s %10s %11s %8s   %s\n' "stack" "per auth" "auth/s" "/permit" "target"
	row "$1" permit
	[ "$(basename "$1")" = fresh.dat ] || row "$1" unix
	case $(basename "$1") in
	txn.dat) row "$1" current permit le 1.3 ;;
	auth.dat) row "$1" current - "(none: pam_permit does no work here)" ;;
	fresh.dat)
		row "$1" current - "(no target: loading pam_rotsec.so and libsodium)"
		row "$1" unknown current in 0.9 1.1
		row "$1" wrong current in 0.9 1.1
		return
		;;
	esac
	row "$1" grace_current current le 1.1
	row "$1" grace_previous current le 1.1
	row "$1" unknown current in 0.9 1.1
	row "$1" wrong current in 0.9 1.1
}

say "PAM: authentications through libpam (issue 3); median of $ROUNDS rounds, ratios paired per round"
table "$P/txn.dat" "- a login: pam_start_confdir + pam_authenticate + pam_end per attempt, in one process"
say ""
table "$P/fresh.dat" "- the first login of a process: the same, each in a process of its own (as sshd, su)"
say ""
table "$P/auth.dat" "- the modules alone: pam_authenticate repeated on one open handle"
