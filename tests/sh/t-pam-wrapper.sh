#!/bin/sh
# pam_rotsec in scripted conversations under cwrap's pam_wrapper, which takes service
# files from $T/pam.d instead of /etc/pam.d and prints what modules log: libpamtest
# (tests/tools/pamtest_rotsec, exact answers and return codes) and pamtester (a real
# PAM application reading the password from stdin). pam_matrix stands for pam_unix as
# the next module in the stack.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pam_lib.sh"

pam_need pamtester "$PAMTEST" "$PAM_MATRIX" "/usr/lib/$MULTIARCH/libpam_wrapper.so" \
	"$NSS_WRAPPER_SO"

pam_store "$T/store" || exit 1
mkdir -p "$T/pam.d"
printf 'alice:alice-unix-pw:rotsec\nsvc-a:matrix-pw-for-svc-a:rotsec\n' >"$T/passdb"
cat >"$T/pam.d/rotsec" <<EOT
auth     [success=done user_unknown=ignore default=die] $PAM_REL store=$T/store run=$T/run nodelay
auth     required $PAM_MATRIX passdb=$T/passdb
account  [success=done user_unknown=ignore default=die] $PAM_REL store=$T/store
account  required $PAM_MATRIX passdb=$T/passdb
password [ignore=ignore default=die] $PAM_REL store=$T/store
password required $PAM_MATRIX passdb=$T/passdb
EOT
printf 'auth required pam_deny.so\naccount required pam_deny.so\n' >"$T/pam.d/other"
cat >"$T/pam.d/broken" <<EOT
auth     [success=done user_unknown=ignore default=die] $PAM_REL store=$T/broken-store nodelay
auth     required $PAM_MATRIX passdb=$T/passdb
EOT
sed "s|$T/broken-store|$T/no-store|" "$T/pam.d/broken" >"$T/pam.d/nostore"
# a store directory anyone may write to: unsafe
pam_store "$T/broken-store" && chmod 0777 "$T/broken-store"
: >"$T/syslog.all"

# pt SERVICE USER OP=CODE... [-- ANSWER...]: one libpamtest conversation. Its messages
# and results go to $T/pt.out, the module's log lines to $T/syslog (and syslog.all).
pt() {
	pam_wrapped "$PAMTEST" "$@" >"$T/pt.out" 2>"$T/pt.err"
	_rc=$?
	sed -n 's/.*\(SYSLOG([0-9]): .*\)/\1/p' "$T/pt.err" | tee -a "$T/syslog.all" >"$T/syslog"
	cat "$T/pt.out"
	return $_rc
}
log() { cat "$T/syslog"; }

check "the current secret authenticates and passes the account step" \
	pt rotsec svc-a auth=PAM_SUCCESS account=PAM_SUCCESS -- "$CUR"
check_match "a login with the current secret is logged at info" "$(log)" \
	'^SYSLOG\(6\): current secret accepted for svc-a'

check "the previous secret authenticates during its grace period" \
	pt rotsec svc-a auth=PAM_SUCCESS -- "$PREV"
check_match "a login with the previous secret is a notice with the time left" "$(log)" \
	'^SYSLOG\(5\): previous secret used for svc-a, valid 3[0-9]{3} more seconds'

check "a revoked secret is refused" pt rotsec svc-a auth=PAM_AUTH_ERR -- "$OLD"
check_match "a revoked secret raises an alert" "$(log)" \
	'^SYSLOG\(1\): revoked secret of svc-a presented'

# svc-a's entry in pam_matrix's passdb would open it, were the stack to fall through
check "a wrong secret for a rotsec account never reaches the next module" \
	pt rotsec svc-a auth=PAM_AUTH_ERR -- matrix-pw-for-svc-a matrix-pw-for-svc-a
check "other users are handed to the next module" \
	pt rotsec alice auth=PAM_SUCCESS -- alice-unix-pw alice-unix-pw
check_fails "other users are not named in the log without debug or audit" \
	grep -q alice "$T/syslog"
check_fails "other users with a wrong password are refused by the next module" \
	pt rotsec alice auth=PAM_SUCCESS -- wrong-pw wrong-pw

check "a disabled account is refused, and expired in the account step" \
	pt rotsec svc-off auth=PAM_AUTH_ERR account=PAM_ACCT_EXPIRED -- "$CUR"

check "changing the password of a rotsec account is refused" \
	pt rotsec svc-a chauthtok=PAM_PERM_DENIED
check_match "the refusal tells the user to use rotsecctl rotate" "$(cat "$T/pt.out")" \
	'^error: password of svc-a is managed by rotsec; use rotsecctl rotate svc-a$'

check "a conversation with no answer fails the login" pt rotsec svc-a auth=PAM_AUTH_ERR
check "an empty password is refused" pt rotsec svc-a auth=PAM_AUTH_ERR -- ""

check "an unsafe store fails closed for a rotsec account" \
	pt broken svc-a auth=PAM_AUTHINFO_UNAVAIL -- "$CUR"
check_match "an unsafe store is one error line saying why and what to do" "$(log)" \
	"^SYSLOG\\(3\\): cannot use the rotsec store: $T/broken-store is writable by group or others.*: chmod go-w $T/broken-store; rotsec accounts cannot log in until it is fixed$"
check "an unsafe store fails closed for a name that is not a local account" \
	pt broken alice auth=PAM_AUTHINFO_UNAVAIL -- alice-unix-pw alice-unix-pw
check "an unsafe store leaves root to the next module" \
	pt broken root auth=PAM_AUTH_ERR -- wrong-pw wrong-pw
check_eq "root is not logged" "$(log)" ""
check "with no store at all there are no rotsec accounts: the next module decides" \
	pt nostore alice auth=PAM_SUCCESS -- alice-unix-pw alice-unix-pw
check_match "a missing store is one warning line saying so" "$(log)" \
	"^SYSLOG\\(4\\): no rotsec store in $T/no-store \\(the directory does not exist\\)"
check "with no store a rotsec account's secret opens nothing" \
	pt nostore svc-a auth=PAM_AUTH_ERR -- "$CUR" "$CUR"

check "no secret reaches the log" no_secret_in "$T/syslog.all"

# pamtester: misc_conv reads the password from stdin
ptester() { pam_wrapped pamtester "$@" 2>&1; }
out=$(printf '%s\n' "$CUR" | ptester rotsec svc-a authenticate)
check_match "pamtester authenticates a rotsec account" "$out" 'successfully authenticated'
out=$(printf 'not-the-secret\n' | ptester rotsec svc-a authenticate)
check_match "pamtester is refused with a wrong secret" "$out" 'Authentication failure'
out=$(ptester rotsec svc-a chauthtok </dev/null)
check_match "pamtester passwd shows the rotsecctl message" "$out" \
	'password of svc-a is managed by rotsec; use rotsecctl rotate svc-a'
rm -f "$T/run/svc-a.usage"
printf '%s\n' "$PREV" | ptester -I rhost=198.51.100.4 -I ruser=deployer rotsec svc-a \
	authenticate >/dev/null
usage=$(cat "$T/run/svc-a.usage" 2>&1)
check_match "a login records the previous secret's use with service, rhost and ruser" \
	"$usage" '^last previous [0-9]+ rotsec 198\.51\.100\.4 deployer$'
check_match "the usage record counts one previous login" "$usage" '^previous 1 '
check "the usage record holds no secret" no_secret_in "$T/run/svc-a.usage"
done_testing
