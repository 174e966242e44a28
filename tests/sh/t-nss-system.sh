#!/bin/sh
# nss_rotsec in the real system programs: getent, id, chage, ls, su and pamtester through
# Debian's unchanged common-account, glibc loading the release module by name as it would
# from /usr/lib/<multiarch>.
#
# Every command runs in its own private mount namespace (unshare -m) where
#   - /etc/nsswitch.conf is a bind-mounted copy with the lines of conf/nsswitch.conf.example,
#   - /etc/pam.d is a bind-mounted copy with one more service that includes common-account,
#   - the library dir is a read-only overlay whose top layer holds libnss_rotsec.so.2,
#   - /var/lib is a read-only overlay whose top layer holds rotsec/ (the default store dir),
# so nothing is written outside $T, and nothing mounted outlives the command. The host's
# passwd, group, shadow and nsswitch.conf are checksummed before and after.
. "$(dirname "$0")/lib.sh"

MKSTORE=$ASAN/tests/tools/mkstore
MODULE=$REL/libnss_rotsec.so.2
MA=$(${CC:-gcc} -print-multiarch 2>/dev/null)
[ -n "$MA" ] || MA=x86_64-linux-gnu
LIBDIR=/usr/lib/$MA

for need in unshare setpriv getent id passwd chage su pamtester valgrind "$MKSTORE" "$MODULE"; do
	if ! command -v "$need" >/dev/null 2>&1 && [ ! -x "$need" ] && [ ! -f "$need" ]; then
		skip "nss_rotsec in system programs" "$need is missing"
		done_testing
		exit 0
	fi
done
if ! unshare -m mount -t tmpfs none "$T" 2>/dev/null || [ ! -d "$LIBDIR" ]; then
	skip "nss_rotsec in system programs" "no private mount namespaces here"
	done_testing
	exit 0
fi

host_sums() { sum_of /etc/passwd /etc/group /etc/shadow /etc/nsswitch.conf; }
before=$(host_sums)

# ---- what goes into the namespace
mkdir -p "$T/lib" "$T/varlib/rotsec" "$T/etc"
chmod 0755 "$T/lib" "$T/varlib" "$T/varlib/rotsec" "$T/etc"
install -m 0644 "$MODULE" "$T/lib/libnss_rotsec.so.2"

# nsswitch.conf: the host's, with its passwd/group/shadow lines replaced by the example's.
awk -v ex="$top/conf/nsswitch.conf.example" '
	BEGIN { while ((getline l < ex) > 0) if (l ~ /^(passwd|group|shadow):/) {
		split(l, f, ":"); line[f[1]] = l } }
	{ split($0, f, ":"); if (f[1] in line) { print line[f[1]]; done[f[1]] = 1 } else print }
	END { for (k in line) if (!(k in done)) print line[k] }' /etc/nsswitch.conf \
	>"$T/etc/nsswitch.conf"
cp -a /etc/pam.d "$T/etc/pam.d"
printf '# rotsec test: the account step exactly as Debian ships it\n@include common-account\n' \
	>"$T/etc/pam.d/rotsec-nss-test"

SINCE=1700000000 # 2023-11-14, day 19675
OLD=$(($(date +%s) - 400 * 86400))
# secrets.cdb 0640 root:$SVCGID, the test's stand-in for group rotsec
SVCGID=4242
"$MKSTORE" "$T/varlib/rotsec" "$SVCGID" <<EOF || exit 1
user name=svc-a uid=60001 gid=60000 gecos=Backup_agent home=/var/lib/svc-a shell=/bin/sh groups=60010
user name=svc-old uid=60002 gid=60000 shell=/bin/sh
user name=svc-off uid=60003 gid=60000 shell=/bin/sh
group name=svc gid=60000
group name=svc-ops gid=60010 members=svc-a,backup
secret name=svc-a uid=60001 current=pw-a since=$SINCE
secret name=svc-old uid=60002 current=pw-old since=$OLD
secret name=svc-off uid=60003 current=pw-off since=0 disabled=1
EOF
rm -f "$T/varlib/rotsec/.rotsec.lock"

# ns CMD...: CMD in a new mount namespace with the module, store and configs in place.
ns() { ns_system "$@"; }
export LC_ALL=C

check "the namespace sees the module in the library dir and the store in /var/lib" \
	ns sh -c "[ -f $LIBDIR/libnss_rotsec.so.2 ] && [ -f /var/lib/rotsec/accounts.cdb ]"
check "outside the namespace neither exists" \
	sh -c "[ ! -e $LIBDIR/libnss_rotsec.so.2 ] && [ ! -e /var/lib/rotsec ]"

check_eq "getent passwd shows a rotsec account" "$(ns getent passwd svc-a)" \
	"svc-a:x:60001:60000:Backup agent:/var/lib/svc-a:/bin/sh"
check_eq "getent passwd finds it by uid" "$(ns getent passwd 60001 | cut -d: -f1)" svc-a
check_eq "getent group shows a rotsec group with its members" "$(ns getent group svc-ops)" \
	"svc-ops:x:60010:svc-a,backup"
check_eq "getent group finds it by gid" "$(ns getent group 60010 | cut -d: -f1)" svc-ops
check_eq "getent shadow shows a locked password, the rotation day and no aging" \
	"$(ns getent shadow svc-a)" "svc-a:!*:19675::::::"
check_eq "getent shadow of a disabled account has it expired on day 1" \
	"$(ns getent shadow svc-off)" "svc-off:!*:1:::::1:"
out=$(ns getent passwd)
check_match "getent passwd lists local accounts first" "$(echo "$out" | head -1)" '^root:'
check_match "getent passwd lists the rotsec accounts after them" \
	"$(echo "$out" | tail -3 | cut -d: -f1 | tr '\n' ' ')" '^svc-a svc-old svc-off $'
check_eq "each rotsec account is listed once" "$(echo "$out" | grep -c '^svc-')" 3
check_match "getent group lists the rotsec groups" "$(ns getent group | tail -2 | tr '\n' ' ')" \
	'^svc:x:60000: svc-ops:x:60010:svc-a,backup $'
check_match "getent shadow lists the rotsec entries" "$(ns getent shadow | tail -3 | cut -d: -f1 |
	tr '\n' ' ')" '^svc-a svc-old svc-off $'
check_match "getent initgroups shows the supplementary group, not the primary" \
	"$(ns getent initgroups svc-a)" '^svc-a +60010$'

check_eq "id shows a rotsec account with its groups" "$(ns id svc-a)" \
	"uid=60001(svc-a) gid=60000(svc) groups=60000(svc),60010(svc-ops)"
check_match "id shows the rotsec group of a local user listed as a member" "$(ns id backup)" \
	'groups=34\(backup\),60010\(svc-ops\)$'

# passwd -S goes through NSS (getpwnam, getspnam): locked password, day of the last
# rotation, no aging.
check_eq "passwd -S shows a locked password and the day of the last rotation" \
	"$(ns passwd -S svc-a)" "svc-a L 2023-11-14 -1 -1 -1 -1"
check_eq "passwd -S shows the same for an account rotated at the epoch (day 1, never 0)" \
	"$(ns passwd -S svc-off)" "svc-off L 1970-01-02 -1 -1 -1 -1"
# chage -l shows the same fields, when it asks NSS: shadow-utils up to at least 4.13 (Debian
# 12) reads /etc/passwd and /etc/shadow directly instead, for LDAP and SSSD users too.
out=$(ns chage -l svc-a 2>&1)
if printf '%s\n' "$out" | grep -q "does not exist in /etc/passwd"; then
	# Not a rotsec failure and nothing rotsec can change: the same fields are checked
	# through passwd -S above. Said, not counted (CI runs no skipped test).
	diag "chage -l not checked: this chage reads /etc/passwd, not NSS: $out"
else
	check_match "chage -l shows the day of the last rotation" "$out" \
		'Last password change[[:space:]]*: Nov 14, 2023'
	check_match "chage -l shows a password that never expires" "$out" \
		'Password expires[[:space:]]*: never'
	check_match "chage -l shows an account that never expires" "$out" \
		'Account expires[[:space:]]*: never'
	check_match "chage -l shows a disabled account as expired" "$(ns chage -l svc-off)" \
		'Account expires[[:space:]]*: Jan 02, 1970'
fi

check "Debian's common-account admits a rotsec account" \
	ns pamtester rotsec-nss-test svc-a acct_mgmt
check "Debian's common-account admits one last rotated 400 days ago (rotsecd stopped)" \
	ns pamtester rotsec-nss-test svc-old acct_mgmt
check_fails "Debian's common-account refuses a disabled rotsec account" \
	ns pamtester rotsec-nss-test svc-off acct_mgmt
check "Debian's common-account still admits root" ns pamtester rotsec-nss-test root acct_mgmt
# A service that runs as its own user and checks its clients' accounts: it needs group rotsec.
check "a non-root service in group rotsec passes the account step for a rotsec account" \
	ns setpriv --reuid=65534 --regid=65534 --groups="$SVCGID" \
	pamtester rotsec-nss-test svc-a acct_mgmt
check_eq "a non-root caller outside group rotsec gets no shadow entry" \
	"$(ns setpriv --reuid=65534 --regid=65534 --clear-groups getent shadow svc-a; echo $?)" 2
check_eq "while passwd stays readable to it" "$(ns setpriv --reuid=65534 --regid=65534 \
	--clear-groups getent passwd svc-a | cut -d: -f1)" svc-a

: >"$T/owned"
chown 60001:60010 "$T/owned"
check_match "ls -l shows the names of a rotsec owner and group" "$(ns ls -l "$T/owned")" \
	'^-[rw-]+ 1 svc-a svc-ops '
check_eq "su from root runs a command as a rotsec account" \
	"$(ns su -s /bin/sh svc-a -c id </dev/null 2>&1)" \
	"uid=60001(svc-a) gid=60000(svc) groups=60000(svc),60010(svc-ops)"
check_fails "su refuses a disabled rotsec account (pam_unix: account expired)" \
	ns su -s /bin/sh svc-off -c id

# The store from ROTSEC_STORE_DIR, and an unusable one reported rather than replaced by
# the default store (which does have svc-a).
mkdir -m 0755 "$T/other"
echo "user name=svc-z uid=60100 gid=60000" | "$MKSTORE" "$T/other" || exit 1
check_eq "ROTSEC_STORE_DIR points getent at another store" \
	"$(ns env ROTSEC_STORE_DIR="$T/other" getent passwd 60100 | cut -d: -f1)" svc-z
check_eq "that store is the only one it reads" \
	"$(ns env ROTSEC_STORE_DIR="$T/other" getent passwd svc-a; echo $?)" 2
chmod 0777 "$T/other"
check_eq "an unsafe ROTSEC_STORE_DIR is refused, not replaced by the default" \
	"$(ns env ROTSEC_STORE_DIR="$T/other" getent passwd svc-a; echo $?)" 2
check_eq "while local accounts still resolve" \
	"$(ns env ROTSEC_STORE_DIR="$T/other" getent passwd root | cut -d: -f1)" root

# valgrind: getent and id are not ASan programs, so the release module is checked here.
# vg WANT CMD...: CMD under valgrind exits WANT (valgrind's own errors make it exit 1).
vg() {
	_want=$1
	shift
	ns valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
		"$@" >"$T/vg.out" 2>&1
	_rc=$?
	[ "$_rc" = "$_want" ] || head -40 "$T/vg.out"
	[ "$_rc" = "$_want" ]
}
check "valgrind: getent passwd of a rotsec account" vg 0 getent passwd svc-a
check "valgrind: getent passwd by uid" vg 0 getent passwd 60001
check "valgrind: getent passwd enumeration" vg 0 getent passwd
check "valgrind: getent group by gid" vg 0 getent group 60010
check "valgrind: getent group enumeration" vg 0 getent group
check "valgrind: getent shadow" vg 0 getent shadow svc-a
check "valgrind: getent shadow enumeration" vg 0 getent shadow
check "valgrind: id (initgroups)" vg 0 id svc-a
check "valgrind: id of a local user in a rotsec group (group walk)" vg 0 id backup
check "valgrind: a name that is not there" vg 2 getent passwd nosuch

mv "$T/varlib/rotsec" "$T/varlib/rotsec.away"
check_eq "with the store removed getent passwd root still works" \
	"$(ns getent passwd root | cut -d: -f1)" root
check_eq "with the store removed a rotsec name resolves to nothing" \
	"$(ns getent passwd svc-a; echo $?)" 2
check_eq "with the store removed a rotsec uid resolves to nothing" \
	"$(ns getent passwd 60001; echo $?)" 2
check_eq "with the store removed a rotsec group resolves to nothing" \
	"$(ns getent group svc-ops; echo $?)" 2
check_match "with the store removed id of a local user still works" "$(ns id backup)" \
	'^uid=34\(backup\) gid=34\(backup\) groups=34\(backup\)$'
check_match "with the store removed ls -l shows the bare uid" "$(ns ls -l "$T/owned")" \
	'^-[rw-]+ 1 60001 60010 '
check_eq "with the store removed getent passwd lists the local accounts" \
	"$(ns getent passwd | wc -l)" "$(wc -l </etc/passwd)"
check "valgrind: a lookup with the store removed" vg 2 getent passwd svc-a
mv "$T/varlib/rotsec.away" "$T/varlib/rotsec"

check_eq "the host's passwd, group, shadow and nsswitch.conf are unchanged" "$(host_sums)" \
	"$before"
check "nothing is left mounted on the host" \
	sh -c "! grep -q -e rotsec-lib -e rotsec-varlib /proc/self/mountinfo"
done_testing
