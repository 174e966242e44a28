#!/bin/sh
# What rotsecd says and shows while it works (rotsecd(8)):
#  - degraded holds until every consumer has the current secret, across rotations: with a
#    delivery that keeps failing, short rotate_every and max_grace, status, status --json
#    and rotsec_degraded say degraded from the moment it is marked, through the rotations
#    that follow, until the consumer works again;
#  - one log line per event (rotated, delivered, revoked, held, degraded, recovered, and
#    an account SIGUSR1 leaves alone, with why), each with its generation and the previous
#    secret's deadline where there is one;
#  - a delivery target the config adds or changes is delivered by the start-up sync and
#    by the sync of a SIGHUP reload, and is pending in status until it is.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon-lib.sh"
rotsec_env
[ -n "${KEEP_T:-}" ] && diag "kept in $T"
cat >"$T/consumer" <<'SH'
#!/bin/sh
# A consumer that refuses the secret while the test says it is broken.
d=$(dirname "$0")
[ -e "$d/broken" ] && exit 1
cat >"$d/got.tmp" && mv "$d/got.tmp" "$d/got"
SH
chmod 0755 "$T/consumer"
accounts='{ name = "svc-d"; uid = 60001; group = "svc"; rotate_every = "3s"; grace = "1s"; max_grace = "4s";
	   deliver = ( { file = "'"$T"'/out/svc-d.pw"; }, { command = [ "'"$T"'/consumer" ]; } ); },
	 { name = "svc-g"; uid = 60002; group = "svc"; deliver = ( { file = "'"$T"'/out/svc-g.pw"; } ); }'
conf_write 'rotate_every = "1d"; grace = "1h"; max_grace = "2h"; retry_min = "1s"; retry_max = "1s";' \
	'{ name = "svc"; gid = 60000; }' "$accounts"

dmn_start || {
	not_ok "rotsecd starts"
	sed 's/^/# /' "$T/rotsecd.log"
	done_testing
	exit 1
}
log=$T/rotsecd.log
check "the start-up sync logs the accounts it creates" grep -q '^rotsecd: create svc-d: uid 60001' "$log"
check "... and each first delivery" \
	grep -q "^rotsecd: deliver svc-g: generation 1 to file $T/out/svc-g.pw -- ok$" "$log"

# ---- degraded across rotations ----
touch "$T/broken"
# Sample status, its JSON and the metrics every 0.2 s until the consumer works again:
# "GENERATION DEGRADED(json) DEGRADED(table) METRIC" per line.
sample() {
	while [ ! -e "$T/stop.sampling" ]; do
		j=$(ctl status svc-d --json 2>/dev/null)
		tbl=$(ctl status svc-d 2>/dev/null | grep -c DEGRADED)
		printf '%s %s %s %s\n' "$(jget "$j" generation)" "$(jget "$j" degraded)" "$tbl" \
			"$(metric rotsec_degraded 'account="svc-d"')"
		sleep 0.2
	done >"$T/samples"
}
sample &
sampler=$!
check "a failing delivery leaves the account degraded at max_grace" \
	wait_until 30 sh -c "\"$CTL\" -c \"$CONF\" status svc-d --json | grep -q '\"degraded\": true'"
first=$(jfield svc-d generation)
check "rotations go on while it is degraded" wait_until 30 gen_is svc-d $((first + 2))
check_eq "... and it is still degraded" "$(jfield svc-d degraded)" "true"
check "... in the metrics too" wait_until 10 grep -qx 'rotsec_degraded{account="svc-d"} 1' "$T/rotsec.prom"
rm -f "$T/broken"
check "once the consumer works, the account is no longer degraded" \
	wait_until 30 sh -c "\"$CTL\" -c \"$CONF\" status svc-d --json | grep -q '\"degraded\": false'"
touch "$T/stop.sampling"
wait "$sampler"
# gaps COLUMN VALUE: how many samples between the first and the last that had VALUE in
# COLUMN had anything else. Each view is read on its own (the three are not read at the
# same instant), and each must say degraded without a gap: no rotation started un-degraded.
gaps() {
	awk -v c="$1" -v v="$2" '{ s[NR] = $c } $c == v { if (!first) first = NR; last = NR }
		END { for (i = first; first && i <= last; i++) if (s[i] != v) n++; print n + 0 }' "$T/samples"
}
check_eq "status --json never dropped the mark while the delivery failed" "$(gaps 2 true)" "0"
check_eq "nor did the table (DEGRADED)" "$(gaps 3 1)" "0"
check_eq "nor rotsec_degraded" "$(gaps 4 1)" "0"
check "the samples span rotations while degraded" awk -v g="$first" \
	'$2 == "true" && $1 > g { found = 1 } END { exit !found }' "$T/samples"
check_eq "the consumer holds the current secret" "$(verify_as svc-d "$T/got")" "current"

# ---- one line per event ----
gen_re='generation [0-9]+'
time_re='[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} [A-Z]+'
check "rotated: generation, why, and the previous secret's deadline" grep -Eq \
	"^rotsecd: rotate svc-d: $gen_re \(scheduled\); previous secret \($gen_re\) valid until $time_re$" "$log"
check "delivered" grep -Eq "^rotsecd: deliver svc-d: $gen_re to file $T/out/svc-d.pw -- ok$" "$log"
check "a failed delivery: the error and the next try" grep -Eq \
	"^rotsecd: deliver svc-d: $gen_re to command $T/consumer( \(retry after [0-9]+ failed attempts?\))? -- FAILED: .*exited with status 1; next try at $time_re$" "$log"
check "held: until when" grep -Eq \
	"^rotsecd: hold svc-d: previous secret \($gen_re\) valid until $time_re \(.*\)$" "$log"
check "revoked: which generation, and why" grep -Eq \
	"^rotsecd: revoke svc-d: previous secret \($gen_re\), its deadline passed$" "$log"
check "degraded" grep -Eq "^rotsecd: degraded svc-d: $gen_re: delivery still failing at max_grace" "$log"
check "recovered" grep -Eq "^rotsecd: recovered svc-d: $gen_re: every consumer has the current secret" "$log"
check_eq "degraded is said once per mark, not once per rotation" \
	"$(grep -c '^rotsecd: degraded svc-d' "$log")" "1"

dmn_signal USR1
check "SIGUSR1 rotates svc-g" wait_until 20 gen_is svc-g 2
dmn_signal USR1
check "an account SIGUSR1 leaves alone is logged, with why and until when" wait_until 10 grep -Eq \
	"^rotsecd: skip svc-g \(SIGUSR1\): generation 2 stays current: the previous secret is in grace until $time_re$" "$log"
check "rotated by SIGUSR1 says so" grep -Eq \
	"^rotsecd: rotate svc-g: generation 2 \(SIGUSR1\); previous secret \(generation 1\) valid until $time_re$" "$log"

# ---- a changed config: the SIGHUP reload's sync delivers to the new target ----
conf_write 'rotate_every = "1d"; grace = "1h"; max_grace = "2h"; retry_min = "1s"; retry_max = "1s";' \
	'{ name = "svc"; gid = 60000; }' \
	'{ name = "svc-d"; uid = 60001; group = "svc"; rotate_every = "1d";
	   deliver = ( { file = "'"$T"'/out/svc-d.pw"; }, { command = [ "'"$T"'/consumer" ]; } ); },
	 { name = "svc-g"; uid = 60002; group = "svc";
	   deliver = ( { file = "'"$T"'/out/svc-g.new"; } ); }'
check_eq "before the reload, the changed target is pending" "$(jfield svc-g delivery)" "pending 1/1"
dmn_signal HUP
check "the reload's sync delivers to it" wait_until 20 sh -c \
	"\"$CTL\" -c \"$CONF\" status svc-g --json | grep -q '\"delivery\": \"ok\"'"
check_eq "... the current secret" "$(verify_as svc-g "$T/out/svc-g.new")" "current"
check "... and logs it" grep -q "^rotsecd: deliver svc-g: generation 2 to file $T/out/svc-g.new (new or changed consumer) -- ok$" "$log"

# ---- ... and so does the start-up sync ----
check "SIGTERM stops the daemon" dmn_stop
sed -i "s|$T/out/svc-g.new|$T/out/svc-g.third|" "$CONF"
check_eq "a target changed while the daemon was stopped is pending" "$(jfield svc-g delivery)" "pending 1/1"
dmn_start || not_ok "rotsecd starts again"
check_eq "after the start-up sync it is ok" "$(jfield svc-g delivery)" "ok"
check_eq "... holding the current secret" "$(verify_as svc-g "$T/out/svc-g.third")" "current"
check_fails "no sanitizer report" grep -q 'Sanitizer' "$log"
check "SIGTERM stops the daemon with status 0" dmn_stop
done_testing
