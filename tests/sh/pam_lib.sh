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
# (disabled), written by mkstore.
pam_store() {
	mkdir -p "$1" && chmod 0755 "$1" &&
		printf '%s\n' \
			"secret name=svc-a uid=60001 gen=3 current=$CUR previous=$PREV deadline=now+3600 revoked=$OLD" \
			"secret name=svc-b uid=60002 current=$CUR-b" \
			"secret name=svc-off uid=60003 current=$CUR disabled=1" |
		"$MKSTORE" "$1"
}

# Exit 0 when none of the test secrets occurs in FILE...
no_secret_in() {
	! grep -qF -e "$CUR" -e "$PREV" -e "$OLD" "$@"
}

# pam_wrapped CMD...: run CMD under pam_wrapper with the service files of $T/pam.d;
# what modules send to pam_syslog appears on stderr as "SYSLOG(PRIO): text".
pam_wrapped() {
	env PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$T/pam.d" PAM_WRAPPER_DEBUGLEVEL=2 \
		LD_PRELOAD=libpam_wrapper.so "$@"
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
