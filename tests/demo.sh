#!/bin/sh
# make demo: a guided tour of rotsec in a private mount namespace. The modules are made
# visible in the library dir through an overlay, the store lives at the default
# /var/lib/rotsec on an overlay whose writable layer is a tmpfs, nsswitch.conf and a PAM
# service are bind-mounted copies. When the namespace ends, all of it is gone: nothing is
# written on the host.
set -eu
: "${O:?}"
top=$(cd "$(dirname "$0")/.." && pwd)

if [ "${ROTSEC_DEMO_INNER:-}" != 1 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "make demo needs root (it uses a private mount namespace)" >&2
		exit 1
	fi
	D=$(mktemp -d /tmp/rotsec-demo.XXXXXX)
	rc=0
	ROTSEC_DEMO_INNER=1 D=$D top=$top unshare -m sh -c 'mount --make-rprivate / &&
		mount -t tmpfs -o mode=0755 rotsec-demo "$D" && exec sh "$0"' "$0" || rc=$?
	rmdir "$D"
	exit $rc
fi

REL=$O/rel
CTL="$REL/rotsecctl -c $D/rotsec.conf"
MA=$(${CC:-gcc} -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
LIBDIR=/usr/lib/$MA
cd "$D"
bold() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '\033[2m$ %s\033[0m\n' "$*"; }
run() { show "$*"; "$@"; }

# ---- the private system: modules, store dir, nsswitch.conf, a PAM service
mkdir -p lib/security varlib.up varlib.work etc out
chmod 0755 out
cp "$REL/libnss_rotsec.so.2" lib/
cp "$REL/pam_rotsec.so" lib/security/
mount -t overlay rotsec-lib -o "lowerdir=$D/lib:$LIBDIR" "$LIBDIR"
mount -t overlay rotsec-varlib -o "lowerdir=/var/lib,upperdir=$D/varlib.up,workdir=$D/varlib.work" /var/lib
mkdir -m 0755 /var/lib/rotsec
sed -E 's/^(passwd|group):.*/& rotsec/; s/^(shadow):.*/\1: files rotsec/' /etc/nsswitch.conf >etc/nsswitch.conf
mount --bind etc/nsswitch.conf /etc/nsswitch.conf
cp -a /etc/pam.d etc/pam.d
printf 'auth     [success=done user_unknown=ignore default=die] pam_rotsec.so nodelay run=%s/run\naccount  [success=ok user_unknown=ignore default=die] pam_rotsec.so\n' "$D" >etc/pam.d/demo-login
mount --bind etc/pam.d /etc/pam.d

bold "1. The configuration: one service account, a 3 s grace so the tour is short"
cat >rotsec.conf <<CONF
state_dir = "$D/state"; key_file = "$D/rotsec.key"; run_dir = "$D/run";
audit_log = "$D/audit.jsonl"; metrics_file = "$D/rotsec.prom";
defaults = { rotate_every = "30d"; grace = "3s"; max_grace = "1h"; length = 32; };
groups = ( { name = "svc"; gid = 60000; } );
accounts = (
  { name = "svc-backup"; uid = 60001; group = "svc"; gecos = "Backup agent";
    home = "/var/lib/svc-backup"; shell = "/usr/sbin/nologin";
    deliver = ( { file = "$D/out/svc-backup.pw"; mode = "0400"; } ); }
);
CONF
sed 's/^/    /' rotsec.conf
run $CTL check

bold "2. rotsecd starts: it creates the account and delivers its first password"
show "rotsecd -c rotsec.conf -f &"
"$REL/rotsecd" -c rotsec.conf -f 2>rotsecd.log &
rotsecd=$!
i=0
while [ ! -s out/svc-backup.pw ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
run ls -l /var/lib/rotsec out

bold "3. The system knows the account (nss_rotsec): getent, id"
run getent passwd svc-backup
run id svc-backup
run getent shadow svc-backup

bold "4. The consumer logs in through PAM with the password it was delivered"
cp out/svc-backup.pw first.pw
show "pamtester demo-login svc-backup authenticate acct_mgmt < out/svc-backup.pw"
pamtester demo-login svc-backup authenticate acct_mgmt <out/svc-backup.pw

bold "5. Rotate: a new password is delivered; both work during the grace"
run $CTL rotate svc-backup
show "pamtester demo-login svc-backup authenticate < (new password)"
pamtester demo-login svc-backup authenticate <out/svc-backup.pw
show "pamtester demo-login svc-backup authenticate < (old password)"
pamtester demo-login svc-backup authenticate <first.pw
show "rotsecctl rotate svc-backup   # again, during the grace: refused"
$CTL rotate svc-backup || true

bold "6. After the grace the old password is refused (PAM enforces the deadline itself)"
run sleep 3.2
show "pamtester demo-login svc-backup authenticate < (old password)"
pamtester demo-login svc-backup authenticate <first.pw || true
show "rotsecctl verify svc-backup < (old password)"
$CTL verify svc-backup <first.pw || true
show "pamtester demo-login svc-backup authenticate < (new password)"
pamtester demo-login svc-backup authenticate <out/svc-backup.pw

bold "7. Status (note the previous password's use during the grace)"
run $CTL status

bold "8. The audit trail (no secret in it)"
sed 's/^/    /' audit.jsonl

bold "9. The metrics file for node_exporter's textfile collector"
sleep 0.5 # rotsecd rewrites it when a login is recorded
grep -v '^#' rotsec.prom | sed 's/^/    /'
kill "$rotsecd"
wait "$rotsecd" || true

bold "Done. The namespace, its mounts and its tmpfs are gone; nothing was written on the host."
