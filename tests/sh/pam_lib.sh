# Shared by the t-pam-*.sh tests (source after lib.sh): the modules and tools under test,
# and a store with known secrets.
#
# Under pam_wrapper and inside programs that are not built with ASan (pamtester), the
# release module is loaded; tests/module/test_pam runs the same cases against the ASan one.

PAM_REL=$REL/pam_rotsec.so
PAM_ASAN=$ASAN/pam_rotsec.so
MKSTORE=$ASAN/tests/tools/mkstore
PAMTEST=$REL/tests/tools/pamtest_rotsec
MULTIARCH=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
PAM_MATRIX=/usr/lib/$MULTIARCH/pam_wrapper/pam_matrix.so

CUR=cur-Secret-4Gx9LmQ2wP7zR8tY
PREV=prev-Secret-8Hk2NvB5cX1qW6eJ
OLD=old-Secret-3Jd7FgT9sA4uI2oP

# pam_store DIR: svc-a (current, previous for an hour, one revoked), svc-b, svc-off
# (disabled), in secrets.cdb and accounts.cdb (without it there is no store), by mkstore.
pam_store() {
	mkdir -p "$1" && chmod 0755 "$1" &&
		printf '%s\n' \
			"user name=svc-a uid=60001 gid=60000" \
			"user name=svc-b uid=60002 gid=60000" \
			"user name=svc-off uid=60003 gid=60000" \
			"group name=svc gid=60000" \
			"secret name=svc-a uid=60001 gen=3 current=$CUR previous=$PREV deadline=now+3600 revoked=$OLD" \
			"secret name=svc-b uid=60002 current=$CUR-b" \
			"secret name=svc-off uid=60003 current=$CUR disabled=1" |
		"$MKSTORE" "$1"
}

# pam_rotsec accepts a secret only when the name resolves to the uid the store records
# (getpwnam_r), as on a host whose nsswitch.conf has rotsec. Outside a namespace the
# tests get that from cwrap's nss_wrapper: copies of the host's passwd and group as its
# "files", then the release nss_rotsec reading $PAM_NSS_STORE ($T/store unless set).
NSS_WRAPPER_SO=/usr/lib/$MULTIARCH/libnss_wrapper.so
PAM_NSS_STORE=${PAM_NSS_STORE:-$T/store}
cp /etc/passwd "$T/nss-passwd"
cp /etc/group "$T/nss-group"

# pam_nss_env: that name service as env(1) arguments (no blank in any of them).
pam_nss_env() {
	printf '%s ' "LD_PRELOAD=$NSS_WRAPPER_SO" "NSS_WRAPPER_PASSWD=$T/nss-passwd" \
		"NSS_WRAPPER_GROUP=$T/nss-group" "NSS_WRAPPER_MODULE_SO_PATH=$REL/libnss_rotsec.so.2" \
		NSS_WRAPPER_MODULE_FN_PREFIX=rotsec "ROTSEC_STORE_DIR=$PAM_NSS_STORE"
}
# pam_nss_with PRELOAD CMD...: CMD with that name service and PRELOAD (libraries to
# preload before nss_wrapper); pam_nss CMD...: without more.
pam_nss_with() {
	_pre=$1
	shift
	# shellcheck disable=SC2046 # words without blanks
	env $(pam_nss_env) LD_PRELOAD="${_pre:+$_pre }$NSS_WRAPPER_SO" "$@"
}
pam_nss() { pam_nss_with "" "$@"; }

# nss_rotsec_ns STORE: in a private mount namespace, the name service of a host whose
# nsswitch.conf has rotsec, for this shell and its children: the host's nsswitch.conf
# with "files rotsec" for passwd, group and shadow bound over /etc/nsswitch.conf, the
# release nss_rotsec found through LD_LIBRARY_PATH, reading STORE (ROTSEC_STORE_DIR).
nss_rotsec_ns() {
	sed -E 's/^(passwd|group|shadow):.*/\1: files rotsec/' /etc/nsswitch.conf \
		>"$T/nsswitch.conf" && mount --bind "$T/nsswitch.conf" /etc/nsswitch.conf || return 1
	LD_LIBRARY_PATH=$REL
	ROTSEC_STORE_DIR=$1
	export LD_LIBRARY_PATH ROTSEC_STORE_DIR
}

# Exit 0 when none of the test secrets occurs in FILE...
no_secret_in() {
	! grep -qF -e "$CUR" -e "$PREV" -e "$OLD" "$@"
}

# pam_wrapped CMD...: run CMD under pam_wrapper with the service files of $T/pam.d, and
# the name service of pam_nss; what modules send to pam_syslog appears on stderr as
# "SYSLOG(PRIO): text".
pam_wrapped() {
	pam_nss_with libpam_wrapper.so env PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$T/pam.d" \
		PAM_WRAPPER_DEBUGLEVEL=2 "$@"
}

# Skip the whole file (exit 0 with a plan) when a tool it needs is missing.
pam_need() {
	for _p in "$@"; do
		if ! [ -e "$_p" ] && ! command -v "$_p" >/dev/null 2>&1; then
			skip "$(basename "$0") needs $_p" "$_p not found"
			done_testing
			exit 0
		fi
	done
}

# pam_seen FILE...: keep each secret FILE holds (non-empty files only) in $T/seen, one file
# each, named by content: every secret an account was seen with, for pam_logins_left.
pam_seen() {
	mkdir -p "$T/seen"
	for _f in "$@"; do
		[ -s "$_f" ] || continue
		cp "$_f" "$T/seen/$(sha256sum "$_f" | cut -c1-16)"
	done
}

# pam_logins_left SERVICE ACCOUNT NEWEST: a login through libpam (pam_logins, the name
# service of pam_nss, service files of $T/pam.d) with each secret of $T/seen, as "N M":
# how many older secrets opened ACCOUNT (a compromise rotation wants 0) and whether the
# one in file NEWEST did (1).
pam_logins_left() {
	_new=$(sha256sum "$3" | cut -c1-16)
	_steps=""
	for _f in "$T/seen/"*; do _steps="$_steps authfile:$2:$_f"; done
	# shellcheck disable=SC2086 # steps are words
	pam_nss "$REL/tests/tools/pam_logins" "$T/pam.d" "$1" $_steps >"$T/logins" 2>&1
	_older=0 _newest=0 _i=0
	for _f in "$T/seen/"*; do
		_i=$((_i + 1))
		_code=$(sed -n "${_i}p" "$T/logins" | awk '{print $3}')
		if [ "$(basename "$_f")" = "$_new" ]; then
			[ "$_code" = PAM_SUCCESS ] && _newest=1
		elif [ "$_code" != PAM_AUTH_ERR ]; then
			_older=$((_older + 1))
		fi
	done
	echo "$_older $_newest"
}
