#!/bin/sh
# pam_rotsec.so exports the six pam_sm_* entry points and nothing else, in both builds:
# readelf lists the dynamic symbols it defines, and pam_dlcheck loads it as libpam does.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pam_lib.sh"

want="pam_sm_acct_mgmt pam_sm_authenticate pam_sm_chauthtok pam_sm_close_session pam_sm_open_session pam_sm_setcred"

defined() {
	readelf --dyn-syms -W "$1" |
		awk '$1 ~ /^[0-9]+:$/ && $7 != "UND" && $5 != "LOCAL" && $8 != "" { print $8 }' |
		sed 's/@.*//' | sort | tr '\n' ' ' | sed 's/ $//'
}

for v in rel asan; do
	so=$O/$v/pam_rotsec.so
	check_eq "the $v module defines exactly the pam_sm entry points" "$(defined "$so")" "$want"
	check "the $v module loads with every symbol resolved and hides its internals" \
		"$ASAN/tests/tools/pam_dlcheck" "$so"
done

needed=$(readelf -d -W "$PAM_REL" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort | tr '\n' ' ')
check_match "the release module links only libpam, libsodium and libc" "$needed" \
	'^libc\.so\.6 (libm\.so\.6 )?libpam\.so\.0 libsodium\.so\.[0-9]+ $'
done_testing
