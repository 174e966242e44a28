#!/bin/sh
# rotsecctl status exits as a monitoring plugin does (issue 14, rotsecctl(8) EXIT STATUS):
# 0 all well; 1 warning (not synced yet, a delivery failing but retried within the grace,
# the previous secret still in use in the second half of its validity, a rotation overdue);
# 2 critical (a delivery failing past the grace or with no previous secret to fall back on,
# a store pam_rotsec cannot use; degraded: t-daemon-delivery); 3 unknown (a config that
# does not load, an account that is not configured, a caller without the permission:
# t-core-cli). status --json carries the same verdict, overall and per account, and says
# why; the table's first line is the verdict, its times have seconds and the zone.
. "$(dirname "$0")/lib.sh"
rotsec_env
RECORD_USE=$ASAN/tests/tools/record_use

# A consumer that refuses the secret until the test says it is fixed.
cat >"$T/consumer" <<'SH'
#!/bin/sh
cat >/dev/null
[ -e "$(dirname "$0")/fixed" ] || { echo "consumer: not today" >&2; exit 1; }
SH
chmod 0755 "$T/consumer"
touch "$T/fixed"
accounts='{ name = "svc-ok"; uid = 60001; group = "svc"; deliver = ( { file = "'"$T"'/out/svc-ok.pw"; } ); },
	 { name = "svc-w"; uid = 60002; group = "svc";
	   deliver = ( { file = "'"$T"'/out/svc-w.pw"; }, { command = [ "'"$T"'/consumer" ]; } ); },
	 { name = "svc-c"; uid = 60003; group = "svc"; grace = "2s";
	   deliver = ( { file = "'"$T"'/out/svc-c.pw"; }, { command = [ "'"$T"'/consumer" ]; } ); }'
conf_write 'rotate_every = "1d"; grace = "1h"; max_grace = "2h"; retry_min = "1h";' \
	'{ name = "svc"; gid = 60000; }' "$accounts"

# st [ARGS]: rotsecctl status ARGS, its output in $T/o, its exit status in $rc.
st() {
	ctl status "$@" >"$T/o" 2>"$T/e"
	rc=$?
}
# verdicts: the overall verdict of status --json, then each account's, "name=verdict".
verdicts() {
	ctl status --json "$@" 2>/dev/null | python3 -c '
import json, sys
j = json.load(sys.stdin)
assert j["exit_status"] == {"ok": 0, "warning": 1, "critical": 2, "unknown": 3}[j["verdict"]]
print(" ".join([j["verdict"]] + ["%s=%s" % (a["name"], a["verdict"]) for a in j["accounts"]]))'
}

st
check_eq "before the first sync: warning (1)" "$rc" 1
check_match "the first line says so, naming the accounts" "$(head -n 1 "$T/o")" \
	'^rotsec WARNING: svc-ok, svc-w, svc-c \(3 of 3 accounts\)$'
check_match "and why" "$(cat "$T/o")" '^svc-ok: WARNING: not in the store yet \(rotsecctl sync creates it\)$'

ctl sync >/dev/null 2>&1
st
check_eq "all well: ok (0)" "$rc" 0
check_eq "the first line is the verdict" "$(head -n 1 "$T/o")" "rotsec OK: 3 accounts"
check_eq "status --json agrees" "$(verdicts)" "ok svc-ok=ok svc-w=ok svc-c=ok"
check "with no problems listed" sh -c "'$CTL' -c '$CONF' status --json | grep -c '\"problems\": \[\]' | grep -qx 3"

# ---- times with seconds and zone ----
TZ=Asia/Tokyo ctl status svc-ok >"$T/tz"
check_match "the table's times have seconds and the zone" "$(sed -n 3p "$T/tz")" \
	'^svc-ok .* [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} JST '
next=$(ctl status svc-ok --json | sed -n 's/.*"next_rotation": \([0-9]*\).*/\1/p')
check_match "in the zone asked for" "$(cat "$T/tz")" "$(TZ=Asia/Tokyo date -d "@$next" '+%Y-%m-%d %H:%M:%S JST')"

# ---- a delivery failing within the grace: warning ----
rm -f "$T/fixed"
ctl rotate svc-w >/dev/null 2>&1
st
check_eq "a delivery failing within the grace: warning (1)" "$rc" 1
check_match "the first line names the account" "$(head -n 1 "$T/o")" \
	'^rotsec WARNING: svc-w \(1 of 3 accounts\)$'
check_match "and the last lines say why" "$(cat "$T/o")" \
	'^svc-w: WARNING: delivery failing \(failed 1/2 consumers\), retried; the previous secret is valid until [0-9-]+ [0-9:]+ [A-Z]+$'
check_eq "status --json agrees" "$(verdicts)" "warning svc-ok=ok svc-w=warning svc-c=ok"
st svc-ok
check_eq "status of a healthy account alone is ok (0)" "$rc" 0

# ---- past the grace: critical ----
ctl rotate svc-c >/dev/null 2>&1
c0=$(date +%s)
st svc-c
check_eq "svc-c failing, but within its 2 s grace: warning (1)" "$rc" 1
while [ "$(date +%s)" -le $((c0 + 3)) ]; do sleep 0.2; done
st
check_eq "a delivery failing past the grace: critical (2)" "$rc" 2
check_match "critical wins the first line" "$(head -n 1 "$T/o")" \
	'^rotsec CRITICAL: svc-w, svc-c \(2 of 3 accounts\)$'
check_match "and says the previous secret is only held now" "$(cat "$T/o")" \
	'^svc-c: CRITICAL: delivery failing \(failed 1/2 consumers\) past the grace; the previous secret is held only until '
check_eq "status --json agrees" "$(verdicts)" "critical svc-ok=ok svc-w=warning svc-c=critical"

# ---- no previous secret to fall back on: critical ----
conf_write 'rotate_every = "1d"; grace = "1h"; max_grace = "2h"; retry_min = "1h";' \
	'{ name = "svc"; gid = 60000; }' "$accounts"',
	 { name = "svc-new"; uid = 60004; group = "svc";
	   deliver = ( { command = [ "'"$T"'/consumer" ]; } ); }'
ctl sync >/dev/null 2>&1
st svc-new
check_eq "a new account whose only consumer failed: critical (2)" "$rc" 2
check_match "no previous secret is valid" "$(cat "$T/o")" \
	'^svc-new: CRITICAL: delivery failing \(failed 1/1 consumers\) and no previous secret is valid$'

touch "$T/fixed"
for a in svc-w svc-c svc-new; do ctl deliver "$a" >/dev/null 2>&1; done
st
check_eq "delivered again: ok (0)" "$rc" 0

# ---- the previous secret in use in the second half of its validity: warning ----
ctl rotate svc-ok --grace 4s >/dev/null 2>&1
t0=$(date +%s)
gen=$(ctl status svc-ok --json | sed -n 's/.*"generation": \([0-9]*\).*/\1/p')
"$RECORD_USE" "$T/run" svc-ok "$gen" previous
st svc-ok
check_eq "the previous secret used early in its grace: ok (0)" "$rc" 0
while [ "$(date +%s)" -le $((t0 + 2)) ]; do sleep 0.1; done
st svc-ok
check_eq "still in use in the second half: warning (1)" "$rc" 1
check_match "naming the logins and the deadline" "$(cat "$T/o")" \
	'^svc-ok: WARNING: the previous secret is still in use \(1 login, the last at .*\) and valid only until '
while [ "$(date +%s)" -le $((t0 + 4)) ]; do sleep 0.1; done
st svc-ok
check_eq "once the deadline has passed there is no previous secret to worry about: ok (0)" "$rc" 0

# ---- a rotation overdue: warning (the daemon is not running) ----
FAKETIME_LIB=""
for l in /usr/lib/*/faketime/libfaketime.so.1 /usr/lib/faketime/libfaketime.so.1; do
	[ -f "$l" ] && FAKETIME_LIB=$l && break
done
if [ -n "$FAKETIME_LIB" ]; then
	# The release build: libfaketime and ASan do not mix.
	LD_PRELOAD=$FAKETIME_LIB FAKETIME="+2d" "$REL/rotsecctl" -c "$CONF" status svc-ok \
		>"$T/o" 2>&1
	check_eq "two days on, a rotation due daily is overdue: warning (1)" "$?" 1
	check_match "and is it running?" "$(cat "$T/o")" \
		'^svc-ok: WARNING: rotation overdue since .* \(is rotsecd running\?\)$'
else
	skip "a rotation overdue" "libfaketime is missing"
fi

# ---- what stops status from looking ----
st nosuch
check_eq "an account that is not configured: unknown (3)" "$rc" 3
check_match "named" "$(cat "$T/e")" 'nosuch is not an account of'
ctl status nosuch --json >"$T/o" 2>/dev/null
check_match "--json still gives a verdict" "$(cat "$T/o")" \
	'^\{"verdict": "unknown", "exit_status": 3, "error": ".*nosuch is not an account of.*", "accounts": \[\]\}$'
cp "$CONF" "$T/good.conf"
echo 'accounts = ( { name = "Bad Name"; } );' >>"$CONF"
st
check_eq "a config with errors: unknown (3)" "$rc" 3
cp "$T/good.conf" "$CONF"
st --bogus
check_eq "a usage error: unknown (3), not critical" "$rc" 3

cp -p "$T/store/accounts.cdb" "$T/accounts.good"
printf 'not a cdb file at all' >"$T/store/accounts.cdb"
st
check_eq "an accounts.cdb nss_rotsec cannot use: critical (2)" "$rc" 2
check_match "saying why" "$(cat "$T/e")" "^rotsecctl: .*accounts.cdb"
cp -p "$T/accounts.good" "$T/store/accounts.cdb"
st
check_eq "restored: ok (0)" "$rc" 0
printf 'not a cdb file at all' >"$T/store/secrets.cdb"
st
check_eq "a store pam_rotsec cannot use: critical (2)" "$rc" 2
check_match "saying why" "$(cat "$T/e")" "^rotsecctl: .*secrets.cdb"
ctl status --json >"$T/o" 2>/dev/null
check_match "--json: critical, with the error" "$(cat "$T/o")" \
	'^\{"verdict": "critical", "exit_status": 2, "error": ".*secrets.cdb.*", "accounts": \[\]\}$'

done_testing
