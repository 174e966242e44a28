#!/bin/sh
# Every input that decides what root runs or where it writes passes the trust rule
# (ARCHITECTURE.md, contract §5): the config, an @include, passwd_file, group_file, key_file, a
# sealed_to key, a command program and a verify program. Each is made unsafe four ways: owned by
# another user (nobody), group- or world-writable, under a directory of another user, and reached
# through a link that user planted in /tmp. Each time `rotsecctl check` names the file and
# line and the fix, `sync` refuses, the store and the delivered files are byte-identical,
# and no command ran. Then the two reproductions of the review: an @include that nobody
# can write, and a sealed_to key of nobody's; and rotsecd keeping its config on SIGHUP.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon-lib.sh"
rotsec_env

NOBODY=65534
as_nobody() { setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups "$@"; }

mkdir -p "$T/conf/inc" "$T/sys" "$T/hk" "$T/bin" "$T/keys" "$T/out"
chmod 0755 "$T/conf" "$T/conf/inc" "$T/sys" "$T/hk" "$T/bin" "$T/keys" "$T/out"
mv "$T/passwd" "$T/group" "$T/sys/"
ctl keygen "$T/keys/consumer" >/dev/null || not_ok "keygen"
# The programs leave a mark in $T/ran when they run: a refused one must leave none.
for p in push verify; do
	printf '#!/bin/sh\ncat >/dev/null\necho %s >>"%s/ran"\n' "$p" "$T" >"$T/bin/$p"
	chmod 0755 "$T/bin/$p"
done

CONF=$T/conf/rotsec.conf
INC=inc/accounts.conf
PASSWD=$T/sys/passwd GROUP=$T/sys/group HK=$T/hk/rotsec.key
PUB=$T/keys/consumer.pub PUSH=$T/bin/push VERIFY=$T/bin/verify

# The config, on fixed lines: key_file 3, passwd_file 7, group_file 8, @include 11; in
# the include: verify 2, the sealed_to entry 5, the command 6.
write_conf() {
	cat >"$CONF" <<EOF
store_dir = "$T/store";
state_dir = "$T/state";
key_file = "$HK";
run_dir = "$T/run";
audit_log = "$T/audit.jsonl";
metrics_file = "$T/rotsec.prom";
passwd_file = "$PASSWD";
group_file = "$GROUP";
defaults = { rotate_every = "2h"; grace = "1h"; max_grace = "2h"; };
groups = ( { name = "svc"; gid = 60000; } );
@include "$INC"
EOF
	cat >"$T/conf/inc/accounts.conf" <<EOF
accounts = ( { name = "svc-a"; uid = 60001; group = "svc";
  verify = [ "$VERIFY" ];
  deliver = (
    { file = "$T/out/svc-a.pw"; },
    { sealed_to = "$PUB"; file = "$T/out/svc-a.sealed"; },
    { command = [ "$PUSH" ]; }
  ); } );
EOF
}
write_conf
check "the safe config passes check" ctl check
check "and syncs" ctl sync
rm -f "$T/ran"

sums() { sum_of "$T/store/accounts.cdb" "$T/store/secrets.cdb" "$T/out/svc-a.pw" "$T/out/svc-a.sealed"; }
base=$(sums)

# refused WHAT WHERE FIX: check names WHERE (file:line) and FIX, sync refuses, nothing changes.
refused() {
	out=$(ctl check 2>&1)
	rc=$?
	check_eq "$1: check exits 1" "$rc" 1
	check_match "$1: check says where ($2)" "$out" "^$2: "
	check_match "$1: and the fix ($3)" "$out" "$3"
	out=$(ctl sync 2>&1)
	rc=$?
	check_eq "$1: sync refuses" "$rc" 1
	check_eq "$1: the store and the delivered files are byte-identical" "$(sums)" "$base"
	check "$1: no program ran" [ ! -e "$T/ran" ]
	rm -f "$T/ran"
}

# each KIND FILE WHERE [CONFVAR]: the four ways for one input. CONFVAR names the variable
# holding the input's path in write_conf, for the cases that move it.
each() {
	kind=$1 file=$2 where=$3 var=${4:-}
	mode=$(stat -c %a "$file")

	chown $NOBODY "$file"
	refused "$kind owned by another user" "$where" "not owned by root \\(uid $NOBODY\\): chown root $file"
	chown 0 "$file"

	chmod g+w "$file"
	refused "$kind writable by group" "$where" "writable by group or others \\(mode [0-7]+\\): chmod go-w $file"
	chmod "$mode" "$file"
	chmod o+w "$file"
	refused "$kind writable by others" "$where" "writable by group or others .*: chmod go-w $file"
	chmod "$mode" "$file"

	dir=$(dirname "$file")
	chown $NOBODY "$dir"
	refused "$kind under a directory of another user" "$where" "$dir is not owned by root \\(uid $NOBODY\\): chown root $dir"
	chown 0 "$dir"

	[ -n "$var" ] || return 0
	# nobody plants a link in /tmp to the real (safe) file, and the config names the link.
	link=$(mktemp -u /tmp/rotsec-planted.XXXXXX)
	as_nobody ln -s "$file" "$link" || not_ok "nobody plants $link"
	eval "saved=\$$var; $var=\$link"
	write_conf
	refused "$kind reached through a link planted by another user" "$where" \
		"$link is not owned by root \\(uid $NOBODY\\): chown -h root $link"
	eval "$var=\$saved"
	write_conf
	rm -f "$link"
}

CF=$CONF IF=$T/conf/inc/accounts.conf
each "the config" "$CONF" "$CONF"
each "an @include" "$IF" "$CF:11"
each "passwd_file" "$PASSWD" "$CF:7" PASSWD
each "group_file" "$GROUP" "$CF:8" GROUP
each "a sealed_to key" "$PUB" "$IF:5" PUB
each "a command program" "$PUSH" "$IF:6" PUSH
each "a verify program" "$VERIFY" "$IF:2" VERIFY
each "key_file" "$HK" "$CF:3"

# The config itself through a link nobody planted in /tmp: -c names the link.
link=$(mktemp -u /tmp/rotsec-planted.XXXXXX)
as_nobody ln -s "$CONF" "$link"
out=$("$CTL" -c "$link" check 2>&1)
check_eq "the config reached through a link nobody planted: check exits 1" "$?" 1
check_match "and says to chown the link" "$out" "chown -h root $link"
"$CTL" -c "$link" sync >/dev/null 2>&1
check_eq "and sync refuses it" "$?" 1
rm -f "$link"

# A script whose interpreter another user can replace runs their code as root too.
mkdir "$T/theirs"
cp /bin/sh "$T/theirs/sh"
chown -R $NOBODY "$T/theirs"
printf '#!%s\ncat >/dev/null\necho push >>"%s/ran"\n' "$T/theirs/sh" "$T" >"$PUSH"
refused "a command whose interpreter is another user's" "$IF:6" "chown root $T/theirs.*interpreter of $PUSH"
printf '#!/bin/sh\ncat >/dev/null\necho push >>"%s/ran"\n' "$T" >"$PUSH"

check "every input safe again: check passes" ctl check

# ---- the review's reproductions ----
# An @include that nobody can write: they add a command delivery of their own.
chown $NOBODY "$IF"
chmod 0666 "$IF"
# (in place: nobody cannot make files in the include's directory, only write this one)
as_nobody sh -c 'c=$(sed "s#{ command = \[ \"$2\" \]; }#{ command = [ \"/bin/sh\", \"-c\", \"id -u >$3\" ]; }#" "$1") &&
	printf "%s\n" "$c" >"$1"' sh "$IF" "$PUSH" "$T/ran"
check_match "nobody could edit the include (the setup of the attack)" "$(cat "$IF")" "id -u"
refused "an @include nobody can write, with nobody's command in it" "$CF:11" "chown root $IF"
check_fails "rotate refuses it too" ctl rotate svc-a --revoke-previous
check "and nothing ran as root" [ ! -e "$T/ran" ]
write_conf
chown 0 "$IF"
chmod 0644 "$IF"

# A sealed_to key of nobody's: they swap in their own key and would open the next box.
chown $NOBODY "$PUB"
as_nobody "$CTL" keygen "$T/keys/theirs" >/dev/null 2>&1 || cp "$PUB" "$T/keys/theirs.pub"
before=$(sum_of "$T/out/svc-a.sealed")
as_nobody sh -c "cat '$T/keys/theirs.pub' >'$PUB'" 2>/dev/null || cat "$T/keys/theirs.pub" >"$PUB"
refused "a sealed_to key nobody owns and swapped" "$IF:5" "chown root $PUB"
check_fails "rotate refuses it" ctl rotate svc-a --revoke-previous
check_eq "the sealed file still holds the box to the consumer's own key" \
	"$(sum_of "$T/out/svc-a.sealed")" "$before"
chown 0 "$PUB"

# ---- rotsecd: refused at start, and on SIGHUP the previous config stays ----
ctl keygen "$T/keys/consumer2" >/dev/null
PUB=$T/keys/consumer2.pub
write_conf
check "a fresh key: check passes" ctl check
check "sync" ctl sync
rm -f "$T/ran"
gen=$(jfield svc-a generation)
dmn_start || not_ok "rotsecd starts on the safe config"
chmod 0666 "$IF"
dmn_signal HUP
wait_until 10 grep -q 'still running on the previous config' "$T/rotsecd.log"
check_match "SIGHUP with an include writable by others is refused, with the fix" \
	"$(cat "$T/rotsecd.log")" "rotsec.conf:11: .*chmod go-w $IF"
check_match "and says it keeps the previous config" "$(cat "$T/rotsecd.log")" \
	'still running on the previous config'
check "rotsecd keeps running" kill -0 "$DPID"
gen_above() { [ "$(metric rotsec_generation 'account="svc-a"')" -gt "$gen" ] 2>/dev/null; }
dmn_signal USR1
check "and rotates on the previous config" wait_until 30 gen_above
dmn_stop >/dev/null

chmod 0666 "$IF"
dmn_start
check_eq "rotsecd refuses to start on it" "$?" 1
check_match "saying why, with the fix" "$(cat "$T/rotsecd.log")" "chmod go-w $IF"
chmod 0644 "$IF"
done_testing
