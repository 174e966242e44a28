#!/bin/sh
# A fresh install can sync: the README's steps for `make install`, literally, on a host
# where nothing of rotsec exists yet. Each run is a private mount namespace with an empty
# /var, an empty /run and no /etc/rotsec (tmpfs, and overlays of /etc and /usr whose upper
# layers are in $T), so `make install` and everything after it land in $T and vanish with
# the namespace; the host's /etc, /usr, /var and /run are never written.
#   - README's commands are the ones run here (each is looked up in README.md);
#   - `rotsecctl check` on the example says what is missing on this host (the delivery
#     directory /var/backups), then passes once it exists;
#   - `rotsecctl sync` makes /var/lib/rotsec (0755), its state dir (0700), /run/rotsec
#     (0700), /var/log/rotsec (0750) and the host key (0600), all root's, and delivers;
#   - rotsecd alone, on another fresh host, does the same;
#   - an existing directory of rotsec's that is unsafe is refused, not used or repaired.
. "$(dirname "$0")/lib.sh"

for need in unshare make; do
	command -v "$need" >/dev/null 2>&1 || {
		skip "a fresh install syncs" "$need is missing"
		done_testing
		exit 0
	}
done
if ! unshare -m sh -c "mount -t tmpfs none '$T'" 2>/dev/null; then
	skip "a fresh install syncs" "no private mount namespaces here"
	done_testing
	exit 0
fi
# The example's account and group must not collide with this host's, and its consumer
# user `backup` must exist, as on Debian.
if getent passwd 60001 >/dev/null || getent group 60000 >/dev/null ||
	! getent passwd backup >/dev/null; then
	skip "a fresh install syncs" "uid 60001 or gid 60000 taken, or no user backup, on this host"
	done_testing
	exit 0
fi
host_sum() { sum_of /etc/passwd /etc/group; ls -la /etc /var /run /usr/sbin 2>/dev/null | sha256sum; }
before=$(host_sum)

# What README says to type, each looked up in README.md (section "First use", where the
# install section sends a reader of "Other distributions: make install").
readme=$(sed -n '/^## First use/,/^## /p' "$top/README.md")
for cmd in 'make && make install' \
	'cp /etc/rotsec/rotsec.conf.example /etc/rotsec/rotsec.conf' \
	'rotsecctl check' 'rotsecctl sync'; do
	check "README's make install steps say \`$cmd\`" sh -c 'printf "%s\n" "$1" | grep -qF -- "$2"' \
		sh "$readme" "$cmd"
done

# ns SCRIPT: SCRIPT (sh) as root in a fresh host: empty /var and /run, no /etc/rotsec, /usr
# and /etc writable overlays. $top and $O are those of this build; PATH is the system's.
ns() {
	n=$((${n:-0} + 1))
	mkdir -p "$T/ns$n/usr.up" "$T/ns$n/usr.work" "$T/ns$n/etc.up" "$T/ns$n/etc.work"
	unshare -m sh -c '
		d=$1; shift
		mount --make-rprivate / &&
			mount -t overlay rotsec-usr -o "lowerdir=/usr,upperdir=$d/usr.up,workdir=$d/usr.work" /usr &&
			mount -t overlay rotsec-etc -o "lowerdir=/etc,upperdir=$d/etc.up,workdir=$d/etc.work" /etc &&
			mount -t tmpfs -o mode=0755 rotsec-var /var &&
			mount -t tmpfs -o mode=0755 rotsec-run /run || exit 97
		if [ -e /etc/rotsec ]; then mount -t tmpfs -o mode=0755 rotsec-etc-rotsec /etc/rotsec || exit 97; fi
		[ -z "$(ls -A /var)" ] && [ -z "$(ls -A /run)" ] || exit 98
		cd "$top" || exit 99
		exec sh -c "$1"' ns "$T/ns$n" "$1"
}
export top O T

# The README's steps, with one line that is not in it: on this host /var/backups (the
# example's delivery directory, part of Debian's base system) does not exist until the
# admin, told by check, makes it.
ns '
	set -u
	make -s >/dev/null 2>&1 && make -s install >/dev/null 2>&1 || { echo "install failed"; exit 1; }
	echo "installed: $(command -v rotsecctl) $(ls /etc/rotsec)"
	cp /etc/rotsec/rotsec.conf.example /etc/rotsec/rotsec.conf
	rotsecctl check >$T/check1.out 2>&1; echo "check1 $?"
	mkdir -m 0755 /var/backups
	rotsecctl check >$T/check2.out 2>&1; echo "check2 $?"
	rotsecctl sync >$T/sync.out 2>&1; echo "sync $?"
	stat -c "%n %a %u %g" /var/lib /var/lib/rotsec /var/lib/rotsec/state /var/log \
		/var/log/rotsec /run/rotsec /etc/rotsec/rotsec.key /var/backups/svc-backup.pw
	[ -e /var/lib/prometheus ] && echo "made the collector dir"
	rotsecctl verify svc-backup </var/backups/svc-backup.pw
	rotsecctl status svc-backup --json >$T/status.json; echo "status $?"
' >"$T/fresh.out" 2>&1
diag "$(sed 's/^/   /' "$T/fresh.out")"
out=$(cat "$T/fresh.out")
check_match "make install puts rotsecctl in /usr/sbin and the example in /etc/rotsec" "$out" \
	'^installed: /usr/sbin/rotsecctl rotsec.conf.example$'
check_match "check on the example fails on this host" "$out" '^check1 1$'
check_match "because the delivery directory /var/backups does not exist" "$(cat "$T/check1.out")" \
	'rotsec.conf:[0-9]+: file /var/backups/svc-backup.pw: /var/backups: No such file or directory'
check_match "and says so only once: nothing rotsec makes itself is an error" \
	"$(grep -vc '^warning' "$T/check1.out")" '^2$'
check_match "check passes once it exists" "$out" '^check2 0$'
check_match "warning that the collector's directory is missing, not making it" \
	"$(cat "$T/check2.out")" \
	'^warning: .*rotsec.conf:[0-9]+: metrics_file.*/var/lib/prometheus/node-exporter does not exist'
check_match "rotsecctl sync succeeds on the fresh install" "$out" '^sync 0$'
check_match "and says what it did" "$(cat "$T/sync.out")" 'synced 1 account: 1 created.*1 delivered'
for want in '/var/lib 755 0 0' '/var/lib/rotsec 755 0 0' '/var/lib/rotsec/state 700 0 0' \
	'/var/log 755 0 0' '/var/log/rotsec 750 0 0' '/run/rotsec 700 0 0' \
	'/etc/rotsec/rotsec.key 600 0 0' "/var/backups/svc-backup.pw 400 $(id -u backup) $(id -g backup)"; do
	check_match "sync made ${want%% *} (mode, owner, group: ${want#* })" "$out" "^$want\$"
done
check "it does not make the metrics collector's directory" sh -c '! grep -q "made the collector dir" "$1"' sh "$T/fresh.out"
check_match "the delivered password is the current one" "$out" '^current$'
check_match "status works" "$out" '^status 0$'

# rotsecd alone on a fresh host: the same directories, then the sync.
ns '
	make -s install >/dev/null 2>&1 || exit 1
	cp /etc/rotsec/rotsec.conf.example /etc/rotsec/rotsec.conf
	mkdir -m 0755 /var/backups
	rotsecd -f >$T/rotsecd.log 2>&1 &
	pid=$!
	i=0
	while [ $i -lt 300 ] && ! [ -s /var/backups/svc-backup.pw ]; do sleep 0.1; i=$((i + 1)); done
	stat -c "%n %a %u" /var/lib/rotsec /var/lib/rotsec/state /var/log/rotsec /run/rotsec \
		/etc/rotsec/rotsec.key
	rotsecctl verify svc-backup </var/backups/svc-backup.pw
	kill -TERM $pid
	wait $pid
	echo "rotsecd exit $?"
' >"$T/daemon.out" 2>&1
out=$(cat "$T/daemon.out")
for want in '/var/lib/rotsec 755 0' '/var/lib/rotsec/state 700 0' '/var/log/rotsec 750 0' \
	'/run/rotsec 700 0' '/etc/rotsec/rotsec.key 600 0'; do
	check_match "rotsecd on a fresh host made ${want%% *}" "$out" "^$want\$"
done
check_match "and delivered the current password" "$out" '^current$'
check_match "and stopped cleanly" "$out" '^rotsecd exit 0$'
[ -n "$(grep -v '^/\|^current$\|^rotsecd exit' "$T/daemon.out")" ] && diag "$(cat "$T/daemon.out" "$T/rotsecd.log")"

# An existing directory of rotsec's that others can write, or of another user: refused
# by check, sync and rotsecd, named with the fix, and neither used nor repaired.
ns '
	make -s install >/dev/null 2>&1 || exit 1
	cp /etc/rotsec/rotsec.conf.example /etc/rotsec/rotsec.conf
	mkdir -m 0755 /var/backups
	mkdir -p -m 0755 /var/lib && mkdir -m 0777 /var/lib/rotsec
	rotsecctl check >$T/u.check 2>&1; echo "check $?"
	rotsecctl sync >$T/u.sync 2>&1; echo "sync $?"
	timeout 30 rotsecd -f >$T/u.rotsecd 2>&1; echo "rotsecd $?"
	stat -c "%n %a" /var/lib/rotsec; ls -A /var/lib/rotsec | wc -l
	chmod 0755 /var/lib/rotsec
	mkdir -p -m 0750 /var/log/rotsec && chown 65534 /var/log/rotsec
	rotsecctl sync >$T/u.sync2 2>&1; echo "sync2 $?"
	[ -e /var/log/rotsec/audit.jsonl ] && echo "audit written"
' >"$T/unsafe.out" 2>&1
out=$(cat "$T/unsafe.out")
check_match "check refuses a store directory others can write" "$out" '^check 1$'
check_match "naming it with the fix" "$(cat "$T/u.check")" \
	'rotsec.conf:[0-9]+: store_dir /var/lib/rotsec: /var/lib/rotsec is writable by group or others \(mode 0777\): chmod go-w /var/lib/rotsec'
check_match "sync refuses it" "$out" '^sync 1$'
check_match "with the same fix" "$(cat "$T/u.sync")" 'chmod go-w /var/lib/rotsec'
check_match "rotsecd refuses to start on it" "$out" '^rotsecd 1$'
check_match "and says why" "$(cat "$T/u.rotsecd")" 'chmod go-w /var/lib/rotsec'
check_match "which is neither repaired nor used" "$out" '/var/lib/rotsec 777
0'
check_match "an audit directory of another user is not used: sync warns" "$(cat "$T/u.sync2")" \
	'^rotsecctl: warning: audit_log /var/log/rotsec: /var/log/rotsec is not owned by root \(uid 65534\): chown root /var/log/rotsec'
check "and writes no audit line into it" sh -c '! grep -q "audit written" "$1"' sh "$T/unsafe.out"

check_eq "the host's /etc, /var, /run and /usr/sbin are as they were" "$(host_sum)" "$before"
done_testing
