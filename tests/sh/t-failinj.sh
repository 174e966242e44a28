#!/bin/sh
# Failure injection (issue 7): malloc, open, read, mmap, stat, write, fsync and rename fail
# at each of their call sites in turn, and then periodically, under the release builds
# (failinj.so, tests/tools/failinj.c):
#  - PAM (pam_logins, one handle, nine steps): no step that failed without injection
#    succeeds with it, none returns PAM_IGNORE, no rotsec account becomes
#    PAM_USER_UNKNOWN (which hands it to pam_unix), and a single failed call changes at
#    most the one step it happened in: the module recovers at the next call;
#  - NSS (nss_calls, every entry point): each answer is the right entry or UNAVAIL or
#    TRYAGAIN (never ERANGE with a big buffer, never NOTFOUND for an entry that exists,
#    never an entry that does not), an enumeration is cut short but never garbled,
#    errno is kept, and again only the call that saw the failure changes;
#  - a rotation (rotsecctl rotate) and a sync that adds an account: the command exits 0
#    or 1; the store is byte-identical or the new valid one (accounts.cdb untouched by a
#    rotation, secrets.cdb keeps its owner and mode, an account is never visible without
#    its secret); the old secret still opens the account; a later sync leaves no temp
#    file and completes the rotation, and a later rotate works.
# Nothing dies of a signal. A sample of the runs is repeated under valgrind: no memory
# error and no definite leak on any of these failure paths.
#
# The call sites are counted first (FAILINJ_COUNT), then N goes over every one of them.
# ROTSEC_FAILINJ_LONG=1 also runs every one of them under valgrind and more periods
# (long: README.md, Tests). What failinj.so cannot fail: libconfig's parser,
# which does not check its allocations and crashes on the first NULL
# (FAILINJ_SPARE=libconfig).

# In a private mount namespace, on a tmpfs: a rotation fsyncs a dozen times, which on a
# disk would make several thousand rotations take minutes.
if [ -z "${ROTSEC_FAILINJ_NS:-}" ] && unshare -m true 2>/dev/null; then
	ROTSEC_FAILINJ_NS=1 exec unshare -m sh "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pam_lib.sh"

FI=$REL/tests/failinj.so
PL=$REL/tests/tools/pam_logins
NC=$REL/tests/tools/nss_calls
RCTL=$REL/rotsecctl
NSSMOD=$REL/libnss_rotsec.so.2
LONG=${ROTSEC_FAILINJ_LONG:-}
VG_SAMPLES=3
PERIODS="2 3 5 8 13"
[ -n "$LONG" ] && PERIODS="2 3 4 5 6 7 8 9 10 11 12 13 17 23 31"
PN=$(printf '%s' "$PERIODS" | sed 's/ /, /g')

for need in "$FI" "$PL" "$NC" "$RCTL" "$NSSMOD" "$PAM_REL" "$MKSTORE" valgrind; do
	if ! [ -e "$need" ] && ! command -v "$need" >/dev/null 2>&1; then
		skip "failure injection" "$need is missing"
		done_testing
		exit 0
	fi
done

W=$T/fs
mkdir -p "$W"
chmod 0755 "$W"
if [ -n "${ROTSEC_FAILINJ_NS:-}" ] && mount --make-rprivate / 2>/dev/null &&
	mount -t tmpfs -o mode=0755,size=64m rotsec-failinj "$W"; then
	at_exit "umount '$W'"
else
	diag "no private tmpfs: running on $W, slower"
fi

VG="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
	--soname-synonyms=somalloc=nouserintercepts"

# inj PROGNAME ENV... -- CMD...: CMD with failinj.so and the given FAILINJ_* settings.
# With VG=1 in the environment of this function, CMD runs under valgrind, which the shim
# leaves alone (FAILINJ_PROG) and which then sees the shim's malloc call glibc's.
inj() {
	_prog=$1
	shift
	if [ "${UNDER_VG:-0}" = 1 ]; then
		env LD_PRELOAD="$FI" FAILINJ_PROG="$_prog" FAILINJ_SPARE=libconfig FAILINJ_TRACE=1 "$@"
	else
		env LD_PRELOAD="$FI" FAILINJ_SPARE=libconfig FAILINJ_TRACE=1 "$@"
	fi
}

# The N of a valgrind sample: VG_SAMPLES points spread over 1..TOTAL (all in long mode).
vg_sample() {
	[ -n "$LONG" ] && return 0
	_i=1
	while [ $_i -le $VG_SAMPLES ]; do
		[ "$1" -eq $((_i * $2 / (VG_SAMPLES + 1) + 1)) ] && return 0
		_i=$((_i + 1))
	done
	return 1
}

# Up to 15 problem lines per scenario in the log; all of them are counted.
problem() {
	probs=$((probs + 1))
	[ "$probs" -le 15 ] && diag "$*"
}

# rc_ok WHAT RC [ALLOWED...]: an exit status that is not a signal death, a valgrind
# error (99) or anything unexpected.
rc_ok() {
	_w=$1 _rc=$2
	shift 2
	for _a in "$@"; do [ "$_rc" = "$_a" ] && return 0; done
	if [ "$_rc" = 99 ]; then
		problem "$_w: valgrind found a memory error or a definite leak"
		sed 's/^/#   /' "$W/err" | grep -v failinj | head -20
	elif [ "$_rc" -gt 128 ]; then
		problem "$_w: killed by signal $((_rc - 128))"
	else
		problem "$_w: exit status $_rc"
	fi
	return 1
}

total_of() { sed -n 's/^total //p' "$1"; }

# ---- PAM -------------------------------------------------------------------------------

pam_store "$W/pstore" || exit 1
# pam_rotsec resolves the rotsec accounts through the name service: rotsec on the lines
# of this namespace's nsswitch.conf (pam_lib.sh), so their lookups are failed too.
if [ -n "${ROTSEC_FAILINJ_NS:-}" ]; then
	nss_rotsec_ns "$W/pstore" || not_ok "the namespace's nsswitch.conf has rotsec"
else
	skip "failure injection under PAM" "no private mount namespace for nsswitch.conf"
fi
mkdir -p "$W/pam.d" "$W/prun"
cat >"$W/pam.d/rotsec-fi" <<EOF
auth    required $PAM_REL store=$W/pstore run=$W/prun nodelay
account required $PAM_REL store=$W/pstore run=$W/prun
EOF
STEPS="auth:svc-a:$CUR auth:svc-a:$PREV auth:svc-a:$OLD auth:svc-a:not-the-password
auth:svc-off:$CUR auth:nosuch:$CUR account:svc-a account:svc-off auth:svc-b:$CUR-b"
# shellcheck disable=SC2086 # STEPS is a list
"$PL" "$W/pam.d" rotsec-fi $STEPS >"$W/pam.base" 2>&1
check_eq "without injection the PAM steps give their documented codes" "$(awk '{print $3}' "$W/pam.base" | tr '\n' ' ')" \
	"PAM_SUCCESS PAM_SUCCESS PAM_AUTH_ERR PAM_AUTH_ERR PAM_AUTH_ERR PAM_USER_UNKNOWN PAM_SUCCESS PAM_ACCT_EXPIRED PAM_SUCCESS "

# pam_judge MODE: the steps of $W/res against the baseline.
pam_judge() {
	awk -v mode="$1" 'NR == FNR { b[FNR] = $0; nb = FNR; next }
	{ o[FNR] = $0; no = FNR }
	END {
		if (no != nb) printf "%d steps of %d ran\n", no, nb
		for (i = 1; i <= nb; i++) {
			if (o[i] == b[i]) continue
			changed++
			split(o[i], f, " ")
			if (f[3] == "PAM_SUCCESS" || f[3] == "PAM_IGNORE" || f[3] == "PAM_NEW_AUTHTOK_REQD" ||
			    f[3] == "PAM_INCOMPLETE")
				printf "step %d (%s): %s under a failure\n", i, b[i], f[3]
			else if (f[3] == "PAM_USER_UNKNOWN")
				printf "step %d (%s): a rotsec account became PAM_USER_UNKNOWN\n", i, b[i]
		}
		if (mode == "NTH" && changed > 1)
			printf "%d steps changed by one failed call: no recovery\n", changed
	}' "$W/pam.base" "$W/res"
}

# pam_run MODE N: one injected run of every step, judged.
pam_run() {
	# shellcheck disable=SC2086 # STEPS is a list; VG is a command line
	if [ "${UNDER_VG:-0}" = 1 ]; then
		inj pam_logins FAILINJ_ARM=manual "FAILINJ_$1=$2" $VG "$PL" "$W/pam.d" rotsec-fi $STEPS \
			>"$W/res" 2>"$W/err"
	else
		inj pam_logins FAILINJ_ARM=manual "FAILINJ_$1=$2" "$PL" "$W/pam.d" rotsec-fi $STEPS \
			>"$W/res" 2>"$W/err"
	fi
	rc_ok "PAM, $1=$2" $? 0 || return
	pam_judge "$1" | while read -r l; do echo "PAM, $1=$2: $l"; done >"$W/judged"
	while read -r l; do problem "$l"; done <"$W/judged"
}

rm -f "$W/count"
# shellcheck disable=SC2086
inj pam_logins FAILINJ_ARM=manual FAILINJ_COUNT="$W/count" "$PL" "$W/pam.d" rotsec-fi $STEPS >/dev/null 2>&1
total=$(total_of "$W/count")
diag "PAM steps: $(tr '\n' ' ' <"$W/count")"
probs=0 vgn=0
for n in $(seq 1 "$total"); do
	pam_run NTH "$n"
	if vg_sample "$n" "$total"; then
		UNDER_VG=1 pam_run NTH "$n"
		vgn=$((vgn + 1))
	fi
done
for p in $PERIODS; do pam_run EVERY "$p"; done
check "PAM: each of the $total calls failing, then every Nth call for N = $PN, never yields success, PAM_IGNORE or user-unknown, and the module recovers (valgrind: $vgn runs clean)" \
	[ "$probs" -eq 0 -a "$total" -ge 20 ]

# The host's name service again for the rest.
if [ -n "${ROTSEC_FAILINJ_NS:-}" ]; then
	umount /etc/nsswitch.conf
	unset LD_LIBRARY_PATH ROTSEC_STORE_DIR
fi

# ---- NSS -------------------------------------------------------------------------------

mkdir -m 0755 "$W/nstore"
"$MKSTORE" "$W/nstore" <<EOF || exit 1
user name=svc-a uid=60001 gid=60000 gecos=Backup_agent home=/var/lib/svc-a shell=/bin/sh groups=60010
user name=svc-b uid=60002 gid=60000 shell=/bin/sh
group name=svc gid=60000 members=svc-a,svc-b
group name=svc-ops gid=60010 members=svc-a,backup
secret name=svc-a uid=60001 current=$CUR
secret name=svc-b uid=60002 current=$CUR-b disabled=1
EOF
CALLS="pwnam:svc-a pwuid:60002 pwnam:nosuch grnam:svc-ops grgid:60000 grgid:61000 spnam:svc-b
spnam:svc-a initgroups:svc-a:60000 initgroups:backup:34 pwent grent spent pwnam:svc-b"
export ROTSEC_STORE_DIR="$W/nstore"
# shellcheck disable=SC2086
"$NC" "$NSSMOD" $CALLS >"$W/nss.base" 2>&1
check_eq "without injection every NSS call answers" "$(cut -d' ' -f1,2 "$W/nss.base" | tr '\n' ' ')" \
	"pwnam:svc-a SUCCESS pwuid:60002 SUCCESS pwnam:nosuch NOTFOUND grnam:svc-ops SUCCESS grgid:60000 SUCCESS grgid:61000 NOTFOUND spnam:svc-b SUCCESS spnam:svc-a SUCCESS initgroups:svc-a:60000 SUCCESS initgroups:backup:34 SUCCESS pwent SUCCESS pwent SUCCESS pwent NOTFOUND grent SUCCESS grent SUCCESS grent NOTFOUND spent SUCCESS spent SUCCESS spent NOTFOUND pwnam:svc-b SUCCESS "

# nss_judge MODE: the answers of $W/res against the baseline, call by call: the same
# lines, or the same first lines and then one error that ends the call.
nss_judge() {
	awk -v mode="$1" '
	function add(arr, n, line, k) { k = line; sub(/ .*/, "", k)
		if (!(k in seen)) { order[++ncalls] = k; seen[k] = 1 }
		arr[k, ++n[k]] = line }
	NR == FNR { add(b, nb, $0); next }
	{ add(o, no, $0) }
	/ BROKEN: / { print "broken: " $0 }
	END {
		for (c = 1; c <= ncalls; c++) {
			k = order[c]
			if (!(k in nb)) { printf "%s: not in the baseline\n", k; continue }
			if (!(k in no)) { printf "%s: never answered\n", k; continue }
			for (j = 1; j <= no[k] && j <= nb[k] && o[k, j] == b[k, j]; j++) ;
			if (j > no[k] && no[k] == nb[k]) continue
			changed++
			if (j != no[k]) { printf "%s: answers differ before the last (%s)\n", k, o[k, j]; continue }
			if (o[k, j] !~ / (set )?(UNAVAIL|TRYAGAIN)( errno=[0-9]+)?$/ || o[k, j] ~ /errno=34$/)
				printf "%s: %s where the answer is %s\n", k, o[k, j], b[k, j]
		}
		if (mode == "NTH" && changed > 1)
			printf "%d calls changed by one failed call: no recovery\n", changed
	}' "$W/nss.base" "$W/res"
}

nss_run() {
	# shellcheck disable=SC2086
	if [ "${UNDER_VG:-0}" = 1 ]; then
		inj nss_calls FAILINJ_ARM=manual "FAILINJ_$1=$2" $VG "$NC" "$NSSMOD" $CALLS \
			>"$W/res" 2>"$W/err"
	else
		inj nss_calls FAILINJ_ARM=manual "FAILINJ_$1=$2" "$NC" "$NSSMOD" $CALLS \
			>"$W/res" 2>"$W/err"
	fi
	rc_ok "NSS, $1=$2" $? 0 || return
	nss_judge "$1" | while read -r l; do echo "NSS, $1=$2: $l"; done >"$W/judged"
	while read -r l; do problem "$l"; done <"$W/judged"
}

rm -f "$W/count"
# shellcheck disable=SC2086
inj nss_calls FAILINJ_ARM=manual FAILINJ_COUNT="$W/count" "$NC" "$NSSMOD" $CALLS >/dev/null 2>&1
total=$(total_of "$W/count")
diag "NSS calls: $(tr '\n' ' ' <"$W/count")"
probs=0 vgn=0
for n in $(seq 1 "$total"); do
	nss_run NTH "$n"
	if vg_sample "$n" "$total"; then
		UNDER_VG=1 nss_run NTH "$n"
		vgn=$((vgn + 1))
	fi
done
for p in $PERIODS; do nss_run EVERY "$p"; done
check "NSS: each of the $total calls failing, then every Nth call for N = $PN, gives the right entry, UNAVAIL or TRYAGAIN, never garbage, and the module recovers (valgrind: $vgn runs clean)" \
	[ "$probs" -eq 0 -a "$total" -ge 20 ]
unset ROTSEC_STORE_DIR

# ---- rotation and sync -----------------------------------------------------------------

# The rotsec environment of lib.sh, on the tmpfs.
mkdir -p "$W/store" "$W/out"
chmod 0755 "$W/store" "$W/out"
printf 'root:x:0:0:root:/root:/bin/bash\nbackup:x:34:34:backup:/var/backups:/usr/sbin/nologin\n' >"$W/passwd"
printf 'root:x:0:\nbackup:x:34:\nrotsec:x:990:\n' >"$W/group"
rs_conf() {
	cat <<EOF
store_dir = "$W/store";
state_dir = "$W/state";
key_file = "$W/rotsec.key";
run_dir = "$W/run";
audit_log = "$W/audit.jsonl";
metrics_file = "$W/rotsec.prom";
passwd_file = "$W/passwd";
group_file = "$W/group";
defaults = { rotate_every = "2h"; grace = "1h"; max_grace = "2h"; };
groups = ( { name = "svc"; gid = 60000; } );
accounts = (
  { name = "svc-a"; uid = 60001; group = "svc"; deliver = ( { file = "$W/out/svc-a.pw"; } ); },
  { name = "svc-b"; uid = 60002; group = "svc"; deliver = ( { file = "$W/out/svc-b.pw"; } ); }$1
);
EOF
}
rs_conf "" >"$W/rotsec.conf"
rs_conf ",
  { name = \"svc-c\"; uid = 60003; group = \"svc\"; deliver = ( { file = \"$W/out/svc-c.pw\"; } ); }" \
	>"$W/rotsec-c.conf"
C1=$W/rotsec.conf
C2=$W/rotsec-c.conf
rctl() { "$RCTL" -c "$C1" "$@"; }
verify() { "$RCTL" -c "$C1" verify "$1" <"$2" 2>/dev/null; }
# The temp files of rs_atomic_begin: .NAME.XXXXXX
temps() {
	find "$W/store" "$W/state" "$W/out" -maxdepth 1 -regextype posix-extended \
		-regex '.*/\..+\.[A-Za-z0-9]{6}' | wc -l
}
nss_view() { ROTSEC_STORE_DIR=$W/store "$NC" "$NSSMOD" pwent grent 2>&1; }
secrets_mode() { stat -c '%a %u %g' "$W/store/secrets.cdb"; }

mkdir -m 0700 "$W/run"
if ! { rctl sync && rctl rotate svc-b --revoke-previous; } >"$W/sync.out" 2>&1; then
	not_ok "the rotsec environment for rotations is set up"
	sed 's/^/# /' "$W/sync.out"
	done_testing
	exit 1
fi
for d in store state out run; do cp -a "$W/$d" "$W/$d.base"; done
[ -f "$W/audit.jsonl" ] && cp "$W/audit.jsonl" "$W/audit.base"
reset_env() {
	for d in store state out run; do
		rm -rf "${W:?}/$d"
		cp -a "$W/$d.base" "$W/$d"
	done
	rm -f "$W/audit.jsonl" "$W/rotsec.prom"
}
OLD_A=$W/out.base/svc-a.pw
S_SUM=$(sum_of "$W/store/secrets.cdb")
A_SUM=$(sum_of "$W/store/accounts.cdb")
MODE=$(secrets_mode)
VIEW=$(nss_view)
check_eq "secrets.cdb belongs to group rotsec (0640 root:990) before any injection" "$MODE" "640 0 990"

# After any injected command: a clean sync leaves no temp file and every delivered
# secret current, the old secret of svc-a current or previous, and a rotation works.
after_ok() {
	_w=$1
	rctl sync >"$W/s.out" 2>&1 || problem "$_w: the next sync failed: $(head -c 300 "$W/s.out")"
	[ "$(temps)" -eq 0 ] || problem "$_w: $(temps) temp files after the next sync"
	for a in svc-a svc-b; do
		[ "$(verify $a "$W/out/$a.pw")" = current ] ||
			problem "$_w: after the next sync the delivered secret of $a is '$(verify $a "$W/out/$a.pw")'"
	done
	case $(verify svc-a "$OLD_A") in current | previous) ;; *) problem "$_w: after the next sync the old secret of svc-a is '$(verify svc-a "$OLD_A")'" ;; esac
	[ "$(secrets_mode)" = "$MODE" ] || problem "$_w: secrets.cdb is now $(secrets_mode)"
	rctl rotate svc-a --revoke-previous >"$W/s.out" 2>&1 || problem "$_w: a later rotate failed: $(head -c 300 "$W/s.out")"
	[ "$(verify svc-a "$W/out/svc-a.pw")" = current ] || problem "$_w: the later rotation's secret is not current"
}

# rot_run MODE N: rotsecctl rotate svc-a with a failure, judged.
rot_run() {
	reset_env
	# shellcheck disable=SC2086
	if [ "${UNDER_VG:-0}" = 1 ]; then
		inj rotsecctl "FAILINJ_$1=$2" $VG "$RCTL" -c "$C1" rotate svc-a >"$W/res1" 2>"$W/err"
	else
		inj rotsecctl "FAILINJ_$1=$2" "$RCTL" -c "$C1" rotate svc-a >"$W/res1" 2>"$W/err"
	fi
	rc=$?
	_w="rotate, $1=$2 ($(grep -m1 'failinj:' "$W/err" | sed 's/.*fails: //'))"
	rc_ok "$_w" $rc 0 1
	[ "$(sum_of "$W/store/accounts.cdb")" = "$A_SUM" ] || problem "$_w: accounts.cdb changed"
	[ "$(secrets_mode)" = "$MODE" ] || problem "$_w: secrets.cdb is now $(secrets_mode)"
	v=$(verify svc-a "$OLD_A")
	if [ "$(sum_of "$W/store/secrets.cdb")" = "$S_SUM" ]; then
		[ "$v" = current ] || problem "$_w: store unchanged but the old secret is '$v'"
	else
		[ "$v" = previous ] || problem "$_w: store changed but the old secret is '$v'"
	fi
	[ "$rc" != 0 ] || [ "$(verify svc-a "$W/out/svc-a.pw")" = current ] ||
		problem "$_w: exit 0 but the delivered secret is not current"
	[ "$(nss_view)" = "$VIEW" ] || problem "$_w: NSS shows other accounts or groups"
	after_ok "$_w"
}

rm -f "$W/count" "$W/count.vg"
reset_env
inj rotsecctl FAILINJ_COUNT="$W/count" "$RCTL" -c "$C1" rotate svc-a >/dev/null 2>&1
total=$(total_of "$W/count")
# The valgrind runs are only worth something if the shim works inside them: it must
# count the same calls there (valgrind's own start-up may add a malloc or two).
reset_env
# shellcheck disable=SC2086 # VG is a command line
UNDER_VG=1 inj rotsecctl FAILINJ_COUNT="$W/count.vg" $VG "$RCTL" -c "$C1" rotate svc-a \
	>/dev/null 2>&1
check_eq "under valgrind failinj.so sees the same calls but for malloc" \
	"$(grep -v -e malloc -e total "$W/count.vg" 2>&1)" "$(grep -v -e malloc -e total "$W/count")"
diag "rotsecctl rotate: $(tr '\n' ' ' <"$W/count")"
probs=0 vgn=0
for n in $(seq 1 "$total"); do
	rot_run NTH "$n"
	if vg_sample "$n" "$total"; then
		UNDER_VG=1 rot_run NTH "$n"
		vgn=$((vgn + 1))
	fi
done
for p in $PERIODS; do rot_run EVERY "$p"; done
check "rotate: each of the $total calls failing, then every Nth call for N = $PN: no crash, the store old or new and valid, the old secret still works, the next sync completes without temp files (valgrind: $vgn runs clean)" \
	[ "$probs" -eq 0 -a "$total" -ge 100 ]

# sync_run MODE N: a sync that creates svc-c, with a failure, judged.
sync_run() {
	reset_env
	# shellcheck disable=SC2086
	if [ "${UNDER_VG:-0}" = 1 ]; then
		inj rotsecctl "FAILINJ_$1=$2" $VG "$RCTL" -c "$C2" sync >"$W/res1" 2>"$W/err"
	else
		inj rotsecctl "FAILINJ_$1=$2" "$RCTL" -c "$C2" sync >"$W/res1" 2>"$W/err"
	fi
	rc=$?
	_w="sync, $1=$2 ($(grep -m1 'failinj:' "$W/err" | sed 's/.*fails: //'))"
	rc_ok "$_w" $rc 0 1
	[ "$(secrets_mode)" = "$MODE" ] || problem "$_w: secrets.cdb is now $(secrets_mode)"
	# ARCHITECTURE.md, contract §2: secrets.cdb is written before accounts.cdb, so that an
	# account is never visible without its secret.
	seen=$(ROTSEC_STORE_DIR=$W/store "$NC" "$NSSMOD" pwnam:svc-c spnam:svc-c | cut -d' ' -f2 | tr '\n' ' ')
	case "$seen" in "SUCCESS SUCCESS " | "NOTFOUND NOTFOUND " | "NOTFOUND SUCCESS ") ;;
	*) problem "$_w: svc-c in accounts.cdb and secrets.cdb: $seen" ;; esac
	[ "$(verify svc-a "$OLD_A")" = current ] || problem "$_w: svc-a's secret is '$(verify svc-a "$OLD_A")'"
	"$RCTL" -c "$C2" sync >"$W/s.out" 2>&1 || problem "$_w: the next sync failed: $(head -c 300 "$W/s.out")"
	[ "$(temps)" -eq 0 ] || problem "$_w: temp files after the next sync"
	[ "$("$RCTL" -c "$C2" verify svc-c <"$W/out/svc-c.pw" 2>/dev/null)" = current ] ||
		problem "$_w: after the next sync svc-c has no delivered current secret"
	[ "$(ROTSEC_STORE_DIR=$W/store "$NC" "$NSSMOD" pwnam:svc-c | cut -d' ' -f2)" = SUCCESS ] ||
		problem "$_w: after the next sync NSS does not show svc-c"
}

rm -f "$W/count"
reset_env
inj rotsecctl FAILINJ_COUNT="$W/count" "$RCTL" -c "$C2" sync >/dev/null 2>&1
total=$(total_of "$W/count")
diag "rotsecctl sync (a new account): $(tr '\n' ' ' <"$W/count")"
probs=0 vgn=0
for n in $(seq 1 "$total"); do
	sync_run NTH "$n"
	if vg_sample "$n" "$total"; then
		UNDER_VG=1 sync_run NTH "$n"
		vgn=$((vgn + 1))
	fi
done
for p in $PERIODS; do sync_run EVERY "$p"; done
check "sync adding an account: each of the $total calls failing, then every Nth call for N = $PN: no crash, never an account without its secret, the next sync completes (valgrind: $vgn runs clean)" \
	[ "$probs" -eq 0 -a "$total" -ge 100 ]
done_testing
