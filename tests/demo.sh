#!/bin/sh
# make demo: a guided tour of rotsec in a private mount namespace. Everything happens in a
# tmpfs that exists only inside the namespace; nothing is left on the host.
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
	ROTSEC_DEMO_INNER=1 D=$D unshare -m sh -c 'mount --make-rprivate / && mount -t tmpfs -o mode=0755 rotsec-demo "$D" && exec sh "$0"' "$0" || rc=$?
	rmdir "$D"
	exit $rc
fi

CTL=$O/rel/rotsecctl
cd "$D"
mkdir -m 0755 store out
bold() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '\033[2m$ %s\033[0m\n' "$*"; "$@"; }

bold "1. The configuration: one service account, 2 s of grace so the tour is short"
cat >rotsec.conf <<CONF
store_dir = "$D/store"; state_dir = "$D/state"; key_file = "$D/rotsec.key";
run_dir = "$D/run"; audit_log = "$D/audit.jsonl"; metrics_file = "$D/rotsec.prom";
defaults = { rotate_every = "30d"; grace = "2s"; max_grace = "1h"; length = 32; };
groups = ( { name = "svc"; gid = 60000; } );
accounts = (
  { name = "svc-backup"; uid = 60001; group = "svc"; gecos = "Backup agent";
    home = "/var/lib/svc-backup"; shell = "/usr/sbin/nologin";
    deliver = ( { file = "$D/out/svc-backup.pw"; mode = "0400"; } ); }
);
CONF
sed 's/^/    /' rotsec.conf
run "$CTL" -c rotsec.conf check

bold "2. sync: the account is created, its first password generated and delivered"
run "$CTL" -c rotsec.conf sync
run ls -l store out
cp out/svc-backup.pw first.pw

bold "3. The consumer's password works"
printf '$ rotsecctl verify svc-backup < out/svc-backup.pw\n'
"$CTL" -c rotsec.conf verify svc-backup <out/svc-backup.pw

bold "4. Rotate: a new password is delivered; the old one keeps working during the grace"
run "$CTL" -c rotsec.conf rotate svc-backup
printf '$ rotsecctl verify svc-backup < (new password)\n'
"$CTL" -c rotsec.conf verify svc-backup <out/svc-backup.pw
printf '$ rotsecctl verify svc-backup < (old password)\n'
"$CTL" -c rotsec.conf verify svc-backup <first.pw || true
printf '$ rotsecctl rotate svc-backup   # again, during the grace\n'
"$CTL" -c rotsec.conf rotate svc-backup || true

bold "5. After the grace the old password is refused, even with no daemon running"
run sleep 2.1
printf '$ rotsecctl verify svc-backup < (old password)\n'
"$CTL" -c rotsec.conf verify svc-backup <first.pw || true
printf '$ rotsecctl verify svc-backup < (wrong password)\n'
echo not-the-password | "$CTL" -c rotsec.conf verify svc-backup || true

bold "6. Status"
run "$CTL" -c rotsec.conf status

bold "7. The audit trail (no secret in it)"
sed 's/^/    /' audit.jsonl

bold "Done. The namespace and its tmpfs are gone; nothing was written on the host."
