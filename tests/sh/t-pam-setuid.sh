#!/bin/sh
# pam_rotsec inside a set-user-ID program (su, passwd, chsh): root's effective uid, but the
# real uid of the user who started it, who may therefore signal it (SIGSTOP included) at
# any moment. A login's usage record is rewritten under a lock; a caller stopped while it
# held that lock kept every later login of the account from being recorded, so a
# break-glass secret escaped rotate_after_use for as long as the caller stayed stopped.
#
# The caller here is the real thing in two forms, each in a private mount namespace whose
# /etc/pam.d and /etc/nsswitch.conf are copies made here: the ASan pamtest_rotsec started
# with the real uid of nobody and the effective uid of root (setpriv --ruid), as su is, so
# that a stop point can stop the login at the moment it holds the lock; and su itself,
# started by nobody.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pam_lib.sh"

PAMTEST_ASAN=$ASAN/tests/tools/pamtest_rotsec
NOBODY=65534
pam_need unshare setpriv su timeout ldconfig "$PAMTEST_ASAN" "$MKSTORE"
if ! unshare -m true 2>/dev/null; then
	skip "pam_rotsec in a set-user-ID caller" "unshare -m not permitted here"
	done_testing
	exit 0
fi

# A store with svc-a (shell /bin/sh: su started by a user runs only a shell of
# /etc/shells), made by mkstore.
mkdir -p "$T/lib" "$T/varlib/rotsec" "$T/run" "$T/etc"
chmod 0755 "$T/lib" "$T/varlib" "$T/varlib/rotsec" "$T/etc"
chmod 0700 "$T/run"
printf '%s\n' "user name=svc-a uid=60001 gid=60000 shell=/bin/sh" "group name=svc gid=60000" \
	"secret name=svc-a uid=60001 gen=3 current=$CUR" | "$MKSTORE" "$T/varlib/rotsec" || exit 1
rm -f "$T/varlib/rotsec/.rotsec.lock"
install -m 0644 "$REL/libnss_rotsec.so.2" "$T/lib/libnss_rotsec.so.2"
cp -a /etc/pam.d "$T/etc/pam.d"
printf 'auth [success=done user_unknown=ignore default=die] %s run=%s nodelay\nauth requisite pam_deny.so\naccount required pam_permit.so\n' \
	"$PAM_ASAN" "$T/run" >"$T/etc/pam.d/rotsec-setuid"
sed "s#pam_rotsec\\.so#$PAM_REL run=$T/run nodelay#" "$top/conf/pam.d/common-auth" \
	>"$T/etc/pam.d/common-auth"
sed -E 's/^(passwd|group|shadow):.*/\1: files rotsec/' /etc/nsswitch.conf >"$T/etc/nsswitch.conf"
LIBDIR=$(dirname "$(ldconfig -p | awk '/libnss_files.so.2 /{print $NF; exit}')")

# ns CMD...: CMD in a new mount namespace with the copies in place. A set-user-ID program
# ignores LD_LIBRARY_PATH and ROTSEC_STORE_DIR, so nss_rotsec goes into the library
# directory and the store to /var/lib/rotsec, both by overlay.
ns() { ns_system "$@"; }
count() { sed -n 's/^current \([0-9]*\) .*/\1/p' "$T/run/svc-a.usage" 2>/dev/null; }
# holder INODE: the pid holding an exclusive flock on that inode, from /proc/locks.
holder() {
	awk -v ino=":$1" '$2 == "FLOCK" && $4 == "WRITE" &&
		substr($6, length($6) - length(ino) + 1) == ino { print $5 }' /proc/locks
}

# setpriv --ruid=nobody: nobody's real uid, root's effective and saved uid, as a
# set-user-ID root program started by nobody runs (and, like one, with AT_SECURE).
check "a set-user-ID caller's login with the current secret succeeds" \
	ns setpriv --ruid=$NOBODY "$PAMTEST_ASAN" rotsec-setuid svc-a auth=PAM_SUCCESS -- "$CUR"
check_eq "and its use is recorded" "$(count)" 1
check_eq "in a record only root can read" "$(stat -c %a:%U "$T/run/svc-a.usage")" 600:root

# The login stops itself where it holds the record's lock (ROTSEC_FAULT_STOP): whoever
# holds it then must be out of the reach of nobody's signals.
ino=$(stat -c %i "$T/run/svc-a.usage")
ROTSEC_FAULT_STOP=usage.locked ns timeout 60 setpriv --ruid=$NOBODY "$PAMTEST_ASAN" rotsec-setuid svc-a \
	auth=PAM_SUCCESS -- "$CUR" >"$T/login1.out" 2>&1 &
login1=$!
pid=""
i=0
while [ -z "$pid" ] && [ $i -lt 200 ]; do
	pid=$(holder "$ino")
	[ -n "$pid" ] || sleep 0.05
	i=$((i + 1))
done
if [ -z "$pid" ]; then
	not_ok "a login stopped at usage.locked holds the record's lock"
else
	check_fails "the process holding a login's usage lock cannot be signalled by the user who started the caller" \
		setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups kill -0 "$pid"
	kill -CONT "$pid"
fi
wait $login1
check_eq "the login held up by the stop point then succeeds" "$?" 0
check_eq "and is recorded" "$(count)" 2

# The real set-user-ID su, started by nobody, with pam_rotsec in front of the host's own
# common-auth: its login is recorded too (written where nobody's signals do not reach,
# and the login waits for it).
out=$(printf '%s\n' "$CUR" | ns setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups \
	su -s /bin/sh svc-a -c 'id -un' 2>/dev/null)
check_eq "su started by nobody opens a rotsec account with its current secret" "$out" svc-a
check_eq "and su's login is recorded" "$(count)" 3
check_match "with su as its service" "$(grep '^last' "$T/run/svc-a.usage")" '^last current [0-9]+ su '

done_testing
