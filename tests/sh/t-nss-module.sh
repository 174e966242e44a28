#!/bin/sh
# libnss_rotsec.so.2 as a file: it is loaded into every process on the host, so it links the
# C library only (tinycdb is linked in statically; no libsodium, libconfig or libpam), exports
# exactly the 15 NSS entry points of issue 4 and nothing of common/, and is hardened like the
# rest of the system's libraries. Also its documentation: nss_rotsec(8) renders cleanly and
# the nsswitch example carries the lines the man page shows.
. "$(dirname "$0")/lib.sh"

WANT="_nss_rotsec_endgrent _nss_rotsec_endpwent _nss_rotsec_endspent _nss_rotsec_getgrent_r
_nss_rotsec_getgrgid_r _nss_rotsec_getgrnam_r _nss_rotsec_getpwent_r _nss_rotsec_getpwnam_r
_nss_rotsec_getpwuid_r _nss_rotsec_getspent_r _nss_rotsec_getspnam_r
_nss_rotsec_initgroups_dyn _nss_rotsec_setgrent _nss_rotsec_setpwent _nss_rotsec_setspent"
want=$(echo $WANT | tr ' ' '\n')

# Defined symbols of the dynamic symbol table (what another object can bind to).
exports() { readelf --dyn-syms -W "$1" | awk 'NR > 3 && $7 != "UND" && $5 != "LOCAL" {
	sub(/@.*/, "", $8); print $8 }' | LC_ALL=C sort; }
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | LC_ALL=C sort | tr '\n' ' '; }

if ! command -v readelf >/dev/null 2>&1; then
	skip "libnss_rotsec.so.2 as a file" "readelf (binutils) is missing"
	done_testing
	exit 0
fi

for build in rel asan; do
	M=$O/$build/libnss_rotsec.so.2
	if [ ! -f "$M" ]; then
		not_ok "$build: libnss_rotsec.so.2 is built ($M)"
		continue
	fi
	check_eq "$build: exports exactly the 15 NSS entry points" "$(exports "$M")" "$want"
	check_eq "$build: its soname is libnss_rotsec.so.2" \
		"$(readelf -d "$M" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')" libnss_rotsec.so.2
	check_fails "$build: it needs no libsodium, libconfig, libpam or shared libcdb" \
		sh -c "readelf -d '$M' | grep NEEDED | grep -E 'sodium|config|pam|cdb'"
done

M=$REL/libnss_rotsec.so.2
check_eq "rel: it needs the C library and nothing else" "$(needed "$M")" "libc.so.6 "
check_match "rel: ldd resolves nothing but libc, the loader and the vDSO" \
	"$(ldd "$M" | awk '{print $1}' | LC_ALL=C sort | tr '\n' ' ')" \
	'^(/lib64/)?ld-linux[^ ]* libc\.so\.6 linux-vdso\.so\.1 $'
check "rel: it binds all symbols at load time (BIND_NOW)" \
	sh -c "readelf -d '$M' | grep -q 'FLAGS.*NOW'"
check "rel: its relocations are read-only after load (RELRO)" \
	sh -c "readelf -lW '$M' | grep -q GNU_RELRO"
check "rel: its stack is not executable" \
	sh -c "readelf -lW '$M' | grep GNU_STACK | grep -qv RWE"
check_fails "rel: it has no text relocations" sh -c "readelf -d '$M' | grep -q TEXTREL"
check_fails "rel: no symbol of common/ or tinycdb is visible" \
	sh -c "readelf --dyn-syms -W '$M' | grep -E ' (rs_|nss_|cdb_)'"

# The docs.
page=$top/man/nss_rotsec.8
if command -v man >/dev/null 2>&1; then
	check_eq "nss_rotsec(8) renders without warnings" \
		"$(LC_ALL=C.UTF-8 MANWIDTH=80 man -l --warnings "$page" 2>&1 >/dev/null)" ""
	text=$(LC_ALL=C.UTF-8 MANWIDTH=200 man -l "$page" 2>/dev/null)
	for w in ROTSEC_STORE_DIR secure_getenv NSS_STATUS_UNAVAIL ERANGE 'sp_lstchg' \
		'group rotsec' LOG_AUTHPRIV; do
		check_match "nss_rotsec(8) documents $w" "$text" "$w"
	done
else
	skip "nss_rotsec(8) renders without warnings" "man is not installed"
fi
for db in passwd group shadow; do
	check_match "the nsswitch example puts rotsec right after files for $db" \
		"$(grep "^$db:" "$top/conf/nsswitch.conf.example")" "^$db:[[:space:]]+files rotsec$"
done
done_testing
