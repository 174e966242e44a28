#!/bin/sh
# A compromise rotation while rotsecd is stuck publishing. Every etcd endpoint accepts
# connections and never answers (tests/sh/fake-etcd.py, silent-while); rotsecd publishes a
# rotation holding the account's lock, and `rotsecctl rotate --revoke-previous` waits
# for that lock (lock_timeout, 10 s by default). With the default fleet timeout (5 s) the
# publish, every endpoint tried, ends within that one timeout: the compromise rotation
# gets the lock, exits 0 once etcd answers again, and a login through the real libpam
# (pam_logins, the release module) with every secret the account had is refused but
# with the newest. The other account of the same pass fails at once, not after another
# timeout.
. "$(dirname "$0")/etcd-lib.sh" # a network namespace of its own for the fixed ports
. "$(dirname "$0")/pam_lib.sh"
. "$(dirname "$0")/daemon-lib.sh"
PL=$REL/tests/tools/pam_logins
pam_need "$PL" "$PAM_REL"
rotsec_env
fleet_consumer_keys backup1

# Three endpoints, all silent while $T/silent exists.
SILENT=$T/silent
: >"$T/fake.log"
FAKE_PIDS=""
for port in 12379 22379 32379; do
	FAKE_ETCD_LOG=$T/fake.log python3 "$top/tests/sh/fake-etcd.py" "$port" silent-while \
		"$SILENT" >"$T/fake.$port.ready" 2>>"$T/fake.err" &
	FAKE_PIDS="$FAKE_PIDS $!"
done
at_exit 'for p in $FAKE_PIDS; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done'
for port in 12379 22379 32379; do
	wait_until 5 test -s "$T/fake.$port.ready" || diag "fake endpoint $port did not start"
done

# svc-a and svc-b each go to a file (the secret, for the logins below) and to backup1.
# No fleet timeout and no lock_timeout: the defaults are what is tested.
acct() {
	echo "{ name = \"$1\"; uid = $2; group = \"svc\";
	   deliver = ( { file = \"$T/out/$1.pw\"; },
	               { fleet = \"backup1\"; sealed_to = \"$T/keys/backup1.pub\"; } ); }"
}
conf_write 'rotate_every = "1h"; grace = "1s"; max_grace = "1h";' '{ name = "svc"; gid = 60000; }' \
	"$(acct svc-a 60001), $(acct svc-b 60002)"
cat >>"$CONF" <<C
fleet = {
  endpoints = [ "http://127.0.0.1:12379", "http://127.0.0.1:22379", "http://127.0.0.1:32379" ];
  host = "web1";
  signing_key = "$T/keys/sign.key";
};
C
mkdir -p "$T/pam.d" "$T/seen"
cat >"$T/pam.d/rotsec-c" <<EOF
auth required $PAM_REL store=$T/store run=$T/run nodelay
EOF

# Every secret svc-a was seen with, one file each in $T/seen, named by content.
seen() { pam_seen "$@"; }
# logins_left: "N M", how many older secrets of svc-a opened it through libpam (must be
# 0), and whether the newest did (1).
logins_left() {
	seen "$T/out/svc-a.pw"
	pam_logins_left rotsec-c svc-a "$T/out/svc-a.pw"
}

ctl sync >/dev/null || diag "initial sync failed"
seen "$T/out/svc-a.pw"
dmn_start || {
	not_ok "rotsecd starts"
	sed 's/^/# /' "$T/rotsecd.log"
	done_testing
	exit 1
}
# SIGUSR1 rotates both accounts in one pass (the first secret has no previous one in
# grace), svc-a first.
touch "$SILENT"
before=$(grep -c '^/v3/kv/txn' "$T/fake.log")
txns() { [ "$(grep -c '^/v3/kv/txn' "$T/fake.log")" -gt "$before" ]; }
dmn_signal USR1
check "rotsecd's publish of the rotation reaches the endpoints, which say nothing" \
	wait_until 10 txns
t0=$(now_ms)
seen "$T/out/svc-a.pw"

# While rotsecd holds svc-a's lock: the compromise rotation.
(
	ctl rotate svc-a --revoke-previous >"$T/cmd.out" 2>&1
	echo $? >"$T/cmd.rc"
) &
CMD_PID=$!
failed_a() { grep -q '"event":"deliver","account":"svc-a","generation":2,.*"result":"failed"' "$T/audit.jsonl"; }
check "rotsecd's publish fails" wait_until 20 failed_a
t1=$(now_ms)
diag "rotsecd's publish took $((t1 - t0)) ms: $(grep '"account":"svc-a","generation":2,.*"result":"failed"' "$T/audit.jsonl" | sed 's/.*"error":"\([^"]*\)".*/\1/' | head -1)"
check "within one fleet timeout (5 s) for all 3 endpoints, not one per endpoint ($((t1 - t0)) ms)" \
	test $((t1 - t0)) -le 7000
# etcd answers again: the compromise rotation's own publish can go through.
rm -f "$SILENT"
wait_until 30 test -s "$T/cmd.rc"
wait "$CMD_PID" 2>/dev/null
t2=$(now_ms)
rc=$(cat "$T/cmd.rc" 2>/dev/null)
check_eq "rotate --revoke-previous started while rotsecd was stuck publishing exits 0 ($((t2 - t0)) ms)" \
	"$rc" 0
[ "$rc" = 0 ] || sed 's/^/#   /' "$T/cmd.out"
check_match "... saying every earlier secret is revoked" "$(cat "$T/cmd.out")" \
	"rotated to generation 3; every earlier secret revoked"
check_eq "... and only the newest secret logs in through libpam" "$(logins_left)" "0 1"
check_eq "three secrets were seen: the first, rotsecd's, the compromise's" \
	"$(find "$T/seen" -type f | wc -l)" 3

# The other account of the pass: its publish failed at once, said so.
failed_b() { grep -q '"event":"deliver","account":"svc-b","generation":2,.*"result":"failed"' "$T/audit.jsonl"; }
check "svc-b's publish in the same pass failed too" wait_until 10 failed_b
check_match "at once, held after svc-a's timeout rather than waiting for its own" \
	"$(grep '"event":"deliver","account":"svc-b","generation":2,.*"result":"failed"' "$T/audit.jsonl")" \
	'not tried again for'
dmn_stop
done_testing
