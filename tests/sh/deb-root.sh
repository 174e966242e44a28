# The namespace part of t-deb.sh, sourced there after lib.sh, in a new mount namespace:
# $DEB_LAYERS holds the writable layers, $REAL and $PRE the packages, $V the version, TAP_AT
# the number of the last test printed. Prints TAP and leaves its count in $DEB_LAYERS/tap_n.
_tap_n=$TAP_AT
L=$DEB_LAYERS
trap 'echo "$_tap_n" >"$L/tap_n"; _finish' EXIT

mount --make-rprivate / || exit 97
for d in /usr /etc /var /run /dev; do
	mkdir -p "$L/up$d" "$L/work$d"
	mount -t overlay "rotsec-deb${d#/}" -o "lowerdir=$d,upperdir=$L/up$d,workdir=$L/work$d" "$d" ||
		exit 97
done
# What a booted host has and this root must not use: the host's init (maintainer scripts
# talk to systemd only when /run/systemd/system exists), its syslog and journal sockets,
# and nscd's caches, which would answer getent from the host's databases.
rm -rf /run/systemd/system /run/systemd/journal /run/nscd /dev/log
# Debian's switch for "start no service": invoke-rc.d and deb-systemd-invoke obey it.
printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
chmod 0755 /usr/sbin/policy-rc.d
export DEBIAN_FRONTEND=noninteractive DEBCONF_NONINTERACTIVE_SEEN=true LC_ALL=C
# man-db's trigger rebuilds its index after each install: seconds, and nothing to test.
echo 'man-db man-db/auto-update boolean false' | debconf-set-selections

SVC=rsdeb-svc
LOCAL=rsdeb-local
LOCALPW=Local-pw-4Hq8xZ2m
# Delivered into rotsec's run dir, which purge removes; a delivery elsewhere is the
# consumer's copy and stays (README.Debian).
PWFILE=/run/rotsec/$SVC.pw

apt_install() { apt-get install -y -q --no-install-recommends "$@" >>"$L/apt.log" 2>&1; }
# login USER PASSWORD [ITEMS]: pamtester through Debian's own `login` service; the password
# is given once (a second prompt reads end of file and fails)
login() { printf '%s\n' "$2" | pamtester login "$1" authenticate acct_mgmt >"$T/.pam" 2>&1; }
login_file() { pamtester login "$1" authenticate acct_mgmt <"$2" >"$T/.pam" 2>&1; }
pam_lines() { grep -v -e '^#' -e '^$' "$1"; }
# The line number of the first line of /etc/pam.d/$1 that names module $2.
line_of() { awk -v m="$2" '$0 !~ /^#/ && $0 ~ m { print NR; exit }' "/etc/pam.d/$1"; }
# passwd, group and shadow lines of nsswitch.conf
nss_lines() { grep -E '^(passwd|group|shadow):' /etc/nsswitch.conf; }
# Paths under /etc, /usr, /var and /run with their type, mode and owner, less what every
# package installation changes: dpkg's and apt's records, logs and caches, and the shadow
# tools' backups of the user databases. Contents are compared separately.
snapshot() {
	find /etc /usr /var /run -xdev \( -path /var/lib/dpkg -o -path /var/lib/apt \
		-o -path /var/log -o -path /var/cache -o -name '*-' -path '/etc/*' \) -prune \
		-o -printf '%y %m %u:%g %p\n' | LC_ALL=C sort
}
contents() {
	for f in /etc/nsswitch.conf /etc/passwd /etc/group /etc/gshadow /etc/pam.d/* \
		/var/lib/pam/*; do
		printf '%s %s\n' "$(sum_of "$f")" "$f"
	done
	# The local user's hash is new after each password change the test makes.
	printf '%s /etc/shadow\n' "$(grep -v "^$LOCAL:" /etc/shadow | sha256sum | cut -d' ' -f1)"
}

# ---- the root before rotsec: a local user with a password, an nsswitch.conf with the
# forms the maintainer scripts must keep (an action after files, a comment)
useradd -M -s /bin/sh "$LOCAL" && printf '%s:%s\n' "$LOCAL" "$LOCALPW" | chpasswd || exit 98
sed -i -E -e 's/^group:[[:space:]].*/group:          files [SUCCESS=merge] systemd/' \
	-e 's/^shadow:[[:space:]].*/shadow:         files # local accounts only/' /etc/nsswitch.conf
NSS_BEFORE=$(nss_lines)
check "before rotsec, the local user logs in through login" login "$LOCAL" "$LOCALPW"
snapshot >"$L/snap.before"
contents >"$L/contents.before"
pamd_before=$(cat /etc/pam.d/* | sha256sum)

# ---- install
check "apt-get install ./build/deb/*.deb installs the three packages" apt_install "$REAL"/*.deb
tail -5 "$L/apt.log" | sed 's/^/# /'
for p in rotsec libpam-rotsec libnss-rotsec; do
	check_eq "$p $V is installed" "$(dpkg-query -W -f='${Status} ${Version}' "$p" 2>&1)" \
		"install ok installed $V"
done
check_match "group rotsec is a system group" "$(getent group rotsec)" '^rotsec:x:[1-9][0-9]{0,2}:'
for d in /var/lib/rotsec:755 /var/lib/rotsec/state:700 /var/log/rotsec:750 /run/rotsec:700 \
	/etc/rotsec:755; do
	check_eq "${d%:*} exists, mode ${d#*:}, root's" "$(stat -c '%a %U' "${d%:*}" 2>&1)" \
		"${d#*:} root"
done
check_eq "no rotsec.conf is shipped: the package has no conffile and nothing in /etc/rotsec" \
	"$(dpkg-query -W -f='${Conffiles}' rotsec; dpkg -L rotsec | grep '^/etc/rotsec/.')" ""
check "the example config is in /usr/share/doc/rotsec/examples" \
	test -s /usr/share/doc/rotsec/examples/rotsec.conf
check "rotsecd.service is enabled through debhelper" \
	test -L /etc/systemd/system/multi-user.target.wants/rotsecd.service
check "rotsecd.service starts only once a config exists" \
	grep -qx 'ConditionPathExists=/etc/rotsec/rotsec.conf' /lib/systemd/system/rotsecd.service
check_eq "no rotsecd was started (policy-rc.d, no systemd in this root)" \
	"$(pgrep -f '^/usr/sbin/rotsecd' || true)" ""
out=$(deb-systemd-invoke start rotsecd.service 2>&1)
rc=$?
check_match "deb-systemd-invoke start is a no-op here (policy-rc.d forbids it)" \
	"$out rc=$rc $(pgrep -f '^/usr/sbin/rotsecd')" "returned 101, not running .*rc=0 $"
check "the bash completion is installed" test -s /usr/share/bash-completion/completions/rotsecctl
check_eq "installing put rotsec right after files in passwd, group and shadow, keeping the rest" \
	"$(nss_lines)" "$(printf '%s\n' "$NSS_BEFORE" | sed -E 's/( files( \[[^]]*\])?)/\1 rotsec/')"
check_eq "installing changes no PAM stack: the profiles are off until the admin enables them" \
	"$(cat /etc/pam.d/* | sha256sum)" "$pamd_before"
check "the profiles are there to enable" \
	test -s /usr/share/pam-configs/rotsec -a -s /usr/share/pam-configs/rotsec-password

# ---- configure, sync, enable
cat >/etc/rotsec/rotsec.conf <<EOF
groups = ( { name = "rsdeb"; gid = 60990; } );
accounts = (
	{ name = "$SVC"; uid = 60991; group = "rsdeb"; shell = "/bin/sh";
	  deliver = ( { file = "$PWFILE"; mode = "0400"; } ); }
);
EOF
check "rotsecctl check accepts the config" rotsecctl check
check "rotsecctl sync creates the account and delivers its password" rotsecctl sync
check_eq "secrets.cdb is 0640 root:rotsec out of the box" \
	"$(stat -c '%a %U:%G' /var/lib/rotsec/secrets.cdb 2>&1)" "640 root:rotsec"
check_fails "without the profiles pam_unix refuses a rotsec account's password change too" \
	sh -c "printf '%s:%s\n' '$SVC' 'x-Y-z-12345678' | chpasswd"
check "pam-auth-update --enable rotsec rotsec-password" \
	pam-auth-update --package --enable rotsec rotsec-password
diag "common-auth:"
pam_lines /etc/pam.d/common-auth | sed 's/^/#   /'
ra=$(line_of common-auth pam_rotsec)
check "common-auth has pam_rotsec before pam_unix" test "${ra:-99}" -lt "$(line_of common-auth pam_unix)"
check_match "common-auth's pam_rotsec has the README's control values" \
	"$(sed -n "${ra:-1}p" /etc/pam.d/common-auth)" \
	'^auth[[:space:]]+\[success=[0-9]+ user_unknown=ignore default=die\][[:space:]]+pam_rotsec\.so'
# success=N skips N lines: past pam_unix and pam_deny, to pam_permit (then the additional
# modules such as pam_cap run, as after a pam_unix success).
n=$(sed -n "${ra:-1}s/.*success=\([0-9]*\).*/\1/p" /etc/pam.d/common-auth)
check_match "a pam_rotsec success jumps to pam_permit, as pam_unix's does" \
	"$(awk -v from="${ra:-1}" -v n="${n:-0}" '!/^#/ && !/^$/ { i++ } NR == from { at = i }
		!/^#/ && !/^$/ && at && i == at + n + 1 { print; exit }' /etc/pam.d/common-auth)" \
	'pam_permit\.so'
check "common-account has pam_rotsec before pam_unix" \
	test "$(line_of common-account pam_rotsec)" -lt "$(line_of common-account pam_unix)"
check "common-password has pam_rotsec after pam_unix" \
	test "$(line_of common-password pam_unix)" -lt "$(line_of common-password pam_rotsec)"

check "a rotsec account logs in through login with its delivered password" login_file "$SVC" "$PWFILE"
check_fails "a rotsec account with a wrong password is refused" login "$SVC" "not-the-password"
check "a local user still logs in through pam_unix" login "$LOCAL" "$LOCALPW"
check "a local user can still change a password (pam_unix keeps its own prompts)" \
	sh -c "printf '%s:%s\n' '$LOCAL' '$LOCALPW' | chpasswd"
out=$(printf '%s:%s\n' "$SVC" "x-Y-z-12345678" | chpasswd 2>&1)
check_match "a rotsec account's password change is refused with rotsec's pointer" "$out" \
	"managed by rotsec; use rotsecctl rotate $SVC"
check_match "getent passwd sees the rotsec account" "$(getent passwd "$SVC")" "^$SVC:x:60991:60990:"
check_match "getent shadow sees it, without a hash" "$(getent shadow "$SVC")" "^$SVC:!\*:"

# ---- remove
check "dpkg -r removes the three packages" dpkg -r libpam-rotsec libnss-rotsec rotsec
check_eq "after dpkg -r nothing in /etc/pam.d names rotsec" "$(grep -rl rotsec /etc/pam.d)" ""
check_eq "after dpkg -r nsswitch.conf is as before the install" "$(nss_lines)" "$NSS_BEFORE"
check "after dpkg -r the local user logs in" login "$LOCAL" "$LOCALPW"
check "after dpkg -r a local user can change a password" \
	sh -c "printf '%s:%s\n' '$LOCAL' '$LOCALPW' | chpasswd"
check_fails "after dpkg -r the rotsec account is gone from getent" getent passwd "$SVC"
for f in /etc/rotsec/rotsec.conf /etc/rotsec/rotsec.key /var/lib/rotsec/secrets.cdb \
	/var/lib/rotsec/accounts.cdb /var/log/rotsec/audit.jsonl; do
	check "dpkg -r keeps $f" test -s "$f"
done
check_eq "rotsec's state is config-files" "$(dpkg-query -W -f='${Status}' rotsec)" \
	"deinstall ok config-files"

# ---- reinstall over an nsswitch.conf the admin changed: rotsec where the admin wants it
sed -i -E 's/^(passwd:.*)$/\1 rotsec/' /etc/nsswitch.conf
admin_nss=$(sum_of /etc/nsswitch.conf)
check "reinstalling the packages" apt_install "$REAL"/*.deb
check_eq "reinstalling leaves an nsswitch.conf that already names rotsec as it is" \
	"$(sum_of /etc/nsswitch.conf)" "$admin_nss"
check_match "the kept store serves the account again" "$(getent passwd "$SVC")" "^$SVC:"

# ---- purge
check "dpkg -P purges the three packages" dpkg -P libpam-rotsec libnss-rotsec rotsec
snapshot >"$L/snap.after"
contents >"$L/contents.after"
diag "left after dpkg -P that was not there before the install (+), or gone (-):"
diff "$L/snap.before" "$L/snap.after" | grep '^[<>]' | sed 's/^</#   -/; s/^>/#   +/'
check "dpkg -P leaves the same files as before the install" \
	cmp -s "$L/snap.before" "$L/snap.after"
check "dpkg -P leaves nsswitch.conf, the PAM stacks and the user databases as they were" \
	diff "$L/contents.before" "$L/contents.after"
check_eq "nothing under /etc, /var/lib, /run or debconf's database names rotsec" \
	"$(grep -rIl rotsec /etc /var/lib /run /var/cache/debconf/config.dat 2>/dev/null |
		grep -v -e '^/var/lib/dpkg/' -e '^/var/lib/apt/' -e '^/etc/[a-z]*-$')" ""
check_fails "the group rotsec is gone" getent group rotsec
check "after dpkg -P the local user logs in" login "$LOCAL" "$LOCALPW"

# ---- upgrade from a lower version
check "installing the $V~pre packages" apt_install "$PRE"/*.deb
check_eq "rotsecctl $V~pre is installed" "$(dpkg-query -W -f='${Version}' rotsec)" "$V~pre"
cat >/etc/rotsec/rotsec.conf <<EOF
groups = ( { name = "rsdeb"; gid = 60990; } );
accounts = (
	{ name = "$SVC"; uid = 60991; group = "rsdeb"; shell = "/bin/sh";
	  deliver = ( { file = "$PWFILE"; mode = "0400"; } ); }
);
EOF
rm -f "$PWFILE"
rotsecctl sync >/dev/null 2>&1
pam-auth-update --package --enable rotsec rotsec-password
check "before the upgrade the rotsec account logs in" login_file "$SVC" "$PWFILE"
keep="/etc/rotsec/rotsec.conf /etc/rotsec/rotsec.key /var/lib/rotsec/accounts.cdb
	/var/lib/rotsec/secrets.cdb $PWFILE /etc/pam.d/common-auth /etc/pam.d/common-account
	/etc/pam.d/common-password
	/etc/nsswitch.conf"
for f in $keep; do sum_of "$f"; done >"$L/kept.before"
ls -lR /var/lib/rotsec/state >"$L/state.before" 2>&1
check "apt-get install of the $V packages upgrades $V~pre" apt_install "$REAL"/*.deb
check_eq "rotsec $V is installed" "$(dpkg-query -W -f='${Version}' rotsec)" "$V"
check_match "the installed rotsecctl says $V" "$(rotsecctl --version 2>&1)" "^rotsecctl $V\$"
for f in $keep; do sum_of "$f"; done >"$L/kept.after"
check "the upgrade keeps the config, host key, store, delivered password, PAM stack and nsswitch.conf" \
	diff "$L/kept.before" "$L/kept.after"
check_eq "the upgrade keeps the journal" "$(ls -lR /var/lib/rotsec/state 2>&1)" \
	"$(cat "$L/state.before")"
check "after the upgrade the rotsec account logs in with the same password" \
	login_file "$SVC" "$PWFILE"
check "after the upgrade the local user logs in" login "$LOCAL" "$LOCALPW"
check "after the upgrade rotsecctl rotates with the kept host key and journal" \
	rotsecctl rotate "$SVC"
check "and the new password logs in" login_file "$SVC" "$PWFILE"
