#!/bin/sh
# What anyone who can reach a login prompt can make rotsecd do is bounded (ARCHITECTURE.md, Trust
# boundaries): a flood of failed logins wakes it not at all, a flood of successful ones makes it
# look at the changed usage records at most once per usage_interval, for those accounts alone; its
# metrics are rewritten at least every metrics_interval, so a stale file shows a dead
# daemon; one rotsecd per state dir; the command line conventions.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon-lib.sh"
. "$(dirname "$0")/pam_lib.sh" # pam_nss: the logins' names resolve through nss_rotsec
rotsec_env

PL=$REL/tests/tools/pam_logins
accounts='{ name = "svc-a"; uid = 60001; group = "svc"; deliver = ( { file = "'"$T"'/out/svc-a.pw"; } ); },
	 { name = "svc-b"; uid = 60002; group = "svc"; deliver = ( { file = "'"$T"'/out/svc-b.pw"; } ); }'
conf_write 'rotate_every = "1d"; grace = "1h"; max_grace = "2h";' '{ name = "svc"; gid = 60000; }' "$accounts"
echo 'usage_interval = "3s"; metrics_interval = "1h";' >>"$CONF"

# ---- the command line ----
check "rotsecd --help says how to use it" sh -c "'$ROTSECD' --help | grep -q '^usage: rotsecd'"
check_match "rotsecd --version names the version" "$("$ROTSECD" --version)" '^rotsecd [0-9]+\.[0-9]+\.[0-9]+'
"$ROTSECD" --no-such-option >"$T/o" 2>&1
check_eq "an unknown option is a usage error (2)" "$?" 2
check_match "named, with a pointer to --help" "$(cat "$T/o")" "no-such-option.*
Try 'rotsecd --help' for more information"
check_eq "without the whole usage text" "$(grep -c . "$T/o")" 2

DMN_ARGS=-d
dmn_start || {
	not_ok "rotsecd starts"
	sed 's/^/# /' "$T/rotsecd.log"
	done_testing
	exit 1
}

# ---- one rotsecd per state dir ----
"$ROTSECD" -c "$CONF" -f >"$T/second.log" 2>&1 &
second=$!
wait_until 10 sh -c "! kill -0 $second 2>/dev/null"
if kill -0 "$second" 2>/dev/null; then
	not_ok "a second rotsecd on the same config exits at once"
	kill -KILL "$second"
else
	ok "a second rotsecd on the same config exits at once"
fi
wait "$second"
check_eq "with a non-zero status" "$([ $? -ne 0 ] && echo nonzero)" nonzero
check_match "naming the pid that holds the lock" "$(cat "$T/second.log")" \
	"another rotsecd \(pid $DPID\) is running"
check "the first one runs on" kill -0 "$DPID"

# ---- logins ----
mkdir -p "$T/pam.d"
cat >"$T/pam.d/rotsec-load" <<P
auth    required $REL/pam_rotsec.so store=$T/store run=$T/run nodelay
P
passes() { grep -c 'pass over' "$T/rotsecd.log"; }
writes() { grep -c 'metrics written' "$T/rotsecd.log"; }
sleep 1
p0=$(passes) w0=$(writes)
steps=""
i=0
while [ $i -lt 500 ]; do
	steps="$steps auth:nosuch$i:wrong auth:svc-a:wrong$i"
	i=$((i + 1))
done
# Besides the daemon's own debug lines, the metrics file seen from outside: each rewrite
# is a new inode.
: >"$T/inodes"
(
	while [ ! -e "$T/flood.done" ]; do
		stat -c %i "$T/rotsec.prom" >>"$T/inodes" 2>/dev/null
		sleep 0.02
	done
) &
watcher=$!
# shellcheck disable=SC2086 # steps are words
pam_nss "$PL" "$T/pam.d" rotsec-load $steps >"$T/flood.out"
sleep 4
touch "$T/flood.done"
wait "$watcher"
check_eq "the metrics file was not replaced during the flood" "$(uniq "$T/inodes" | wc -l)" 1
check_eq "1,000 failed logins ran" "$(grep -c PAM_ "$T/flood.out")" 1000
check_eq "and failed" "$(grep -c -e PAM_USER_UNKNOWN -e PAM_AUTH_ERR "$T/flood.out")" 1000
check_eq "they made rotsecd do no pass at all" "$(($(passes) - p0))" 0
check_eq "and no metrics rewrite" "$(($(writes) - w0))" 0

# Successful logins change svc-a's usage record each time: one pass over svc-a alone per
# usage_interval, however many there are.
p0=$(passes) w0=$(writes)
t0=$(date +%s)
n=0
while [ "$(date +%s)" -lt $((t0 + 5)) ]; do
	pam_nss "$PL" "$T/pam.d" rotsec-load authfile:svc-a:"$T/out/svc-a.pw" \
		authfile:svc-a:"$T/out/svc-a.pw" authfile:svc-a:"$T/out/svc-a.pw" >>"$T/ok.out"
	n=$((n + 3))
done
elapsed=$(($(date +%s) - t0))
sleep 4
check_eq "the successful logins succeeded" "$(grep -c PAM_SUCCESS "$T/ok.out")" "$n"
np=$(($(passes) - p0))
nw=$(($(writes) - w0))
diag "$n successful logins in $elapsed s: $np passes, $nw metrics rewrites"
check "at most one pass per usage_interval (3 s) over $elapsed s, not one per login ($np)" \
	[ "$np" -ge 1 ] && [ "$np" -le $((elapsed / 3 + 2)) ]
check "each over the one changed account" sh -c \
	"! tail -n +1 '$T/rotsecd.log' | grep 'pass over the changed' | grep -qv 'usage of 1 account$'"
check "metrics rewritten once per pass at most ($nw)" [ "$nw" -le "$np" ]
check_eq "what the logins did is in the status" "$(jfield svc-a current_logins)" "$n"

# ---- the heartbeat ----
dmn_stop
sed -i 's/metrics_interval = "1h"/metrics_interval = "1s"/' "$CONF"
dmn_start || not_ok "rotsecd starts again"
sleep 1
w0=$(writes)
sleep 3
nw=$(($(writes) - w0))
check "an idle daemon rewrites its metrics every metrics_interval (1 s: $nw in 3 s)" \
	[ "$nw" -ge 2 ] && [ "$nw" -le 5 ]
last=$(metric rotsec_last_update_timestamp_seconds)
check "each rewrite carries its time" [ $(($(date +%s) - last)) -le 2 ]
kill -KILL "$DPID"
wait "$DPID" 2>/dev/null
DPID=
sleep 3
check_eq "a daemon killed with SIGKILL leaves the time of its last rewrite, which then ages" \
	"$(metric rotsec_last_update_timestamp_seconds)" "$last"
check "past 3 intervals, the staleness alert of README's rules would fire" \
	[ $(($(date +%s) - last)) -gt $((2 * $(metric rotsec_metrics_interval_seconds))) ]
dmn_start && ok "a new rotsecd starts once the first was killed (the lock died with it)" ||
	not_ok "a new rotsecd starts once the first was killed"

done_testing
