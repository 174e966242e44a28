#!/bin/sh
# README.md's "First use" is what a new admin types, and it works (issue 14): the commands
# of its code block, taken from README.md itself so that the two cannot drift, run as
# written, as root, from the top of the tree, on a machine as fresh as can be made: in a
# private mount namespace where /usr, /etc and /var are overlays whose changes land in $T
# (without /etc/rotsec, /var/lib/rotsec and /var/log/rotsec, whatever the host has) and
# /run is an empty tmpfs. Nothing of it reaches the host.
#
# Two stand-ins, first in PATH: `editor` saves the example unchanged (an admin who accepts
# it; it has one account, svc-backup, delivered to /var/backups), and `make` is make with
# this build's O= (the tree's build directory that make check built), so that make &&
# make install installs what the other tests test instead of building it again.
. "$(dirname "$0")/lib.sh"

for need in unshare mount groupadd make; do
	if ! command -v "$need" >/dev/null 2>&1; then
		skip "README first use" "$need is missing"
		done_testing
		exit 0
	fi
done
if ! unshare -m mount -t tmpfs none "$T" 2>/dev/null; then
	skip "README first use" "no private mount namespaces here"
	done_testing
	exit 0
fi

# The block: the first ```sh fence after the "## First use" heading, to its closing fence.
awk '/^## First use$/ { sec = 1; next }
	sec && /^## / { exit }
	sec && !inb && /^```sh$/ { inb = 1; next }
	inb && /^```$/ { exit }
	inb { print }' "$top/README.md" >"$T/first-use.sh"
check_match "README.md has a First use section with a code block of commands" \
	"$(cat "$T/first-use.sh")" '^rotsecctl sync'
diag "README's first use:"
sed 's/^/#   /' "$T/first-use.sh"

mkdir -p "$T/bin" "$T/up" "$T/work" "$T/res"
cat >"$T/bin/editor" <<EOF
#!/bin/sh
echo "\$*" >>"$T/res/edited"
EOF
cat >"$T/bin/make" <<EOF
#!/bin/sh
exec /usr/bin/make O="$O" "\$@"
EOF
chmod 0755 "$T/bin/editor" "$T/bin/make"

host_sums() { sum_of /etc/passwd /etc/group /etc/shadow /etc/gshadow; }
host_before=$(host_sums)
host_files=$(ls -d /usr/sbin/rotsecctl /etc/rotsec /var/lib/rotsec /var/log/rotsec 2>/dev/null)

# In the namespace: the overlays, then the block with `set -ex` (stops at the first command
# that fails, and says which in the trace), then what it should have made, in $T/res.
cat >"$T/ns.sh" <<'NS'
T=$1 top=$2
set -u
mount --make-rprivate / || exit 97
for d in /usr /etc /var /lib; do
	[ -L "$d" ] && continue # merged /usr: /lib is /usr/lib
	n=$(echo "$d" | tr / _)
	mkdir -p "$T/up/$n" "$T/work/$n"
	mount -t overlay "rotsec-first-use$n" -o "lowerdir=$d,upperdir=$T/up/$n,workdir=$T/work/$n" "$d" ||
		exit 97
done
mount -t tmpfs -o mode=0755 rotsec-first-use-run /run || exit 97
# Fresh, whatever the host has.
rm -rf /etc/rotsec /var/lib/rotsec /var/log/rotsec /var/backups/svc-backup.pw
cd "$top" || exit 97
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES PATH="$T/bin:$PATH" \
	sh -ex "$T/first-use.sh" >"$T/res/run.log" 2>&1
echo $? >"$T/res/rc"
stat -c '%a %U:%G' /var/lib/rotsec /var/lib/rotsec/state /var/lib/rotsec/secrets.cdb \
	/var/lib/rotsec/accounts.cdb /etc/rotsec/rotsec.key /var/backups/svc-backup.pw \
	>"$T/res/modes" 2>&1
/usr/sbin/rotsecctl verify svc-backup </var/backups/svc-backup.pw >"$T/res/verify" 2>&1
/usr/sbin/rotsecctl status --json >"$T/res/status.json" 2>&1
cp /var/log/rotsec/audit.jsonl "$T/res/audit.jsonl" 2>/dev/null
exit 0
NS
unshare -m sh "$T/ns.sh" "$T" "$top"
check_eq "the namespace was set up" "$?" 0
rc=$(cat "$T/res/rc" 2>/dev/null)
diag "the run (sh -x):"
sed 's/^/#   /' "$T/res/run.log" 2>/dev/null | tail -40

check_eq "every command of README's first use succeeds, as written" "$rc" 0
check_eq "editor was given the configuration" "$(cat "$T/res/edited" 2>/dev/null)" \
	/etc/rotsec/rotsec.conf
check_match "rotsecctl status said OK" "$(cat "$T/res/run.log")" '^rotsec OK: 1 account$'
check_eq "the store, state dir, host key and delivered file have their modes" \
	"$(cat "$T/res/modes")" "$(printf '%s\n' '755 root:root' '700 root:root' \
		'640 root:rotsec' '644 root:root' '600 root:root' '400 backup:backup')"
check_eq "the delivered password is current" "$(cat "$T/res/verify")" current
check_match "status --json says ok" "$(head -n 1 "$T/res/status.json")" \
	'^\{"verdict": "ok", "exit_status": 0, '
check_match "the audit trail has the creation" "$(cat "$T/res/audit.jsonl" 2>/dev/null)" \
	'"event":"create","account":"svc-backup"'

check_eq "the host's passwd, group, shadow and gshadow are untouched" "$(host_sums)" "$host_before"
check_eq "nothing was installed or created on the host" \
	"$(ls -d /usr/sbin/rotsecctl /etc/rotsec /var/lib/rotsec /var/log/rotsec 2>/dev/null)" \
	"$host_files"
check "what was installed is in the overlay" test -x "$T/up/_usr/sbin/rotsecctl"

done_testing
