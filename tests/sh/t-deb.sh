#!/bin/sh
# The Debian packages, built by `make deb` and installed for real in a disposable root: a
# private mount namespace (unshare -m) with overlayfs over /usr, /etc, /var, /run and /dev,
# whose writable layers are under $T. There apt-get, dpkg, pam-auth-update, the maintainer
# scripts, pamtester through the real `login` service and getent run as on a host; when
# the namespace ends all of it is gone. The host's dpkg status, nsswitch.conf, PAM stacks
# and user databases are checksummed before and after.
#
# In the namespace: install -> pam-auth-update --enable rotsec -> logins (a rotsec account
# and a local user) -> getent -> dpkg -r (a working stack without rotsec) -> reinstall over
# an nsswitch.conf the admin changed -> dpkg -P (nothing of rotsec left: compared with a
# snapshot taken before the first install) -> an upgrade from a 0.2.0~pre build keeps the
# config, the store, the host key and the logins.
#
# It builds the packages twice (about a minute each). `make check` runs it with the rest;
# `make deb-check` runs it alone.
. "$(dirname "$0")/lib.sh"

if [ "${1:-}" = inside ]; then
	. "$(dirname "$0")/deb-root.sh"
	exit $?
fi

for need in unshare dpkg-buildpackage lintian apt-get pam-auth-update pamtester git; do
	if ! command -v "$need" >/dev/null 2>&1; then
		not_ok "$need is installed (make deps-deb)"
		done_testing
		exit 1
	fi
done
if ! unshare -m true 2>/dev/null; then
	skip "the Debian packages in a disposable root" "unshare -m not permitted here"
	done_testing
	exit 0
fi

# ---- build: the real packages in $O/deb (what `make deb` leaves), a lower version in $T
REAL=$O/deb
PRE=$T/pre/deb
mk() { env -u MAKEFLAGS -u MAKELEVEL make -C "$top" "$@"; }
if mk O="$O" deb >"$T/deb.log" 2>&1; then ok "make deb builds the packages"; else
	not_ok "make deb builds the packages"
	tail -30 "$T/deb.log" | sed 's/^/# /'
	done_testing
	exit 1
fi
V=$(sed -n 's/^#define ROTSEC_VERSION "\(.*\)"$/\1/p' "$top/common/version.h")
for p in rotsec libpam-rotsec libnss-rotsec; do
	check "make deb leaves ${p}_${V} in \$O/deb" sh -c "ls '$REAL'/${p}_${V}_*.deb"
done
check_eq "make deb leaves the three packages and nothing else to install" \
	"$(cd "$REAL" && ls ./*.deb | wc -l)" 3
if mk O="$T/pre" VERSION="$V~pre" deb >"$T/deb-pre.log" 2>&1; then
	ok "make deb VERSION=$V~pre builds a lower version"
else
	not_ok "make deb VERSION=$V~pre builds a lower version"
	tail -30 "$T/deb-pre.log" | sed 's/^/# /'
fi
check "the $V~pre build says $V~pre" sh -c "ls '$PRE'/rotsec_${V}~pre_*.deb"
check "the tree still says $V after the $V~pre build (set-version ran in the copy)" \
	grep -q "\"$V\"" "$top/common/version.h"

# ---- lint: the binary packages and the source package from the same copy
lintian --pedantic --display-experimental --fail-on error,warning,info,pedantic \
	"$REAL"/*.changes "$REAL"/*.dsc >"$T/lintian.log" 2>&1
rc=$?
check_eq "lintian reports nothing on the packages that is not overridden with a reason" "$rc" 0
grep -v 'running with root' "$T/lintian.log" | sed 's/^/# /' | head -30
for f in "$top"/debian/*lintian-overrides "$top"/debian/source/lintian-overrides; do
	[ -f "$f" ] || continue
	# Every override line follows a comment that says why.
	check_eq "every override in ${f#"$top"/} has a comment" \
		"$(awk '/^[^#]/ && prev !~ /^#/ { print FILENAME ":" NR } { prev = $0 }' "$f")" ""
done

# ---- the host, before and after
host_sums() {
	for f in /var/lib/dpkg/status /etc/nsswitch.conf /etc/passwd /etc/group /etc/shadow \
		/etc/gshadow /etc/pam.d/*; do
		printf '%s %s\n' "$(sum_of "$f")" "$f"
	done
	for d in /var/lib/rotsec /var/log/rotsec /etc/rotsec /usr/share/pam-configs/rotsec; do
		[ -e "$d" ] && echo "exists $d"
	done
	dpkg-query -W -f='${Package} ${Status}\n' rotsec libpam-rotsec libnss-rotsec 2>/dev/null
	return 0
}
host_sums >"$T/host.before"

# ---- the disposable root
DEB_LAYERS=$T/layers
mkdir -p "$DEB_LAYERS"
TAP_AT=$_tap_n
export DEB_LAYERS REAL PRE V TAP_AT
unshare -m sh "$0" inside >"$T/inside.tap" 2>"$T/inside.err"
rc=$?
cat "$T/inside.tap"
_tap_n=$(cat "$DEB_LAYERS/tap_n" 2>/dev/null || echo "$_tap_n")
check_eq "the namespace part ran to its end" "$rc" 0
[ "$rc" = 0 ] || tail -30 "$T/inside.err" | sed 's/^/# /'

host_sums >"$T/host.after"
check "the host's dpkg status, nsswitch.conf, PAM stacks and user databases did not change" \
	diff "$T/host.before" "$T/host.after"

done_testing
