#!/bin/sh
# PAM bench (issues 3 and 13): authentications through the real libpam, pam_rotsec next
# to pam_permit and pam_unix, in one run and one process (bench/pam_bench.c says how), and
# what a failed login costs against a successful one in a BLAKE2b store, an Argon2id
# store with 16 tripwires and a store of both.
# Prints tables; exit 0 when it ran, whatever the ratios, 1 when it could not run.
. "$(dirname "$0")/lib.sh"

need "$BIN/pam_bench" "$REL/pam_rotsec.so" "$CTL" unshare
ROUNDS=${BENCH_PAM_ROUNDS:-$([ -n "$QUICK" ] && echo 7 || echo 31)}
P=$W/pam

# ---- rotsec: three stores, through rotsecctl ----
# $P/b2b (BLAKE2b): bpam000001 has only a current secret (outside grace); bpam000002 is
#   rotated once, so its previous secret is in grace for an hour; bpam000003 is rotated
#   once with --revoke-previous, so its first secret is a tripwire. 32-character secrets.
# $P/argon (Argon2id): barg000001, 11-character secrets (65 bits: Argon2id at the
#   interactive cost), tripwire_keep = 16, rotated 16 times with --revoke-previous: its
#   first secret is the oldest of 16 tripwires.
# $P/mixed: all four, each as in its own store: every login computes one BLAKE2b and one
#   Argon2id hash (the store's cost profile). Its accounts.cdb is also what the name
#   service resolves the accounts from (pam_rotsec accepts a secret only when the name
#   resolves to the store's uid): the same names and uids as the other two.
mkdir -p "$P/sec"
chmod 0700 "$P/sec"
# rs_accounts DIR KINDS: the account lines of KINDS ("b2b", "argon" or both), comma
# separated.
rs_accounts() {
	case $2 in *b2b*)
		for i in 1 2 3; do
			echo "{ name = \"bpam00000$i\"; uid = 6410$i; group = \"bsvc\"; home = \"/nonexistent\"; shell = \"/usr/sbin/nologin\"; deliver = ( { file = \"$1/out/bpam00000$i.pw\"; } ); },"
		done
		;;
	esac
	case $2 in *argon*)
		echo "{ name = \"barg000001\"; uid = 64201; group = \"bsvc\"; home = \"/nonexistent\"; shell = \"/usr/sbin/nologin\"; length = 11; tripwire_keep = 16; deliver = ( { file = \"$1/out/barg000001.pw\"; } ); },"
		;;
	esac
}
# rs_store DIR KINDS: a config of those accounts with every path under DIR, synced and
# rotated as above; their secrets in $P/sec/BASENAME-{a-cur,b-prev,b-cur,c-trip,g-trip,g-cur}.
rs_store() {
	_d=$1 _k=$2
	mkdir -p "$_d/store" "$_d/out" "$_d/run"
	chmod 0755 "$_d" "$_d/store"
	chmod 0700 "$_d/run"
	printf 'root:x:0:0:root:/root:/bin/bash\n' >"$_d/passwd"
	printf 'root:x:0:\n' >"$_d/group"
	{
		echo "store_dir = \"$_d/store\"; state_dir = \"$_d/state\"; key_file = \"$_d/rotsec.key\";"
		echo "run_dir = \"$_d/run\"; audit_log = \"$_d/audit.jsonl\"; metrics_file = \"$_d/rotsec.prom\";"
		echo "passwd_file = \"$_d/passwd\"; group_file = \"$_d/group\";"
		echo 'defaults = { rotate_every = "30d"; grace = "1h"; max_grace = "24h"; length = 32; alphabet = "alnum"; };'
		echo 'groups = ( { name = "bsvc"; gid = 64000; } );'
		echo 'accounts = ('
		rs_accounts "$_d" "$_k" | sed '$ s/,$//'
		echo ');'
	} >"$_d/rotsec.conf"
	"$CTL" -c "$_d/rotsec.conf" sync >/dev/null || die "rotsecctl sync failed ($_d)"
	_s=$P/sec/$(basename "$_d")
	case $_k in *b2b*)
		cp "$_d/out/bpam000002.pw" "$_s-b-prev"
		cp "$_d/out/bpam000003.pw" "$_s-c-trip"
		"$CTL" -c "$_d/rotsec.conf" rotate bpam000002 >/dev/null &&
			"$CTL" -c "$_d/rotsec.conf" rotate --revoke-previous bpam000003 >/dev/null ||
			die "rotsecctl rotate failed ($_d)"
		cp "$_d/out/bpam000001.pw" "$_s-a-cur"
		cp "$_d/out/bpam000002.pw" "$_s-b-cur"
		[ "$(wc -c <"$_s-a-cur")" = 33 ] || die "the delivered secret is not 32 characters"
		;;
	esac
	case $_k in *argon*)
		cp "$_d/out/barg000001.pw" "$_s-g-trip"
		for _i in $(seq 1 16); do
			"$CTL" -c "$_d/rotsec.conf" rotate --revoke-previous barg000001 >/dev/null ||
				die "rotsecctl rotate failed ($_d)"
		done
		cp "$_d/out/barg000001.pw" "$_s-g-cur"
		;;
	esac
}
rs_store "$P/b2b" b2b
rs_store "$P/argon" argon
rs_store "$P/mixed" "b2b argon"
# Wrong passwords of the same lengths and alphabet.
head -c 64 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32 >"$P/sec/wrong"
echo >>"$P/sec/wrong"
head -c 64 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 11 >"$P/sec/wrong11"
echo >>"$P/sec/wrong11"

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
# rotsec right after files, as nsswitch.conf.example has it: the release nss_rotsec,
# found through LD_LIBRARY_PATH, resolves the bench accounts from the mixed store.
sed -E 's/^(passwd|group|shadow):.*/\1: files rotsec/' /etc/nsswitch.conf >"$ETC/nsswitch.conf"

# ---- the PAM services, read through pam_start_confdir ----
D=$P/pam.d
mkdir -p "$D"
echo 'auth required pam_permit.so' >"$D/permit"
echo 'auth required pam_unix.so' >"$D/unix"
for k in b2b argon mixed; do
	echo "auth required $REL/pam_rotsec.so store=$P/$k/store run=$P/$k/run nodelay" >"$D/rotsec-$k"
done
S=$P/sec

CASES="permit:permit:rsbench:$S/unix:success
unix:unix:rsbench:$S/unix:success
current:rotsec-b2b:bpam000001:$S/b2b-a-cur:success
grace_current:rotsec-b2b:bpam000002:$S/b2b-b-cur:success
grace_previous:rotsec-b2b:bpam000002:$S/b2b-b-prev:success
unknown:rotsec-b2b:nosuchuser:$S/b2b-a-cur:user_unknown
wrong:rotsec-b2b:bpam000001:$S/wrong:auth_err"
# What a failed login costs (issue 13), per store: the correct secret, a wrong one, an
# unknown user, a tripwire; in the mixed store also a BLAKE2b account's correct secret.
# The BLAKE2b store's logins are fast: as many rounds as the tables above; the others
# take an Argon2id hash each (some 100 ms): fewer.
COSTS_B2B="b2b_correct:rotsec-b2b:bpam000001:$S/b2b-a-cur:success
b2b_wrong:rotsec-b2b:bpam000001:$S/wrong:auth_err
b2b_unknown:rotsec-b2b:nosuchuser:$S/wrong:user_unknown
b2b_tripwire:rotsec-b2b:bpam000003:$S/b2b-c-trip:auth_err"
COSTS="argon_correct:rotsec-argon:barg000001:$S/argon-g-cur:success
argon_wrong:rotsec-argon:barg000001:$S/wrong11:auth_err
argon_unknown:rotsec-argon:nosuchuser:$S/wrong11:user_unknown
argon_tripwire:rotsec-argon:barg000001:$S/argon-g-trip:auth_err
mixed_correct:rotsec-mixed:barg000001:$S/mixed-g-cur:success
mixed_wrong:rotsec-mixed:barg000001:$S/wrong11:auth_err
mixed_unknown:rotsec-mixed:nosuchuser:$S/wrong11:user_unknown
mixed_tripwire:rotsec-mixed:barg000001:$S/mixed-g-trip:auth_err
mixed_b2b:rotsec-mixed:bpam000001:$S/mixed-a-cur:success"
COST_ROUNDS=${BENCH_PAM_COST_ROUNDS:-$([ -n "$QUICK" ] && echo 5 || echo 15)}

# The run dir, where pam_rotsec records each login's use of a secret, is /run/rotsec on a
# real host: a tmpfs. On a disk, ext4 flushes a file rewritten through truncate at its
# close (auto_da_alloc), which would cost every login a disk write.
# pam_rotsec resolves every name through the name service: nsswitch.conf in $ETC has
# rotsec, LD_LIBRARY_PATH finds the release nss_rotsec, which reads the mixed store.
pam_run() { # NAME MODE CASES [ROUNDS]
	# shellcheck disable=SC2086
	LD_LIBRARY_PATH=$REL ROTSEC_STORE_DIR=$P/mixed/store \
		NS_TMPFS="$P/b2b/run $P/argon/run $P/mixed/run" in_ns "$ETC" "$BIN/pam_bench" \
		-m "$2" -r "${4:-$ROUNDS}" -t 20 "$D" $3 >"$P/$1.dat" 2>"$P/$1.err" || {
		sed 's/^/  /' "$P/$1.err" >&2
		die "pam_bench -m $2 failed"
	}
}
pam_run txn txn "$CASES"
pam_run auth auth "$CASES"
pam_run costs-b2b txn "$COSTS_B2B"
pam_run costs txn "$COSTS" "$COST_ROUNDS"
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

# What a failed login costs (issue 13): per store, the time of a correct login, and the
# ratios of a wrong password to an unknown user and to a correct login, and of a tripwire
# to a correct login; target 0.9..1.1 each (every verdict computes the same hashes).
cost_file() { [ "$1" = b2b ] && echo "$P/costs-b2b.dat" || echo "$P/costs.dat"; }
cost_ratio() { # STORE A B: "RATIO verdict" of STORE_A to STORE_B
	_r=$(pair "$(cost_file "$1")" "$1_$2" "$1_$3")
	printf '%6s %-6s' "$(fmt_x "$_r")" "$(verdict "$_r" in 0.9 1.1)"
	printf '%s|%s|%s|%s\n' "$1" "$2" "$3" "$_r" >>"$OUT/pam-costs.tsv"
}
say ""
say "- what a failed login costs (issue 13): a login as above, median of $ROUNDS rounds (BLAKE2b), $COST_ROUNDS (the others); target 0.9..1.1"
: >"$OUT/pam-costs.tsv"
printf '  %-40s %9s  %-13s  %-13s  %-13s\n' store correct wrong/unknown wrong/correct tripwire/correct
for st in b2b argon mixed; do
	case $st in
	b2b) l="BLAKE2b (32 characters)" ;;
	argon) l="Argon2id (11 characters, 16 tripwires)" ;;
	mixed) l="both, an Argon2id account" ;;
	esac
	printf '  %-40s %9s  %s  %s  %s\n' "$l" "$(fmt_ns "$(med "$(cost_file $st)" "${st}_correct")")" \
		"$(cost_ratio $st wrong unknown)" "$(cost_ratio $st wrong correct)" \
		"$(cost_ratio $st tripwire correct)"
done
printf '  %-40s %9s  %s  of the Argon2id account'"'"'s\n' "both, a BLAKE2b account: correct" \
	"$(fmt_ns "$(med "$P/costs.dat" mixed_b2b)")" "$(cost_ratio mixed b2b correct)"
