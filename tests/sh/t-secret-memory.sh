#!/bin/sh
# Secrets are wiped after use (issue 7). A program that handled a secret keeps no copy of
# it anywhere in its memory once it is done: memscan (tests/tools/memscan.c) stops it at
# its exit with ptrace and reads every readable mapping through /proc/PID/mem - heap,
# stacks, anonymous maps, guarded memory not yet freed - for the secret and for every
# 16-byte fragment of it. That is what a core dump, a page in swap or a stray read would
# find. What makes these fail: printing a secret through stdio (a copy stays in stdout's
# buffer), an rs_secret never freed (sodium_free wipes and unmaps it), libsodium's
# decryption residue left on the stack (engine/sealed.h, rs_wipe_stack), libpam or the
# PAM module keeping a password. Also: rotsecctl runs with core dumps off and is not
# dumpable while it holds a secret (rotsecd's side is in t-daemon-hygiene). Release builds.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pam_lib.sh"

MS=$ASAN/tests/tools/memscan
RCTL=$REL/rotsecctl
RDMN=$REL/rotsecd
PL=$REL/tests/tools/pam_logins
for need in "$MS" "$RCTL" "$RDMN" "$PL" "$PAM_REL" "$MKSTORE"; do
	if ! [ -x "$need" ] && ! [ -f "$need" ]; then
		skip "secrets wiped after use" "$need is missing"
		done_testing
		exit 0
	fi
done

# clean WHAT SECRET_FILE CMD...: CMD exits 0 and, at its exit, has no copy of the first
# line of SECRET_FILE (read when CMD exits: it may be what CMD itself delivered).
clean() {
	_what=$1 _needle=$2
	shift 2
	"$MS" "$_needle" "$@" >"$T/ms.out" 2>"$T/ms.err"
	_rc=$?
	case $_rc in
	0) ok "$_what" ;;
	1)
		not_ok "$_what: a copy of the secret is left in its memory"
		grep '^memscan: found' "$T/ms.err" | head -10 | sed 's/^/# /'
		;;
	*)
		not_ok "$_what: it failed (memscan $_rc)"
		sed 's/^/# /' "$T/ms.err" | tail -10
		;;
	esac
}

rotsec_env
CTL=$RCTL
"$CTL" keygen "$T/keys/consumer" >/dev/null 2>&1
cat >"$T/consumer" <<'SH'
#!/bin/sh
# A delivery command: reads the secret from stdin, and records what its parent (the
# rotsecctl or rotsecd delivering) exposes.
d=$(dirname "$0")
cat >/dev/null
grep -E '^Max core file size' /proc/$PPID/limits | tr -s ' ' | cut -d' ' -f5,6 >"$d/parent.core"
if readlink /proc/$PPID/exe >/dev/null 2>&1; then echo readable; else echo refused; fi >"$d/parent.exe"
if readlink /proc/$$/exe >/dev/null 2>&1; then echo readable; else echo refused; fi >"$d/self.exe"
SH
chmod 0755 "$T/consumer"
conf_write 'rotate_every = "2h"; grace = "1h"; max_grace = "2h";' '{ name = "svc"; gid = 60000; }' \
	'{ name = "svc-a"; uid = 60001; group = "svc";
	   deliver = ( { file = "'"$T"'/out/svc-a.pw"; },
	               { sealed_to = "'"$T"'/keys/consumer.pub"; file = "'"$T"'/out/svc-a.sealed"; },
	               { command = [ "'"$T"'/consumer" ]; } ); }'
if ! ctl sync >"$T/sync.out" 2>&1; then
	not_ok "the first sync"
	sed 's/^/# /' "$T/sync.out"
	done_testing
	exit 1
fi
PW=$T/out/svc-a.pw

"$MS" "$PW" /bin/sh -c "x=\$(cat '$PW'); exit 0" >/dev/null 2>"$T/ms.err"
check_eq "the scanner finds a secret that a program still holds (a shell variable)" "$?" 1

clean "rotsecctl show leaves no copy of the secret it printed" "$PW" "$CTL" -c "$CONF" show svc-a
check_eq "...and printed it" "$(cat "$T/ms.out")" "$(cat "$PW")"
clean "rotsecctl show --json leaves no copy of the secret it printed" "$PW" \
	"$CTL" -c "$CONF" show svc-a --json
check_match "...and printed it" "$(cat "$T/ms.out")" "\"secret\": \"$(cat "$PW")\""
clean "rotsecctl open leaves no copy of the secret it unsealed" "$PW" \
	"$CTL" open --key "$T/keys/consumer.key" "$T/out/svc-a.sealed"
check_eq "...and printed it" "$(cat "$T/ms.out")" "$(cat "$PW")"
clean "rotsecctl verify leaves no copy of the password it read" "$PW" \
	"$CTL" -c "$CONF" verify svc-a <"$PW"
check_eq "...and found it current" "$(cat "$T/ms.out")" "current"
clean "rotsecctl deliver leaves no copy of the secret it unsealed and delivered" "$PW" \
	"$CTL" -c "$CONF" deliver svc-a
clean "rotsecctl rotate leaves no copy of the secret it generated and delivered" "$PW" \
	"$CTL" -c "$CONF" rotate svc-a --revoke-previous
check_eq "...which is the current one" "$(verify_as svc-a "$PW")" current

conf_write 'rotate_every = "2h"; grace = "1h"; max_grace = "2h";' '{ name = "svc"; gid = 60000; }' \
	'{ name = "svc-a"; uid = 60001; group = "svc";
	   deliver = ( { file = "'"$T"'/out/svc-a.pw"; },
	               { sealed_to = "'"$T"'/keys/consumer.pub"; file = "'"$T"'/out/svc-a.sealed"; },
	               { command = [ "'"$T"'/consumer" ]; } ); },
	 { name = "svc-n"; uid = 60002; group = "svc"; deliver = ( { file = "'"$T"'/out/svc-n.pw"; } ); }'
clean "rotsecctl sync leaves no copy of the first secret of a new account" "$T/out/svc-n.pw" \
	"$CTL" -c "$CONF" sync

# A command that echoes the secret to stderr and fails: what rotsecctl read of its stderr
# to say why (engine/deliver_stderr.h) is wiped as well.
printf '#!/bin/sh\ncat >&2\nexit 1\n' >"$T/echoer"
chmod 0755 "$T/echoer"
cp "$CONF" "$T/echo.conf"
sed -i 's|^accounts = ($|accounts = ( { name = "svc-e"; uid = 60003; group = "svc"; deliver = ( { file = "'"$T"'/out/svc-e.pw"; }, { command = [ "'"$T"'/echoer" ]; } ); },|' \
	"$T/echo.conf"
"$CTL" -c "$T/echo.conf" sync >/dev/null 2>&1
"$MS" "$T/out/svc-e.pw" "$CTL" -c "$T/echo.conf" deliver svc-e >"$T/ms.out" 2>"$T/ms.err"
check_eq "rotsecctl deliver to a command that echoes the secret to stderr and fails leaves no copy (2: it failed, nothing found)" \
	"$?" 2
check_match "...and said why, redacted" "$(cat "$T/ms.err")" 'stderr: \[redacted\]$'

# rotsecd: one rotation on SIGUSR1, then SIGTERM; memscan is rotsecd's parent.
rm -f "$T/rotsec.prom"
"$MS" "$PW" "$RDMN" -c "$CONF" -f >"$T/ms.out" 2>"$T/ms.err" &
mspid=$!
at_exit "kill -KILL $mspid"
i=0
while ! grep -q '^rotsec_last_update_timestamp_seconds [0-9]' "$T/rotsec.prom" 2>/dev/null && kill -0 $mspid 2>/dev/null &&
	[ $i -lt 300 ]; do
	sleep 0.1
	i=$((i + 1))
done
dpid=$(sed -n 's/^memscan: pid //p' "$T/ms.err")
cp "$PW" "$T/before"
[ -n "$dpid" ] && kill -USR1 "$dpid"
i=0
while cmp -s "$T/before" "$PW" && [ $i -lt 300 ]; do
	sleep 0.1
	i=$((i + 1))
done
check_fails "rotsecd rotated on SIGUSR1" cmp -s "$T/before" "$PW"
sleep 0.5 # the rest of the rotation's deliveries
[ -n "$dpid" ] && kill -TERM "$dpid"
wait $mspid
rc=$?
check_eq "rotsecd, stopped after a rotation, leaves no copy of the secret it made" "$rc" 0
[ "$rc" = 0 ] || sed 's/^/# /' "$T/ms.err" | tail -10

# PAM: libpam wipes PAM_AUTHTOK; the module must not have copied it. pam_logins wipes its
# own copies (its argument, its buffer) after each step.
pam_store "$T/pstore" || exit 1
mkdir -p "$T/pam.d" "$T/prun"
cat >"$T/pam.d/rotsec-mem" <<EOF
auth    required $PAM_REL store=$T/pstore run=$T/prun nodelay
account required $PAM_REL store=$T/pstore run=$T/prun
EOF
for pw in "$CUR" "$PREV" "$OLD"; do
	case $pw in "$CUR") which=current ;; "$PREV") which=previous ;; *) which=revoked ;; esac
	printf '%s\n' "$pw" >"$T/pam.pw"
	clean "pam_rotsec leaves no copy of a password it checked (the $which one)" "$T/pam.pw" \
		"$PL" "$T/pam.d" rotsec-mem "auth:svc-a:$pw" "auth:svc-b:$pw" account:svc-a
done

# Core dumps: a command delivery records what its parent, rotsecctl, exposes. It runs
# without CAP_SYS_PTRACE (out of the bounding set), as an attacker on the host would.
if command -v setpriv >/dev/null 2>&1; then
	setpriv --bounding-set -sys_ptrace --inh-caps -sys_ptrace "$CTL" -c "$CONF" deliver svc-a \
		>/dev/null 2>&1
	check_eq "rotsecctl runs with core dumps off (RLIMIT_CORE 0)" "$(cat "$T/parent.core")" "0 0"
	if [ "$(cat "$T/self.exe")" = readable ]; then
		check_eq "rotsecctl is not dumpable: /proc/PID/exe is refused without CAP_SYS_PTRACE" \
			"$(cat "$T/parent.exe")" refused
	else
		skip "rotsecctl is not dumpable" "this kernel refuses /proc/PID/exe even to the process itself"
	fi
else
	skip "rotsecctl runs with core dumps off and is not dumpable" "setpriv is missing"
fi
done_testing
