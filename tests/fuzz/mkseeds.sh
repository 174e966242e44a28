#!/bin/sh
# Regenerates the seed corpora in tests/fuzz/corpus/ (checked in; run this only to change
# them; seeds of earlier store formats, v1-* and v2-*, are kept by hand: copy them back). Seeds are small valid inputs that reach every feature, so the fuzzers start from
# deep in the code instead of spending their time discovering the formats:
#   store     accounts.cdb / secrets.cdb from mkstore and from `rotsecctl sync`
#   pam       flags, user, rhost, password and a secrets.cdb (layout in fuzz_pam.c)
#   nss       flags, an accounts.cdb and a secrets.cdb (layout in fuzz_nss.c)
#   config    conf/rotsec.conf and configs using every setting, paths as @T@
#   journal   journals written by `rotsecctl rotate`, sealed with fuzz_journal's fixed key
#   duration, alphabet   short texts
# Deadlines are far in the future (or the past) so that a seed means the same every day.
#
#   O=build sh tests/fuzz/mkseeds.sh      (needs $O/asan or $O/rel mkstore and rotsecctl)
set -eu
: "${O:?O must point at the build directory}"
top=$(cd "$(dirname "$0")/../.." && pwd)
C=$top/tests/fuzz/corpus
for v in asan rel; do
	[ -x "$O/$v/tests/tools/mkstore" ] && [ -x "$O/$v/rotsecctl" ] && V=$O/$v && break
done
: "${V:?no mkstore and rotsecctl under $O/asan or $O/rel}"
MKSTORE=$V/tests/tools/mkstore
CTL=$V/rotsecctl
T=$(mktemp -d /tmp/rotsec-seeds.XXXXXX)
chmod 0755 "$T"
trap 'rm -rf "$T"' EXIT
export ASAN_OPTIONS=detect_leaks=0

FUTURE=4102444800 # 2100-01-01
PAST=946684800    # 2000-01-01
CUR=cur-Secret-4Gx9LmQ2wP7zR8tY
PREV=prev-Secret-8Hk2NvB5cX1qW6eJ
OLD=old-Secret-3Jd7FgT9sA4uI2oP

rm -rf "$C"
mkdir -p "$C/store" "$C/pam" "$C/nss" "$C/config" "$C/journal" "$C/duration" "$C/alphabet"

# mkstore_to NAME: the spec on stdin into $T/NAME/
mkstore_to() {
	mkdir -p "$T/$1" && chmod 0755 "$T/$1" && "$MKSTORE" "$T/$1"
}

mkstore_to pam <<S
secret name=svc-a uid=60001 gen=3 current=$CUR previous=$PREV deadline=$FUTURE limit=$FUTURE revoked=$OLD
secret name=svc-b uid=60002 current=$CUR-b
secret name=svc-off uid=60003 current=$CUR disabled=1
S
mkstore_to expired <<S
secret name=svc-a uid=60001 gen=7 current=$CUR previous=$PREV deadline=$PAST limit=$PAST revoked=$OLD,$OLD-2
S
mkstore_to argon <<S
secret name=svc-short uid=60005 current=short-pw argon=1
S
# A BLAKE2b and an Argon2id account with tripwires: a login computes one of each.
mkstore_to mixed <<S
secret name=svc-a uid=60001 current=$CUR previous=$PREV deadline=$FUTURE limit=$FUTURE revoked=$OLD
secret name=svc-short uid=60005 current=short-pw previous=short-pw0 deadline=$FUTURE limit=$FUTURE revoked=short-1,short-2,short-3 argon=1
S
# A current and a previous hash of two salts, as rotsec wrote them before format 3.
mkstore_to legacy <<S
secret name=svc-a uid=60001 gen=4 current=$CUR previous=$PREV deadline=$FUTURE limit=$FUTURE legacy=1
secret name=svc-b uid=60002 current=$CUR-b
S
mkstore_to nss <<S
user name=svc-a uid=60001 gid=60000 gecos=Backup_agent home=/var/lib/svc-a groups=60010
user name=svc-b uid=60002 gid=60000
group name=svc gid=60000
group name=svc-ops gid=60010 members=svc-a,backup
secret name=svc-a uid=60001 current=pw-a previous=pw-a0 deadline=$FUTURE
secret name=svc-b uid=60002 current=pw-b disabled=1
S

# A store, a journal and their config from rotsecctl itself, with the fixed host key.
mkdir -p "$T/ctl/store" "$T/ctl/out" && chmod 0755 "$T/ctl" "$T/ctl/store" "$T/ctl/out"
python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(32)))' >"$T/ctl/rotsec.key"
chmod 0600 "$T/ctl/rotsec.key"
printf 'root:x:0:0:root:/root:/bin/bash\nbackup:x:34:34:backup:/var/backups:/usr/sbin/nologin\n' >"$T/ctl/passwd"
printf 'root:x:0:\nbackup:x:34:\nrotsec:x:990:\n' >"$T/ctl/group"
cat >"$T/ctl/rotsec.conf" <<CONF
store_dir = "$T/ctl/store";
state_dir = "$T/ctl/state";
key_file = "$T/ctl/rotsec.key";
run_dir = "$T/ctl/run";
audit_log = "$T/ctl/audit.jsonl";
metrics_file = "$T/ctl/rotsec.prom";
passwd_file = "$T/ctl/passwd";
group_file = "$T/ctl/group";
defaults = { rotate_every = "30d"; grace = "1h"; max_grace = "24h"; };
groups = ( { name = "svc"; gid = 60000; members = [ "backup" ]; },
           { name = "svc-ops"; gid = 60010; } );
accounts = (
  { name = "svc-a"; uid = 60001; group = "svc"; groups = [ "svc-ops" ]; gecos = "Backup agent";
    home = "/var/lib/svc-a";
    deliver = ( { file = "$T/ctl/out/svc-a.pw"; owner = "backup"; mode = "0400"; },
                { command = [ "/bin/true" ]; } ); },
  { name = "svc-b"; uid = 60002; group = "svc"; length = 24; alphabet = "base64url";
    deliver = ( { command = [ "/bin/false" ]; timeout = "5s"; } ); }
);
CONF
chmod 0600 "$T/ctl/rotsec.conf"
"$CTL" -c "$T/ctl/rotsec.conf" sync >/dev/null 2>&1 || true # svc-b: delivery fails
"$CTL" -c "$T/ctl/rotsec.conf" rotate svc-a >/dev/null
"$CTL" -c "$T/ctl/rotsec.conf" rotate svc-b >/dev/null 2>&1 || true # its delivery fails

cp "$T/pam/secrets.cdb" "$C/store/pam-secrets.cdb"
cp "$T/expired/secrets.cdb" "$C/store/expired-secrets.cdb"
cp "$T/argon/secrets.cdb" "$C/store/argon-secrets.cdb"
cp "$T/mixed/secrets.cdb" "$C/store/mixed-secrets.cdb"
cp "$T/legacy/secrets.cdb" "$C/store/legacy-secrets.cdb"
cp "$T/nss/accounts.cdb" "$C/store/nss-accounts.cdb"
cp "$T/nss/secrets.cdb" "$C/store/nss-secrets.cdb"
cp "$T/ctl/store/accounts.cdb" "$C/store/ctl-accounts.cdb"
cp "$T/ctl/store/secrets.cdb" "$C/store/ctl-secrets.cdb"

for f in "$T"/ctl/state/*.state; do
	n=$(basename "$f" .state)
	cp "$f" "$C/journal/$n"
	# The other steps and delivery states a journal can be in.
	sed 's/^step .*/step generated/' "$f" >"$C/journal/$n-generated"
	sed 's/^step .*/step activated/; s/^compromise 0/compromise 1/; s/^grace -1/grace 600/' \
		"$f" >"$C/journal/$n-activated"
	printf 'delivery 3 failed 7 1700000000 1700003600\nunknown-key from a newer rotsec\n' |
		cat "$f" - >"$C/journal/$n-more"
	{ grep -v '^verify' "$f"; printf 'verify failed 3 1700000000 1700000004\nverify_failures 5\n'; } \
		>"$C/journal/$n-verify"
	# The fleet's lines: the previous secret (this one's sealed box, as generation 1),
	# the version id, the last publish, the consumers, a failing refresh.
	{
		cat "$f"
		printf 'previous_sealed 1 %s\n' "$(sed -n 's/^sealed //p' "$f")"
		printf 'fleet_version 2 3ea3f80289eb98ccac3877d69e7f211c\n'
		printf 'fleet_published 5 2 74d5524ffceecdc287cafa04891ddce2\n'
		printf 'fleet_consumer backup1\nfleet_consumer mon1\n'
		printf 'fleet_refresh failed 2 1700000000 1700000060\n'
	} >"$C/journal/$n-fleet"
done

# pam SEED FLAGS USER PASSWORD STORE [RHOST]
pam() {
	python3 - "$C/pam/$1" "$2" "$3" "$4" "$5" "${6:-192.0.2.1}" <<'PY'
import sys
out, flags, user, pw, store, rhost = sys.argv[1:]
u, r, p = user.encode(), rhost.encode(), pw.encode()
data = bytes([int(flags, 0), len(u), len(r)]) + len(p).to_bytes(2, "little") + u + r + p
open(out, "wb").write(data + open(store, "rb").read())
PY
}
S=$T/pam/secrets.cdb
pam current 0 svc-a "$CUR" "$S"
pam previous 0 svc-a "$PREV" "$S"
pam previous-refused 1 svc-a "$PREV" "$S"
pam revoked 0 svc-a "$OLD" "$S"
pam wrong 0 svc-a wrong-password "$S"
pam empty 0 svc-a "" "$S"
pam other-debug 2 svc-b "$CUR-b" "$S" "host.example"
pam disabled 0 svc-off "$CUR" "$S"
pam unknown 3 nobody "$CUR" "$S"
pam ask-user 4 svc-a "$CUR" "$S"
pam conv-fails 8 svc-a "$CUR" "$S"
pam conv-null 16 svc-a "$CUR" "$S"
pam unsafe 32 svc-a "$CUR" "$S"
pam missing 64 svc-a "$CUR" "$S"
pam chauthtok 128 svc-a "$CUR" "$S"
pam expired 0 svc-a "$PREV" "$T/expired/secrets.cdb"
pam expired-revoked 2 svc-a "$OLD-2" "$T/expired/secrets.cdb"
pam argon 0 svc-short short-pw "$T/argon/secrets.cdb"
pam mixed-argon 0 svc-short short-pw0 "$T/mixed/secrets.cdb"
pam mixed-tripwire 2 svc-short short-3 "$T/mixed/secrets.cdb"
pam mixed-b2b 0 svc-a "$CUR" "$T/mixed/secrets.cdb"
pam legacy-previous 0 svc-a "$PREV" "$T/legacy/secrets.cdb"
pam local-root 0 root "$CUR" "$S"
pam ctl 0 svc-b "x" "$T/ctl/store/secrets.cdb"

# nss SEED FLAGS ACCOUNTS SECRETS
nss() {
	python3 - "$C/nss/$1" "$2" "$3" "$4" <<'PY'
import sys
out, flags, acc, sec = sys.argv[1:]
a, s = open(acc, "rb").read(), open(sec, "rb").read()
open(out, "wb").write(bytes([int(flags, 0)]) + len(a).to_bytes(3, "little") + a + s)
PY
}
nss small-buffer 0 "$T/nss/accounts.cdb" "$T/nss/secrets.cdb"
nss big-buffer 3 "$T/nss/accounts.cdb" "$T/nss/secrets.cdb"
nss ctl 1 "$T/ctl/store/accounts.cdb" "$T/ctl/store/secrets.cdb"
nss no-secrets 10 "$T/ctl/store/accounts.cdb" "$T/ctl/store/secrets.cdb"
nss unsafe 19 "$T/nss/accounts.cdb" "$T/nss/secrets.cdb"

# Configs. The paths header of the shell tests, with @T@ for fuzz_config's directory.
hdr='store_dir = "@T@/store";
state_dir = "@T@/state";
key_file = "@T@/rotsec.key";
run_dir = "@T@/run";
audit_log = "@T@/audit.jsonl";
metrics_file = "@T@/rotsec.prom";
passwd_file = "@T@/passwd";
group_file = "@T@/group";'
sed -e 's|"/var/lib/rotsec/state"|"@T@/state"|; s|"/var/lib/rotsec"|"@T@/store"|' \
	-e 's|"/etc/rotsec/rotsec.key"|"@T@/rotsec.key"|; s|"/run/rotsec"|"@T@/run"|' \
	-e 's|"/var/log/rotsec/audit.jsonl"|"@T@/audit.jsonl"|' \
	-e 's|"/var/lib/prometheus/node-exporter/rotsec.prom"|"@T@/rotsec.prom"|' \
	-e 's|^metrics_file.*|&\npasswd_file = "@T@/passwd";\ngroup_file = "@T@/group";|' \
	"$top/conf/rotsec.conf" >"$C/config/shipped.conf"
{ echo "$hdr"; cat <<'CONF'; } >"$C/config/everything.conf"
lock_timeout = "30s";
defaults = { rotate_every = "30d"; grace = "1h"; max_grace = "24h"; length = 32;
  alphabet = "alnum"; hash_cost = "moderate"; window = "02:00-05:30"; jitter = "2h";
  rotate_after_use = "1h"; quiet_revoke = "15m"; tripwire_keep = 5; retry_min = "30s";
  retry_max = "1h"; };
groups = ( { name = "svc"; gid = 60000; members = [ "backup", "svc-b" ]; },
           { name = "svc-ops"; gid = 60010; } );
accounts = (
  { name = "svc-a"; uid = 60001; group = "svc"; groups = [ "svc-ops" ];
    gecos = "Backup agent"; home = "/var/lib/svc-a"; shell = "/bin/sh";
    rotate_every = "7d"; grace = "2h"; window = "22:00-02:00";
    deliver = ( { file = "@T@/out/svc-a.pw"; owner = "backup"; group = "backup"; mode = "0440"; },
                { command = [ "/usr/local/bin/push", "--account", "svc-a" ]; timeout = "10s";
                  user = "backup"; },
                { sealed_to = "@T@/keys/consumer.pub"; file = "@T@/out/svc-a.sealed"; } );
    verify = [ "/usr/local/bin/check", "svc-a" ]; },
  { name = "svc-b"; uid = 60002; group = "svc-ops"; disabled = true; length = 20;
    alphabet = "0123456789abcdefghijklmnopqrstuv"; hash_cost = "interactive"; }
);
CONF
{ echo "$hdr"; cat <<'CONF'; } >"$C/config/errors.conf"
defaults = { rotate_every = "1h"; grace = "2h"; max_grace = "1h"; length = 8; };
groups = ( { name = "svc"; gid = 0; }, { name = "svc"; gid = 34; }, { name = "Bad"; gid = 60000; } );
accounts = ( { name = "Svc A"; uid = 0; group = "nosuch"; colour = "red";
  deliver = ( { file = "out/x.pw"; mode = "0644"; },
              { sealed_to = "@T@/keys/bad.pub"; file = "@T@/out/x.sealed"; },
              { command = [ "relative" ]; timeout = "-1"; } ); },
  { name = "daemon"; uid = 34; group = "svc"; alphabet = "aa"; window = "25:00-99"; } );
CONF
{ echo "$hdr"; cat <<'CONF'; } >"$C/config/include.conf"
@include "inc.conf"
accounts = ( { name = "svc-a"; uid = 60001; group = "svc"; } );
CONF
{ echo "$hdr"; echo 'accounts = ( { name = "svc-a"; uid = = } );'; } >"$C/config/syntax.conf"
printf 'store_dir = "relative";\n' >"$C/config/relative.conf"

# Durations: text, then (for 9 bytes and more) an int64 and a buffer size to format.
for d in 90s 15m 2h 7d 2w 1h30m 0 1d2h3m4s 36600d 99999999999s 1x; do
	printf '%s' "$d" >"$C/duration/$d"
done
python3 - "$C/duration" <<'PY'
import sys
d = sys.argv[1]
for name, v, n in (("format-neg", -90061, 12), ("format-min", -(1 << 63), 40),
                   ("format-small", 3599, 3)):
    open(f"{d}/{name}", "wb").write(v.to_bytes(8, "little", signed=True) + bytes([n]) + b"1d")
PY

# Alphabets: a 16-bit length, then the spec.
python3 - "$C/alphabet" <<'PY'
import sys
d = sys.argv[1]
for name, n, spec in (("alnum", 32, b"alnum"), ("base64url", 24, b"base64url"),
                      ("printable", 20, b"printable"), ("hex", 32, b"0123456789abcdef"),
                      ("dup", 16, b"abca"), ("space", 16, b"ab c"), ("long", 600, b"xy"),
                      ("zero", 0, b"ab")):
    open(f"{d}/{name}", "wb").write(n.to_bytes(2, "little") + spec)
PY
echo "seeds written to $C"
