#!/bin/sh
# The bash completion for rotsecctl (conf/bash-completion/rotsecctl, installed as
# /usr/share/bash-completion/completions/rotsecctl): bash-completion loads it by that name,
# and it completes the commands and options rotsecctl --help lists, account names from
# `rotsecctl status --json` or, when that cannot run, from the config, and paths.
. "$(dirname "$0")/lib.sh"
rotsec_env

BC=/usr/share/bash-completion/bash_completion
for need in bash "$BC"; do
	if ! command -v "$need" >/dev/null 2>&1 && [ ! -f "$need" ]; then
		skip "bash completion" "$need is missing (bash-completion)"
		done_testing
		exit 0
	fi
done

# Where bash-completion looks for a command's completion: $XDG_DATA_DIRS/bash-completion/
# completions/NAME, the file as installed.
mkdir -p "$T/share/bash-completion/completions" "$T/bin" "$T/fake" "$T/files"
cp "$top/conf/bash-completion/rotsecctl" "$T/share/bash-completion/completions/rotsecctl"
# rotsecctl as shipped, with a log of how completion calls it
printf '#!/bin/sh\necho "$*" >>"%s"\nexec "%s" "$@"\n' "$T/calls" "$REL/rotsecctl" >"$T/bin/rotsecctl"
chmod 0755 "$T/bin/rotsecctl"

# comp PATHDIR LINE: what completing LINE (the cursor at its end) offers, one per line,
# sorted, with rotsecctl taken from PATHDIR.
cat >"$T/comp.bash" <<'EOF'
. /usr/share/bash-completion/bash_completion
PATH=$1:$PATH
__load_completion rotsecctl || { echo "no completion found for rotsecctl" >&2; exit 3; }
spec=$(complete -p rotsecctl) || exit 4
func=$(sed -n 's/.*-F \([^ ]*\) .*/\1/p' <<<"$spec")
# compopt works only while readline runs a completion; here it has nothing to change.
compopt() { :; }
COMP_LINE=$2
COMP_POINT=${#COMP_LINE}
read -ra COMP_WORDS <<<"$COMP_LINE"
[[ $COMP_LINE == *' ' ]] && COMP_WORDS+=('')
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMPREPLY=()
"$func" rotsecctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
printf '%s\n' "${COMPREPLY[@]}" | LC_ALL=C sort
EOF
comp() { XDG_DATA_DIRS=$T/share bash "$T/comp.bash" "$@" 2>&1; }
lines() { printf '%s\n' "$@" | LC_ALL=C sort; }

check_match "bash-completion finds it by the installed name and registers a function" \
	"$(XDG_DATA_DIRS=$T/share bash -c ". $BC; __load_completion rotsecctl && complete -p rotsecctl")" \
	'^complete -F _rotsecctl rotsecctl$'

verbs=$("$REL/rotsecctl" --help | awk '/^  [a-z]/ { print $1 }' | LC_ALL=C sort)
check_match "rotsecctl --help lists the commands" "$verbs" '^status$'
check_eq "an empty command line offers every command of rotsecctl --help" \
	"$(comp "$T/bin" 'rotsecctl ')" "$verbs"
check_eq "'rotsecctl st' offers status" "$(comp "$T/bin" 'rotsecctl st')" "status"
check_eq "'rotsecctl re' offers revoke" "$(comp "$T/bin" 'rotsecctl re')" "revoke"
check_eq "'rotsecctl -' offers the options taken before the command" \
	"$(comp "$T/bin" 'rotsecctl -')" "$(lines -c --config -h --help -V --version)"

conf_write 'rotate_every = "30d";' '{ name = "svc"; gid = 60000; }' \
	'{ name = "svc-a"; uid = 60001; group = "svc"; },
	 { name = "svc-b"; uid = 60002; group = "svc"; },
	 { name = "backup-agent"; uid = 60003; group = "svc"; }'
ctl sync >/dev/null 2>&1
check_eq "status --json lists the accounts (root)" \
	"$(ctl status --json | grep -c '"name"')" 3
: >"$T/calls"
check_eq "'rotate ' offers every account" \
	"$(comp "$T/bin" "rotsecctl -c $CONF rotate ")" "$(lines backup-agent svc-a svc-b)"
check_match "the names come from rotsecctl -c CONF status --json" "$(cat "$T/calls")" \
	"^-c $CONF status --json\$"
check_eq "'show svc' offers the accounts named svc*" \
	"$(comp "$T/bin" "rotsecctl -c $CONF show svc")" "$(lines svc-a svc-b)"
check_eq "after the account, 'rotate svc-a --' offers rotate's options" \
	"$(comp "$T/bin" "rotsecctl -c $CONF rotate svc-a --")" "$(lines --grace --revoke-previous)"
check_eq "'status --' offers --json" "$(comp "$T/bin" "rotsecctl -c $CONF status --")" "--json"
check_eq "'show svc-a --' offers --json" "$(comp "$T/bin" "rotsecctl -c $CONF show svc-a --")" "--json"
check_eq "a duration after --grace is not completed from files" \
	"$(comp "$T/bin" "rotsecctl -c $CONF rotate svc-a --grace ")" ""
check_eq "nothing is offered after the account of a command that takes one" \
	"$(comp "$T/bin" "rotsecctl -c $CONF revoke svc-a ")" ""
: >"$T/files/seal-one"
: >"$T/files/seal-two"
mkdir "$T/files/keys"
check_eq "'-c PATH' completes paths" "$(comp "$T/bin" "rotsecctl -c $T/files/se")" \
	"$(lines "$T/files/seal-one" "$T/files/seal-two")"
check_eq "'open --key PATH' completes paths" \
	"$(comp "$T/bin" "rotsecctl open --key $T/files/k")" "$T/files/keys"

# A rotsecctl whose status cannot run (an admin who is not root): names from the config.
# Groups, deliveries and commented-out entries have names too; they are no accounts.
cat >"$T/fake/rotsecctl" <<EOF
#!/bin/sh
[ "\$1" = --help ] && exec "$REL/rotsecctl" --help
echo "rotsecctl: permission denied" >&2
exit 1
EOF
chmod 0755 "$T/fake/rotsecctl"
cat >"$T/tricky.conf" <<'EOF'
# accounts = ( { name = "commented"; } );
groups = ( { name = "grp"; gid = 60000; } );
/* accounts = ( { name = "in-block-comment"; } ); */
accounts = (
  { name = "svc-x"; uid = 60001; group = "grp"; alphabet = "ab#c\"d{";
    deliver = ( { file = "/run/x.pw"; name = "not-an-account"; } ); },  // a comment
  { name: "svc-y"; uid = 60002; group = "grp"; }
);
other = { name = "not-either"; };
EOF
check_eq "without status, account names come from the config's accounts list alone" \
	"$(comp "$T/fake" "rotsecctl -c $T/tricky.conf verify ")" "$(lines svc-x svc-y)"
check_eq "and from the config given as -c" \
	"$(comp "$T/fake" "rotsecctl -c $CONF deliver b")" "backup-agent"
chmod 0600 "$T/tricky.conf"
check_eq "an unreadable config offers no names (and no error)" \
	"$(setpriv --reuid=nobody --regid=nogroup --clear-groups \
		env HOME=/ XDG_DATA_DIRS="$T/share" bash "$T/comp.bash" "$T/fake" \
		"rotsecctl -c $T/tricky.conf verify " 2>&1)" ""

# Completing as root against a config another user wrote (-c THEIR.conf) must run nothing
# of theirs: compgen -W expands what it is given, so a "name" like $(cmd) in the accounts
# list, or in what a rotsecctl prints, would run as whoever pressed TAB. Only names rotsec
# could have made are offered.
cat >"$T/theirs.conf" <<EOF
accounts = ( { name = "\$(touch $T/pwned-config)"; uid = 60001; },
             { name = "\`touch $T/pwned-tick\`"; uid = 60002; },
             { name = "svc-ok"; uid = 60003; } );
EOF
chown nobody "$T/theirs.conf"
check_eq "a config of another user's offers only valid account names" \
	"$(comp "$T/fake" "rotsecctl -c $T/theirs.conf show ")" "svc-ok"
check "and runs no command hidden in a name" [ ! -e "$T/pwned-config" ]
check "nor one in backquotes" [ ! -e "$T/pwned-tick" ]
mkdir "$T/fake2"
cat >"$T/fake2/rotsecctl" <<EOF
#!/bin/sh
[ "\$1" = --help ] && exec "$REL/rotsecctl" --help
printf '[\n  {"name": "\$(touch $T/pwned-status)", "uid": 1},\n  {"name": "svc-ok", "uid": 2}\n]\n'
EOF
chmod 0755 "$T/fake2/rotsecctl"
check_eq "names printed by status --json are filtered the same way" \
	"$(comp "$T/fake2" "rotsecctl show ")" "svc-ok"
check "and run nothing" [ ! -e "$T/pwned-status" ]

# The rules the completion reads --help by, with a help text that has what rotsecctl may
# grow: long options with values, sub-commands, option values that are accounts.
cat >"$T/fake/rotsecctl" <<'EOF'
#!/bin/sh
case "$*" in
--help)
	cat <<HELP
usage: rotsecctl [-c FILE] COMMAND [ARGS]

  check [--effective NAME]       validate the configuration
  sync [--dry-run]               apply the configuration
  fleet fetch|follow|status [--endpoint=URL] NAME
                                 consumers on other hosts
  keygen [--sign] PREFIX         make a key pair

  -c, --config FILE  configuration
  --version          print the version
HELP
	;;
*"status --json"*)
	printf '[\n  {"name": "fleet-a", "uid": 1},\n  {"name": "fleet-b", "uid": 2}\n]\n' ;;
*) exit 1 ;;
esac
EOF
check_eq "commands from the help's two-space lines" "$(comp "$T/fake" 'rotsecctl ')" \
	"$(lines check sync fleet keygen)"
check_eq "options before the command, short and long" "$(comp "$T/fake" 'rotsecctl -')" \
	"$(lines -c --config --version)"
check_eq "an option's value that is an account" \
	"$(comp "$T/fake" 'rotsecctl check --effective ')" "$(lines fleet-a fleet-b)"
check_eq "--config takes a path" "$(comp "$T/fake" "rotsecctl --config $T/files/seal-o")" \
	"$T/files/seal-one"
check_eq "sub-commands first" "$(comp "$T/fake" 'rotsecctl fleet f')" "$(lines fetch follow)"
check_eq "then the sub-command's account" "$(comp "$T/fake" 'rotsecctl fleet fetch ')" \
	"$(lines fleet-a fleet-b)"
check_eq "options with =VALUE are offered with their =" \
	"$(comp "$T/fake" 'rotsecctl fleet fetch --e')" "--endpoint="
check_eq "a flag is not taken for an option with a value" \
	"$(comp "$T/fake" "rotsecctl keygen --sign $T/files/seal-t")" "$T/files/seal-two"

done_testing
