#!/bin/sh
# The PAM documentation says what the module does: the man page renders cleanly, and the
# shipped snippets carry the stack lines ARCHITECTURE.md (contract §4) and pam_rotsec(8) document,
# in front of pam_unix. (t-pam-namespace.sh runs the snippets themselves.)
. "$(dirname "$0")/lib.sh"

if command -v man >/dev/null 2>&1; then
	warn=$(LC_ALL=C.UTF-8 MANWIDTH=80 man -l --warnings "$top/man/pam_rotsec.8" 2>&1 >/dev/null)
	check_eq "pam_rotsec(8) renders without warnings" "$warn" ""
else
	skip "pam_rotsec(8) renders without warnings" "man not installed"
fi
page=$(LC_ALL=C.UTF-8 MANWIDTH=200 man -l "$top/man/pam_rotsec.8" 2>/dev/null)
for o in store= run= debug nodelay no_previous audit; do
	check_match "pam_rotsec(8) documents the $o option" "$page" "^ +$o"
done

line='auth	[success=done user_unknown=ignore default=die]	pam_rotsec.so'
check "the common-auth snippet has the documented line" grep -qxF "$line" \
	"$top/conf/pam.d/common-auth"
first=$(grep -v '^#' "$top/conf/pam.d/common-auth" | grep -m1 . )
check_eq "pam_rotsec comes first in the common-auth snippet, ahead of pam_unix" "$first" "$line"
for f in common-account common-password sshd; do
	check "the $f snippet uses pam_rotsec" grep -q '^[a-z]*[[:space:]].*pam_rotsec\.so' \
		"$top/conf/pam.d/$f"
done
done_testing
