#!/bin/sh
# The verify step (ARCHITECTURE.md, contract §3): an account's `verify` command runs once every
# consumer has the new secret, with no secret (stdin is /dev/null) and the same clean
# environment as a delivery command. Until it passes the rotation is not done: the
# previous secret is held as for a failed delivery, the command is retried with backoff,
# and at max_grace the previous secret is revoked and the account marked degraded; once
# it passes, the hold is released. Through rotsecctl first, then under rotsecd.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon-lib.sh"
rotsec_env
cat >"$T/check" <<'SH'
#!/bin/sh
# The consumer's health check: passes while the test says the service is healthy.
# Records what it was given: its environment, and how many bytes stdin held.
d=$(dirname "$0")
n=$(wc -c | tr -d ' ')
echo "gen=$ROTSEC_GENERATION account=$ROTSEC_ACCOUNT stdin=$n env=$(env | sort | tr '\n' ' ')" >>"$d/check.log"
[ -e "$d/healthy" ]
SH
chmod 0755 "$T/check"
conf_write 'rotate_every = "1h"; grace = "1s"; max_grace = "8s"; retry_min = "1s"; retry_max = "2s";' \
	'{ name = "svc"; gid = 60000; }' \
	"{ name = \"svc-v\"; uid = 60001; group = \"svc\"; verify = [ \"$T/check\", \"--quick\" ];
	   deliver = ( { file = \"$T/out/svc-v.pw\"; } ); },
	 { name = \"svc-n\"; uid = 60002; group = \"svc\";
	   deliver = ( { file = \"$T/out/svc-n.pw\"; } ); }"

# ---- through rotsecctl ----
touch "$T/healthy"
check "sync creates the accounts" ctl sync
check_match "the verify command ran for the first secret, after its delivery" \
	"$(cat "$T/check.log")" "gen=1 account=svc-v stdin=0 "
check_eq "it was given no secret and only PATH, ROTSEC_ACCOUNT and ROTSEC_GENERATION (and PWD)" \
	"$(sed -n 's/.* env=//p' "$T/check.log" | tr ' ' '\n' | grep -v '^$' | cut -d= -f1 | grep -v '^PWD$' | sort | tr '\n' ' ')" \
	"PATH ROTSEC_ACCOUNT ROTSEC_GENERATION "
check_eq "status: verify ok" "$(jfield svc-v verify)" "ok"
check_eq "an account without a verify command says none" "$(jfield svc-n verify)" "none"
check "the journal keeps the outcome" grep -qx 'verify ok 0 [0-9]* 0' "$T/state/svc-v.state"
check "the audit log has the verify step" \
	grep -q '"event":"verify","account":"svc-v","generation":1,"command":"'"$T"'/check","result":"ok"' "$T/audit.jsonl"
cp "$T/out/svc-v.pw" "$T/v.gen1"

# A failing check: the rotation activates and delivers, then holds the previous secret.
rm -f "$T/healthy"
ctl rotate svc-v >"$T/rot.out" 2>"$T/rot.err"
check_eq "rotate exits 1 when the verify command fails" "$?" "1"
check_match "and says why" "$(cat "$T/rot.err")" "verify command of svc-v failed: command $T/check exited with status 1"
check_match "and that the previous secret stays valid" "$(cat "$T/rot.err")" "previous secret stays valid until max_grace"
cp "$T/out/svc-v.pw" "$T/v.gen2"
st=$(ctl status svc-v --json)
c2=$(jget "$st" current_since)
check_eq "the new secret was delivered" "$(verify_as svc-v "$T/v.gen2")" "current"
check_eq "status: delivery ok" "$(jget "$st" delivery)" "ok"
check_eq "status: verify failed" "$(jget "$st" verify)" "failed"
check_eq "status: the step stays at activated" "$(jget "$st" step)" "activated"
check_eq "the previous secret is held to max_grace (activation + 8 s)" \
	"$(jget "$st" previous_valid_until)" "$((c2 + 8))"
check_match "the table says so" "$(ctl status svc-v)" "verify failed"
check "the failure is audited at warning level" \
	grep -q '"event":"verify","account":"svc-v","generation":2,.*"result":"failed"' "$T/audit.jsonl"
check "the journal has the retry time (attempt 1, backoff 1 s)" \
	awk '$1 == "verify" && $2 == "failed" && $3 == 1 && $5 - $4 == 1 { f = 1 } END { exit !f }' "$T/state/svc-v.state"
while [ "$(date +%s)" -lt $((c2 + 2)) ]; do sleep 0.1; done
check_eq "past its 1 s grace the previous secret still opens the account" \
	"$(verify_as svc-v "$T/v.gen1")" "previous"

# Fixed by hand: rotsecctl deliver delivers again and checks again.
touch "$T/healthy"
check "rotsecctl deliver runs the check again" ctl deliver svc-v
st=$(ctl status svc-v --json)
check_eq "status: verify ok" "$(jget "$st" verify)" "ok"
check_eq "status: the step is delivered" "$(jget "$st" step)" "delivered"
pvu=$(jget "$st" previous_valid_until)
now=$(date +%s)
released() { [ "$pvu" = null ] || [ "$pvu" -le $((now + 1)) ]; }
check "the hold is released: the previous secret gets its 1 s grace from now ($pvu)" released
check "the release is audited" grep -q '"event":"release","account":"svc-v","generation":2' "$T/audit.jsonl"
check_eq "gen 2 was checked twice" "$(grep -c '^gen=2 ' "$T/check.log")" "2"
sleep 1.2

# ---- under rotsecd: retried with backoff, then degraded at max_grace, then recovered ----
rm -f "$T/healthy"
dmn_start || {
	not_ok "rotsecd starts"
	sed 's/^/# /' "$T/rotsecd.log"
	done_testing
	exit 1
}
dmn_signal USR1
wait_until 20 gen_is svc-v 3
c3=$(jfield svc-v current_since)
cp "$T/out/svc-v.pw" "$T/v.gen3"
check "the daemon retries the check (3 attempts or more)" wait_until 20 sh -c \
	"test \$(grep -c '^gen=3 ' \"$T/check.log\") -ge 3"
check_eq "meanwhile the previous secret still opens the account" "$(verify_as svc-v "$T/v.gen2")" "previous"
check "the metrics count the failures" wait_until 20 sh -c \
	"v=\$(sed -n 's/^rotsec_verify_failures_total{account=\"svc-v\"} //p' \"$T/rotsec.prom\"); [ \"\${v:-0}\" -ge 2 ]"
check "at max_grace the account is marked degraded" wait_until 20 sh -c \
	"\"$CTL\" -c \"$CONF\" status svc-v --json | grep -q '\"degraded\": true'"
check "not before max_grace" [ "$(date +%s)" -ge $((c3 + 8)) ]
check_eq "the previous secret is revoked" "$(verify_as svc-v "$T/v.gen2")" "revoked"
check "an alert-level line says the verify command still fails" \
	grep -q 'degraded svc-v: generation [0-9]*: verify command still failing at max_grace' "$T/rotsecd.log"
check "the metrics say rotsec_degraded 1" wait_until 20 sh -c \
	"grep -qx 'rotsec_degraded{account=\"svc-v\"} 1' \"$T/rotsec.prom\""
touch "$T/healthy"
check "once the check passes the account is no longer degraded" wait_until 20 sh -c \
	"\"$CTL\" -c \"$CONF\" status svc-v --json | grep -q '\"degraded\": false'"
check_eq "the step is delivered" "$(jfield svc-v step)" "delivered"
check_eq "the current secret works throughout" "$(verify_as svc-v "$T/v.gen3")" "current"
check_eq "svc-n, without a check, was rotated and done at once" "$(jfield svc-n step)" "delivered"
check "SIGTERM stops the daemon with status 0" dmn_stop

# A redelivery by hand whose check fails reopens the rotation: the daemon takes it up.
rm -f "$T/healthy"
ctl deliver svc-v >/dev/null 2>&1
check_eq "rotsecctl deliver with a failing check exits 1" "$?" "1"
check_eq "the step is back at activated" "$(jfield svc-v step)" "activated"
touch "$T/healthy"
dmn_start || not_ok "rotsecd starts again"
check "the daemon retries the check and finishes" wait_until 20 sh -c \
	"\"$CTL\" -c \"$CONF\" status svc-v --json | grep -q '\"step\": \"delivered\"'"
check_eq "verify ok" "$(jfield svc-v verify)" "ok"
check "SIGTERM stops it again" dmn_stop
check "no secret in the check's log" sh -c "! grep -qF -f \"$T/v.gen3\" \"$T/check.log\""
done_testing
