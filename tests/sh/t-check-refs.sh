#!/bin/sh
# `rotsecctl check` checks what the config refers to on this host, as `sshd -t` and
# `visudo -c` do: each problem at the file and line of its setting, with what to do, and
# exit 1; what rotsec can live without (a metrics collector's directory) is a warning.
# The same mistakes, left to sync, fail loudly there too (never "0 delivered" and exit 0).
. "$(dirname "$0")/lib.sh"
rotsec_env

NOBODY=65534
mkdir -p "$T/progs"
chmod 0755 "$T/progs"
printf '#!/bin/sh\ncat >/dev/null\n' >"$T/progs/ok"
chmod 0755 "$T/progs/ok"

# One account on line 12; its deliver list and verify, $1, from line 13 on.
setup() {
	conf_write 'rotate_every = "2h"; grace = "1h"; max_grace = "2h";' '{ name = "svc"; gid = 60000; }' \
		"{ name = \"svc-a\"; uid = 60001; group = \"svc\";
$1 }"
}
good='deliver = ( { file = "'"$T"'/out/svc-a.pw"; } );'
setup "$good"
check "a config whose every reference is fine passes" ctl check
check "and syncs" ctl sync

# refused NAME LINE REGEX: check exits 1 with REGEX at $CONF:LINE.
refused() {
	out=$(ctl check 2>&1)
	rc=$?
	check_eq "$1: check exits 1" "$rc" 1
	check_match "$1: at $CONF:$2, saying what to do" "$out" "^$CONF:$2: .*$3"
}

setup 'deliver = ( { file = "'"$T"'/out/svc-a.pw"; },
  { file = "'"$T"'/missing/svc-a.pw"; } );'
refused "a delivery into a missing directory" 14 \
	"file $T/missing/svc-a.pw: $T/missing: No such file or directory; rotsec does not make delivery directories: create it"
out=$(ctl sync 2>&1)
check_eq "sync with it fails (exit 1), not a quiet success" "$?" 1
check_match "saying which delivery" "$out" "$T/missing/svc-a.pw"

mkdir -m 0777 "$T/wide"
setup 'deliver = ( { file = "'"$T"'/wide/svc-a.pw"; } );'
refused "a delivery into a directory others can write" 13 "chmod go-w $T/wide"

mkdir -m 0755 "$T/lnk"
ln -s "$T/out/elsewhere" "$T/lnk/svc-a.pw"
setup 'deliver = ( { file = "'"$T"'/lnk/svc-a.pw"; } );'
refused "a delivery onto a symbolic link" 13 "is a symbolic link: a delivery replaces only a regular file"

ln -s "$T/out" "$T/outlink"
setup 'deliver = ( { file = "'"$T"'/outlink/svc-a.pw"; } );'
refused "a delivery through a symbolic link" 13 "$T/outlink is a symbolic link \\(to $T/out\\): .*name the real directory"

setup 'deliver = ( { command = [ "'"$T"'/progs/none" ]; } );'
refused "a command that does not exist" 13 "program $T/progs/none does not exist"
printf '#!/bin/sh\n' >"$T/progs/noexec"
chmod 0644 "$T/progs/noexec"
setup 'deliver = ( { command = [ "'"$T"'/progs/noexec" ]; } );'
refused "a command that is not executable" 13 "is not executable \\(mode 0644\\): chmod \\+x $T/progs/noexec"
setup 'verify = [ "'"$T"'/progs/none" ];
'"$good"
refused "a verify program that does not exist" 13 "program $T/progs/none does not exist"

# The directories rotsec writes, and key_file and the audit log.
setup "$good"
chmod 0750 "$T/state"
refused "a state dir open to its group" 2 "state_dir $T/state must be mode 0700 \\(it is 0750\\).*chmod 0700"
chmod 0700 "$T/state"
chmod 0644 "$T/rotsec.key"
refused "a host key others can read" 3 "key_file $T/rotsec.key is open to group or others \\(mode 0644\\).*chmod 0600"
chmod 0600 "$T/rotsec.key"
chown $NOBODY "$T/run"
refused "a run dir of another user" 4 "run_dir $T/run: $T/run is not owned by root \\(uid $NOBODY\\): chown root"
chown 0 "$T/run"
ln "$T/audit.jsonl" "$T/audit.copy"
refused "an audit log with a second hard link" 5 "has 2 hard links"
rm "$T/audit.copy"

# What rotsec makes itself may be missing; a collector's directory is a warning.
rm -rf "$T/run"
sed -i "s#^metrics_file = .*#metrics_file = \"$T/collector/rotsec.prom\";#" "$CONF"
out=$(ctl check 2>&1)
check_eq "a missing run dir and collector dir: check still passes" "$?" 0
check_match "with a warning for the collector's directory" "$out" \
	"^warning: $CONF:6: metrics_file: the directory $T/collector does not exist"
check "and none for the run dir, which sync makes" sh -c '! printf "%s\n" "$1" | grep -q run_dir' sh "$out"
check "sync makes the run dir" sh -c "\"$CTL\" -c \"$CONF\" sync >/dev/null && [ \"\$(stat -c %a \"$T/run\")\" = 700 ]"
check "and leaves the collector's directory alone" [ ! -e "$T/collector" ]
sed -i "s#^metrics_file = .*#metrics_file = \"$T/store/metrics/rotsec.prom\";#" "$CONF"
out=$(ctl check 2>&1)
check_eq "a metrics directory inside the store's is rotsec's own: no warning" "$out" \
	"$CONF: OK, 1 account, 1 group"

# An admin who is not root checks a copy of their own: what root alone may look into is
# a warning (check it as root), not an error; nothing is trusted that they could not.
mkdir "$T/mine"
cp "$CONF" "$T/passwd" "$T/group" "$T/mine/"
sed -i "s#$T/passwd#$T/mine/passwd#; s#$T/group#$T/mine/group#" "$T/mine/rotsec.conf"
chown -R $NOBODY "$T/mine"
out=$(setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups "$CTL" -c "$T/mine/rotsec.conf" check 2>&1)
check_eq "an unprivileged check of one's own config passes" "$?" 0
check_match "saying what it could not look into" "$out" "^warning: .*state_dir.*cannot check it as uid $NOBODY .*run rotsecctl check as root"
done_testing
