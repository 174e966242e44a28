#!/bin/sh
# make install / make uninstall into a temp root ($T/root, never /): every file lands where
# Debian puts it with the right mode, nothing else is installed, the modules are loadable
# ELF objects exporting only their entry points, the man pages render without a warning, and
# uninstall removes exactly what install put there (and the directories that are rotsec's
# own, when empty), leaving files it does not own alone.
. "$(dirname "$0")/lib.sh"

root=$T/root
case "$root" in /tmp/*/root) ;; *)
	not_ok "temp root $root is not under /tmp"
	done_testing
	exit 1
	;;
esac
MA=$(${CC:-gcc} -print-multiarch 2>/dev/null)
[ -n "$MA" ] || MA=x86_64-linux-gnu

# Run make from the top dir with $O: the rel build there is what gets installed.
mk() { make -s -C "$top" O="$O" "$@" DESTDIR="$root" PREFIX=/usr; }

# What install must put there: "PATH MODE SOURCE", from what exists in the tree and the build.
expected() {
	echo "/usr/sbin/rotsecctl 755 $REL/rotsecctl"
	[ -f "$top/rotsecd/rotsecd.c" ] && echo "/usr/sbin/rotsecd 755 $REL/rotsecd"
	[ -f "$REL/pam_rotsec.so" ] &&
		echo "/usr/lib/$MA/security/pam_rotsec.so 644 $REL/pam_rotsec.so"
	[ -f "$REL/libnss_rotsec.so.2" ] &&
		echo "/usr/lib/$MA/libnss_rotsec.so.2 644 $REL/libnss_rotsec.so.2"
	echo "/etc/rotsec/rotsec.conf.example 644 $top/conf/rotsec.conf"
	for m in "$top"/man/*.[1-8]; do
		[ -f "$m" ] && echo "/usr/share/man/man${m##*.}/${m##*/} 644 $m"
	done
	for f in "$top"/conf/pam.d/*; do
		[ -f "$f" ] && echo "/usr/share/doc/rotsec/examples/pam.d/${f##*/} 644 $f"
	done
	f=$top/conf/nsswitch.conf.example
	[ -f "$f" ] && echo "/usr/share/doc/rotsec/examples/nsswitch.conf.example 644 $f"
	f=$top/conf/rotsecd.service
	[ -f "$f" ] && echo "/lib/systemd/system/rotsecd.service 644 $f"
	f=$top/conf/bash-completion/rotsecctl
	[ -f "$f" ] && echo "/usr/share/bash-completion/completions/rotsecctl 644 $f"
	return 0
}

# Every non-directory under the temp root, as absolute paths inside it.
installed() { (cd "$root" && find . ! -type d | sed 's|^\.||' | LC_ALL=C sort); }

check "the rel build is in $O" [ -x "$REL/rotsecctl" ]
if ! mk install >"$T/install.log" 2>&1; then
	not_ok "make install DESTDIR=\$T/root PREFIX=/usr"
	sed 's/^/# /' "$T/install.log" | tail -30
	done_testing
	exit 1
fi
ok "make install DESTDIR=\$T/root PREFIX=/usr"

diag "installed:"
(cd "$root" && find . ! -type d -printf '%m %p\n' | sed 's|^\([0-7]*\) \.|\1 |' |
	LC_ALL=C sort -k2) | sed 's/^/#   /'

expected | LC_ALL=C sort >"$T/expected"
check_eq "installs exactly the expected files" "$(installed)" "$(cut -d' ' -f1 "$T/expected")"

while read -r path mode src; do
	check_eq "$path is mode $mode" "$(stat -c %a "$root$path" 2>&1)" "$mode"
	check "$path is the file from the tree or the rel build" cmp -s "$src" "$root$path"
done <"$T/expected"

# ---- modules ----
elf_type() { readelf -h "$1" 2>/dev/null | sed -n 's/^ *Type: *\([A-Z]*\).*/\1/p'; }
exports() { nm -D --defined-only "$1" | awk '$2 ~ /^[TDBRVWi]$/ { print $3 }' | LC_ALL=C sort; }

pam=$root/usr/lib/$MA/security/pam_rotsec.so
if [ -f "$REL/pam_rotsec.so" ]; then
	check_eq "pam_rotsec.so is an ELF shared object" "$(elf_type "$pam")" "DYN"
	got=$(exports "$pam")
	for s in pam_sm_authenticate pam_sm_setcred pam_sm_acct_mgmt pam_sm_chauthtok; do
		check_match "pam_rotsec.so exports $s" "$got" "^$s\$"
	done
	check_eq "pam_rotsec.so exports nothing but pam_sm_*" \
		"$(printf '%s\n' "$got" | grep -v '^pam_sm_')" ""
	check_match "pam_rotsec.so is linked with BIND_NOW" "$(readelf -d "$pam")" 'BIND_NOW'
	check "pam_rotsec.so loads with every symbol resolved (dlopen RTLD_NOW)" \
		python3 -c 'import ctypes, os, sys; ctypes.CDLL(sys.argv[1], os.RTLD_NOW)' "$pam"
else
	skip "pam_rotsec.so checks" "not in this build"
fi

nss=$root/usr/lib/$MA/libnss_rotsec.so.2
if [ -f "$REL/libnss_rotsec.so.2" ]; then
	check_eq "libnss_rotsec.so.2 is an ELF shared object" "$(elf_type "$nss")" "DYN"
	check_match "libnss_rotsec.so.2 has soname libnss_rotsec.so.2" "$(readelf -d "$nss")" \
		'SONAME.*\[libnss_rotsec\.so\.2\]'
	got=$(exports "$nss")
	for db in pw gr sp; do
		case $db in pw) by="getpwnam_r getpwuid_r" ;; gr) by="getgrnam_r getgrgid_r" ;;
		sp) by="getspnam_r" ;; esac
		for s in $by set${db}ent get${db}ent_r end${db}ent; do
			check_match "libnss_rotsec.so.2 exports _nss_rotsec_$s" "$got" \
				"^_nss_rotsec_$s\$"
		done
	done
	check_match "libnss_rotsec.so.2 exports _nss_rotsec_initgroups_dyn" "$got" \
		'^_nss_rotsec_initgroups_dyn$'
	check_eq "libnss_rotsec.so.2 exports nothing but _nss_rotsec_*" \
		"$(printf '%s\n' "$got" | grep -v '^_nss_rotsec_')" ""
	# It is loaded into every process on the host: libc only (tinycdb is linked in).
	check_eq "libnss_rotsec.so.2 needs only libc" \
		"$(readelf -d "$nss" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')" \
		"libc.so.6 "
	check "libnss_rotsec.so.2 loads with every symbol resolved (dlopen RTLD_NOW)" \
		python3 -c 'import ctypes, os, sys; ctypes.CDLL(sys.argv[1], os.RTLD_NOW)' "$nss"
else
	skip "libnss_rotsec.so.2 checks" "not in this build"
fi

for p in rotsecctl rotsecd; do
	f=$root/usr/sbin/$p
	[ -f "$f" ] || continue
	check_match "$p is linked with full RELRO (BIND_NOW)" "$(readelf -d "$f")" 'BIND_NOW'
done
check "installed rotsecctl runs" "$root/usr/sbin/rotsecctl" --help

# ---- man pages ----
if command -v man >/dev/null 2>&1; then
	for m in "$root"/usr/share/man/man*/*; do
		[ -f "$m" ] || continue
		w=$(LC_ALL=C.UTF-8 MANWIDTH=80 man -l --warnings "$m" 2>&1 >/dev/null)
		check_eq "man -l --warnings ${m#"$root"} prints nothing" "$w" ""
		if command -v lexgrog >/dev/null 2>&1; then
			check_match "${m#"$root"} has a NAME line mandb can index" \
				"$(lexgrog "$m" 2>&1)" ': ".+ - .+"'
		fi
	done
else
	skip "man page rendering" "man (man-db) is not installed"
fi

comp=$root/usr/share/bash-completion/completions/rotsecctl
if [ -f "$comp" ]; then
	check "the bash completion is valid bash" bash -n "$comp"
fi

check "a second make install over the first succeeds" mk install

# ---- uninstall ----
# Files rotsec does not own, next to what it installed: uninstall must leave them.
printf 'admin config\n' >"$root/etc/rotsec/rotsec.conf"
printf 'other\n' >"$root/usr/sbin/other-tool"
check "make uninstall DESTDIR=\$T/root PREFIX=/usr" mk uninstall
check_eq "uninstall removed every installed file and nothing else" "$(installed)" \
	"$(printf '/etc/rotsec/rotsec.conf\n/usr/sbin/other-tool')"
check "/etc/rotsec stays while it holds the admin's files" [ -d "$root/etc/rotsec" ]
rm -f "$root/etc/rotsec/rotsec.conf" "$root/usr/sbin/other-tool"

mk install >/dev/null 2>&1
mk uninstall >/dev/null 2>&1
check_eq "install then uninstall leaves no file" "$(installed)" ""
check "rotsec's own directories are removed when empty" \
	[ ! -e "$root/etc/rotsec" -a ! -e "$root/usr/share/doc/rotsec" ]
diag "left behind (empty shared directories):"
(cd "$root" && find . -mindepth 1 -type d | sed 's|^\.||' | LC_ALL=C sort) | sed 's/^/#   /'
check "make uninstall with nothing installed succeeds" mk uninstall

done_testing
