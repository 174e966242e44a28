#!/bin/sh
# rotsecd's process hygiene (issue 5): no secret in syslog, the audit log, the metrics,
# stderr, or the argv and environment of rotsecd and of its delivery commands; commands
# get a clean environment and signal state; rotsecd itself runs with umask 077, no core
# dumps, and is not dumpable (so not readable through /proc or ptrace even by root
# without CAP_SYS_PTRACE).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon-lib.sh"
rotsec_env
cat >"$T/consumer" <<'SH'
#!/bin/sh
# A delivery command: keeps what it got on stdin, and what it and its parent expose.
d=$(dirname "$0")
cat >"$d/got.$ROTSEC_GENERATION"
tr '\0' ' ' </proc/$$/cmdline >>"$d/exposed"
tr '\0' '\n' </proc/$$/environ | sed 's/=.*//' | sort | tr '\n' ' ' >"$d/envnames"
tr '\0' ' ' </proc/$$/environ >>"$d/exposed"
tr '\0' ' ' </proc/$PPID/cmdline >>"$d/exposed" 2>/dev/null
tr '\0' ' ' </proc/$PPID/environ >>"$d/exposed" 2>/dev/null
grep -E '^(SigBlk|SigIgn)' /proc/$$/status | tr -s '\t ' ' ' >"$d/signals"
SH
chmod 0755 "$T/consumer"
conf_write 'rotate_every = "2h"; grace = "1s"; max_grace = "2h";' '{ name = "svc"; gid = 60000; }' \
	'{ name = "svc-a"; uid = 60001; group = "svc";
	   deliver = ( { command = [ "'"$T"'/consumer", "--account", "svc-a" ]; },
	               { file = "'"$T"'/out/svc-a.pw"; } ); }'

# The whole run in a private mount namespace whose /dev/log we read: rotsecd as a
# service (no -f: it logs to syslog), two SIGUSR1 rotations, its /proc entries copied
# while it runs, then SIGTERM.
cat >"$T/scenario" <<'SH'
set -u
ctl() { "$CTL" -c "$CONF" "$@"; }
gen() { ctl status svc-a --json | sed -n 's/.*"generation": \([0-9]*\).*/\1/p'; }
wait_gen() {
	i=0
	while [ "$(gen)" != "$1" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	[ "$(gen)" = "$1" ]
}
env CANARY=visible-in-rotsecd-only "$ROTSECD" -c "$CONF" 2>"$T/rotsecd.stderr" &
pid=$!
i=0
while ! grep -q '^rotsec_last_update_timestamp_seconds [0-9]' "$T/rotsec.prom" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
kill -USR1 $pid && wait_gen 2 || exit 3
sleep 1.1
kill -USR1 $pid && wait_gen 3 || exit 4
tr '\0' ' ' </proc/$pid/cmdline >"$T/rotsecd.cmdline"
tr '\0' ' ' </proc/$pid/environ >"$T/rotsecd.environ"
grep -E '^Umask' /proc/$pid/status | tr -s '\t ' ' ' >"$T/rotsecd.umask"
grep -E '^Max core file size' /proc/$pid/limits | tr -s ' ' >"$T/rotsecd.core"
kill -TERM $pid
wait $pid
SH
with_syslog env CTL="$CTL" CONF="$CONF" T="$T" ROTSECD="$ROTSECD" sh "$T/scenario" >"$T/run.out" 2>&1
rc=$?
check_eq "rotsecd ran as a service, rotated twice on SIGUSR1 and stopped with status 0" "$rc" "0"
[ "$rc" -eq 0 ] || sed 's/^/# /' "$T/run.out" "$T/rotsecd.stderr"

check "rotsecd without -f logs to syslog" grep -q 'rotsecd.*started' "$T/syslog.txt"
check "its audit trail reaches syslog too" grep -q 'audit: event=rotate' "$T/syslog.txt"
check_eq "rotsecd's umask is 077" "$(cat "$T/rotsecd.umask")" "Umask: 0077"
check_eq "rotsecd cannot dump core (RLIMIT_CORE 0)" "$(cut -d' ' -f5,6 "$T/rotsecd.core")" "0 0"
check "rotsecd's environment was captured (it holds the canary the test gave it)" grep -q 'visible-in-rotsecd-only' "$T/rotsecd.environ"
check_eq "the command's environment is PATH, ROTSEC_ACCOUNT and ROTSEC_GENERATION only" \
	"$(cat "$T/envnames")" "PATH ROTSEC_ACCOUNT ROTSEC_GENERATION "
# Signals 32 and 33 are glibc's own (thread cancellation, setxid): no program can change
# them through libc, and an ignored state inherited from whoever started the tests says
# nothing about rotsecd. Every other signal must be unblocked and at its default.
sigs=$(python3 -c '
import sys
f = dict(l.split(":") for l in open(sys.argv[1]).read().split("\n") if ":" in l)
glibc = (1 << 31) | (1 << 32)
print("SigBlk: %016x SigIgn: %016x" % (int(f["SigBlk"], 16), int(f["SigIgn"], 16) & ~glibc))
' "$T/signals")
check_eq "the command starts with no blocked or ignored signal (rotsecd blocks its own)" \
	"$sigs" "SigBlk: 0000000000000000 SigIgn: 0000000000000000"

secrets=$(cat "$T"/got.* | sort -u)
check_eq "the command received three generations on stdin" "$(printf '%s\n' "$secrets" | grep -c .)" "3"
check_eq "the last one is what the file consumer has" "$(cat "$T/got.3")" "$(cat "$T/out/svc-a.pw")"
leaks=0
for s in $secrets; do
	for f in "$T/syslog.txt" "$T/audit.jsonl" "$T/rotsec.prom" "$T/rotsecd.stderr" "$T/run.out" \
		"$T/rotsecd.cmdline" "$T/rotsecd.environ" "$T/exposed" "$T"/state/*.state "$T"/run/*; do
		[ -f "$f" ] || continue
		if grep -qF -- "$s" "$f"; then
			diag "a secret appears in $f"
			leaks=$((leaks + 1))
		fi
	done
done
check_eq "no secret in syslog, audit log, metrics, stderr, journal, usage records, or the argv and environment of rotsecd and of the command" "$leaks" "0"

# ---- not dumpable ----
# PR_SET_DUMPABLE 0 makes /proc/PID/exe (and ptrace) refuse anyone without CAP_SYS_PTRACE,
# even the same uid. So start rotsecd and a control process (dumpable) with CAP_SYS_PTRACE
# out of their bounding set, and look at both from a shell without it: the control's exe
# must be readable (the probe works here), rotsecd's must not.
noptrace="setpriv --bounding-set -sys_ptrace --inh-caps -sys_ptrace"
if ! command -v setpriv >/dev/null 2>&1; then
	skip "rotsecd is not dumpable" "setpriv not installed"
else
	$noptrace sleep 30 &
	ctrl=$!
	at_exit "kill $ctrl"
	rm -f "$T/rotsec.prom"
	$noptrace "$ROTSECD" -c "$CONF" -f >>"$T/rotsecd.log" 2>&1 &
	DPID=$!
	wait_until 20 grep -q '^rotsec_last_update_timestamp_seconds [0-9]' "$T/rotsec.prom"
	if ! $noptrace readlink "/proc/$ctrl/exe" >/dev/null 2>&1; then
		skip "rotsecd is not dumpable" "this kernel refuses /proc/PID/exe even for a dumpable process"
	else
		check_fails "rotsecd is not dumpable: /proc/PID/exe is refused without CAP_SYS_PTRACE" \
			$noptrace readlink "/proc/$DPID/exe"
	fi
	check "rotsecd under a reduced bounding set still stops cleanly" dmn_stop
fi
done_testing
