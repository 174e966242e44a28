#!/bin/sh
# The soak (issue 6): "no flow failure" (ARCHITECTURE.md, contract §3) under continuous logins while
# rotsecd rotates every few seconds. Consumers log in through the real PAM stack without pause:
#   - pam_consumer (tests/tools), an in-process libpam loop (pam_start_confdir), one with
#     a long-lived handle and one with a fresh handle each login;
#   - pamtester, a process per login, through /etc/pam.d;
# each re-reading the secret delivered to it with its own lag, always shorter than the
# grace. Their failed logins must be 0. A negative control in the same run, a consumer
# that never re-reads, must start failing right after the first deadline of its account
# (never before, and within a few seconds after), proving that the soak sees failures.
#
#   SOAK_ROTATIONS=N   rotations of each account (default 10; `make soak`: 100)
#
# Release build throughout (rotsecd, rotsecctl, pam_rotsec.so, pam_consumer), as on a host.
# It all runs in a private mount and network namespace: the usage records are on a tmpfs
# (as /run is), /dev/log is hidden so the logins do not flood the host's journal,
# pamtester's /etc/pam.d is a bind-mounted directory of $T, and nsswitch.conf has rotsec
# (pam_rotsec accepts a secret of a name that resolves to the store's uid).
if [ -z "${ROTSEC_SOAK_NS:-}" ]; then
	if unshare -mn true 2>/dev/null; then
		ROTSEC_SOAK_NS=1 exec unshare -mn sh "$0" "$@"
	fi
	ROTSEC_SOAK_NS=none
	export ROTSEC_SOAK_NS
fi
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon-lib.sh"
. "$(dirname "$0")/pam_lib.sh"
# Killed (^C, a closed pipe): still stop the consumers and rotsecd, through the EXIT trap.
trap 'exit 1' HUP INT TERM PIPE

ROTATIONS=${SOAK_ROTATIONS:-10}
ROTSECD=$REL/rotsecd
CTL=$REL/rotsecctl
CONSUMER=$REL/tests/tools/pam_consumer
for need in pamtester "$CONSUMER" "$ROTSECD"; do
	if ! command -v "$need" >/dev/null 2>&1 && [ ! -x "$need" ]; then
		skip "the soak" "$need is missing"
		done_testing
		exit 0
	fi
done
if [ "$ROTSEC_SOAK_NS" != 1 ]; then
	skip "the soak" "no private mount and network namespace here (unshare -mn)"
	done_testing
	exit 0
fi

# ---- the namespace
rotsec_env
mkdir -p "$T/run" "$T/pam.d" "$T/.devup" "$T/.devwork"
mount --make-rprivate / &&
	mount -t tmpfs -o mode=0700,size=4m rotsec-soak-run "$T/run" &&
	mount -t overlay overlay -o "lowerdir=/dev,upperdir=$T/.devup,workdir=$T/.devwork" /dev &&
	rm -f /dev/log &&
	mount --bind "$T/pam.d" /etc/pam.d &&
	nss_rotsec_ns "$T/store" || {
	not_ok "the soak's namespace is set up"
	done_testing
	exit 1
}
at_exit "umount -l $T/run /etc/pam.d /etc/nsswitch.conf /dev"

# One service for both kinds of consumer: pam_consumer reads it from $T/pam.d, pamtester
# from /etc/pam.d, which is the same directory here.
cat >"$T/pam.d/rotsec-soak" <<EOF
auth     [success=done user_unknown=ignore default=die] $REL/pam_rotsec.so store=$T/store run=$T/run nodelay
auth     requisite pam_deny.so
account  [success=ok user_unknown=ignore default=die] $REL/pam_rotsec.so store=$T/store run=$T/run
account  required pam_permit.so
EOF

# Every 3 s a rotation, 2 s of grace. The grace being shorter than a minute, rotsecd
# holds the previous secret to max_grace while delivering and then gives it its 2 s from
# the end of the deliveries.
C=$T/out
conf_write 'rotate_every = "3s"; grace = "2s"; max_grace = "6s";' '{ name = "svc"; gid = 60000; }' \
	'{ name = "svc-s1"; uid = 60001; group = "svc";
	   deliver = ( { file = "'"$C"'/s1-now.pw"; }, { file = "'"$C"'/s1-lag.pw"; },
	               { file = "'"$C"'/s1-pamtester.pw"; } ); },
	 { name = "svc-s2"; uid = 60002; group = "svc";
	   deliver = ( { file = "'"$C"'/s2-lag.pw"; }, { file = "'"$C"'/s2-fresh.pw"; } ); },
	 { name = "svc-neg"; uid = 60003; group = "svc";
	   deliver = ( { file = "'"$C"'/neg.pw"; } ); }'

check "rotsecd (release build) starts" dmn_start
check "and delivers the first secrets of every consumer" wait_until 30 sh -c \
	"for f in s1-now s1-lag s1-pamtester s2-lag s2-fresh neg; do [ -s $C/\$f.pw ] || exit 1; done"

# ---- the consumers
# consumer NAME USER FILE OPTIONS...: pam_consumer until $T/stop exists; its summary line
# goes to $T/NAME.res, its failed logins to $T/NAME.fail.
consumer() {
	_n=$1 _u=$2 _f=$3
	shift 3
	"$CONSUMER" -S "$T/stop" -o "$T/$_n.fail" "$@" "$T/pam.d" rotsec-soak "$_u" "$C/$_f" \
		>"$T/$_n.res" 2>&1 &
	pids="$pids $!"
}
# pamtester_loop NAME USER FILE: a pamtester process per login, reading the file each
# time. Paced: pamtester reports every login to the kernel audit log, which is the host's.
pamtester_loop() {
	_n=$1 _u=$2 _f=$3
	(
		n=0 f=0
		while [ ! -e "$T/stop" ]; do
			if ! pamtester rotsec-soak "$_u" authenticate acct_mgmt <"$C/$_f" >/dev/null 2>&1; then
				f=$((f + 1))
				echo "fail $(now_ms)" >>"$T/$_n.fail"
			fi
			n=$((n + 1))
			sleep 0.1
		done
		echo "logins $n ok $((n - f)) failed $f" >"$T/$_n.res"
	) &
	pids="$pids $!"
}
pids=""
at_exit 'touch "$T/stop"; kill $pids'
start_ms=$(now_ms)
consumer s1-now svc-s1 s1-now.pw -l 0 -p 1
consumer s1-lag svc-s1 s1-lag.pw -l 700 -p 1
pamtester_loop s1-pamtester svc-s1 s1-pamtester.pw
consumer s2-lag svc-s2 s2-lag.pw -l 300 -p 1
consumer s2-fresh svc-s2 s2-fresh.pw -l 0 -p 1 -r 1
consumer neg svc-neg neg.pw -l -1 -p 5

# The negative control's first deadline: the previous secret's end once generation 2 is
# delivered (before that it is held to max_grace). Polled fast: it is there for 2 s.
negline() { ctl status --json 2>/dev/null | grep '"name": "svc-neg"'; }
neg_deadline=""
_end=$(($(now_ms) + 60000))
while [ "$(now_ms)" -lt "$_end" ]; do
	l=$(negline)
	g=$(jget "$l" generation)
	if [ "$g" = 2 ] && [ "$(jget "$l" step)" = delivered ]; then
		neg_deadline=$(jget "$l" previous_valid_until)
		break
	fi
	[ -n "$g" ] && [ "$g" -gt 2 ] && break
	sleep 0.1
done

# ---- until every soaked account has rotated ROTATIONS times
rotations() { # the smallest number of rotations of svc-s1 and svc-s2
	_s=$(ctl status --json 2>/dev/null)
	_a=$(jget "$(printf '%s\n' "$_s" | grep '"name": "svc-s1"')" generation)
	_b=$(jget "$(printf '%s\n' "$_s" | grep '"name": "svc-s2"')" generation)
	[ -n "$_a" ] && [ -n "$_b" ] || { echo 0; return; }
	[ "$_a" -lt "$_b" ] && echo $((_a - 1)) || echo $((_b - 1))
}
# Generous: 3 s a rotation, three times over, and a minute more on a busy machine.
_end=$(($(now_ms) + (60 + ROTATIONS * 9) * 1000))
while [ "$(rotations)" -lt "$ROTATIONS" ] && [ "$(now_ms)" -lt "$_end" ]; do
	sleep 1
done
touch "$T/stop"
for p in $pids; do wait "$p"; done
elapsed_ms=$(($(now_ms) - start_ms))
total_rot=0
for a in svc-s1 svc-s2 svc-neg; do
	total_rot=$((total_rot + $(jfield "$a" generation) - 1))
done
got_rot=$(rotations)
check "each soaked account rotated at least $ROTATIONS times while the consumers logged in ($got_rot)" \
	[ "$got_rot" -ge "$ROTATIONS" ]

# ---- results
field() { sed -n "s/.*\<$2 \([0-9]*\).*/\1/p" "$T/$1.res"; }
logins=0 failures=0
for n in s1-now s1-lag s1-pamtester s2-lag s2-fresh; do
	l=$(field "$n" logins) f=$(field "$n" failed)
	if [ -z "$l" ] || [ -z "$f" ]; then
		not_ok "consumer $n reported its logins"
		sed 's/^/# /' "$T/$n.res"
		continue
	fi
	logins=$((logins + l)) failures=$((failures + f))
	check_eq "consumer $n never failed a login ($f of $l failed)" "$f" 0
	[ "$f" = 0 ] || head -5 "$T/$n.fail" | sed 's/^/# /'
	[ "$l" -gt 0 ] || not_ok "consumer $n logged in at all"
done
secs=$((elapsed_ms / 1000))
[ "$secs" -gt 0 ] || secs=1
rate=$((logins / secs))
echo "# soak: $logins logins in ${secs}s ($rate logins/s), $total_rot rotations, $failures failures"
check_eq "no failed login in $logins ($rate/s) over $total_rot rotations" "$failures" 0

# The negative control.
nl=$(field neg logins) nok=$(field neg ok) nf=$(field neg failed)
ffs=$(field neg first_fail_start_ms) ffe=$(field neg first_fail_end_ms)
lok=$(field neg last_ok_start_ms)
if [ -z "$neg_deadline" ] || [ "$neg_deadline" = null ] || [ -z "$nf" ]; then
	not_ok "the negative control's first deadline was seen ('$neg_deadline')"
	sed 's/^/# /' "$T/neg.res"
else
	d_ms=$((neg_deadline * 1000))
	echo "# negative control: $nl logins, $nok ok before the deadline, first failure $((ffs - d_ms)) ms after it"
	check "the negative control logged in before the first deadline ($nok times)" [ "$nok" -gt 0 ]
	check "it never failed before the deadline (first failure ended $((ffe - d_ms)) ms after it)" \
		[ "$nf" -gt 0 -a "$ffe" -ge "$d_ms" ]
	check "it failed within 3 s after the deadline (first failure began $((ffs - d_ms)) ms after it)" \
		[ "$nf" -gt 0 -a "$ffs" -le $((d_ms + 3000)) ]
	# PAM reads the clock in whole seconds with time(), which may lag the millisecond
	# clock by a tick: a login that began a few ms past the deadline may still pass.
	check "it never logged in again after the deadline (last success began $((lok - d_ms)) ms from it)" \
		[ "$lok" -lt $((d_ms + 1000)) ]
	check "its failures are refusals, not errors of the store" \
		sh -c "! grep -v ' PAM_AUTH_ERR$' $T/neg.fail | grep -q ."
fi

ctl status --json | grep '"name"' >"$T/status"
check_fails "no account is degraded" grep -q '"degraded": true' "$T/status"
check_fails "every delivery is ok" grep -qv '"delivery": "ok"' "$T/status"
for f in s1-now s1-lag s2-lag; do
	v=$(ctl verify "svc-${f%%-*}" <"$C/$f.pw" 2>/dev/null)
	case $v in current | previous) ok "the last secret delivered to $f still logs in ($v)" ;;
	*) not_ok "the last secret delivered to $f still logs in ($v)" ;; esac
done
# What the logins cost rotsecd: each one rewrites a usage record, which wakes it (inotify).
cpu=$(awk -v hz="$(getconf CLK_TCK)" '{ printf "%.1f", ($14 + $15) / hz }' "/proc/$DPID/stat" 2>/dev/null)
echo "# rotsecd used ${cpu:-?} s of CPU in ${secs} s"
check "rotsecd exits 0 on SIGTERM" dmn_stop
check_fails "rotsecd logged no error" grep -Eq 'rotation failed|cannot|error' "$T/rotsecd.log"
grep -E 'rotation failed|cannot|error' "$T/rotsecd.log" | head -5 | sed 's/^/# /'
done_testing
