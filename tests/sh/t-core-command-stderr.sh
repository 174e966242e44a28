#!/bin/sh
# A failing command delivery or verify command says why (issue 14): the end of its stderr
# is in rotsecctl's error, the audit event, syslog and rotsecd's log line, with the secret
# redacted even when the program echoes the secret it was given on stdin, and control
# characters escaped so that it stays one line.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon-lib.sh"
rotsec_env

# A consumer that echoes its stdin to stderr, as a script run with `set -x` or a tool that
# prints its input on a parse error does.
cat >"$T/push-pw" <<'SH'
#!/bin/sh
read -r pw
echo "push-pw: db1 refused the password $pw" >&2
printf 'second line\twith a tab\n' >&2
exit 4
SH
# A verify command that reads the delivered secret and prints it when the login fails.
cat >"$T/check-login" <<SH
#!/bin/sh
echo "check-login: login as \$ROTSEC_ACCOUNT with \$(cat $T/out/svc-v.pw) failed" >&2
exit 1
SH
chmod 0755 "$T/push-pw" "$T/check-login"
conf_write 'rotate_every = "1h"; grace = "30m"; max_grace = "1h"; retry_min = "1s"; retry_max = "1s";' \
	'{ name = "svc"; gid = 60000; }' \
	"{ name = \"svc-c\"; uid = 60001; group = \"svc\";
	   deliver = ( { file = \"$T/out/svc-c.pw\"; }, { command = [ \"$T/push-pw\" ]; } ); },
	 { name = \"svc-v\"; uid = 60002; group = \"svc\"; verify = [ \"$T/check-login\" ];
	   deliver = ( { file = \"$T/out/svc-v.pw\"; } ); }"

with_syslog sh -c "'$CTL' -c '$CONF' sync >'$T/sync.out' 2>'$T/sync.err'; echo \$? >'$T/sync.rc'"
check_eq "sync with a failing command and a failing verify command exits 1" \
	"$(cat "$T/sync.rc")" 1
C=$(cat "$T/out/svc-c.pw")
V=$(cat "$T/out/svc-v.pw")
check "the secrets were delivered to the files" [ ${#C} -eq 32 ] && [ ${#V} -eq 32 ]
ctl deliver svc-c >"$T/deliver.out" 2>"$T/deliver.err"
check_eq "deliver to the failing command exits 1" "$?" 1
check_match "rotsecctl's error says what the command wrote, the secret redacted" \
	"$(cat "$T/deliver.err")" \
	"exited with status 4; stderr: push-pw: db1 refused the password \\[redacted\\]\\\\nsecond line\\\\twith a tab\$"
check_match "and what the verify command wrote, its secret redacted" "$(cat "$T/sync.err")" \
	"verify command of svc-v failed: .*stderr: check-login: login as svc-v with \\[redacted\\] failed"

# The audit events: "error" holds the same text (JSON-escaped once more).
python3 - "$T/audit.jsonl" >"$T/audit.errors" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    o = json.loads(line)
    if o.get("result") == "failed":
        print(o["event"], o["account"], o["error"])
PY
check_match "the failed delivery's audit event carries it" "$(cat "$T/audit.errors")" \
	"^deliver svc-c command $T/push-pw exited with status 4; stderr: push-pw: db1 refused the password \\[redacted\\]\\\\nsecond line\\\\twith a tab\$"
check_match "the failed verify's audit event carries it" "$(cat "$T/audit.errors")" \
	"^verify svc-v .*stderr: check-login: login as svc-v with \\[redacted\\] failed\$"
check_match "syslog has it" "$(cat "$T/syslog.txt")" \
	'audit: event=deliver account=svc-c .*refused the password \[redacted\]'

# ---- rotsecd retries: its log line says the same ----
dmn_start || not_ok "rotsecd starts"
check "rotsecd's log line for the retried delivery carries the redacted stderr" \
	wait_until 20 grep -q 'deliver svc-c: .* to command .*FAILED: .*stderr: push-pw: db1 refused the password \[redacted\]' "$T/rotsecd.log"
check "and for the verify command" \
	wait_until 20 grep -q 'verify svc-v: .*FAILED: .*login as svc-v with \[redacted\] failed' "$T/rotsecd.log"
dmn_stop

leaks=$(cat "$T/sync.out" "$T/sync.err" "$T/deliver.out" "$T/deliver.err" "$T/audit.jsonl" \
	"$T/syslog.txt" "$T/rotsecd.log" |
	grep -cF -e "$C" -e "$V")
check_eq "neither secret is anywhere in what was printed or logged" "$leaks" 0
lines=$(grep -c 'refused the password' "$T/deliver.err")
check_eq "the command's two lines of stderr are one line of ours" "$lines" 1

done_testing
