#!/bin/sh
# Two rotations of one account at the same moment: exactly one wins, the other is refused
# because the winner's previous secret is now in grace. Same for CLI against CLI many
# times over, and for many different accounts rotating at once (no lost store update).
. "$(dirname "$0")/lib.sh"
rotsec_env
accounts=""
for i in 1 2 3 4 5 6; do
	accounts="$accounts${accounts:+,} { name = \"svc-$i\"; uid = 6000$i; group = \"svc\"; deliver = ( { file = \"$T/out/svc-$i.pw\"; } ); }"
done
conf_write 'rotate_every = "2h"; grace = "1h"; max_grace = "2h";' '{ name = "svc"; gid = 60000; }' "$accounts"
ctl sync >/dev/null || not_ok "sync"

bad=0
for round in 1 2 3 4 5; do
	ctl revoke svc-1 >/dev/null 2>&1
	ctl rotate svc-1 >"$T/a.out" 2>&1 &
	a=$!
	ctl rotate svc-1 >"$T/b.out" 2>&1 &
	b=$!
	wait $a
	ra=$?
	wait $b
	rb=$?
	if [ $((ra + rb)) -ne 1 ]; then
		diag "round $round: exit statuses $ra and $rb"
		bad=$((bad + 1))
	fi
	grep -qh 'in grace until' "$T/a.out" "$T/b.out" || { diag "round $round: loser did not say why"; bad=$((bad + 1)); }
	[ "$(verify_as svc-1 "$T/out/svc-1.pw")" = current ] || { diag "round $round: delivered secret not current"; bad=$((bad + 1)); }
done
check "two simultaneous rotations of one account: exactly one wins, five times over" [ "$bad" -eq 0 ]

gen_before=$(ctl status --json | python3 -c 'import json,sys; print(sum(o["generation"] for o in json.load(sys.stdin)["accounts"][1:]))')
pids=""
for i in 2 3 4 5 6; do
	ctl rotate "svc-$i" >/dev/null 2>&1 &
	pids="$pids $!"
done
fails=0
for p in $pids; do wait "$p" || fails=$((fails + 1)); done
check_eq "five accounts rotated at once all succeed" "$fails" "0"
gen_after=$(ctl status --json | python3 -c 'import json,sys; print(sum(o["generation"] for o in json.load(sys.stdin)["accounts"][1:]))')
check_eq "no store update was lost (each generation went up by one)" "$gen_after" "$((gen_before + 5))"
allcur=0
for i in 2 3 4 5 6; do [ "$(verify_as "svc-$i" "$T/out/svc-$i.pw")" = current ] && allcur=$((allcur + 1)); done
check_eq "every delivered secret is current" "$allcur" "5"

# The store lock times out with a clear message instead of hanging.
python3 - "$T/store/.rotsec.lock" "$T/held" <<'PY' &
import fcntl, sys, time
f = open(sys.argv[1], "w")
fcntl.flock(f, fcntl.LOCK_EX)
open(sys.argv[2], "w").close()  # only now is the lock held
time.sleep(30)
PY
holder=$!
i=0
while [ ! -e "$T/held" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
conf_write 'rotate_every = "2h"; grace = "1h"; max_grace = "2h";' '{ name = "svc"; gid = 60000; }' "$accounts"
sed -i '1i lock_timeout = "1s";' "$CONF"
out=$(ctl rotate svc-2 --revoke-previous 2>&1)
rc=$?
check_eq "a held store lock makes rotate fail after lock_timeout" "$rc" "1"
check_match "and say the store is locked" "$out" 'locked by another writer'
kill $holder
wait $holder 2>/dev/null
done_testing
