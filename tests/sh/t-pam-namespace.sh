#!/bin/sh
# The shipped stack snippets (conf/pam.d/) with the real libpam, pam_unix and pamtester,
# each command in its own private mount namespace (unshare -m) whose /etc/pam.d,
# /etc/passwd, /etc/shadow and /etc/nsswitch.conf are bind-mounted copies made here: the
# host's files are never written, and nothing mounted outlives the command. The rotsec
# accounts resolve through the release nss_rotsec (rotsec on the nsswitch lines, the
# module found through LD_LIBRARY_PATH, the store through ROTSEC_STORE_DIR). One login
# runs under valgrind. Then every state of a broken store against root, a local user, a
# rotsec account and an unknown name (issue 13): only the rotsec account is refused.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pam_lib.sh"

pam_need pamtester unshare perl "$PAMTEST"
if ! unshare -m true 2>/dev/null; then
	skip "pam stack in a mount namespace" "unshare -m not permitted here"
	done_testing
	exit 0
fi

UNIXPW=unix-Pw-7Rt2Kd9Lq
ROOTPW=root-Pw-3Vb8Nx1Qa
LOCALPW=local-Pw-6Hs4Yc2Wp
SVCUNIX=svc-a-in-shadow-1
E=$T/etc
pam_store "$T/store" || exit 1
mkdir -p "$E"
cp -a /etc/pam.d "$E/pam.d"
cp /etc/passwd "$E/passwd"
# A shadow file of test users only: copying the host's would spread its hashes.
install -m 0600 /dev/null "$E/shadow"
crypt() { perl -e 'print crypt($ARGV[0], "\$6\$rotsecTS\$")' "$1"; }
for u in rstest:64990 svc-local:64991; do
	echo "${u%%:*}:x:${u#*:}:${u#*:}:rotsec test:/nonexistent:/usr/sbin/nologin" >>"$E/passwd"
done
{
	# root's own line replaced: a test password, never the host's hash
	echo "root:$(crypt "$ROOTPW"):19000:0:99999:7:::"
	echo "rstest:$(crypt "$UNIXPW"):19000:0:99999:7:::"
	echo "svc-local:$(crypt "$LOCALPW"):19000:0:99999:7:::"
	# svc-a in /etc/shadow (not /etc/passwd), with another password: pam_unix would take
	# it, so the stack must never hand svc-a to pam_unix
	echo "svc-a:$(crypt "$SVCUNIX"):19000:0:99999:7:::"
} >>"$E/shadow"
# rotsec right after files, as the nsswitch example has it
sed -E 's/^(passwd|group|shadow):.*/\1: files rotsec/' /etc/nsswitch.conf >"$E/nsswitch.conf"

# The snippets exactly as shipped, pointed at this test's module and store.
opts="store=$T/store run=$T/run"
for f in common-auth common-account common-password; do
	sed "s#pam_rotsec\\.so#$PAM_REL $opts#" "$top/conf/pam.d/$f" >"$E/pam.d/$f"
done
printf '@include common-auth\n@include common-account\n@include common-password\n' \
	>"$E/pam.d/rotsec-login"
# The sshd example goes with Debian's own common-auth.
cp /etc/pam.d/common-auth "$E/pam.d/common-auth.debian"
sed -e "s#pam_rotsec\\.so#$PAM_REL $opts#" -e 's#@include common-auth$#@include common-auth.debian#' \
	"$top/conf/pam.d/sshd" >"$E/pam.d/sshd"

# ns CMD...: CMD in a new mount namespace with the copies in place.
ns() {
	LD_LIBRARY_PATH=$REL ROTSEC_STORE_DIR=$T/store unshare -m sh -c '
		e=$1
		shift
		mount --bind "$e/pam.d" /etc/pam.d &&
			mount --bind "$e/passwd" /etc/passwd &&
			mount --bind "$e/shadow" /etc/shadow &&
			mount --bind "$e/nsswitch.conf" /etc/nsswitch.conf && exec "$@"' ns "$E" "$@"
}
# login SERVICE USER PASSWORD [pamtester options]: pamtester authenticate, the password
# given once on stdin (a second prompt would read end of file and fail)
login() {
	_s=$1 _u=$2 _p=$3
	shift 3
	printf '%s\n' "$_p" | ns pamtester "$@" "$_s" "$_u" authenticate
}

check_eq "a rotsec account resolves through nss_rotsec" "$(ns getent passwd svc-a | cut -d: -f1,3)" \
	svc-a:60001
check "a rotsec account logs in with its current secret through common-auth" \
	login rotsec-login svc-a "$CUR"
check "a rotsec account logs in with its previous secret during grace" \
	login rotsec-login svc-a "$PREV"
check_fails "a revoked secret does not log in" login rotsec-login svc-a "$OLD"
check_fails "a rotsec account is never handed to pam_unix (default=die)" \
	login rotsec-login svc-a "$SVCUNIX"
check "a local user still logs in through pam_unix with one password prompt" \
	login rotsec-login rstest "$UNIXPW"
check_fails "a local user with a wrong password is refused" login rotsec-login rstest nope
check_fails "an unknown user is refused" login rotsec-login nosuchuser "$CUR"

check "the account step accepts a rotsec account" ns pamtester rotsec-login svc-a acct_mgmt
check_fails "the account step refuses a disabled rotsec account" \
	ns pamtester rotsec-login svc-off acct_mgmt
check "the account step leaves local users to pam_unix" \
	ns pamtester rotsec-login rstest acct_mgmt

out=$(ns pamtester rotsec-login svc-a chauthtok </dev/null 2>&1)
check_match "passwd of a rotsec account is refused with the rotsecctl message" "$out" \
	'password of svc-a is managed by rotsec; use rotsecctl rotate svc-a'
check_match "passwd of a rotsec account fails" "$out" 'Permission denied'

rm -f "$T/run/svc-a.usage"
login rotsec-login svc-a "$CUR" -I rhost=203.0.113.9 -I ruser=deployer >/dev/null 2>&1
check_match "a login records its use with the service and remote host" \
	"$(cat "$T/run/svc-a.usage" 2>&1)" '^last current [0-9]+ rotsec-login 203\.0\.113\.9 deployer$'


# Whoever starts su or passwd sets its limits: with RLIMIT_FSIZE at 0 and SIGXFSZ ignored,
# writing the record fails (or, a few bytes above 0, tears it), and a login that leaves no
# record never starts rotate_after_use's clock (a break-glass secret used unseen). Such a
# login is refused, and the record is left whole.
before=$(sum_of "$T/run/svc-a.usage")
# (through a pipe: a file as output would be cut by the same limit)
out=$(printf '%s\n' "$CUR" |
	ns sh -c 'trap "" XFSZ; ulimit -f 0; exec pamtester rotsec-login svc-a authenticate' 2>&1 | cat)
check_match "a login whose use cannot be recorded under the caller's file size limit is refused" \
	"$out" 'Authentication failure|System error'
check_eq "and the record is left as it was" "$(sum_of "$T/run/svc-a.usage")" "$before"
check "without the limit the same login is recorded" login rotsec-login svc-a "$CUR"
check_fails "which changed the record" [ "$(sum_of "$T/run/svc-a.usage")" = "$before" ]

check "the sshd example lets a rotsec account in" login sshd svc-a "$CUR"
check_fails "the sshd example refuses a wrong secret" login sshd svc-a "$SVCUNIX"
# one answer: a second prompt would fail the conversation
check "the sshd example hands local users to Debian's pam_unix with one prompt" \
	ns "$PAMTEST" sshd rstest auth=PAM_SUCCESS account=PAM_SUCCESS -- "$UNIXPW"

# valgrind: pamtester is not an ASan program, so the release module is checked here
vg() {
	ns valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
		"$@"
}
printf '%s\n' "$CUR" | vg pamtester rotsec-login svc-a authenticate acct_mgmt >"$T/vg.out" 2>&1
rc=$?
check_eq "a login under valgrind has no memory error or definite leak" "$rc" 0
[ "$rc" = 0 ] || sed 's/^/# /' "$T/vg.out" | head -40
printf 'wrong\n' | vg pamtester rotsec-login svc-a authenticate >"$T/vg.out" 2>&1
rc=$?
check_eq "a refused login under valgrind has no memory error or definite leak" "$rc" 1
[ "$rc" = 1 ] || sed 's/^/# /' "$T/vg.out" | head -40

# svc-local: a rotsec account whose name a local account (created later) also has. It is
# pam_unix's, whatever rotsec's store says.
printf '%s\n' \
	"user name=svc-a uid=60001 gid=60000" "user name=svc-b uid=60002 gid=60000" \
	"user name=svc-off uid=60003 gid=60000" "user name=svc-local uid=60009 gid=60000" \
	"group name=svc gid=60000" \
	"secret name=svc-a uid=60001 gen=3 current=$CUR previous=$PREV deadline=now+3600 revoked=$OLD" \
	"secret name=svc-b uid=60002 current=$CUR-b" \
	"secret name=svc-off uid=60003 current=$CUR disabled=1" \
	"secret name=svc-local uid=60009 current=$CUR-local" | "$MKSTORE" "$T/store"
check_fails "a local account's rotsec secret opens nothing" \
	login rotsec-login svc-local "$CUR-local"
check "a local account of a rotsec account's name logs in through pam_unix" \
	login rotsec-login svc-local "$LOCALPW"

# Every state of a broken store, against root, a local user, a rotsec account and an
# unknown name, auth and account steps: pam_rotsec before pam_unix locks no one else out.
# store_state STATE: break $T/store that way (a copy of it is kept in $T/store.ok).
cp -a "$T/store" "$T/store.ok"
store_state() {
	rm -rf "$T/store" && cp -a "$T/store.ok" "$T/store" || return 1
	case $1 in
	dir-0777) chmod 0777 "$T/store" ;;
	no-secrets) rm "$T/store/secrets.cdb" ;;
	no-dir) rm -rf "$T/store" ;;
	malformed) head -c 3000 /dev/urandom >"$T/store/secrets.cdb" ;;
	esac
}
for state in dir-0777 no-secrets no-dir malformed; do
	store_state $state || not_ok "$state: the store could not be set up"
	check "$state: root logs in with its password" login rotsec-login root "$ROOTPW"
	check "$state: a local user logs in with its password" login rotsec-login rstest "$UNIXPW"
	check_fails "$state: a rotsec account is refused" login rotsec-login svc-a "$CUR"
	check_fails "$state: a rotsec account gets nothing from pam_unix" \
		login rotsec-login svc-a "$SVCUNIX"
	check_fails "$state: an unknown name is refused" login rotsec-login nosuchuser "$CUR"
	check "$state: the account step admits root" ns pamtester rotsec-login root acct_mgmt
	check "$state: the account step admits a local user" \
		ns pamtester rotsec-login rstest acct_mgmt
	check "$state: the sshd example lets root in" login sshd root "$ROOTPW"
	# nss_rotsec answers UNAVAIL, which glibc goes past: local names resolve, rotsec's not
	check_eq "$state: getent resolves root and the local user" \
		"$(ns getent passwd root rstest | cut -d: -f1 | tr '\n' ' ')" "root rstest "
	# (with secrets.cdb missing or damaged the accounts resolve: accounts.cdb is whole)
	want=2
	case $state in no-secrets | malformed) want=0 ;; esac
	check_eq "$state: getent resolves the rotsec account only from a whole accounts.cdb" \
		"$(ns getent passwd svc-a >/dev/null 2>&1; echo $?)" $want
done
store_state ok
check "a restored store works again" login rotsec-login svc-a "$CUR"
done_testing
