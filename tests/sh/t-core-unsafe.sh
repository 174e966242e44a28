#!/bin/sh
# A store that is unsafe or damaged is refused, says why, and is never written over:
# group-writable file or directory, wrong owner, symlink, FIFO, empty, truncated, garbage.
. "$(dirname "$0")/lib.sh"
rotsec_env
conf_write 'rotate_every = "2h"; grace = "1h"; max_grace = "2h";' '{ name = "svc"; gid = 60000; }' \
	'{ name = "svc-a"; uid = 60001; group = "svc"; deliver = ( { file = "'"$T"'/out/svc-a.pw"; } ); }'
ctl sync >/dev/null || not_ok "sync"
cp -a "$T/store" "$T/store.good"
restore() { rm -rf "$T/store"; cp -a "$T/store.good" "$T/store"; }

# case NAME SETUP WHY-REGEX
refused() {
	restore
	sh -c "$2"
	before=$(cd "$T/store" && ls -la --time-style=+%s.%N | sha256sum)
	out=$(ctl verify svc-a <"$T/out/svc-a.pw" 2>&1)
	rc=$?
	check_eq "verify refuses a store whose $1 (exit status)" "$rc" "1"
	check_match "and says why: $1" "$out" "$3"
	out=$(ctl rotate svc-a --revoke-previous 2>&1)
	rc=$?
	check_eq "rotate refuses a store whose $1" "$rc" "1"
	after=$(cd "$T/store" && ls -la --time-style=+%s.%N | sha256sum)
	check_eq "and leaves it exactly as it was ($1)" "$after" "$before"
}

S=$T/store
refused "secrets.cdb is group-writable" "chmod 0660 $S/secrets.cdb" 'writable by group or others'
refused "secrets.cdb is world-writable" "chmod 0646 $S/secrets.cdb" 'writable by group or others'
refused "directory is group-writable" "chmod 0775 $S" 'writable by group or others'
refused "secrets.cdb is owned by another user" "chown 12345 $S/secrets.cdb" 'not owned by root'
refused "secrets.cdb is a symlink" "mv $S/secrets.cdb $T/elsewhere.cdb && ln -s $T/elsewhere.cdb $S/secrets.cdb" 'symbolic link'
refused "secrets.cdb is a FIFO" "rm $S/secrets.cdb && mkfifo -m 0600 $S/secrets.cdb" 'not a regular file'
refused "secrets.cdb is empty" ": > $S/secrets.cdb" 'not a valid store file|no valid header'
refused "secrets.cdb is truncated" "head -c \$((\$(stat -c %s $S/secrets.cdb) - 40)) $S/secrets.cdb > $T/t && cat $T/t > $S/secrets.cdb" 'not a valid store file|no valid header|damaged'
refused "secrets.cdb is random bytes" "head -c 4096 /dev/urandom > $S/secrets.cdb" 'not a valid store file|no valid header|damaged'
refused "store directory is a symlink to an unsafe place" \
	"mkdir $T/wide && cp -a $S/. $T/wide/ && chmod 0777 $T/wide && rm -rf $S && ln -s $T/wide $S" 'writable by group or others'

restore
check_eq "the restored store works again" "$(verify_as svc-a "$T/out/svc-a.pw")" "current"
done_testing
