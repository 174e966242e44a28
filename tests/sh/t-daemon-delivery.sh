#!/bin/sh
# Deliveries under rotsecd (ARCHITECTURE.md, contract §3): a delivery that fails (a command exiting
# 1, a file in a directory that is not there) holds the previous secret past its deadline, is
# retried with exponential backoff, and at max_grace the previous secret is revoked anyway and the
# account marked degraded in status, metrics, audit and the log; a delivery that recovers
# clears it. Then quiet_revoke, and tripwire hits in the metrics.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon-lib.sh"
rotsec_env
cat >"$T/consumer" <<'SH'
#!/bin/sh
# A consumer that refuses the secret until the test says it is fixed.
d=$(dirname "$0")
[ -e "$d/fixed" ] || exit 1
cat >"$d/got.$ROTSEC_GENERATION"
SH
chmod 0755 "$T/consumer"
conf_write 'rotate_every = "1h"; grace = "1s"; max_grace = "1h"; retry_min = "1s"; retry_max = "2s";' \
	'{ name = "svc"; gid = 60000; }' \
	"{ name = \"svc-f\"; uid = 60001; group = \"svc\"; max_grace = \"8s\"; quiet_revoke = \"1s\";
	   deliver = ( { file = \"$T/out/svc-f.pw\"; }, { command = [ \"$T/consumer\" ]; timeout = \"5s\"; },
	               { file = \"$T/later/svc-f.pw\"; } ); },
	 { name = \"svc-q\"; uid = 60002; group = \"svc\"; grace = \"60s\"; quiet_revoke = \"1s\";
	   deliver = ( { file = \"$T/out/svc-q.pw\"; } ); }"
# Logins are looked at within a second, not the default 10 s (usage_interval).
echo 'usage_interval = "1s";' >>"$CONF"

touch "$T/fixed"
mkdir -p "$T/later"
dmn_start || {
	not_ok "rotsecd starts"
	sed 's/^/# /' "$T/rotsecd.log"
	done_testing
	exit 1
}
check_eq "the first secret reached all three consumers" "$(jfield svc-f delivery)" "ok"
cp "$T/out/svc-f.pw" "$T/f.gen1"
cp "$T/out/svc-q.pw" "$T/q.gen1"

# ---- a failing delivery holds the previous secret ----
rm -f "$T/fixed"
rm -rf "$T/later"
dmn_signal USR1
wait_until 20 gen_is svc-f 2
c2=$(jfield svc-f current_since)
cp "$T/out/svc-f.pw" "$T/f.gen2"
check_eq "the working file consumer got the new secret" "$(verify_as svc-f "$T/f.gen2")" "current"
# The file consumer logs in with the new secret: without the hold, quiet_revoke = 1s
# would now revoke the previous one, which the two failed consumers still hold.
record_use svc-f current
while [ "$(date +%s)" -lt $((c2 + 2)) ]; do sleep 0.1; done
st=$(ctl status svc-f --json)
check_eq "status says two of three deliveries failed" "$(jget "$st" delivery)" "failed 2/3"
check_eq "the previous secret is held to max_grace (activation + 8 s)" \
	"$(jget "$st" previous_valid_until)" "$((c2 + 8))"
check_eq "past its 1 s grace and 1 s of quiet, the previous secret still opens the account" \
	"$(verify_as svc-f "$T/f.gen1")" "previous"
check_eq "the account is not degraded yet" "$(jget "$st" degraded)" "false"
check "the hold is audited" grep -q '"event":"hold","account":"svc-f"' "$T/audit.jsonl"
fails=$(metric rotsec_delivery_failures_total 'account="svc-f"')
check "failed deliveries are counted in the metrics ($fails)" [ "${fails:-0}" -ge 2 ]
check_eq "the metrics show the held deadline" \
	"$(metric rotsec_previous_valid_until_timestamp_seconds 'account="svc-f"')" "$((c2 + 8))"

# The journal keeps each delivery's attempts, last try and next try: "delivery I failed
# ATTEMPTS LAST NEXT". retry_min = 1s doubling up to retry_max = 2s.
backoff_ok() {
	awk '$1 == "delivery" && $3 == "failed" {
		n++; want = 1; for (i = 1; i < $4 && want < 2; i++) want *= 2; if (want > 2) want = 2
		if ($6 - $5 != want) bad++
		if ($4 >= 2) retried++
	} END { exit !(n == 2 && !bad && retried == 2) }' "$T/state/svc-f.state"
}
check "failed deliveries are retried with exponential backoff (1 s, then 2 s)" wait_until 20 backoff_ok
grep '^delivery' "$T/state/svc-f.state" | sed 's/^/# /'

# ---- max_grace: revoke anyway, degraded ----
check "at max_grace the account is marked degraded" wait_until 20 sh -c \
	"\"$CTL\" -c \"$CONF\" status svc-f --json | grep -q '\"degraded\": true'"
now=$(date +%s)
check "not before max_grace" [ "$now" -ge $((c2 + 8)) ]
ctl status svc-f >"$T/st.out" 2>&1
check_eq "status exits 2, critical, for a degraded account" "$?" 2
check_match "and says why" "$(cat "$T/st.out")" "^svc-f: CRITICAL: degraded: max_grace passed"
check_eq "the previous secret is revoked" "$(verify_as svc-f "$T/f.gen1")" "revoked"
check_eq "status shows no previous secret in grace" "$(jfield svc-f previous_valid_until)" "null"
check "the metrics say rotsec_degraded 1" wait_until 20 sh -c \
	"grep -qx 'rotsec_degraded{account=\"svc-f\"} 1' \"$T/rotsec.prom\""
check "the audit log has a degraded event" grep -q '"event":"degraded","account":"svc-f"' "$T/audit.jsonl"
check "an alert-level line names the account" grep -q 'degraded svc-f: generation 2: delivery still failing at max_grace' "$T/rotsecd.log"
check_eq "the new secret still works" "$(verify_as svc-f "$T/f.gen2")" "current"

# ---- recovery ----
touch "$T/fixed"
mkdir -p "$T/later"
check "once the consumers work again a retry delivers to them" wait_until 20 sh -c \
	"\"$CTL\" -c \"$CONF\" status svc-f --json | grep -q '\"delivery\": \"ok\"'"
st=$(ctl status svc-f --json)
check_eq "and the account is no longer degraded" "$(jget "$st" degraded)" "false"
check_eq "the late file consumer got the current secret" "$(verify_as svc-f "$T/later/svc-f.pw")" "current"
check_eq "the command consumer got the same secret on stdin" "$(cat "$T/got.2" 2>/dev/null)" "$(cat "$T/f.gen2")"
check "the metrics say rotsec_degraded 0" wait_until 20 sh -c \
	"grep -qx 'rotsec_degraded{account=\"svc-f\"} 0' \"$T/rotsec.prom\""
check "the recovery is audited (release)" grep -q '"event":"release","account":"svc-f"' "$T/audit.jsonl"

# ---- quiet_revoke (svc-q was rotated by the same SIGUSR1, grace 60 s) ----
check_eq "svc-q was rotated too" "$(jfield svc-q generation)" "2"
check_eq "without a login with the new secret, quiet_revoke waits (previous still valid)" \
	"$(verify_as svc-q "$T/q.gen1")" "previous"
record_use svc-q previous
record_use svc-q current
check "once the new secret is used and the previous one is quiet for 1 s, it is revoked" \
	wait_until 8 sh -c "\"$CTL\" -c \"$CONF\" status svc-q --json | grep -q '\"previous_valid_until\": null'"
check_eq "the previous secret no longer opens the account, long before its 60 s grace" \
	"$(verify_as svc-q "$T/q.gen1")" "revoked"
check "the early revoke is audited with reason quiet" \
	grep -q '"event":"revoke","account":"svc-q".*"reason":"quiet"' "$T/audit.jsonl"
check "the metrics count one login with each secret" wait_until 20 sh -c "
	grep -qx 'rotsec_logins_total{account=\"svc-q\",secret=\"current\"} 1' \"$T/rotsec.prom\" &&
	grep -qx 'rotsec_logins_total{account=\"svc-q\",secret=\"previous\"} 1' \"$T/rotsec.prom\""

# ---- tripwire ----
check_eq "no tripwire hit yet" "$(metric rotsec_tripwire_hits_total 'account="svc-q"')" "0"
record_use svc-q tripwire
check "a login tried with a revoked secret is counted in rotsec_tripwire_hits_total" \
	wait_until 20 sh -c "grep -qx 'rotsec_tripwire_hits_total{account=\"svc-q\"} 1' \"$T/rotsec.prom\""

check "SIGTERM stops the daemon with status 0" dmn_stop
done_testing
