#!/bin/sh
# No secret ever leaves through a side door: not the audit log, not syslog, not the argv
# or environment of rotsecctl or of a delivery command. Secrets only reach the consumer on
# the command's stdin and in the delivered files.
. "$(dirname "$0")/lib.sh"
rotsec_env
cat >"$T/consumer" <<'SH'
#!/bin/sh
# A delivery command: keeps what it got on stdin, and what it and its parent expose.
d=$(dirname "$0")
cat >"$d/got.$ROTSEC_GENERATION"
tr '\0' ' ' </proc/$$/cmdline >>"$d/exposed"
tr '\0' ' ' </proc/$$/environ >>"$d/exposed"
tr '\0' ' ' </proc/$PPID/cmdline >>"$d/exposed"
tr '\0' ' ' </proc/$PPID/environ >>"$d/exposed"
env >>"$d/exposed"
SH
chmod 0755 "$T/consumer"
conf_write 'rotate_every = "2h"; grace = "1s"; max_grace = "2h";' '{ name = "svc"; gid = 60000; }' \
	'{ name = "svc-a"; uid = 60001; group = "svc";
	   deliver = ( { command = [ "'"$T"'/consumer", "--account", "svc-a" ]; },
	               { file = "'"$T"'/out/svc-a.pw"; } ); }'

with_syslog sh -c "CTL=$CTL CONF=$CONF T=$T; \
	ctl() { \"\$CTL\" -c \"\$CONF\" \"\$@\"; }; \
	ctl sync && ctl rotate svc-a && sleep 1.1 && ctl rotate svc-a && \
	ctl verify svc-a <\"\$T/out/svc-a.pw\" && ctl show svc-a >/dev/null && \
	ctl status >/dev/null && ctl deliver svc-a" >"$T/run.out" 2>&1
rc=$?
check_eq "sync, rotations, verify, show, status and deliver all ran" "$rc" "0"
[ "$rc" -eq 0 ] || sed 's/^/# /' "$T/run.out"

secrets=$(cat "$T"/got.* | sort -u)
check_eq "the command received three generations on stdin" "$(printf '%s\n' "$secrets" | grep -c .)" "3"
check_eq "the command's stdin held the same secret as the file delivery" \
	"$(cat "$T/got.3")" "$(cat "$T/out/svc-a.pw")"
check_match "the command ran with ROTSEC_ACCOUNT and ROTSEC_GENERATION" "$(cat "$T/exposed")" \
	'ROTSEC_ACCOUNT=svc-a.*ROTSEC_GENERATION=[123]'
check "syslog received rotsec's audit lines" grep -q 'audit: event=rotate' "$T/syslog.txt"
check "the audit log has lines" test -s "$T/audit.jsonl"

leaks=0
for s in $secrets; do
	for f in "$T/syslog.txt" "$T/audit.jsonl" "$T/exposed" "$T/run.out" "$T"/state/*.state; do
		if grep -qF -- "$s" "$f"; then
			diag "a secret appears in $f"
			leaks=$((leaks + 1))
		fi
	done
done
check_eq "no secret in syslog, the audit log, argv or environment of the command or of rotsecctl, or the journal" "$leaks" "0"
done_testing
