#!/bin/sh
# The fleet timeout bounds all of the etcd work done while one account's lock is held, not
# each publish. A rotation can publish twice under the lock: the rotation, then its status
# again once a delivery that failed made the previous secret held (rollout.c, fleet_settle).
# An etcd member that answers every request just inside the timeout (fake-etcd.py,
# slow-while) then kept the lock for two timeouts, longer than lock_timeout, which the
# config only checks against one: a `rotsecctl rotate --revoke-previous` started meanwhile
# gave up waiting for the lock, and a compromised secret stayed valid.
. "$(dirname "$0")/etcd-lib.sh" # a network namespace of its own for the fixed port
. "$(dirname "$0")/daemon-lib.sh"
rotsec_env
fleet_consumer_keys backup1

SLOW=$T/slow
: >"$T/fake.log"
FAKE_ETCD_LOG=$T/fake.log python3 "$top/tests/sh/fake-etcd.py" 12379 slow-while "$SLOW" 3.5 \
	>"$T/fake.ready" 2>>"$T/fake.err" &
FAKE_PID=$!
at_exit 'kill "$FAKE_PID" 2>/dev/null; wait "$FAKE_PID" 2>/dev/null'
wait_until 5 test -s "$T/fake.ready" || diag "fake endpoint did not start"

# svc-a goes to a file, to backup1, and to a command that always fails (its previous
# secret is then held, which changes the published status).
printf '#!/bin/sh\ncat >/dev/null\nexit 1\n' >"$T/fails"
chmod 0755 "$T/fails"
conf_write 'rotate_every = "1d"; grace = "1h"; max_grace = "2h";' \
	'{ name = "svc"; gid = 60000; }' \
	"{ name = \"svc-a\"; uid = 60001; group = \"svc\";
	   deliver = ( { file = \"$T/out/svc-a.pw\"; },
	               { fleet = \"backup1\"; sealed_to = \"$T/keys/backup1.pub\"; },
	               { command = [ \"$T/fails\" ]; } ); }"
sed -i '1i lock_timeout = "6s";' "$CONF"
cat >>"$CONF" <<C
fleet = {
  endpoints = [ "http://127.0.0.1:12379" ];
  host = "web1";
  signing_key = "$T/keys/sign.key";
  timeout = "5s";
};
C
check "the config (fleet timeout 5 s, lock_timeout 6 s) is accepted" ctl check
ctl sync >/dev/null 2>&1
check "the first secret is there" test -s "$T/out/svc-a.pw"

# Every etcd request now takes 3.5 s: one publish fits the 5 s timeout, two do not fit
# lock_timeout.
touch "$SLOW"
before=$(grep -c '^/v3/kv/txn' "$T/fake.log")
t0=$(now_ms)
(
	ctl rotate svc-a >"$T/rotate.out" 2>&1
	now_ms >"$T/rotate.end"
) &
ROT_PID=$!
txns() { [ "$(grep -c '^/v3/kv/txn' "$T/fake.log")" -gt "$before" ]; }
wait_until 10 txns || diag "the rotation's publish did not reach the endpoint"
# Its exit status says the failing command delivery; what it did is in what it says.
ctl rotate svc-a --revoke-previous >"$T/cmd.out" 2>&1
wait "$ROT_PID" 2>/dev/null
t1=$(cat "$T/rotate.end")
diag "rotation: $((t1 - t0)) ms; $(($(grep -c '^/v3/kv/txn' "$T/fake.log") - before)) transactions in all"
check_match "rotate --revoke-previous started during the rotation gets the lock and rotates" \
	"$(cat "$T/cmd.out")" "rotated to generation 3; every earlier secret revoked"
grep -q "rotated to generation 3" "$T/cmd.out" || sed 's/^/#   /' "$T/cmd.out"
check "the rotation held the lock for no more than the fleet timeout and then some ($((t1 - t0)) ms)" \
	test $((t1 - t0)) -le 6000
done_testing
