#!/bin/sh
# sync never surprises, and status tells the truth after a config change (rotsecctl(8)):
#  - a delivery target the config adds or changes has not got the current secret: status
#    says pending (never ok) until a sync delivers it there; the consumers that did not
#    change are not delivered to again;
#  - sync names every account it creates, updates (which attributes, from what to what),
#    removes, every group, every consumer it delivers to;
#  - sync --dry-run prints exactly those lines and changes nothing: every file under the
#    test's dirs (store, journals, deliveries, audit log, metrics, host key) is byte for
#    byte what it was, and no file appears or goes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon-lib.sh" # jfield
rotsec_env
conf_write 'rotate_every = "2h"; grace = "1h"; max_grace = "2h";' '{ name = "svc"; gid = 60000; }' \
	'{ name = "svc-a"; uid = 60001; group = "svc"; deliver = ( { file = "'"$T"'/out/svc-a.pw"; } ); },
	 { name = "svc-b"; uid = 60002; group = "svc"; gecos = "Backup";
	   deliver = ( { file = "'"$T"'/out/svc-b.pw"; } ); },
	 { name = "svc-x"; uid = 60009; group = "svc"; }'

# Every file and directory under $T but the test's own scratch files: its path, type,
# owner, mode and, for a file, its bytes.
snapshot() {
	(cd "$T" && find . \( -name '.out' -o -name 'snap.*' -o -name 'plan*' -o -name 'sync*.out' \) \
		-prune -o -printf '%p %y %u:%g %m\n' | sort &&
		find . -type f ! -name '.out' ! -name 'snap.*' ! -name 'plan*' ! -name 'sync*.out' \
			-exec sha256sum {} + | sort -k2)
}

# ---- a fresh install: the plan of the first sync creates nothing ----
snapshot >"$T/snap.before"
ctl sync --dry-run >"$T/plan0.out" 2>&1
check_eq "sync --dry-run on a fresh install exits 0" "$?" 0
snapshot >"$T/snap.after"
check "... and creates nothing: no store file, no state dir, no host key, no audit log" \
	cmp -s "$T/snap.before" "$T/snap.after"
diff "$T/snap.before" "$T/snap.after" | head -10 | sed 's/^/# /'
check_eq "... it names the accounts and the group it would create" \
	"$(grep -E '^create' "$T/plan0.out" | sed 's/:.*//' | tr '\n' ' ')" \
	"create svc-a create svc-b create svc-x create group svc "
check_match "... and the consumers it would deliver the first secrets to" "$(cat "$T/plan0.out")" \
	"deliver svc-a: generation 1 to file $T/out/svc-a.pw
deliver svc-b: generation 1 to file $T/out/svc-b.pw"
check_match "... and says that nothing was changed" "$(tail -1 "$T/plan0.out")" "^dry run: nothing was changed$"

ctl sync >"$T/sync0.out" 2>&1
check_eq "the first sync exits 0" "$?" 0
# The lines of a plan: what sync printed, less the outcomes and the summary.
plan_of() { grep -Ev '^(hold|release|degraded|recovered) |^synced |^dry run: ' "$1" | sed 's/ -- ok$//'; }
check_eq "it printed exactly the plan of the dry run" "$(plan_of "$T/sync0.out")" "$(plan_of "$T/plan0.out")"
check_eq "status: every consumer has the secret" \
	"$(jfield svc-a delivery) $(jfield svc-b delivery) $(jfield svc-x delivery)" "ok ok none"
echo 'rotsec_last_update_timestamp_seconds 1' >"$T/rotsec.prom"
cp "$T/out/svc-b.pw" "$T/b.gen1"

# ---- the config changes ----
conf_write 'rotate_every = "2h"; grace = "1h"; max_grace = "2h";' \
	'{ name = "svc"; gid = 60000; }, { name = "ops"; gid = 60010; members = [ "backup" ]; }' \
	'{ name = "svc-a"; uid = 60001; group = "svc"; deliver = ( { file = "'"$T"'/out/svc-a.new"; } ); },
	 { name = "svc-b"; uid = 60002; group = "svc"; gecos = "Backup agent"; shell = "/bin/sh";
	   groups = [ "ops" ];
	   deliver = ( { file = "'"$T"'/out/svc-b.pw"; }, { file = "'"$T"'/out/svc-b.copy"; } ); },
	 { name = "svc-c"; uid = 60003; group = "svc"; deliver = ( { file = "'"$T"'/out/svc-c.pw"; } ); }'
st=$(ctl status --json)
check_eq "a changed delivery target: status says pending, not ok" \
	"$(jget "$(printf '%s\n' "$st" | grep '"svc-a"')" delivery)" "pending 1/1"
check_eq "an added one: pending for it alone" \
	"$(jget "$(printf '%s\n' "$st" | grep '"svc-b"')" delivery)" "pending 1/2"
check_match "the table says so too" "$(ctl status svc-a)" "svc-a .* pending 1/1 "

snapshot >"$T/snap.before"
ctl sync --dry-run >"$T/plan1.out" 2>&1
check_eq "sync --dry-run after the change exits 0" "$?" 0
snapshot >"$T/snap.after"
check "... and leaves every file byte for byte as it was (store, journals, deliveries, audit log, metrics, key)" \
	cmp -s "$T/snap.before" "$T/snap.after"
diff "$T/snap.before" "$T/snap.after" | head -10 | sed 's/^/# /'
plan=$(cat "$T/plan1.out")
check_match "the plan names the account it updates, with each attribute from and to" "$plan" \
	"^update svc-b: gecos \"Backup\" -> \"Backup agent\", shell \"/usr/sbin/nologin\" -> \"/bin/sh\", groups none -> 60010$"
check_match "... the account it creates" "$plan" "^create svc-c: uid 60003, gid 60000$"
check_match "... the account it removes" "$plan" "^remove svc-x$"
check_match "... the group it creates" "$plan" "^create group ops: gid 60010, members backup,svc-b$"
check_match "... the changed consumer it delivers to" "$plan" \
	"^deliver svc-a: generation 1 to file $T/out/svc-a.new \(new or changed consumer\)$"
check_match "... the added one" "$plan" \
	"^deliver svc-b: generation 1 to file $T/out/svc-b.copy \(new or changed consumer\)$"
check_fails "... and not the consumer that did not change" grep -q "svc-b.pw" "$T/plan1.out"
check_eq "still pending after the dry run" "$(jfield svc-a delivery)" "pending 1/1"

ino_b=$(stat -c %i "$T/out/svc-b.pw")
ctl sync >"$T/sync1.out" 2>&1
check_eq "sync exits 0" "$?" 0
check_eq "it did exactly what the dry run said" "$(plan_of "$T/sync1.out")" "$(plan_of "$T/plan1.out")"
check_match "... telling each delivery's outcome" "$(cat "$T/sync1.out")" \
	"^deliver svc-a: generation 1 to file $T/out/svc-a.new \(new or changed consumer\) -- ok$"
check_eq "the changed target has the current secret" "$(verify_as svc-a "$T/out/svc-a.new")" "current"
check_eq "so has the added one" "$(verify_as svc-b "$T/out/svc-b.copy")" "current"
check_eq "the unchanged consumer was not delivered to again" "$(stat -c %i "$T/out/svc-b.pw")" "$ino_b"
check_eq "status: ok now" "$(jfield svc-a delivery) $(jfield svc-b delivery) $(jfield svc-c delivery)" "ok ok ok"
check "the update is audited with its changes" \
	grep -q '"event":"update","account":"svc-b".*"changes":"gecos' "$T/audit.jsonl"
check "... and the group" grep -q '"event":"group".*"group":"ops","action":"create"' "$T/audit.jsonl"
check_eq "after it, a dry run finds nothing left to do" \
	"$(ctl sync --dry-run | grep -c .)" "1"

# ---- a consumer's owner or mode is part of it ----
sed -i 's|{ file = "'"$T"'/out/svc-a.new"; }|{ file = "'"$T"'/out/svc-a.new"; owner = "backup"; mode = "0440"; }|' "$CONF"
check_eq "a target whose owner and mode changed is pending" "$(jfield svc-a delivery)" "pending 1/1"
ctl sync >/dev/null 2>&1
check_eq "... and sync delivers it again, with its new owner and mode" \
	"$(stat -c '%U %a' "$T/out/svc-a.new") $(jfield svc-a delivery)" "backup 440 ok"

# ---- a journal from before the digests: nothing is taken as delivered ----
sed -i 's/^\(delivery [0-9]* [a-z]* [0-9]* [0-9-]* [0-9-]*\) [0-9a-f]*$/\1/' "$T/state/svc-b.state"
check_eq "a journal that does not say which consumer each delivery was to: pending" \
	"$(jfield svc-b delivery)" "pending 2/2"
ctl sync >"$T/sync2.out" 2>&1
check_eq "sync delivers to both again" "$(grep -c '^deliver svc-b: .* -- ok$' "$T/sync2.out") $(jfield svc-b delivery)" "2 ok"

# ---- nothing to do ----
snapshot >"$T/snap.before"
check_eq "with the store in line, the dry run plans nothing" "$(ctl sync --dry-run)" "dry run: nothing was changed"
snapshot >"$T/snap.after"
check "... and changes nothing" cmp -s "$T/snap.before" "$T/snap.after"
check_fails "--dry-run is for sync alone" ctl rotate svc-a --dry-run
done_testing
