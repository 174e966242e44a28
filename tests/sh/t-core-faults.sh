#!/bin/sh
# Crash safety of rotations and store writes, through the fault points of the test build:
# every point a rotation passes is found with ROTSEC_FAULT_LOG, then the rotation is
#  - killed there (SIGKILL): the store stays valid, the old secret still opens the account,
#    and `rotsecctl sync` resumes it to a delivered, current new secret;
#  - made to fail there (store and journal writes): the store stays byte-identical, no
#    temp file is left, and the command exits non-zero.
. "$(dirname "$0")/lib.sh"
rotsec_env
conf_write 'rotate_every = "2h"; grace = "1h"; max_grace = "2h";' \
	'{ name = "svc"; gid = 60000; }' \
	'{ name = "svc-a"; uid = 60001; group = "svc"; verify = [ "/bin/true" ];
	   deliver = ( { file = "'"$T"'/out/svc-a.pw"; }, { file = "'"$T"'/out/svc-a.copy"; } ); }'
ctl sync >/dev/null || { not_ok "initial sync"; done_testing; exit 1; }
cp -a "$T/store" "$T/store.base"
cp -a "$T/state" "$T/state.base"
cp -a "$T/out" "$T/out.base"

reset() {
	rm -rf "$T/store" "$T/state" "$T/out"
	cp -a "$T/store.base" "$T/store"
	cp -a "$T/state.base" "$T/state"
	cp -a "$T/out.base" "$T/out"
}

ROTSEC_FAULT_LOG=$T/points ctl rotate svc-a >/dev/null 2>&1
points=$(sort -u "$T/points" | tr '\n' ' ')
for want in rotate.generated rotate.activated deliver.done verify.done \
	atomic.created:secrets.cdb atomic.written:secrets.cdb atomic.synced:secrets.cdb \
	atomic.renamed:secrets.cdb atomic.created:svc-a.state atomic.renamed:svc-a.state \
	atomic.renamed:svc-a.pw; do
	check_match "a rotation passes fault point $want" "$points" "(^| )$want( |$)"
done

old=$T/out.base/svc-a.pw
killed=0 bad=0
for p in $points; do
	reset
	ROTSEC_FAULT=$p ctl rotate svc-a >/dev/null 2>&1
	rc=$?
	[ "$rc" -eq 137 ] || [ "$rc" -eq 9 ] || { diag "rotate killed at $p exited $rc"; bad=$((bad + 1)); continue; }
	killed=$((killed + 1))
	v=$(verify_as svc-a "$old")
	case "$v" in current | previous) ;; *) diag "after kill at $p the old secret says '$v'"; bad=$((bad + 1)) ;; esac
	ctl sync >/dev/null 2>"$T/sync.err" || { diag "sync after kill at $p failed: $(cat "$T/sync.err")"; bad=$((bad + 1)); }
	v1=$(verify_as svc-a "$T/out/svc-a.pw")
	v2=$(verify_as svc-a "$T/out/svc-a.copy")
	vo=$(verify_as svc-a "$old")
	gen=$(ctl status svc-a --json | python3 -c 'import json,sys; o=json.load(sys.stdin)["accounts"][0]; print(o["generation"], o["step"], o["delivery"])')
	if [ "$v1" != current ] || [ "$v2" != current ]; then
		diag "after kill at $p and resume: delivered secrets say '$v1' '$v2'"
		bad=$((bad + 1))
	fi
	case "$vo" in current | previous) ;; *) diag "after kill at $p and resume the old secret says '$vo'"; bad=$((bad + 1)) ;; esac
	case "$gen" in "1 delivered ok" | "2 delivered ok") ;; *) diag "after kill at $p: status '$gen'"; bad=$((bad + 1)) ;; esac
	ls -a "$T/store" "$T/state" "$T/out" | grep -q '^\..*\.[A-Za-z0-9]\{6\}$' && {
		diag "temp file left after resume (kill at $p)"
		bad=$((bad + 1))
	}
done
check "SIGKILL at each of the rotation's fault points ($killed) never loses a secret and resumes" [ "$bad" -eq 0 -a "$killed" -ge 10 ]

# Failure (not a crash) at each step of the store write and of the journal write.
bad=0 n=0
for p in $points; do
	case "$p" in atomic.created:* | atomic.write:* | atomic.written:* | atomic.synced:*) ;; *) continue ;; esac
	reset
	before=$(sum_of "$T/store/accounts.cdb" "$T/store/secrets.cdb")
	ROTSEC_FAULT_FAIL=$p ctl rotate svc-a >/dev/null 2>"$T/err"
	rc=$?
	n=$((n + 1))
	case "$p" in
	*:secrets.cdb)
		[ "$rc" -eq 1 ] || { diag "failure at $p: exit $rc"; bad=$((bad + 1)); }
		[ "$(sum_of "$T/store/accounts.cdb" "$T/store/secrets.cdb")" = "$before" ] ||
			{ diag "failure at $p changed the store"; bad=$((bad + 1)); }
		grep -q 'the store is unchanged' "$T/err" || { diag "failure at $p: message '$(cat "$T/err")'"; bad=$((bad + 1)); }
		;;
	esac
	ls -a "$T/store" "$T/state" | grep -q '^\..*\.[A-Za-z0-9]\{6\}$' && {
		diag "temp file left after failure at $p"
		bad=$((bad + 1))
	}
	v=$(verify_as svc-a "$old")
	case "$v" in current | previous) ;; *) diag "after failure at $p old secret says '$v'"; bad=$((bad + 1)) ;; esac
	ctl sync >/dev/null 2>&1
	[ "$(verify_as svc-a "$T/out/svc-a.pw")" = current ] || { diag "after failure at $p no delivered current secret"; bad=$((bad + 1)); }
done
check "a failing store or journal write at each step ($n) leaves the old store and no temp file" [ "$bad" -eq 0 -a "$n" -ge 6 ]

# The store is made in a memfd and copied into its temp file in one write; where
# memfd_create fails (a seccomp filter, an old kernel) it is written straight into the temp
# file, with the same result.
reset
: >"$T/points3"
ROTSEC_FAULT_FAIL=store.memfd ROTSEC_FAULT_LOG=$T/points3 ctl rotate svc-a >/dev/null 2>"$T/err"
check "a rotation whose memfd_create fails succeeds all the same" [ $? -eq 0 ]
check_match "... having passed the fault point" "$(sort -u "$T/points3" | tr '\n' ' ')" "(^| )store.memfd( |$)"
check "... and its delivered secret is current" [ "$(verify_as svc-a "$T/out/svc-a.pw")" = current ]
check "... and the old one previous" [ "$(verify_as svc-a "$old")" = previous ]

# A killed sync (first secret of a new account) resumes without losing the secret.
reset
conf_write 'rotate_every = "2h"; grace = "1h"; max_grace = "2h";' \
	'{ name = "svc"; gid = 60000; }' \
	'{ name = "svc-a"; uid = 60001; group = "svc";
	   deliver = ( { file = "'"$T"'/out/svc-a.pw"; }, { file = "'"$T"'/out/svc-a.copy"; } ); },
	 { name = "svc-n"; uid = 60009; group = "svc"; deliver = ( { file = "'"$T"'/out/svc-n.pw"; } ); }'
: >"$T/points2"
ROTSEC_FAULT_LOG=$T/points2 ctl sync >/dev/null 2>&1
cp -a "$T/store.base" "$T/store.x"
bad=0 n=0
for p in $(sort -u "$T/points2"); do
	reset
	ROTSEC_FAULT=$p ctl sync >/dev/null 2>&1
	n=$((n + 1))
	ctl sync >/dev/null 2>&1 || { diag "sync after kill at $p failed"; bad=$((bad + 1)); }
	[ "$(verify_as svc-n "$T/out/svc-n.pw")" = current ] || { diag "new account after kill at $p: $(verify_as svc-n "$T/out/svc-n.pw")"; bad=$((bad + 1)); }
	[ "$(verify_as svc-a "$T/out/svc-a.pw")" = current ] || { diag "old account after kill at $p"; bad=$((bad + 1)); }
done
check "SIGKILL at each fault point of a sync ($n) resumes to a delivered first secret" [ "$bad" -eq 0 -a "$n" -ge 8 ]
done_testing
