#!/bin/sh
# rotsecctl speaks the conventions admins have in their fingers (issue 14): getopt_long
# everywhere (--opt=value and --opt value, options before or after the account, --help on
# rotsecctl and on every command, --version), a mistake named in one line with one pointer
# to --help and exit 3; show --json; --grace over max_grace said to be capped; and errors
# that name the problem, above all what a user who is not root is missing.
. "$(dirname "$0")/lib.sh"
rotsec_env
conf_write 'rotate_every = "1d"; grace = "1h"; max_grace = "2h";' '{ name = "svc"; gid = 60000; }' \
	'{ name = "svc-a"; uid = 60001; group = "svc"; deliver = ( { file = "'"$T"'/out/svc-a.pw"; } ); },
	 { name = "svc-b"; uid = 60002; group = "svc"; deliver = ( { file = "'"$T"'/out/svc-b.pw"; } ); }'
ctl sync >/dev/null || not_ok "sync"

# out CMD...: stdout and stderr of CMD in $T/o, its exit status in $rc.
out() {
	"$@" >"$T/o" 2>&1
	rc=$?
}

# ---- --help, --version ----
out "$CTL" --help
check_eq "rotsecctl --help exits 0" "$rc" 0
check_match "and lists the commands, two-space indented with their synopsis" "$(cat "$T/o")" \
	'^  rotate NAME \[--grace D\] \[--revoke-previous\]$'
check_match "and the options before the command, short and long" "$(cat "$T/o")" \
	'^  -c, --config FILE  '
check_match "and the exit statuses" "$(cat "$T/o")" '3 usage error'
verbs=$("$CTL" --help | awk '/^  [a-z]/ { print $1 }')
check_eq "it lists the eleven commands" "$(echo $verbs)" \
	"check sync status rotate revoke deliver verify show keygen open fleet"
for v in $verbs; do
	out "$CTL" "$v" --help
	check_eq "rotsecctl $v --help exits 0" "$rc" 0
	check_match "rotsecctl $v --help begins with its usage" "$(head -n 1 "$T/o")" \
		"^usage: rotsecctl (\\[-c FILE\\] )?$v( |\$)"
	check_match "rotsecctl $v --help ends with -h, --help" "$(tail -n 1 "$T/o")" "^  -h, --help  "
done
out "$CTL" rotate -h
check_match "-h is --help" "$(head -n 1 "$T/o")" '^usage: rotsecctl \[-c FILE\] rotate NAME'
check_match "rotsecctl --version" "$("$CTL" --version)" '^rotsecctl [0-9]+\.[0-9]+\.[0-9]+$'
check_match "rotsecctl -V" "$("$CTL" -V)" '^rotsecctl [0-9]+\.[0-9]+\.[0-9]+$'

# ---- mistakes: named, one pointer to --help, exit 3 ----
# usage_error NAME WANT_FIRST_LINE POINTER ARGS...
usage_error() {
	_n=$1 _want=$2 _ptr=$3
	shift 3
	out "$CTL" "$@"
	check_eq "$_n: exit 3" "$rc" 3
	check_match "$_n: named" "$(head -n 1 "$T/o")" "$_want"
	check_eq "$_n: then one line pointing to --help, no usage" "$(tail -n +2 "$T/o")" \
		"Try '$_ptr --help' for more information."
}
usage_error "an unknown command" "^rotsecctl: unknown command 'rotat'; did you mean 'rotate'\\?\$" \
	rotsecctl -c "$CONF" rotat svc-a
usage_error "a command far from any" "^rotsecctl: unknown command 'frobnicate'\$" rotsecctl frobnicate
usage_error "no command" "^rotsecctl: missing COMMAND\$" rotsecctl -c "$CONF"
usage_error "an unknown option before the command" "^rotsecctl: unrecognized option '--frob'\$" \
	rotsecctl --frob status
usage_error "an unknown option of a command" \
	"^rotsecctl rotate: unrecognized option '--revoke-all'\$" "rotsecctl rotate" \
	-c "$CONF" rotate svc-a --revoke-all
usage_error "an option of another command" "^rotsecctl status: unrecognized option '--grace'\$" \
	"rotsecctl status" -c "$CONF" status --grace 1h
usage_error "an option without its value" \
	"^rotsecctl rotate: option '--grace' requires an argument\$" "rotsecctl rotate" \
	-c "$CONF" rotate svc-a --grace
usage_error "a missing account" "^rotsecctl rotate: missing the account NAME\$" \
	"rotsecctl rotate" -c "$CONF" rotate --grace 5m
usage_error "an extra argument" "^rotsecctl revoke: unexpected argument 'svc-b'\$" \
	"rotsecctl revoke" -c "$CONF" revoke svc-a svc-b
usage_error "a duration that is none" \
	"^rotsecctl rotate: --grace takes a duration like 90s, 15m, 2h or 1h30m, not '5 min'\$" \
	"rotsecctl rotate" -c "$CONF" rotate svc-a --grace '5 min'
usage_error "open without --key" "^rotsecctl open: missing --key FILE" "rotsecctl open" open x.sealed
check_eq "no usage error touched the store" "$(grep -c '"event":"rotate"' "$T/audit.jsonl")" 0

# ---- --opt=value and --opt value, anywhere, --config ----
check "rotate NAME --grace=5m" ctl rotate svc-a --grace=5m
u1=$(ctl status svc-a --json | sed -n 's/.*"previous_valid_until": \([0-9]*\).*/\1/p')
check "the grace took: about now + 5 min" [ $((u1 - $(date +%s))) -gt 280 ] && [ $((u1 - $(date +%s))) -le 300 ]
check "rotate --grace 5m --revoke-previous NAME (options first)" \
	ctl rotate --grace 5m --revoke-previous svc-a
check "--config=FILE before the command" "$CTL" --config="$CONF" status svc-a
check "--config FILE before the command" "$CTL" --config "$CONF" status svc-a
check "with POSIXLY_CORRECT set, options after the account still count" \
	env POSIXLY_CORRECT=1 "$CTL" -c "$CONF" status svc-a --json
check "-- ends the options" ctl status --json -- svc-a
check_fails "an account named like an option after -- is an account" ctl status -- --json

# ---- --grace over max_grace ----
out ctl rotate svc-b --grace 5h
check_eq "rotate --grace above max_grace succeeds" "$rc" 0
check_match "and says it was capped, and until when the previous secret is valid" \
	"$(cat "$T/o")" \
	"^rotsecctl: --grace 5h was capped to max_grace \\(2h\\) of svc-b: the previous secret is valid until [0-9-]+ [0-9:]{8} [A-Z+0-9-]+\$"
u=$(ctl status svc-b --json | sed -n 's/.*"previous_valid_until": \([0-9]*\).*/\1/p')
check "and it was: about now + 2h" [ $((u - $(date +%s))) -gt 7100 ] && [ $((u - $(date +%s))) -le 7200 ]

# ---- show --json ----
out ctl show svc-a --json
check_eq "show --json exits 0" "$rc" 0
check "show --json: the secret, generation, current_since, previous_valid_until, next_rotation" \
	python3 -c '
import json, sys
o = json.loads(open(sys.argv[1]).read())
st = json.loads(sys.argv[3])["accounts"][0]
assert o["name"] == "svc-a", o
assert o["secret"] == open(sys.argv[2]).read().rstrip("\n"), "secret"
for k in ("generation", "current_since", "previous_valid_until", "next_rotation"):
    assert o[k] == st[k], (k, o[k], st[k])
assert sorted(o) == sorted(["name", "secret", "generation", "current_since", "previous_valid_until", "next_rotation"]), sorted(o)
' "$T/o" "$T/out/svc-a.pw" "$(ctl status svc-a --json)"
check_eq "show without --json prints the secret alone" "$(ctl show svc-a)" "$(cat "$T/out/svc-a.pw")"
check_eq "each show is audited" "$(grep -c '"event":"show","account":"svc-a"' "$T/audit.jsonl")" 2

# ---- errors name the problem: what a user who is not root is missing ----
# as_nobody [GROUP] CMD...: CMD as nobody, with only GROUP (nogroup by default).
as_nobody() {
	_g=nogroup
	case $1 in [0-9]*) _g=$1 && shift ;; esac
	setpriv --reuid=nobody --regid="$_g" --clear-groups "$@"
}
for v in sync "rotate svc-a" "revoke svc-a" "deliver svc-a" "show svc-a"; do
	# shellcheck disable=SC2086 # $v is words
	out as_nobody "$CTL" -c "$CONF" $v
	check_eq "$v as nobody exits 1" "$rc" 1
	check_match "$v as nobody says it needs root and why" "$(cat "$T/o")" \
		"^rotsecctl: ${v%% *} needs root: it [a-z]"
	check_fails "$v as nobody is no bare errno" grep -qi 'permission denied' "$T/o"
done
before=$(sum_of "$T/store/secrets.cdb" "$T/audit.jsonl")
out as_nobody "$CTL" -c "$CONF" status
check_eq "status as nobody is unknown (3)" "$rc" 3
check_match "and says it needs root or group rotsec to read secrets.cdb" "$(cat "$T/o")" \
	"^rotsecctl: cannot read $T/store/secrets.cdb: needs root, or membership of group rotsec \\(gid 990\\) to read it"
out sh -c "echo wrong | setpriv --reuid=nobody --regid=nogroup --clear-groups '$CTL' -c '$CONF' verify svc-a"
check_eq "verify as nobody exits 1" "$rc" 1
check_match "and says the same" "$(cat "$T/o")" \
	"^rotsecctl: cannot read $T/store/secrets.cdb: needs root, or membership of group rotsec"
check_eq "nothing changed" "$(sum_of "$T/store/secrets.cdb" "$T/audit.jsonl")" "$before"

# A member of group rotsec reads the store, not the root-only journal.
out as_nobody 990 "$CTL" -c "$CONF" status
check_eq "status in group rotsec cannot see the delivery state: unknown (3)" "$rc" 3
check_match "and says so" "$(cat "$T/o")" \
	"^svc-a: UNKNOWN: delivery state unknown: the journal in $T/state is readable by root only"
out sh -c "setpriv --reuid=nobody --regid=990 --clear-groups '$CTL' -c '$CONF' verify svc-a <'$T/out/svc-a.pw'"
check_eq "verify works in group rotsec" "$(cat "$T/o")" current

chmod 0600 "$CONF"
out as_nobody "$CTL" -c "$CONF" check
check_eq "check of a config nobody may read exits 1" "$rc" 1
check_eq "and says it needs root, in one line" "$(cat "$T/o")" \
	"rotsecctl: cannot read $CONF: needs root (it is mode 0600, owner uid 0)"
chmod 0644 "$CONF"
out "$CTL" -c "$T/missing.conf" check
check_eq "a config that does not exist is said so, in one line" "$(cat "$T/o")" \
	"rotsecctl: $T/missing.conf does not exist (see rotsec.conf(5))"

done_testing
