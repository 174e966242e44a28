#!/bin/sh
# One version, set in common/version.h: rotsecctl --version, rotsecd's version, the manual
# pages' headers, rotsec_build_info in the metrics rotsecd writes and debian/changelog's
# first entry all say it. `make set-version VERSION=x` changes every one of them at once.
. "$(dirname "$0")/lib.sh"
rotsec_env
. "$(dirname "$0")/daemon-lib.sh"

V=$(sed -n 's/^#define ROTSEC_VERSION "\(.*\)"$/\1/p' "$top/common/version.h")
check_match "common/version.h defines one version" "$V" '^[0-9]+\.[0-9]+\.[0-9]+'
diag "version: $V"

for b in "$REL" "$ASAN"; do
	check_eq "${b#"$O"/}/rotsecctl --version" "$("$b/rotsecctl" --version 2>&1)" "rotsecctl $V"
	# --version where rotsecd takes long options, -V where it does not.
	out=$("$b/rotsecd" --version 2>/dev/null) || out=$("$b/rotsecd" -V 2>&1)
	check_eq "${b#"$O"/}/rotsecd --version" "$out" "rotsecd $V"
done

for m in "$top"/man/*.[1-8]; do
	check_eq "${m#"$top"/}'s header says rotsec $V" \
		"$(sed -n 's/^\.TH [^"]*"\([^"]*\)".*/\1/p' "$m")" "rotsec $V"
done

check_eq "debian/changelog's first entry is $V" \
	"$(sed -n '1s/^rotsec (\([^)]*\)).*/\1/p' "$top/debian/changelog")" "$V"

conf_write 'rotate_every = "30d";' '{ name = "svc"; gid = 60000; }' \
	'{ name = "svc-a"; uid = 60001; group = "svc"; }'
if dmn_start; then
	check_match "rotsecd's metrics carry rotsec_build_info for $V" "$(cat "$T/rotsec.prom")" \
		"^rotsec_build_info\\{version=\"$(printf '%s' "$V" | sed 's/\./\\./g')\"\\} 1\$"
	dmn_stop
else
	not_ok "rotsecd starts and writes its metrics"
	tail -20 "$T/rotsecd.log" | sed 's/^/# /'
fi

# ---- make set-version, on a copy of what it rewrites
mkv() { make -s -C "$T/tree" O="$T/tree/build" "$@"; }
mkdir -p "$T/tree/common" "$T/tree/debian"
cp -R "$top/Makefile" "$top/man" "$T/tree/"
cp "$top/common/version.h" "$T/tree/common/"
cp "$top/debian/changelog" "$T/tree/debian/"
check_fails "make set-version without VERSION= is refused" mkv set-version
check_fails "make set-version refuses a version dpkg would not take" \
	mkv set-version VERSION='1.0 beta'
check "make set-version VERSION=9.8.7~rc1" mkv set-version VERSION=9.8.7~rc1
check "version.h says 9.8.7~rc1" grep -qx '#define ROTSEC_VERSION "9.8.7~rc1"' \
	"$T/tree/common/version.h"
check_eq "every man page header says 9.8.7~rc1" \
	"$(grep -h '^\.TH' "$T"/tree/man/*.[1-8] | grep -vc '"rotsec 9.8.7~rc1"')" 0
check_match "debian/changelog starts with a 9.8.7~rc1 entry by the same maintainer" \
	"$(head -n 5 "$T/tree/debian/changelog" | tr '\n' '|')" \
	"^rotsec \\(9\\.8\\.7~rc1\\) unstable; urgency=medium\\|\\|  \\* Version 9\\.8\\.7~rc1\\.\\|\\| -- $(sed -n 's/^ -- \(.*>\)  .*/\1/p' "$top/debian/changelog" | head -n 1)  "
check_eq "the old entries follow unchanged" \
	"$(tail -n +7 "$T/tree/debian/changelog")" "$(cat "$top/debian/changelog")"
mkv set-version VERSION=9.8.7~rc1 >/dev/null 2>&1
check_eq "setting the same version again adds no second entry" \
	"$(grep -c '^rotsec (9.8.7~rc1)' "$T/tree/debian/changelog")" 1
if command -v dpkg-parsechangelog >/dev/null 2>&1; then
	check_eq "dpkg-parsechangelog reads the new entry" \
		"$(cd "$T/tree" && dpkg-parsechangelog -S Version 2>&1)" "9.8.7~rc1"
fi

done_testing
