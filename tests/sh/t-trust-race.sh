#!/bin/sh
# A path rotsec writes is checked and used as one: the directories are walked from / with
# O_NOFOLLOW and the file is made relative to the directory descriptor that was checked
# (ARCHITECTURE.md, contract §5). Another user (nobody) swaps what they can between the
# check and the use:
#   - rotsecctl is stopped right after the walk (ROTSEC_FAULT_STOP) while nobody replaces
#     their own delivery directory, in a sticky directory, with a link to a root-owned
#     one, or plants a link or a hard link at the file's name;
#   - a loop of nobody's flips a link on a delivery path between a safe directory and a
#     root-owned one while deliveries run.
# Afterwards the root-owned target is byte-identical and still root's, every time.
. "$(dirname "$0")/lib.sh"
rotsec_env

NOBODY=65534
as_nobody() { setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups "$@"; }
printf 'nobody:x:%s:%s:nobody:/nonexistent:/usr/sbin/nologin\n' $NOBODY $NOBODY >>"$T/passwd"
printf 'nogroup:x:%s:\n' $NOBODY >>"$T/group"

# The root-owned files the attacker wants root to overwrite.
mkdir -p "$T/rootdir"
chmod 0755 "$T/rootdir"
printf 'ROOT ORIGINAL\n' >"$T/rootdir/svc-a.pw"
printf 'ROOT ORIGINAL\n' >"$T/rootdir/target"
chmod 0644 "$T/rootdir/svc-a.pw" "$T/rootdir/target"
root_sum() { sum_of "$T/rootdir/svc-a.pw" "$T/rootdir/target"; }
root_owner() { stat -c '%u %u' "$T/rootdir/svc-a.pw" "$T/rootdir/target" | tr '\n' ' '; }
BASE=$(root_sum)
intact() {
	check_eq "$1: the root-owned targets are byte-identical" "$(root_sum)" "$BASE"
	check_eq "$1: and still root's" "$(root_owner)" "0 0 0 0 "
}

# nobody's directories: one in a sticky directory (as in /tmp), one in a root directory.
mkdir -p "$T/sticky" "$T/home"
chmod 1777 "$T/sticky"
chmod 0755 "$T/home"
mkdir "$T/sticky/nd" "$T/home/nd"
chown $NOBODY:$NOBODY "$T/sticky/nd" "$T/home/nd"
chmod 0700 "$T/sticky/nd" "$T/home/nd"

conf_write 'rotate_every = "2h"; grace = "1h"; max_grace = "2h";' '{ name = "svc"; gid = 60000; }' \
	'{ name = "svc-a"; uid = 60001; group = "svc"; deliver = (
	  { file = "'"$T"'/sticky/nd/svc-a.pw"; owner = "nobody"; mode = "0400"; },
	  { file = "'"$T"'/home/nd/svc-a.pw"; owner = "nobody"; mode = "0400"; } ); }'
check "nobody's own directories are fine delivery directories" ctl check
check "sync delivers into them" ctl sync
check "the secret is nobody's, mode 0400" [ "$(stat -c '%u %a' "$T/sticky/nd/svc-a.pw")" = "$NOBODY 400" ]

# stopped PATH ARGS...: rotsecctl ARGS in the background, stopped after walking PATH;
# STOPPED_PID is its pid (the program's own, not a subshell's).
stopped() {
	point=$1
	shift
	ROTSEC_FAULT_STOP="trust.walked:$point" "$CTL" -c "$CONF" "$@" >"$T/stopped.out" 2>&1 &
	STOPPED_PID=$!
	i=0
	while [ $i -lt 200 ]; do
		case $(ps -o stat= -p $STOPPED_PID 2>/dev/null) in T*) return 0 ;; esac
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}
resume() {
	kill -CONT $STOPPED_PID 2>/dev/null
	wait $STOPPED_PID
}
at_exit 'kill -KILL $STOPPED_PID 2>/dev/null' 

# ---- between the walk and the write, nobody swaps their directory for a link ----
check "rotsecctl deliver stops after walking nobody's directory" \
	stopped "$T/sticky/nd" deliver svc-a
as_nobody mv "$T/sticky/nd" "$T/sticky/nd.old"
as_nobody ln -s "$T/rootdir" "$T/sticky/nd"
check "nobody swapped it for a link to a root directory" [ -L "$T/sticky/nd" ]
resume
intact "swap of the directory after the walk"
check_eq "the secret went into the directory that was checked" \
	"$(stat -c '%u %a' "$T/sticky/nd.old/svc-a.pw")" "$NOBODY 400"
check "and it is the current secret" [ "$(verify_as svc-a "$T/sticky/nd.old/svc-a.pw")" = current ]

out=$(ctl deliver svc-a 2>&1)
check_eq "the next delivery is refused on the link" "$?" 1
check_match "naming nobody's link" "$out" "$T/sticky/nd is not owned by root .*chown -h root"
intact "delivery through nobody's link"
as_nobody rm "$T/sticky/nd"
as_nobody mv "$T/sticky/nd.old" "$T/sticky/nd"

# ---- between the walk and the write, nobody plants a link at the file's name ----
check "rotsecctl deliver stops after walking the other directory" \
	stopped "$T/home/nd" deliver svc-a
as_nobody rm -f "$T/home/nd/svc-a.pw"
as_nobody ln -s "$T/rootdir/target" "$T/home/nd/svc-a.pw"
resume
check_eq "the delivery is refused" "$?" 1
check_match "naming the link" "$(cat "$T/stopped.out")" "$T/home/nd/svc-a.pw is a symbolic link"
intact "a link at the file's name after the walk"
as_nobody rm "$T/home/nd/svc-a.pw"

# A hard link nobody could make only without fs.protected_hardlinks: made here by root.
check "rotsecctl deliver stops again" stopped "$T/home/nd" deliver svc-a
rm -f "$T/home/nd/svc-a.pw"
ln "$T/rootdir/target" "$T/home/nd/svc-a.pw"
resume
intact "a hard link at the file's name after the walk"
check "the hard link was replaced, not written through" \
	[ "$(stat -c %i "$T/home/nd/svc-a.pw")" != "$(stat -c %i "$T/rootdir/target")" ]

# ---- a loop of nobody's flips a link on the path while deliveries run ----
mkdir "$T/home/nd/safe"
chown $NOBODY "$T/home/nd/safe"
chmod 0755 "$T/home/nd"
as_nobody ln -s safe "$T/home/nd/flip"
conf_write 'rotate_every = "2h"; grace = "1h"; max_grace = "2h";' '{ name = "svc"; gid = 60000; }' \
	'{ name = "svc-a"; uid = 60001; group = "svc"; deliver = (
	  { file = "'"$T"'/home/nd/flip/svc-a.pw"; owner = "nobody"; } ); }'
# setpriv itself, not the as_nobody function: $! must be the loop's own pid (a function in
# the background is a subshell, and killing it would leave the loop running).
setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups \
	sh -c 'while :; do ln -sfn "$1" "$2"; ln -sfn safe "$2"; done' sh "$T/rootdir" \
	"$T/home/nd/flip" &
flipper=$!
at_exit "kill $flipper 2>/dev/null"
refusals=0
i=0
while [ $i -lt 30 ]; do
	ctl deliver svc-a >"$T/flip.out" 2>&1 || refusals=$((refusals + 1))
	i=$((i + 1))
done
kill $flipper
wait $flipper 2>/dev/null
check_eq "all 30 deliveries through a link nobody flips are refused" "$refusals" 30
check_match "naming the directory of nobody's that holds it" "$(cat "$T/flip.out")" \
	"$T/home/nd is not owned by root"
intact "30 deliveries racing a link nobody flips"
check "nothing was written into nobody's safe directory either" [ ! -e "$T/home/nd/safe/svc-a.pw" ]
done_testing
