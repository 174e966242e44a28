#!/bin/sh
# Faults at the system level (issue 6), always judged by what a consumer gets from the real
# PAM stack (pam_rotsec through libpam: the ASan pam_consumer, pamtester) and from NSS:
#   1. SIGKILL of `rotsecctl rotate` and of rotsecd at every step of a rotation, chained
#      trial after trial on one store: the store stays valid, the rotation resumes (sync,
#      restart), and every consumer holding the latest delivered secret logs in;
#   2. two rotations of one account racing, CLI against rotsecd and CLI against CLI:
#      exactly one wins;
#   3. ENOSPC (a small tmpfs) while writing the store and while delivering: the old store
#      and the old delivery stay, the error says so, and the rotation is retried and
#      succeeds once there is space again, without rotsecd spinning meanwhile;
#   4. store files damaged or unsafe: PAM says PAM_AUTHINFO_UNAVAIL, NSS knows no rotsec
#      name while root still resolves, and syslog says why;
#   5. the wall clock stepped forward and back during the grace (libfaketime, release
#      binaries: libfaketime and ASan do not mix): the previous secret is never accepted
#      at or past activation + max_grace.
#
#   FAULT_TRIALS=N   SIGKILL trials in part 1 (`make soak`: 1000). Default: a sample,
#                    every step of a CLI rotation once and every third of a daemon one.
#
# It runs in a private mount and network namespace: syslog goes to a socket of the test's
# own (/dev is an overlay), /etc/pam.d and /etc/nsswitch.conf are bind-mounted copies,
# the library dir an overlay carrying the release libnss_rotsec.so.2, tmpfs mounts die
# with the namespace. The host's files are checksummed before and after.
if [ -z "${ROTSEC_FAULTS_NS:-}" ]; then
	if unshare -mn true 2>/dev/null; then
		ROTSEC_FAULTS_NS=1 exec unshare -mn sh "$0" "$@"
	fi
	ROTSEC_FAULTS_NS=none
	export ROTSEC_FAULTS_NS
fi
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon-lib.sh"
# Killed (^C, a closed pipe): still stop rotsecd and the syslog catcher (EXIT trap).
trap 'exit 1' HUP INT TERM PIPE

CONSUMER=$ASAN/tests/tools/pam_consumer
CONSUMER_REL=$REL/tests/tools/pam_consumer
FAKETIME_LIB=
for l in /usr/lib/*/faketime/libfaketime.so.1 /usr/lib/faketime/libfaketime.so.1; do
	[ -f "$l" ] && FAKETIME_LIB=$l && break
done
MA=$(${CC:-gcc} -print-multiarch 2>/dev/null)
[ -n "$MA" ] || MA=x86_64-linux-gnu
LIBDIR=/usr/lib/$MA
for need in pamtester getent python3 "$CONSUMER" "$CONSUMER_REL" "$REL/libnss_rotsec.so.2"; do
	if ! command -v "$need" >/dev/null 2>&1 && [ ! -e "$need" ]; then
		skip "system faults" "$need is missing"
		done_testing
		exit 0
	fi
done
if [ "$ROTSEC_FAULTS_NS" != 1 ] || [ ! -d "$LIBDIR" ]; then
	skip "system faults" "no private mount and network namespace here (unshare -mn)"
	done_testing
	exit 0
fi
host_sums() { sum_of /etc/passwd /etc/group /etc/shadow /etc/nsswitch.conf /etc/pam.d/*; }
before=$(host_sums)

# ---- the namespace
rotsec_env
mkdir -p "$T/.devup" "$T/.devwork" "$T/pam.rel" "$T/pam.asan" "$T/lib" "$T/etc"
install -m 0644 "$REL/libnss_rotsec.so.2" "$T/lib/"
sed -E 's/^(passwd|group|shadow):.*/\1: files rotsec/' /etc/nsswitch.conf >"$T/etc/nsswitch.conf"
: >"$T/syslog.txt"
mount --make-rprivate / &&
	mount -t overlay overlay -o "lowerdir=/dev,upperdir=$T/.devup,workdir=$T/.devwork" /dev &&
	mount -t overlay rotsec-lib -o "lowerdir=$T/lib:$LIBDIR" "$LIBDIR" &&
	mount --bind "$T/etc/nsswitch.conf" /etc/nsswitch.conf &&
	mount --bind "$T/pam.rel" /etc/pam.d || {
	not_ok "the test's namespace is set up"
	done_testing
	exit 1
}
python3 "$top/tests/sh/syslog-catcher.py" /dev/log "$T/syslog.txt" &
catcher=$!
at_exit "kill $catcher"
wait_until 10 test -S /dev/log || not_ok "the syslog catcher listens on /dev/log"

# section NAME DEFAULTS ACCOUNTS: a setup of its own under $T/NAME — config $CONF, store
# $S, outbox $OUT — and the PAM service $SVC for it: the release module in $T/pam.rel
# (which is /etc/pam.d here, for pamtester), the ASan one in $T/pam.asan. Every section
# shares the key, the audit log and the metrics file (daemon-lib.sh watches that one).
section() {
	D=$T/$1 S=$T/$1/store OUT=$T/$1/out SVC=rotsec-$1
	mkdir -p "$S" "$OUT"
	chmod 0755 "$D" "$S" "$OUT"
	CONF=$D/rotsec.conf
	cat >"$CONF" <<EOF
store_dir = "$S";
state_dir = "$D/state";
key_file = "$T/rotsec.key";
run_dir = "$D/run";
audit_log = "$T/audit.jsonl";
metrics_file = "$T/rotsec.prom";
passwd_file = "$T/passwd";
group_file = "$T/group";
defaults = { $2 };
groups = ( { name = "svc"; gid = 60000; } );
accounts = ( $3 );
EOF
	for v in rel asan; do
		cat >"$T/pam.$v/$SVC" <<EOF
auth     [success=done user_unknown=ignore default=die] $O/$v/pam_rotsec.so store=$S run=$D/run nodelay
auth     requisite pam_deny.so
account  [success=ok user_unknown=ignore default=die] $O/$v/pam_rotsec.so store=$S run=$D/run
account  required pam_permit.so
EOF
	done
}

# pam_says FILE [USER]: what one login with the secret in FILE gets through libpam and
# the ASan pam_rotsec.so (PAM_SUCCESS, PAM_AUTH_ERR, ...). Sanitizer reports to asan.err.
pam_says() {
	"$CONSUMER" -n 1 "$T/pam.asan" "$SVC" "${2:-svc-a}" "$1" 2>>"$T/asan.err" |
		sed -n 's/.* last //p'
}
# pam_at EPOCH FILE [USER]: the same with the release module, the wall clock at EPOCH.
pam_at() {
	env LD_PRELOAD="$FAKETIME_LIB" FAKETIME="$(ft_offset "$1")" \
		"$CONSUMER_REL" -n 1 "$T/pam.rel" "$SVC" "${3:-svc-a}" "$2" 2>/dev/null |
		sed -n 's/.* last //p'
}
# verify_at EPOCH FILE [USER]: rotsecctl verify (release) with the wall clock at EPOCH.
verify_at() {
	env LD_PRELOAD="$FAKETIME_LIB" FAKETIME="$(ft_offset "$1")" \
		"$REL/rotsecctl" -c "$CONF" verify "${3:-svc-a}" <"$2" 2>/dev/null
}
# libfaketime's relative form: "+N" or "-N" seconds from now.
ft_offset() {
	_o=$(($1 - $(date +%s)))
	[ "$_o" -ge 0 ] && echo "+$_o" || echo "$_o"
}
nss_name() { ROTSEC_STORE_DIR=$S getent passwd "$1" | cut -d: -f1; }
temps_in() { ls -a "$@" 2>/dev/null | grep -q '^\..*\.[A-Za-z0-9]\{6\}$'; }
sfield() { jfield "${2:-svc-a}" "$1"; }
# at_gen N: svc-a is at generation N with every delivery done. settled: no rotation is
# under way. gen_above N: svc-a is past generation N.
at_gen() {
	ctl status svc-a --json 2>/dev/null |
		grep -q "\"generation\": $1,.*\"delivery\": \"ok\".*\"step\": \"delivered\""
}
settled() { ctl status svc-a --json 2>/dev/null | grep -q '"step": "delivered"'; }
gen_above() { [ "$(sfield generation)" -gt "$1" ]; }

# The command consumer: stores what it is given, atomically, next to itself.
cat >"$T/consumer" <<'SH'
#!/bin/sh
d=$(dirname "$0")
cat >"$d/got.tmp" && mv "$d/got.tmp" "$d/got"
SH
chmod 0755 "$T/consumer"

###########################################################################################
# 1. SIGKILL at every step, chained
section kill 'rotate_every = "2h"; grace = "1h"; max_grace = "2h"; retry_min = "1s"; retry_max = "2s";' \
	'{ name = "svc-a"; uid = 60001; group = "svc";
	   deliver = ( { file = "'"$T"'/kill/out/svc-a.pw"; },
	               { command = [ "'"$T"'/kill/consumer" ]; } ); }'
cp "$T/consumer" "$T/kill/consumer"
GOT=$T/kill/got
check "a first sync creates the account and delivers to both consumers" ctl sync
check_eq "the file consumer's secret logs in through PAM" "$(pam_says "$OUT/svc-a.pw")" PAM_SUCCESS
check_eq "the command consumer's secret logs in through PAM" "$(pam_says "$GOT")" PAM_SUCCESS

# The steps: every fault point a rotation passes, in order, as NAME@N (the Nth time it
# passes NAME). rotsecd's list leaves out its start-up and its metrics writes, whose
# number depends on timing.
steps_of() { awk '{ n[$0]++; print $0 "@" n[$0] }' "$1"; }
ctl revoke svc-a >/dev/null 2>&1
ROTSEC_FAULT_LOG=$T/seq.cli ctl rotate svc-a >/dev/null 2>&1
steps_of "$T/seq.cli" >"$T/steps.cli"
ctl revoke svc-a >/dev/null 2>&1
dmn_start ROTSEC_FAULT_LOG="$T/seq.dmn" || not_ok "rotsecd starts to list its steps"
n0=$(wc -l <"$T/seq.dmn")
dmn_signal USR1
wait_until 30 at_gen 3
dmn_stop >/dev/null
steps_of "$T/seq.dmn" | tail -n +$((n0 + 1)) | grep -v 'rotsec\.prom' >"$T/steps.dmn"
ncli=$(wc -l <"$T/steps.cli")
ndmn=$(wc -l <"$T/steps.dmn")
check "a CLI rotation passes at least 25 steps ($ncli)" [ "$ncli" -ge 25 ]
check "a daemon rotation passes at least 25 steps ($ndmn)" [ "$ndmn" -ge 25 ]

# The trials: all of both lists, in turn, FAULT_TRIALS in all; by default every CLI step
# and every third daemon step.
if [ -n "${FAULT_TRIALS:-}" ]; then
	i=0
	while [ "$i" -lt "$FAULT_TRIALS" ]; do
		sed "s/^/cli /" "$T/steps.cli"
		sed "s/^/dmn /" "$T/steps.dmn"
		i=$((i + ncli + ndmn))
	done | head -n "$FAULT_TRIALS" >"$T/trials"
else
	{
		sed "s/^/cli /" "$T/steps.cli"
		awk 'NR % 3 == 1 { print "dmn " $0 }' "$T/steps.dmn"
	} >"$T/trials"
fi

trials=0 bad=0 killed=0 resumed=0 redone=0
bad_at() {
	diag "trial $trials ($1 killed at $2): $3"
	bad=$((bad + 1))
}
# consumers_log_in WHO STEP WHEN: every consumer's secret logs in through PAM, the store is
# readable by the CLI and by NSS.
consumers_log_in() {
	for f in "$OUT/svc-a.pw" "$GOT"; do
		r=$(pam_says "$f")
		[ "$r" = PAM_SUCCESS ] || bad_at "$1" "$2" "$3: $(basename "$f") gets $r"
	done
	# Any verdict will do (a rotation under way is a warning): the account is shown.
	ctl status svc-a --json 2>/dev/null | grep -q '"name": "svc-a"' ||
		bad_at "$1" "$2" "$3: rotsecctl status fails"
	[ "$(nss_name svc-a)" = svc-a ] || bad_at "$1" "$2" "$3: NSS does not resolve svc-a"
}
while read -r who step; do
	# Progress for the long runs (`make soak`, FAULT_TRIALS=1000).
	[ "$trials" -gt 0 ] && [ $((trials % 100)) -eq 0 ] &&
		diag "SIGKILL: $trials trials so far, $bad inconsistencies"
	trials=$((trials + 1))
	ctl revoke svc-a >/dev/null 2>&1
	gen=$(sfield generation)
	cp "$OUT/svc-a.pw" "$T/before.pw"
	if [ "$who" = cli ]; then
		ROTSEC_FAULT=$step ctl rotate svc-a >/dev/null 2>&1
		rc=$?
	else
		if dmn_start ROTSEC_FAULT="$step"; then
			dmn_signal USR1
			if dmn_wait_dead 60; then rc=$DMN_RC; else
				rc=timeout
				_dmn_kill
			fi
		else
			rc=start
			_dmn_kill
		fi
	fi
	if [ "$rc" != 137 ]; then
		bad_at "$who" "$step" "exit status $rc, not SIGKILL"
		continue
	fi
	killed=$((killed + 1))
	consumers_log_in "$who" "$step" "after the kill"
	# Resume: the way the process that was killed would (sync for the CLI, a restart).
	if [ "$who" = cli ]; then
		ctl sync >/dev/null 2>"$T/sync.err" || bad_at cli "$step" "sync fails: $(cat "$T/sync.err")"
	else
		dmn_start || bad_at dmn "$step" "restart fails: $(tail -2 "$T/rotsecd.log")"
	fi
	# Killed before the rotation's journal existed: nothing to resume, rotate again.
	wait_until 5 gen_above "$gen"
	if [ "$(sfield generation)" = "$gen" ]; then
		redone=$((redone + 1))
		if [ "$who" = cli ]; then ctl rotate svc-a >/dev/null 2>&1; else dmn_signal USR1; fi
	else
		resumed=$((resumed + 1))
	fi
	if ! wait_until 30 at_gen $((gen + 1)); then
		bad_at "$who" "$step" "not resumed: $(ctl status svc-a --json | tr -d '\n')"
	fi
	[ "$who" = dmn ] && { dmn_stop || bad_at dmn "$step" "the restarted rotsecd did not stop cleanly"; }
	consumers_log_in "$who" "$step" "after the resume"
	for f in "$OUT/svc-a.pw" "$GOT"; do
		v=$(verify_as svc-a "$f")
		[ "$v" = current ] || bad_at "$who" "$step" "after the resume $(basename "$f") is '$v'"
	done
	v=$(verify_as svc-a "$T/before.pw")
	[ "$v" = previous ] || bad_at "$who" "$step" "after the resume the secret before is '$v'"
	temps_in "$S" "$T/kill/state" "$OUT" && bad_at "$who" "$step" "a temp file is left"
done <"$T/trials"
echo "# SIGKILL: $trials trials ($(grep -c '^cli' "$T/trials") of rotsecctl, $(grep -c '^dmn' "$T/trials") of rotsecd), $killed killed, $resumed resumed, $redone never journaled and rotated again; $bad inconsistencies"
check "SIGKILL at each of $trials steps: store valid, rotation resumed, consumers log in ($bad inconsistencies)" \
	[ "$bad" -eq 0 -a "$killed" -eq "$trials" ]

###########################################################################################
# 2. Two rotations of one account racing
race_round() { # race_round cli|dmn [late]: one race after a revoke; sets winner
	ctl revoke svc-a >/dev/null 2>&1
	gen=$(sfield generation)
	cp "$OUT/svc-a.pw" "$T/before.pw"
	if [ "$1" = dmn ] && [ -n "${2:-}" ]; then
		(
			sleep 0.1
			kill -USR1 "$DPID"
		) &
	elif [ "$1" = dmn ]; then
		dmn_signal USR1
	else
		ctl rotate svc-a >"$T/r2.out" 2>&1 &
		p2=$!
	fi
	ctl rotate svc-a >"$T/r1.out" 2>&1
	rc1=$?
	rc2=0
	[ "$1" = cli ] && { wait $p2 || rc2=$?; }
	# Let rotsecd finish whatever it started (it rotates in its own pass).
	wait_until 30 settled
	sleep 0.5
	wait_until 30 settled
	got=$(sfield generation)
	if [ "$got" != $((gen + 1)) ]; then
		diag "$1 race: generation $gen -> $got (CLI exit $rc1, $rc2)"
		return 1
	fi
	if [ "$1" = cli ] && [ $((rc1 + rc2)) -ne 1 ]; then
		diag "CLI race: exit statuses $rc1 and $rc2"
		return 1
	fi
	if [ "$rc1" != 0 ] && ! grep -q 'in grace' "$T/r1.out"; then
		diag "$1 race: the loser says '$(cat "$T/r1.out")'"
		return 1
	fi
	[ "$rc1" = 0 ] && winner="the first CLI" || winner=other
	[ "$(pam_says "$OUT/svc-a.pw")" = PAM_SUCCESS ] && [ "$(verify_as svc-a "$OUT/svc-a.pw")" = current ] &&
		[ "$(verify_as svc-a "$T/before.pw")" = previous ] || {
		diag "$1 race: the delivered secret does not log in as current"
		return 1
	}
}
bad=0 wins=""
for i in 1 2 3 4; do race_round cli || bad=$((bad + 1)); done
check "two rotsecctl rotate at once: exactly one wins, 4 times over" [ "$bad" -eq 0 ]
dmn_start || not_ok "rotsecd starts for the races"
bad=0 cliwins=0
for i in 1 2 3 4 5 6; do
	# Half of the time rotsecd is told first, half of the time the CLI starts first.
	race_round dmn $([ $((i % 2)) = 0 ] && echo late) || bad=$((bad + 1))
	[ "$winner" = "the first CLI" ] && cliwins=$((cliwins + 1))
done
check "rotsecctl rotate against rotsecd's SIGUSR1 rotation: exactly one wins, 6 times over (CLI won $cliwins)" \
	[ "$bad" -eq 0 ]
dmn_stop >/dev/null

###########################################################################################
# 3. ENOSPC: the store and the outbox each on a small tmpfs, filled up by a file beside
# them (not in them: rotsecd watches its dirs, and freeing space elsewhere must do).
section full 'rotate_every = "2h"; grace = "1h"; max_grace = "2h"; retry_min = "1s"; retry_max = "2s";' \
	'{ name = "svc-a"; uid = 60001; group = "svc"; deliver = ( { file = "'"$T"'/full/dlv/out/svc-a.pw"; } ); }'
mkdir -p "$T/full/dlv" "$T/full/st"
mount -t tmpfs -o size=128k,mode=0755 rotsec-full-store "$T/full/st" &&
	mount -t tmpfs -o size=128k,mode=0755 rotsec-full-dlv "$T/full/dlv" &&
	mkdir -m 0755 "$T/full/st/store" "$T/full/dlv/out" || not_ok "small tmpfs mounts"
at_exit "umount -l $T/full/st $T/full/dlv"
sed -i "s|^store_dir = .*|store_dir = \"$T/full/st/store\";|" "$CONF"
sed -i "s|store=$S |store=$T/full/st/store |" "$T/pam.rel/$SVC" "$T/pam.asan/$SVC"
S=$T/full/st/store OUT=$T/full/dlv/out
fill() { dd if=/dev/zero of="$1/fill" bs=4k >/dev/null 2>&1; sync; }
ctl sync >/dev/null || not_ok "sync onto the small tmpfs"
cp "$OUT/svc-a.pw" "$T/full.1"

# 3a. The store's file system is full.
fill "$T/full/st"
sums=$(sum_of "$S/accounts.cdb" "$S/secrets.cdb")
out=$(ctl rotate svc-a 2>&1)
check_eq "rotate with the store's file system full fails" "$?" 1
check_match "and says why, and that the store is unchanged" "$out" 'No space left on device.*the store is unchanged'
check_eq "the store is byte for byte the old one" "$(sum_of "$S/accounts.cdb" "$S/secrets.cdb")" "$sums"
check_fails "no temp file is left in the store" temps_in "$S"
check_eq "the delivered secret still logs in through PAM" "$(pam_says "$OUT/svc-a.pw")" PAM_SUCCESS
check_eq "NSS still resolves the account" "$(nss_name svc-a)" svc-a
: >"$T/rotsecd.log"
check "rotsecd starts with the store full (the start-up sync fails and is retried)" dmn_start
sleep 3
spins=$(grep -c 'No space left' "$T/rotsecd.log")
check "rotsecd does not spin on the full store ($spins errors logged in 3 s)" [ "$spins" -le 8 ]
check_eq "the journaled rotation has not happened yet" "$(sfield generation)" 1
rm -f "$T/full/st/fill"
check "once there is space the rotation is retried and finished" wait_until 30 at_gen 2
check_eq "the newly delivered secret logs in through PAM" "$(pam_says "$OUT/svc-a.pw")" PAM_SUCCESS
check_eq "and the old one during the grace" "$(pam_says "$T/full.1")" PAM_SUCCESS
cp "$OUT/svc-a.pw" "$T/full.2"
# The same for a rotation rotsecd starts itself.
ctl revoke svc-a >/dev/null
fill "$T/full/st"
: >"$T/rotsecd.log"
dmn_signal USR1
check "rotsecd's own rotation fails on the full store and says so" \
	wait_until 20 grep -q 'secrets.cdb: No space left on device; the store is unchanged' "$T/rotsecd.log"
sleep 3
spins=$(grep -c 'No space left' "$T/rotsecd.log")
check "and does not spin meanwhile ($spins errors logged in 3 s)" [ "$spins" -le 8 ]
check_eq "the delivered secret still logs in meanwhile" "$(pam_says "$OUT/svc-a.pw")" PAM_SUCCESS
rm -f "$T/full/st/fill"
check "once there is space rotsecd finishes it" wait_until 30 at_gen 3
check_eq "its delivered secret logs in through PAM" "$(pam_says "$OUT/svc-a.pw")" PAM_SUCCESS
dmn_stop >/dev/null

# 3b. The delivery's file system is full.
cp "$OUT/svc-a.pw" "$T/full.3"
ctl revoke svc-a >/dev/null
fill "$T/full/dlv"
out=$(ctl rotate svc-a 2>&1)
check_eq "rotate with the outbox full reports the failed delivery" "$?" 1
check_match "and says why, and that the previous secret stays valid" "$out" \
	'svc-a.pw: No space left on device; the previous secret stays valid until max_grace'
check "the consumer's file is the old one, whole" cmp -s "$OUT/svc-a.pw" "$T/full.3"
check_fails "no temp file is left in the outbox" temps_in "$OUT"
check_eq "it still logs in through PAM (as the previous secret, held)" "$(pam_says "$OUT/svc-a.pw")" PAM_SUCCESS
check_eq "held to max_grace" "$(sfield previous_valid_until)" "$(($(sfield current_since) + 7200))"
check "rotsecd starts and retries the delivery" dmn_start
sleep 2
check_eq "which still fails while the outbox is full" "$(sfield delivery)" "failed 1/1"
rm -f "$T/full/dlv/fill"
check "once there is space the delivery is retried and succeeds" wait_until 30 at_gen 4
check_eq "the new secret logs in through PAM" "$(pam_says "$OUT/svc-a.pw")" PAM_SUCCESS
check_eq "as the current one" "$(verify_as svc-a "$OUT/svc-a.pw")" current
dmn_stop >/dev/null

###########################################################################################
# 4. Damaged and unsafe store files
section bad 'rotate_every = "2h"; grace = "1h"; max_grace = "2h";' \
	'{ name = "svc-a"; uid = 60001; group = "svc"; deliver = ( { file = "'"$T"'/bad/out/svc-a.pw"; } ); }'
ctl sync >/dev/null || not_ok "sync of the store to damage"
cp -a "$S" "$S.good"
restore() { rm -rf "$S" && cp -a "$S.good" "$S"; }
# damaged FILE CASE SETUP WHY: with FILE of the store made CASE by SETUP, PAM and NSS fail
# closed, root resolves, and syslog has a line matching WHY.
damaged() {
	restore
	eval "$3" || not_ok "set-up: $2"
	l0=$(wc -l <"$T/syslog.txt")
	if [ "$1" = secrets.cdb ]; then
		check_eq "$1 $2: PAM says PAM_AUTHINFO_UNAVAIL" "$(pam_says "$OUT/svc-a.pw")" PAM_AUTHINFO_UNAVAIL
		check_fails "$1 $2: pamtester is refused" pamtester "$SVC" svc-a authenticate <"$OUT/svc-a.pw"
		check_match "$1 $2: pamtester says the information is unavailable" "$(cat "$T/.out")" \
			'cannot retrieve authentication info'
		check_eq "$1 $2: NSS gives no shadow entry" "$(ROTSEC_STORE_DIR=$S getent shadow svc-a; echo $?)" 2
		who='cannot use the rotsec store'
	else
		check_eq "$1 $2: NSS resolves no rotsec name" "$(ROTSEC_STORE_DIR=$S getent passwd svc-a; echo $?)" 2
		# A whole file refused takes the groups with it; one damaged record, only itself.
		case $2 in *record*) ;; *)
			check_eq "$1 $2: nor the rotsec group" "$(ROTSEC_STORE_DIR=$S getent group svc; echo $?)" 2
			;;
		esac
		who='nss_rotsec: '
	fi
	check_eq "$1 $2: root still resolves" "$(ROTSEC_STORE_DIR=$S getent passwd root | cut -d: -f1)" root
	if wait_until 5 sh -c "tail -n +$((l0 + 1)) $T/syslog.txt | grep -F '$who' | grep -F '$1' |
		grep -Eq '$4'"; then
		ok "$1 $2: syslog says why ('$who', the file, what is wrong)"
	else
		not_ok "$1 $2: syslog says why ('$who', the file, what is wrong)"
		tail -n +$((l0 + 1)) "$T/syslog.txt" | head -5 | sed 's/^/#   /'
	fi
}
# damage_record FILE KEY FROM TO: in the record after KEY, FROM becomes TO (same length).
damage_record() {
	python3 - "$@" <<'PY'
import sys
path, key, old, new = sys.argv[1], sys.argv[2].encode(), sys.argv[3].encode(), sys.argv[4].encode()
b = bytearray(open(path, "rb").read())
i = b.index(old, b.index(key))
b[i:i + len(old)] = new
open(path, "wb").write(b)
PY
}
damaged secrets.cdb "has svc-a's record damaged" \
	"damage_record $S/secrets.cdb sn:svc-a '\$rotsec-b2b\$' '\$rotsec-b2X\$'" 'damaged record|malformed'
damaged accounts.cdb "has svc-a's record damaged" \
	"damage_record $S/accounts.cdb pn:svc-a 60001 6000x" 'damaged record|malformed'
for f in secrets.cdb accounts.cdb; do
	p=$S/$f
	damaged $f "is random bytes" "head -c 4096 /dev/urandom >$p" 'not a valid store file|no valid header|damaged'
	damaged $f "is truncated" "head -c \$((\$(stat -c %s $p) / 2)) $p >$T/t && cat $T/t >$p" \
		'not a valid store file|no valid header|damaged'
	damaged $f "has a byte of its CDB table flipped" \
		"printf 'X' | dd of=$p bs=1 seek=3 conv=notrunc 2>/dev/null" 'not a valid store file|no valid header|damaged'
	damaged $f "is empty" ": >$p" 'not a valid store file|no valid header'
	damaged $f "is huge (65 MiB)" "truncate -s 65M $p" 'too large|larger'
	damaged $f "is a symlink" "mv $p $T/elsewhere && ln -s $T/elsewhere $p" 'symbolic link'
	damaged $f "is a FIFO" "rm $p && mkfifo -m 0600 $p" 'not a regular file'
	damaged $f "is group-writable" "chmod g+w $p" 'writable by group or others'
	damaged $f "is owned by another user" "chown 12345 $p" 'not owned by root'
done
restore
check_eq "the restored store works again through PAM" "$(pam_says "$OUT/svc-a.pw")" PAM_SUCCESS
check_eq "and through NSS" "$(nss_name svc-a)" svc-a

###########################################################################################
# 5. The wall clock stepped during the grace (release binaries under libfaketime)
if [ -z "$FAKETIME_LIB" ]; then
	skip "clock steps" "libfaketime is missing (Debian package faketime)"
else
	# A grace of 10 s within a max_grace of 60 s; a consumer whose delivery fails until
	# $T/clock/deliver-ok exists makes rotsecd hold the previous secret to max_grace.
	section clock 'rotate_every = "2h"; grace = "10s"; max_grace = "60s"; retry_min = "1s"; retry_max = "1s";' \
		'{ name = "svc-a"; uid = 60001; group = "svc";
		   deliver = ( { file = "'"$T"'/clock/out/svc-a.pw"; }, { command = [ "'"$T"'/clock/flaky" ]; } ); }'
	printf '#!/bin/sh\ncat >/dev/null\n[ -e "%s" ]\n' "$T/clock/deliver-ok" >"$T/clock/flaky"
	chmod 0755 "$T/clock/flaky"
	touch "$T/clock/deliver-ok"
	ctl sync >/dev/null || not_ok "sync for the clock steps"
	rm "$T/clock/deliver-ok"
	cp "$OUT/svc-a.pw" "$T/clock.1"
	ctl rotate svc-a >/dev/null 2>&1
	A=$(sfield current_since)
	L=$((A + 60))
	echo "+0" >"$T/faketime"
	ROTSECD=$REL/rotsecd
	dmn_start LD_PRELOAD="$FAKETIME_LIB" FAKETIME_TIMESTAMP_FILE="$T/faketime" FAKETIME_NO_CACHE=1 \
		FAKETIME_DONT_FAKE_MONOTONIC=1 || not_ok "rotsecd starts under libfaketime"
	# step_to DELTA: rotsecd's wall clock to activation + DELTA, then wait for a pass (a
	# reload, then the pass that rewrites the metrics).
	step_to() {
		ft_offset $((A + $1)) >"$T/faketime"
		_m=$(stat -c %y "$T/rotsec.prom" 2>/dev/null)
		dmn_signal HUP
		wait_until 20 sh -c "[ \"\$(stat -c %y $T/rotsec.prom 2>/dev/null)\" != '$_m' ]"
	}
	# never_past WHAT: the limit holds, in the store, and for PAM and verify at and past it.
	never_past() {
		u=$(sfield previous_valid_until)
		case $u in
		null) ok "$1: the store holds no previous secret any more" ;;
		*) check "$1: the store's deadline is not past activation + max_grace ($u <= $L)" \
			[ "${u:-0}" -le "$L" ] ;;
		esac
		for t in "$L" $((L + 1)) $((L + 3600)); do
			r=$(pam_at "$t" "$T/clock.1")
			v=$(verify_at "$t" "$T/clock.1")
			if [ "$r" != PAM_AUTH_ERR ] || [ "$v" = previous ] || [ "$v" = current ]; then
				not_ok "$1: the previous secret at activation + $((t - A)) s: PAM $r, verify '$v'"
				return
			fi
		done
		ok "$1: the previous secret is refused at and past activation + max_grace (PAM, verify)"
	}
	check_eq "held while a delivery fails: the previous secret logs in" "$(pam_says "$T/clock.1")" PAM_SUCCESS
	check_eq "and with the clock 5 s before the limit (activation + max_grace)" "$(pam_at $((L - 5)) "$T/clock.1")" PAM_SUCCESS
	never_past "held, rotsecd's clock right"
	step_to -3600
	never_past "held, rotsecd's clock an hour back"
	check_eq "an hour back, the previous secret still logs in with the right clock" \
		"$(pam_says "$T/clock.1")" PAM_SUCCESS
	step_to 50
	never_past "held, rotsecd's clock 10 s before the limit"
	touch "$T/clock/deliver-ok"
	step_to 55
	check "with the deliveries done 5 s before the limit, the hold is released" \
		wait_until 20 settled
	check_eq "to the limit, not to that time + grace" "$(sfield previous_valid_until)" "$L"
	never_past "released, rotsecd's clock 5 s before the limit"
	step_to 3600
	never_past "rotsecd's clock an hour past activation"
	check_eq "where it revoked the previous secret for good (a tripwire)" \
		"$(verify_as svc-a "$T/clock.1")" revoked
	step_to -7200
	never_past "rotsecd's clock then two hours before activation"
	check_eq "two hours before activation PAM refuses it too" \
		"$(pam_at $((A - 7200)) "$T/clock.1")" PAM_AUTH_ERR
	check_eq "the delivered secret logs in" "$(pam_says "$OUT/svc-a.pw")" PAM_SUCCESS
	dmn_stop >/dev/null
	ROTSECD=$ASAN/rotsecd
	# rotate --grace longer than max_grace, by a CLI whose clock is 10 min back.
	cp "$OUT/svc-a.pw" "$T/clock.2"
	env LD_PRELOAD="$FAKETIME_LIB" FAKETIME=-600 "$REL/rotsecctl" -c "$CONF" rotate svc-a \
		--grace 1h >/dev/null 2>&1
	A=$(sfield current_since)
	L=$((A + 60))
	check "rotate --grace 1h by a CLI 10 min back activates in its time ($A)" \
		[ "$A" -lt $(($(date +%s) - 500)) ]
	check_eq "with the deadline at activation + max_grace, not + 1 h" \
		"$(jget "$(env LD_PRELOAD="$FAKETIME_LIB" FAKETIME=-600 "$REL/rotsecctl" -c "$CONF" \
			status svc-a --json)" previous_valid_until)" "$L"
	check_eq "PAM with that clock accepts the previous secret 5 s before it" \
		"$(pam_at $((L - 5)) "$T/clock.2")" PAM_SUCCESS
	check_eq "and refuses it at it" "$(pam_at "$L" "$T/clock.2")" PAM_AUTH_ERR
fi

check_fails "no sanitizer report from the ASan PAM module or rotsecd" \
	grep -q 'Sanitizer' "$T/asan.err" "$T/rotsecd.log"
umount /etc/pam.d /etc/nsswitch.conf
check_eq "the host's passwd, group, shadow, nsswitch.conf and pam.d are unchanged" "$(host_sums)" "$before"
done_testing
