#!/bin/sh
# rotsecctl end to end in a temp dir: sync, store files, delivery, verify through the
# grace window, compromise rotation, revoke, re-delivery, show, sealed delivery, status.
. "$(dirname "$0")/lib.sh"
rotsec_env

ctl keygen "$T/keys/consumer" >/dev/null 2>&1
conf_write 'rotate_every = "1h"; grace = "2s"; max_grace = "1h";' \
	'{ name = "svc"; gid = 60000; }' \
	'{ name = "svc-a"; uid = 60001; group = "svc"; gecos = "Service A"; home = "/var/lib/svc-a"; shell = "/bin/sh";
	   deliver = ( { file = "'"$T"'/out/svc-a.pw"; owner = "backup"; mode = "0440"; },
	               { sealed_to = "'"$T"'/keys/consumer.pub"; file = "'"$T"'/out/svc-a.sealed"; } ); },
	 { name = "svc-b"; uid = 60002; group = "svc"; groups = [ "backup" ];
	   deliver = ( { file = "'"$T"'/out/svc-b.pw"; } ); }'

check "check accepts a valid config" ctl check
check "sync creates the accounts" ctl sync

st() { stat -c '%a %U %G' "$1"; }
check_eq "accounts.cdb is 0644 root:root" "$(st "$T/store/accounts.cdb")" "644 root root"
check_eq "secrets.cdb is 0640 root:rotsec when group rotsec exists" \
	"$(stat -c '%a %U %g' "$T/store/secrets.cdb")" "640 root 990"
check_eq "state dir is 0700 root" "$(st "$T/state")" "700 root root"
check_eq "host key is 0600 root" "$(stat -c '%a %U %s' "$T/rotsec.key")" "600 root 32"
check_eq "file delivery has the configured owner, group and mode" \
	"$(stat -c '%a %U %G' "$T/out/svc-a.pw")" "440 backup backup"
check_eq "file delivery defaults to 0400 root" "$(st "$T/out/svc-b.pw")" "400 root root"
check_eq "delivered secret is 32 alphanumerics and a newline" \
	"$(grep -cE '^[A-Za-z0-9]{32}$' "$T/out/svc-a.pw")" "1"
check_match "passwd record is in accounts.cdb" "$(cdb -d "$T/store/accounts.cdb" | tr '\0' '|')" \
	'pn:svc-a->svc-a\|60001\|60000\|Service A\|/var/lib/svc-a\|/bin/sh\|'
check_match "supplementary group recorded for initgroups" \
	"$(cdb -d "$T/store/accounts.cdb" | tr '\0' '|')" 'ig:svc-b->34\|'
check_eq "delivered secret verifies as current" "$(verify_as svc-a "$T/out/svc-a.pw")" "current"
ctl open --key "$T/keys/consumer.key" "$T/out/svc-a.sealed" >"$T/opened" 2>/dev/null
check_eq "sealed delivery opens to the same secret" "$(cat "$T/opened")" "$(cat "$T/out/svc-a.pw")"
check "show prints the current secret to root" sh -c "ctl() { \"$CTL\" -c \"$CONF\" \"\$@\"; }; [ \"\$(ctl show svc-a)\" = \"\$(cat $T/out/svc-a.pw)\" ]"
printf 'wrong-password\n' >"$T/wrong"
check_eq "a wrong password is no match" "$(verify_as svc-a "$T/wrong")" "no match"
check_fails "verify exits non-zero for no match" sh -c "\"$CTL\" -c \"$CONF\" verify svc-a <$T/wrong"
: >"$T/empty"
check_eq "an empty password is no match" "$(verify_as svc-a "$T/empty")" "no match"
check_eq "another account's secret is no match" "$(verify_as svc-b "$T/out/svc-a.pw")" "no match"

# ---- rotation and the grace window ----
cp "$T/out/svc-a.pw" "$T/gen1"
check "rotate succeeds" ctl rotate svc-a
cp "$T/out/svc-a.pw" "$T/gen2"
check_fails "the delivered file changed" cmp -s "$T/gen1" "$T/gen2"
check_eq "new secret is current" "$(verify_as svc-a "$T/gen2")" "current"
check_eq "old secret is previous during grace" "$(verify_as svc-a "$T/gen1")" "previous"
out=$(ctl rotate svc-a 2>&1)
rc=$?
check_eq "a second rotation during grace is refused" "$rc" "1"
check_match "the refusal says when the grace ends" "$out" 'in grace until [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8}'
check_eq "the refused rotation changed nothing" "$(verify_as svc-a "$T/gen2")" "current"
sleep 2.2
check_eq "old secret is refused after the 2 s grace, with no daemon" "$(verify_as svc-a "$T/gen1")" "revoked"
check_eq "new secret still current" "$(verify_as svc-a "$T/gen2")" "current"

# ---- compromise rotation ----
check "rotate after the grace is allowed" ctl rotate svc-a
cp "$T/out/svc-a.pw" "$T/gen3"
check_eq "gen2 is previous" "$(verify_as svc-a "$T/gen2")" "previous"
check "compromise rotation is allowed during grace" ctl rotate svc-a --revoke-previous
cp "$T/out/svc-a.pw" "$T/gen4"
check_eq "after a compromise rotation the replaced secret is revoked at once" \
	"$(verify_as svc-a "$T/gen3")" "revoked"
check_eq "and the secret before it too" "$(verify_as svc-a "$T/gen2")" "revoked"
check_eq "the new one is current" "$(verify_as svc-a "$T/gen4")" "current"

# ---- --grace, revoke ----
sleep 0.1
check "rotate with --grace 1h" ctl rotate svc-a --grace 1h
cp "$T/out/svc-a.pw" "$T/gen5"
until=$(ctl status svc-a --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["accounts"][0]["previous_valid_until"])')
now=$(date +%s)
check "--grace sets the deadline (about now + 1h)" [ $((until - now)) -ge 3590 -a $((until - now)) -le 3600 ]
check "revoke ends the grace now" ctl revoke svc-a
check_eq "revoked previous secret is refused" "$(verify_as svc-a "$T/gen4")" "revoked"
check_fails "revoke with nothing in grace fails" ctl revoke svc-a
check "rotate --grace longer than max_grace is capped" ctl rotate svc-a --grace 2w --revoke-previous
ctl rotate svc-a --grace 2w --revoke-previous >/dev/null 2>&1
ctl revoke svc-a >/dev/null 2>&1
sleep 0.1

# ---- re-delivery ----
rm -f "$T/out/svc-b.pw"
check "deliver writes the current secret again" ctl deliver svc-b
check_eq "re-delivered secret is current" "$(verify_as svc-b "$T/out/svc-b.pw")" "current"

# ---- status ----
table=$(ctl status)
check_match "status table has a header" "$table" '^ACCOUNT +UID +GEN +AGE'
check_match "status table lists svc-a with its uid" "$table" 'svc-a +60001 +[0-9]+ '
json=$(ctl status --json)
check "status --json is the verdict and the accounts with the documented fields" python3 -c '
import json, sys
j = json.loads(sys.argv[1])
assert j["verdict"] in ("ok", "warning") and j["exit_status"] in (0, 1), j
a = j["accounts"]
assert isinstance(a, list) and len(a) == 2
for o in a:
    for k in ("name", "verdict", "problems", "uid", "generation", "current_since", "previous_valid_until", "next_rotation", "delivery"):
        assert k in o, k
assert a[0]["name"] == "svc-a" and a[0]["generation"] >= 5
assert a[1]["previous_valid_until"] is None
' "$json"
check_fails "status of an unknown account fails" ctl status nosuch
check_fails "rotate of an unknown account fails" ctl rotate nosuch

# ---- removal ----
conf_write 'rotate_every = "1h"; grace = "2s"; max_grace = "1h";' \
	'{ name = "svc"; gid = 60000; }' \
	'{ name = "svc-b"; uid = 60002; group = "svc"; deliver = ( { file = "'"$T"'/out/svc-b.pw"; } ); }'
check "sync after removing an account" ctl sync
check_fails "removed account is gone from accounts.cdb" sh -c "cdb -q '$T/store/accounts.cdb' pn:svc-a"
check_fails "removed account is gone from secrets.cdb" sh -c "cdb -q '$T/store/secrets.cdb' sn:svc-a"
check_fails "its journal is gone" test -e "$T/state/svc-a.state"
check_eq "the other account is untouched" "$(verify_as svc-b "$T/out/svc-b.pw")" "current"
check "audit log is JSON lines" python3 -c '
import json, sys
for line in open(sys.argv[1]):
    json.loads(line)
' "$T/audit.jsonl"
check_match "audit log records rotations, deliveries, revokes, verify and show" \
	"$(cut -d, -f5 "$T/audit.jsonl" | sort -u | tr '\n' ' ')" \
	'"event":"create".*"event":"deliver".*"event":"remove".*"event":"revoke".*"event":"rotate".*"event":"show".*"event":"verify"'
done_testing
