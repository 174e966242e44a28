#!/bin/sh
# valgrind's memcheck over what ships, in its release build (issue 7): zero memory errors
# and zero definite leaks (--error-exitcode, --errors-for-leak-kinds=definite) for
#  - the PAM harness: every case of test_pam (the real libpam, pam_start_confdir) and a
#    long-lived handle through pam_logins;
#  - the NSS dlopen tests: every case of test_nss, and every entry point through
#    nss_calls starting from a 64-byte buffer (the ERANGE retries), with a missing and a
#    malformed store;
#  - rotsecctl: check, sync, status, rotate, verify, revoke, deliver, show, keygen, open
#    and a refused config; rotsecd: a start, a SIGUSR1 rotation and SIGTERM.
# The ASan+UBSan build runs the same code in the other tests; valgrind also sees the
# release flags (-O2, _FORTIFY_SOURCE) and uninitialised reads, which ASan does not.
# tests/sh/valgrind.supp: leaks of forked children of test programs only, each with its
# reason. getent, id and pamtester under valgrind are in t-nss-system and t-pam-namespace.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pam_lib.sh"

PL=$REL/tests/tools/pam_logins
NC=$REL/tests/tools/nss_calls
RCTL=$REL/rotsecctl
RDMN=$REL/rotsecd
for need in valgrind "$REL/tests/module/test_pam" "$REL/tests/module/test_nss" "$PL" "$NC" "$RCTL" \
	"$RDMN" "$PAM_REL" "$MKSTORE"; do
	if ! [ -e "$need" ] && ! command -v "$need" >/dev/null 2>&1; then
		skip "valgrind" "$need is missing"
		done_testing
		exit 0
	fi
done

# The frames that valgrind.supp names can be deep in a stack: --num-callers records them.
# --fair-sched: valgrind runs one thread at a time, and by default a thread that never
# blocks (the busy readers of the fork tests) can starve the one that forks and waits,
# and test_nss's fork test then spends its time waiting for its turn.
VGOPTS="-q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
	--num-callers=40 --fair-sched=yes --suppressions=$top/tests/sh/valgrind.supp"

# vg WANT NAME CMD...: CMD under memcheck exits WANT; a memory error or a definite leak
# makes it exit 99 instead. Its report is in $T/vg.log.
vg() {
	_want=$1 _name=$2
	shift 2
	# shellcheck disable=SC2086 # VGOPTS are words
	valgrind $VGOPTS "$@" >"$T/vg.out" 2>"$T/vg.log"
	_rc=$?
	if [ "$_rc" = "$_want" ]; then
		ok "$_name"
		return 0
	fi
	not_ok "$_name (exit $_rc, not $_want)"
	grep -vE '^ok ' "$T/vg.log" "$T/vg.out" | head -40 | sed 's/^/# /'
	return 1
}

# ---- the module tests (tests/module/), release build ----
# The longest part (their fork tests make valgrind check every child),
# so they run in the background while the rest goes on.
export CMOCKA_MESSAGE_OUTPUT=TAP
upids=""
for u in test_pam test_nss; do
	# shellcheck disable=SC2086 # VGOPTS are words
	valgrind $VGOPTS "$REL/tests/module/$u" >"$T/$u.out" 2>"$T/$u.log" &
	upids="$upids $!"
done

# ---- PAM: one long-lived handle ----
pam_store "$T/pstore" || exit 1
mkdir -p "$T/pam.d" "$T/prun"
cat >"$T/pam.d/rotsec-vg" <<EOF
auth    required $PAM_REL store=$T/pstore run=$T/prun nodelay
account required $PAM_REL store=$T/pstore run=$T/prun
EOF
vg 0 "pam_logins: current, previous, revoked, wrong, disabled, unknown, account steps" \
	"$PL" "$T/pam.d" rotsec-vg auth:svc-a:"$CUR" auth:svc-a:"$PREV" auth:svc-a:"$OLD" \
	auth:svc-a:wrong auth:svc-off:"$CUR" auth:nosuch:"$CUR" account:svc-a account:svc-off \
	auth:svc-b:"$CUR-b"
check_eq "the steps under valgrind gave their codes" "$(awk '{print $3}' "$T/vg.out" | tr '\n' ' ')" \
	"PAM_SUCCESS PAM_SUCCESS PAM_AUTH_ERR PAM_AUTH_ERR PAM_AUTH_ERR PAM_USER_UNKNOWN PAM_SUCCESS PAM_ACCT_EXPIRED PAM_SUCCESS "
mv "$T/pstore" "$T/pstore.away"
vg 0 "pam_logins with the store gone" "$PL" "$T/pam.d" rotsec-vg auth:svc-a:"$CUR" account:svc-a
check_eq "...fails closed" "$(awk '{print $3}' "$T/vg.out" | tr '\n' ' ')" \
	"PAM_AUTHINFO_UNAVAIL PAM_AUTHINFO_UNAVAIL "
mv "$T/pstore.away" "$T/pstore"

# ---- NSS: every entry point from a small buffer ----
mkdir -m 0755 "$T/nstore"
"$MKSTORE" "$T/nstore" <<EOF || exit 1
user name=svc-a uid=60001 gid=60000 gecos=Backup_agent home=/var/lib/svc-a shell=/bin/sh groups=60010
user name=svc-b uid=60002 gid=60000 shell=/bin/sh
group name=svc gid=60000 members=svc-a,svc-b
group name=svc-ops gid=60010 members=svc-a,backup
secret name=svc-a uid=60001 current=$CUR
secret name=svc-b uid=60002 current=$CUR-b disabled=1
EOF
CALLS="pwnam:svc-a pwuid:60002 pwnam:nosuch grnam:svc-ops grgid:60000 spnam:svc-b
initgroups:svc-a:60000 initgroups:backup:34 pwent grent spent"
# shellcheck disable=SC2086 # CALLS is a list
ROTSEC_STORE_DIR=$T/nstore vg 0 "nss_calls: every entry point, ERANGE retries included" \
	"$NC" "$REL/libnss_rotsec.so.2" $CALLS
check_eq "the answers under valgrind" "$(cut -d' ' -f2 "$T/vg.out" | tr '\n' ' ')" \
	"SUCCESS SUCCESS NOTFOUND SUCCESS SUCCESS SUCCESS SUCCESS SUCCESS SUCCESS SUCCESS NOTFOUND SUCCESS SUCCESS NOTFOUND SUCCESS SUCCESS NOTFOUND "
# shellcheck disable=SC2086
ROTSEC_STORE_DIR=$T/nowhere vg 0 "nss_calls with the store missing" "$NC" \
	"$REL/libnss_rotsec.so.2" $CALLS
mkdir -m 0755 "$T/bad"
head -c 3000 /dev/urandom >"$T/bad/accounts.cdb"
cp "$T/bad/accounts.cdb" "$T/bad/secrets.cdb"
chmod 0644 "$T/bad/accounts.cdb"
chmod 0600 "$T/bad/secrets.cdb"
# shellcheck disable=SC2086
ROTSEC_STORE_DIR=$T/bad vg 0 "nss_calls with a malformed store" "$NC" \
	"$REL/libnss_rotsec.so.2" $CALLS
check_fails "...answers UNAVAIL, never an entry" grep -q SUCCESS "$T/vg.out"

# ---- rotsecctl and rotsecd ----
rotsec_env
CTL=$RCTL
"$CTL" keygen "$T/keys/consumer" >/dev/null 2>&1
conf_write 'rotate_every = "2h"; grace = "1h"; max_grace = "2h";' '{ name = "svc"; gid = 60000; }' \
	'{ name = "svc-a"; uid = 60001; group = "svc";
	   deliver = ( { file = "'"$T"'/out/svc-a.pw"; },
	               { sealed_to = "'"$T"'/keys/consumer.pub"; file = "'"$T"'/out/svc-a.sealed"; } ); },
	 { name = "svc-b"; uid = 60002; group = "svc"; deliver = ( { file = "'"$T"'/out/svc-b.pw"; } ); }'
# c WANT "ARGS" [WHAT]: rotsecctl ARGS under valgrind exits WANT.
# shellcheck disable=SC2086 # ARGS are words
c() { vg "$1" "rotsecctl ${3:-$2}" "$CTL" -c "$CONF" $2; }
c 0 check
c 0 sync "sync (two accounts created, delivered, one sealed)"
c 0 status
c 0 "status svc-a --json"
cp "$T/out/svc-a.pw" "$T/gen1"
c 0 "rotate svc-a"
vg 0 "rotsecctl verify of the current secret" "$CTL" -c "$CONF" verify svc-a <"$T/out/svc-a.pw"
vg 0 "rotsecctl verify of the previous secret" "$CTL" -c "$CONF" verify svc-a <"$T/gen1"
vg 1 "rotsecctl verify of an empty password" "$CTL" -c "$CONF" verify svc-a </dev/null
c 1 "rotate svc-a" "rotate svc-a during grace (refused)"
c 0 "revoke svc-a"
vg 1 "rotsecctl verify of a revoked secret" "$CTL" -c "$CONF" verify svc-a <"$T/gen1"
c 0 "rotate svc-b --revoke-previous"
c 0 "deliver svc-a"
c 0 "show svc-a"
check_eq "show printed the delivered secret" "$(cat "$T/vg.out")" "$(cat "$T/out/svc-a.pw")"
c 0 "show svc-a --json"
c 3 "rotate svc-a --no-such-option" "rotate with an unknown option (usage error)"
vg 0 "rotsecctl keygen" "$CTL" keygen "$T/keys/other"
vg 0 "rotsecctl open of a sealed delivery" "$CTL" open --key "$T/keys/consumer.key" \
	"$T/out/svc-a.sealed"
check_eq "open gave the delivered secret" "$(cat "$T/vg.out")" "$(cat "$T/out/svc-a.pw")"
cp "$CONF" "$T/good.conf"
echo 'accounts = ( { name = "Bad Name"; uid = 0; } );' >>"$CONF"
c 1 sync "sync of a config with errors (refused)"
cp "$T/good.conf" "$CONF"

# rotsecd: start, one rotation on SIGUSR1, SIGTERM.
gen() { "$CTL" -c "$CONF" status svc-a --json 2>/dev/null | sed -n 's/.*"generation": \([0-9]*\).*/\1/p'; }
g0=$(gen)
rm -f "$T/rotsec.prom"
# shellcheck disable=SC2086 # VGOPTS are words
valgrind $VGOPTS "$RDMN" -c "$CONF" -f >"$T/vg.log" 2>&1 &
dpid=$!
at_exit "kill -KILL $dpid"
# wait_for SECS CMD...: until CMD succeeds, the daemon dies or SECS pass.
wait_for() {
	_i=$(($1 * 10))
	shift
	while ! "$@" && kill -0 $dpid 2>/dev/null && [ $_i -gt 0 ]; do
		sleep 0.1
		_i=$((_i - 1))
	done
	"$@"
}
check "rotsecd under valgrind starts (its first metrics)" \
	wait_for 60 grep -q '^rotsec_last_update_timestamp_seconds [0-9]' "$T/rotsec.prom"
kill -USR1 $dpid 2>/dev/null
gen_moved() { [ "$(gen)" != "$g0" ]; }
check "rotsecd under valgrind rotates on SIGUSR1" wait_for 60 gen_moved
kill -TERM $dpid 2>/dev/null
wait $dpid
rc=$?
check_eq "rotsecd under valgrind stops on SIGTERM with no memory error or definite leak" "$rc" 0
[ "$rc" = 0 ] || grep -v '^ok' "$T/vg.log" | head -30 | sed 's/^/# /'

# shellcheck disable=SC2086 # one pid per word
set -- $upids
for u in test_pam test_nss; do
	wait "$1"
	rc=$?
	shift
	check_eq "every case of $u passes under valgrind, no memory error or definite leak" "$rc" 0
	[ "$rc" = 0 ] || grep -vE '^ok ' "$T/$u.log" "$T/$u.out" | head -40 | sed 's/^/# /'
	n=$(grep -c '^ok ' "$T/$u.out")
	check_match "$u ran all its cases under valgrind ($n)" "$(tail -1 "$T/$u.out")$n" \
		'^# ok - tests[1-9][0-9]+$'
done
done_testing
