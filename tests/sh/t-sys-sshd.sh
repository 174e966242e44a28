#!/bin/sh
# "No flow failure" with real programs nobody here wrote: rotsec installed with
# `make install DESTDIR=`, a real sshd (Debian's binary, UsePAM, password login) on the
# loopback of a private network namespace, sshpass as the consumer, su, runuser,
# pamtester, getent and id — all against one store that a real rotsecd keeps rotating.
#
# Everything runs inside one private mount + network namespace (unshare -mn):
#   - the library dir is an overlay whose top layer is the installed lib dir
#     (libnss_rotsec.so.2 and security/pam_rotsec.so),
#   - /var/lib and /run are overlays with writable layers in $T (the store lives at the
#     default /var/lib/rotsec, usage records at /run/rotsec, sshd's /run/sshd),
#   - /etc/nsswitch.conf and /etc/pam.d are bind-mounted copies carrying rotsec's lines
#     from the installed examples.
# The host's passwd, shadow, group, nsswitch.conf and pam.d are checksummed before and after.
. "$(dirname "$0")/lib.sh"

MA=$(${CC:-gcc} -print-multiarch 2>/dev/null)
[ -n "$MA" ] || MA=x86_64-linux-gnu
LIBDIR=/usr/lib/$MA
host_sums() { sum_of /etc/passwd /etc/group /etc/shadow /etc/nsswitch.conf /etc/pam.d/*; }
before=$(host_sums)

R=$T/root
make -s -C "$top" O="$O" install DESTDIR="$R" PREFIX=/usr >"$T/install.log" 2>&1 ||
	{ not_ok "make install into a temp root"; sed 's/^/# /' "$T/install.log"; done_testing; exit 1; }
ok "make install into a temp root"

# ---- the namespace's files
mkdir -p "$T/varlib.up" "$T/varlib.work" "$T/run.up" "$T/run.work" "$T/etc" "$T/out" "$T/ssh"
chmod 0755 "$T/out"
awk -v ex="$R/usr/share/doc/rotsec/examples/nsswitch.conf.example" '
	BEGIN { while ((getline l < ex) > 0) if (l ~ /^(passwd|group|shadow):/) {
		split(l, f, ":"); line[f[1]] = l } }
	{ split($0, f, ":"); if (f[1] in line) { print line[f[1]]; done[f[1]] = 1 } else print }
	END { for (k in line) if (!(k in done)) print line[k] }' /etc/nsswitch.conf >"$T/etc/nsswitch.conf"
cp -a /etc/pam.d "$T/etc/pam.d"
for f in common-auth common-account common-password; do
	cp "$R/usr/share/doc/rotsec/examples/pam.d/$f" "$T/etc/pam.d/$f"
done
printf '@include common-auth\n@include common-account\n' >"$T/etc/pam.d/rotsec-sys"

ssh-keygen -q -t ed25519 -N '' -f "$T/ssh/host_key" >/dev/null
cat >"$T/ssh/sshd_config" <<EOF
Port 2222
ListenAddress 127.0.0.1
HostKey $T/ssh/host_key
PidFile $T/ssh/sshd.pid
UsePAM yes
PasswordAuthentication yes
KbdInteractiveAuthentication no
PubkeyAuthentication no
AuthorizedKeysFile none
PermitRootLogin no
StrictModes no
LogLevel VERBOSE
EOF

# The consumer: re-reads the delivered secret before every login, as a real one would.
cat >"$T/consumer" <<'EOF'
#!/bin/sh
# consumer N OUT: N logins through sshd with whatever secret was delivered last
n=0 fail=0
while [ $n -lt "$1" ]; do
	if sshpass -f /var/lib/rotsec-out/svc-web.pw ssh -q -p 2222 \
		-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o PreferredAuthentications=password -o NumberOfPasswordPrompts=1 \
		svc-web@127.0.0.1 true 2>/dev/null; then :; else fail=$((fail + 1)); fi
	n=$((n + 1))
	sleep 0.3
done
echo "$n $fail" >"$2"
EOF
chmod 0755 "$T/consumer"

cat >"$T/rotsec.conf" <<EOF
state_dir = "$T/state";
key_file = "$T/rotsec.key";
audit_log = "$T/audit.jsonl";
metrics_file = "$T/rotsec.prom";
defaults = { rotate_every = "6s"; grace = "3s"; max_grace = "5s"; };
groups = ( { name = "svc"; gid = 60000; } );
accounts = (
  { name = "svc-web"; uid = 60001; group = "svc"; gecos = "Web consumer"; home = "/tmp";
    shell = "/bin/sh"; rotate_every = "1h"; grace = "3s";
    deliver = ( { file = "/var/lib/rotsec-out/svc-web.pw"; mode = "0400"; } ); },
  { name = "svc-soak"; uid = 60002; group = "svc"; home = "/tmp"; shell = "/bin/sh";
    deliver = ( { file = "/var/lib/rotsec-out/svc-soak.pw"; mode = "0400"; } ); }
);
EOF

# The body runs inside the namespace and prints TAP lines itself, continuing lib.sh's
# counter (_tap_n, exported; the last number comes back in $T/.n).
cat >"$T/body.sh" <<'BODY'
R=$T/root
mount --make-rprivate / &&
	mount -t overlay rotsec-lib -o "lowerdir=$R$LIBDIR:$LIBDIR" "$LIBDIR" &&
	mount -t overlay rotsec-varlib -o "lowerdir=/var/lib,upperdir=$T/varlib.up,workdir=$T/varlib.work" /var/lib &&
	mount -t overlay rotsec-run -o "lowerdir=/run,upperdir=$T/run.up,workdir=$T/run.work" /run &&
	mount --bind "$T/etc/nsswitch.conf" /etc/nsswitch.conf &&
	mount --bind "$T/etc/pam.d" /etc/pam.d || { echo "not ok - namespace set-up"; exit 1; }
ip link set lo up
mkdir -p /var/lib/rotsec /var/lib/rotsec-out /run/sshd
chmod 0755 /var/lib/rotsec /var/lib/rotsec-out
n=$_tap_n
t_ok() { n=$((n + 1)); echo "ok $n - $*"; }
t_no() { n=$((n + 1)); echo "not ok $n - $*"; }
t() { name=$1; shift; if "$@" >/dev/null 2>&1; then t_ok "$name"; else t_no "$name"; fi; }
t_not() { name=$1; shift; if "$@" >/dev/null 2>&1; then t_no "$name"; else t_ok "$name"; fi; }
ssh_with() { # ssh_with FILE: log in as svc-web with the secret in FILE, run id -un
	sshpass -f "$1" ssh -q -p 2222 -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o PreferredAuthentications=password -o NumberOfPasswordPrompts=1 \
		svc-web@127.0.0.1 id -un 2>>"$T/ssh.err"
}
CTL="$R/usr/sbin/rotsecctl -c $T/rotsec.conf"
wait_for() { # wait_for SECONDS CMD...: poll until CMD succeeds
	_end=$(($(date +%s) + $1)); shift
	while ! "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -ge "$_end" ] && return 1
		sleep 0.2
	done
}

"$R/usr/sbin/rotsecd" -c "$T/rotsec.conf" -f 2>"$T/rotsecd.log" &
rotsecd=$!
t "rotsecd syncs the accounts and delivers their first secrets" wait_for 20 test -s /var/lib/rotsec-out/svc-web.pw
t "the store is at the default /var/lib/rotsec" test -f /var/lib/rotsec/secrets.cdb
/usr/sbin/sshd -D -e -f "$T/ssh/sshd_config" 2>"$T/sshd.log" &
sshd=$!
t "sshd listens on the namespace's loopback" wait_for 10 ssh-keyscan -p 2222 127.0.0.1

[ "$(getent passwd svc-web)" = "svc-web:x:60001:60000:Web consumer:/tmp:/bin/sh" ] &&
	t_ok "getent passwd resolves the account through nss_rotsec only" ||
	t_no "getent passwd resolves the account through nss_rotsec only"
t_not "the account is not in the namespace's /etc/passwd" grep -q '^svc-web:' /etc/passwd
[ "$(id svc-web)" = "uid=60001(svc-web) gid=60000(svc) groups=60000(svc)" ] &&
	t_ok "id shows it with its rotsec group" || t_no "id shows it with its rotsec group"
case "$(getent shadow svc-web)" in "svc-web:!*:"*) t_ok "getent shadow shows no hash" ;; *) t_no "getent shadow shows no hash" ;; esac
case "$(passwd -S svc-web)" in "svc-web L "*" -1 -1 -1 -1") t_ok "passwd -S shows the last rotation and no aging" ;; *) t_no "passwd -S shows the last rotation and no aging" ;; esac

cp /var/lib/rotsec-out/svc-web.pw "$T/gen1"
[ "$(ssh_with "$T/gen1")" = svc-web ] && t_ok "sshd: the delivered secret logs in (sshpass)" ||
	t_no "sshd: the delivered secret logs in (sshpass)"
echo wrong-secret >"$T/wrong"
t_not "sshd: a wrong secret is refused" ssh_with "$T/wrong"
t_not "sshd: root cannot log in with the account's secret" sshpass -f "$T/gen1" ssh -q -p 2222 \
	-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null root@127.0.0.1 true
[ "$(su -s /bin/sh svc-web -c 'id -un')" = svc-web ] && t_ok "su -s /bin/sh svc-web from root" || t_no "su -s /bin/sh svc-web from root"
[ "$(runuser -u svc-web -- id -u)" = 60001 ] && t_ok "runuser -u svc-web" || t_no "runuser -u svc-web"
t "pamtester authenticates the delivered secret through common-auth and common-account" \
	sh -c "pamtester rotsec-sys svc-web authenticate acct_mgmt <$T/gen1"
t_not "pamtester refuses a wrong secret" sh -c "pamtester rotsec-sys svc-web authenticate <$T/wrong"

# ---- a rotation while rotsecd runs
t "rotsecctl rotate while rotsecd runs" $CTL rotate svc-web
cp /var/lib/rotsec-out/svc-web.pw "$T/gen2"
t_not "the new secret was delivered" cmp -s "$T/gen1" "$T/gen2"
[ "$(ssh_with "$T/gen2")" = svc-web ] && t_ok "sshd: the new secret logs in" || t_no "sshd: the new secret logs in"
[ "$(ssh_with "$T/gen1")" = svc-web ] && t_ok "sshd: the old secret still logs in during grace" ||
	t_no "sshd: the old secret still logs in during grace"
t "pamtester: the old secret during grace" sh -c "pamtester rotsec-sys svc-web authenticate <$T/gen1"
t "the grace ends (3 s) while rotsecd runs" wait_for 10 sh -c "! $CTL verify svc-web <$T/gen1"
t_not "sshd: the old secret is refused after the grace" ssh_with "$T/gen1"
t_not "su-less pamtester: the old secret is refused after the grace" \
	sh -c "pamtester rotsec-sys svc-web authenticate <$T/gen1"
[ "$(ssh_with "$T/gen2")" = svc-web ] && t_ok "sshd: the new secret still logs in" || t_no "sshd: the new secret still logs in"

# ---- rotsecd rotating on its own while a consumer keeps logging in through sshd
"$T/consumer" 25 "$T/consumer.result" &
cons=$!
before_gen=$($CTL status svc-soak --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["accounts"][0]["generation"])')
wait $cons
read -r logins fails <"$T/consumer.result"
after_gen=$($CTL status svc-soak --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["accounts"][0]["generation"])')
[ "$after_gen" -gt "$before_gen" ] && t_ok "rotsecd rotated on schedule meanwhile ($before_gen -> $after_gen)" ||
	t_no "rotsecd rotated on schedule meanwhile ($before_gen -> $after_gen)"
[ "$fails" = 0 ] && [ "$logins" = 25 ] && t_ok "a consumer re-reading its file logged in $logins times through sshd, 0 failures" ||
	t_no "a consumer re-reading its file: $fails of $logins logins failed"

kill $sshd $rotsecd 2>/dev/null
wait $rotsecd
rc=$?
[ "$rc" = 0 ] && t_ok "rotsecd exits 0 on SIGTERM" || t_no "rotsecd exits 0 on SIGTERM (got $rc)"
wait $sshd 2>/dev/null
echo "$n" >"$T/.n"
BODY

export T top LIBDIR _tap_n
unshare -mn sh -c '. "$T/body.sh"'
[ -f "$T/.n" ] && _tap_n=$(cat "$T/.n")
for f in rotsecd.log sshd.log ssh.err; do
	[ -s "$T/$f" ] && tail -5 "$T/$f" | sed "s/^/# $f: /"
done
leaks=0
for s in "$T"/gen1 "$T"/gen2; do
	grep -rqF -- "$(cat "$s")" "$T/rotsecd.log" "$T/sshd.log" "$T/audit.jsonl" "$T/rotsec.prom" && leaks=$((leaks + 1))
done
check_eq "no secret in rotsecd's log, sshd's log, the audit log or the metrics" "$leaks" 0
check_eq "the host's passwd, shadow, group, nsswitch.conf and pam.d are unchanged" "$(host_sums)" "$before"
check "nothing is left mounted or installed on the host" sh -c "[ ! -e $LIBDIR/libnss_rotsec.so.2 ] && [ ! -e /var/lib/rotsec ]"
done_testing
