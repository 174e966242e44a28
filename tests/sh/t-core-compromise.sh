#!/bin/sh
# A compromise rotation leaves no earlier secret valid, whatever the journal says (ARCHITECTURE.md,
# contract §3, rotsecctl(8)). A rotation is interrupted at every step its journal can be left at:
# killed (SIGKILL) at each fault point it passes, its store write failed, a delivery that keeps
# failing (the previous secret held), a verify command that has not passed yet. Then
# `rotate --revoke-previous`, or `revoke`, exits 0, and a login through the real libpam
# (pam_logins, the release module) with every secret the account ever had but the newest is
# refused, and with the newest accepted. What cannot be reached exits non-zero and says
# what is still accepted, and that is the truth.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pam_lib.sh"
. "$(dirname "$0")/daemon-lib.sh" # jfield
PL=$REL/tests/tools/pam_logins
pam_need "$PL" "$PAM_REL"
rotsec_env
[ -n "${KEEP_T:-}" ] && diag "kept in $T"
cat >"$T/consumer" <<'SH'
#!/bin/sh
# A consumer that takes the secret unless told it is broken.
d=$(dirname "$0")
[ -e "$d/broken" ] && exit 1
cat >"$d/got.tmp" && mv "$d/got.tmp" "$d/got"
SH
cat >"$T/check" <<'SH'
#!/bin/sh
# A verify command that fails once when told to.
d=$(dirname "$0")
[ -e "$d/vbroken" ] && rm -f "$d/vbroken" && exit 1
exit 0
SH
chmod 0755 "$T/consumer" "$T/check"
conf_write 'rotate_every = "2h"; grace = "1h"; max_grace = "2h";' '{ name = "svc"; gid = 60000; }' \
	'{ name = "svc-a"; uid = 60001; group = "svc"; verify = [ "'"$T"'/check" ];
	   deliver = ( { file = "'"$T"'/out/svc-a.pw"; }, { command = [ "'"$T"'/consumer" ]; } ); }'
mkdir -p "$T/pam.d" "$T/seen"
cat >"$T/pam.d/rotsec-c" <<EOF
auth required $PAM_REL store=$T/store run=$T/run nodelay
EOF

# Every secret the account was ever seen with, one file each in $T/seen, named by content.
seen() { pam_seen "$@"; }
ctl sync >/dev/null || {
	not_ok "initial sync"
	done_testing
	exit 1
}
seen "$T/out/svc-a.pw"
ctl rotate svc-a >/dev/null || not_ok "second generation"
seen "$T/out/svc-a.pw"
# No previous secret in grace, so that a plain rotation can start (and be interrupted).
ctl revoke svc-a >/dev/null || not_ok "revoke of the first generation"
check_eq "before anything: generation 2, the first one revoked" \
	"$(for f in "$T/seen/"*; do verify_as svc-a "$f"; done | sort | tr '\n' ' ')" "current revoked "
for d in store state out run; do mkdir -p "$T/$d" && cp -a "$T/$d" "$T/$d.base"; done
cp -a "$T/seen" "$T/seen.base"
cp "$T/got" "$T/got.base"
reset() {
	for d in store state out run seen; do rm -rf "${T:?}/$d" && cp -a "$T/$d.base" "$T/$d"; done
	cp "$T/got.base" "$T/got"
	rm -f "$T/broken" "$T/vbroken"
}

# logins_left: what a login through libpam gets with each secret seen, as "N M": how many
# older secrets opened the account (must be 0) and whether the newest one did (1). The
# newest is the one the consumers hold now, which `verify` calls current.
logins_left() {
	seen "$T/out/svc-a.pw" "$T/got"
	pam_logins_left rotsec-c svc-a "$T/out/svc-a.pw"
}

# The points a plain rotation passes, each journal and delivery step.
ROTSEC_FAULT_LOG=$T/points ctl rotate svc-a --revoke-previous >/dev/null 2>&1
reset
points="$(sort -u "$T/points" | tr '\n' ' ')deliver.done@2"
for want in rotate.generated rotate.activated deliver.done verify.done atomic.renamed:secrets.cdb \
	atomic.renamed:svc-a.state atomic.renamed:svc-a.pw; do
	check_match "a rotation passes fault point $want" "$points" "(^| )$want( |$)"
done

# ---- killed at every point, then the compromise ----
for cmd in "rotate svc-a --revoke-previous" "revoke svc-a"; do
	bad=0 n=0
	for p in $points; do
		reset
		ROTSEC_FAULT=$p ctl rotate svc-a >/dev/null 2>&1
		rc=$?
		[ "$rc" -eq 137 ] || {
			diag "rotate killed at $p exited $rc"
			bad=$((bad + 1))
			continue
		}
		n=$((n + 1))
		seen "$T/out/svc-a.pw" "$T/got"
		step=$(jfield svc-a step)
		# shellcheck disable=SC2086 # cmd is words
		ctl $cmd >"$T/cmd.out" 2>&1
		rc=$?
		# Killed before its journal: nothing to revoke, which revoke says (exit 1).
		[ "$rc" -eq 1 ] && [ "$step" = delivered ] &&
			grep -q 'no previous secret in grace: only its current secret (generation 2) is accepted' \
				"$T/cmd.out" && rc=0
		left=$(logins_left)
		if [ "$rc" -ne 0 ] || [ "$left" != "0 1" ]; then
			diag "killed at $p (journal at $step), then $cmd: exit $rc, logins '$left' (older opened, newest opened)"
			sed 's/^/#   /' "$T/cmd.out"
			bad=$((bad + 1))
		fi
	done
	check "$cmd after a rotation killed at each of its $n fault points: exit 0, and only the newest secret logs in" \
		[ "$bad" -eq 0 -a "$n" -ge 10 ]
done

# ---- the journal left at "generated" by a failed store write ----
for cmd in "rotate svc-a --revoke-previous" "revoke svc-a"; do
	reset
	ROTSEC_FAULT_FAIL=atomic.written:secrets.cdb ctl rotate svc-a >/dev/null 2>&1
	check_eq "a rotation whose store write failed is left at step generated ($cmd)" \
		"$(jfield svc-a step)" "generated"
	# shellcheck disable=SC2086 # cmd is words
	ctl $cmd >"$T/cmd.out" 2>&1
	check_eq "$cmd finishes it as a compromise rotation: exit 0" "$?" 0
	check_match "... saying so" "$(cat "$T/cmd.out")" "finished the interrupted rotation to generation 3; (every earlier secret revoked)"
	check_eq "... and only the newest secret logs in through libpam" "$(logins_left)" "0 1"
done

# ---- a delivery that keeps failing: the previous secret held ----
reset
touch "$T/broken"
ctl rotate svc-a >/dev/null 2>&1
check_eq "a failing delivery holds the previous secret (rotate exits 1)" "$?" 1
check_match "... the previous secret valid" "$(ctl status svc-a --json)" '"previous_valid_until": [0-9]'
ctl rotate svc-a --revoke-previous >"$T/cmd.out" 2>&1
check_eq "rotate --revoke-previous while a delivery fails exits 1 (the delivery failed again)" "$?" 1
check_match "... and says that no earlier secret is accepted" "$(cat "$T/cmd.out")" \
	"no earlier secret is accepted, so a consumer that lacks generation 4 cannot log in"
check_eq "... which is true: only the newest secret logs in" "$(logins_left)" "0 1"
check_eq "... and the account is degraded at once (a consumer holds nothing that works)" \
	"$(jfield svc-a degraded)" "true"
rm -f "$T/broken"
check "once the consumer works, deliver reaches it" ctl deliver svc-a
check_eq "... and the account is no longer degraded" "$(jfield svc-a degraded)" "false"
check_eq "... the consumer holds the newest secret" "$(verify_as svc-a "$T/got")" "current"

reset
touch "$T/broken"
ctl rotate svc-a >/dev/null 2>&1
ctl revoke svc-a >"$T/cmd.out" 2>&1
check_eq "revoke of a previous secret held for a failing delivery exits 0" "$?" 0
check_eq "... only the newest secret logs in" "$(logins_left)" "0 1"
check_eq "... and the account is degraded (the failing consumer holds nothing that works)" \
	"$(jfield svc-a degraded)" "true"
check "... the revoke is audited, and so is the degraded mark" \
	grep -q '"event":"degraded","account":"svc-a"' "$T/audit.jsonl"

# ---- the verify command not passed yet ----
for cmd in "rotate svc-a --revoke-previous" "revoke svc-a"; do
	reset
	touch "$T/vbroken"
	ctl rotate svc-a >/dev/null 2>&1
	check_eq "a verify command that failed leaves the rotation at verify pending ($cmd)" \
		"$(jfield svc-a verify)" "failed"
	# shellcheck disable=SC2086 # cmd is words
	ctl $cmd >"$T/cmd.out" 2>&1
	check_eq "$cmd then exits 0" "$?" 0
	check_eq "... and only the newest secret logs in" "$(logins_left)" "0 1"
done

# ---- delivered: the ordinary case ----
reset
ctl rotate svc-a --revoke-previous >"$T/cmd.out" 2>&1
check_eq "rotate --revoke-previous of a delivered rotation exits 0" "$?" 0
check_match "... saying every earlier secret is revoked" "$(cat "$T/cmd.out")" "rotated to generation 3; every earlier secret revoked"
check_eq "... and only the newest secret logs in" "$(logins_left)" "0 1"

# ---- what cannot be reached is said, truthfully ----
reset
ctl rotate svc-a >/dev/null
seen "$T/out/svc-a.pw"
ROTSEC_FAULT_FAIL=atomic.written:secrets.cdb ctl rotate svc-a --revoke-previous >"$T/cmd.out" 2>&1
check_eq "a compromise rotation whose store write fails exits 1" "$?" 1
check_match "... and says what is still accepted" "$(cat "$T/cmd.out")" \
	"svc-a: still accepted: the current secret \(generation 3\) and the previous one \(generation 2\) until"
before=$(for f in "$T/seen/"*; do verify_as svc-a "$f"; done | sort | tr '\n' ' ')
check_eq "... which is true: the current and the previous secret" "$before" "current previous revoked "
check_eq "... and both log in through libpam (one older secret, the previous, and the newest)" "$(logins_left)" "1 1"
check "a plain sync then finishes it as the compromise it was" ctl sync
check_eq "... and only the newest secret logs in" "$(logins_left)" "0 1"

reset
ROTSEC_FAULT_FAIL=atomic.written:secrets.cdb ctl rotate svc-a --revoke-previous >/dev/null 2>&1
ctl rotate svc-a >"$T/cmd.out" 2>&1
check_eq "a plain rotate that finishes an interrupted compromise rotation exits 0" "$?" 0
check_eq "... and keeps it a compromise: only the newest secret logs in" "$(logins_left)" "0 1"

# A journal that does not follow the store (a store restored from a backup): a plain rotate
# refuses to touch it and says what is accepted; a compromise rotation sets it aside.
reset
ROTSEC_FAULT=rotate.generated ctl rotate svc-a >/dev/null 2>&1
cp "$T/state/svc-a.state" "$T/stale.state"
reset
ctl rotate svc-a --revoke-previous >/dev/null 2>&1
ctl rotate svc-a --revoke-previous >/dev/null 2>&1
cp "$T/stale.state" "$T/state/svc-a.state"
ctl rotate svc-a >"$T/cmd.out" 2>&1
check_eq "a plain rotate over a journal that does not follow the store exits 1" "$?" 1
check_match "... saying so, and what is accepted" "$(cat "$T/cmd.out")" \
	"does not follow the store.*
.*svc-a: accepted: the current secret \(generation 4\) alone"
ctl rotate svc-a --revoke-previous >"$T/cmd.out" 2>&1
check_eq "rotate --revoke-previous sets that journal aside and rotates: exit 0" "$?" 0
check_match "... to the generation after the store's" "$(cat "$T/cmd.out")" "rotated to generation 5"
check_eq "... and only the newest secret logs in" "$(logins_left)" "0 1"
done_testing
