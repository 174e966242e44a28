#!/bin/sh
# The fleet section of rotsec.conf and the fleet deliveries, through rotsecctl check: every
# rule reported at its file:line (endpoints that parse, names that can be parts of etcd
# keys, the files it names safe by the trust rule), nothing in the store changed by a
# config that has any of them; check --effective shows a fleet delivery.
. "$(dirname "$0")/lib.sh"
rotsec_env
"$CTL" keygen "$T/keys/backup1" >/dev/null
"$CTL" keygen --sign "$T/keys/sign" >/dev/null
conf_write 'rotate_every = "2h"; grace = "1h"; max_grace = "2h";' '{ name = "svc"; gid = 60000; }' \
	'{ name = "svc-a"; uid = 60001; group = "svc"; deliver = ( { file = "'"$T"'/out/svc-a.pw"; } ); }'
ctl sync >/dev/null || not_ok "initial sync"
head -8 "$CONF" >"$T/header"
store_sum() { sum_of "$T/store/accounts.cdb" "$T/store/secrets.cdb"; }
EP='endpoints = [ "http://127.0.0.1:12379" ];'
ACC='groups = ( { name = "svc"; gid = 60000; } );
accounts = ( { name = "svc-a"; uid = 60001; group = "svc";'
DLV="deliver = ( { fleet = \"backup1\"; sealed_to = \"$T/keys/backup1.pub\"; } ); } );"

# good NAME: the config body on stdin (from line 9) is accepted.
good() {
	{ cat "$T/header"; cat; } >"$CONF"
	check "$1" ctl check
}
# bad NAME LINE REGEX: refused, reported at that line, the store unchanged by sync.
bad() {
	{ cat "$T/header"; cat; } >"$CONF"
	base=$(store_sum)
	out=$(ctl check 2>&1)
	rc=$?
	check_eq "$1: check exits 1" "$rc" "1"
	check_match "$1: reported at line $2" "$out" "^$CONF:$2: .*$3"
	ctl sync >/dev/null 2>&1
	check_eq "$1: the store is unchanged" "$(store_sum)" "$base"
}

good "a fleet section with endpoints, host, signing key and a fleet delivery" <<C
fleet = { $EP host = "web1"; signing_key = "$T/keys/sign.key"; prefix = "corp/rotsec"; timeout = "3s"; };
$ACC
  $DLV
C
out=$(ctl check --effective svc-a)
check_match "check --effective shows the fleet delivery" "$out" \
	"^deliver fleet backup1 sealed_to $T/keys/backup1.pub\$"
good "a signing key that does not exist yet is made on first use (its directory is checked)" <<C
fleet = { $EP host = "web1"; signing_key = "$T/keys/new-sign.key"; };
$ACC
  $DLV
C
check_fails "check makes no key" test -e "$T/keys/new-sign.key"

bad "a fleet delivery without the fleet section" 11 'needs the fleet = .* section' <<C
$ACC
  $DLV
C
bad "no endpoints" 9 'needs endpoints' <<C
fleet = { host = "web1"; signing_key = "$T/keys/sign.key"; };
C
bad "an endpoint with a path" 9 'is not an http:// or https:// URL' <<C
fleet = { endpoints = [ "http://127.0.0.1:2379/v3" ]; signing_key = "$T/keys/sign.key"; };
C
bad "an endpoint with credentials in it" 9 'no path, no user@' <<C
fleet = { endpoints = [ "https://root:pw@etcd:2379" ]; signing_key = "$T/keys/sign.key"; };
C
bad "an endpoint of another scheme" 9 'is not an http:// or https:// URL' <<C
fleet = { endpoints = [ "unix:///run/etcd.sock" ]; signing_key = "$T/keys/sign.key"; };
C
bad "a misspelt key, with what was meant" 9 'unknown key "endpoint".*endpoints' <<C
fleet = { endpoint = [ "http://127.0.0.1:2379" ]; signing_key = "$T/keys/sign.key"; };
C
bad "a host name that cannot be part of a key" 9 'host "web/1" is not' <<C
fleet = { $EP host = "web/1"; signing_key = "$T/keys/sign.key"; };
C
bad "a prefix with a .. part" 9 'prefix "rotsec/../x" is not' <<C
fleet = { $EP prefix = "rotsec/../x"; signing_key = "$T/keys/sign.key"; };
C
bad "a relative signing key" 9 'must be an absolute path' <<C
fleet = { $EP signing_key = "sign.key"; };
C
chmod 0640 "$T/keys/sign.key"
bad "a signing key readable by group" 9 'signing_key .* has mode 0640: it must be 0600' <<C
fleet = { $EP signing_key = "$T/keys/sign.key"; };
C
chmod 0600 "$T/keys/sign.key"
mkdir -p "$T/open"
chmod 0777 "$T/open"
bad "a signing key in a directory others can write" 9 'open is writable by group or others' <<C
fleet = { $EP signing_key = "$T/open/sign.key"; };
C
ln -s "$T/keys/sign.key" "$T/keys/link.key"
bad "a signing key through a symbolic link" 9 'is a symbolic link' <<C
fleet = { $EP signing_key = "$T/keys/link.key"; };
C
cp "$T/keys/sign.key" "$T/keys/nobody.key"
chown 65534 "$T/keys/nobody.key"
bad "a signing key owned by another user" 9 'owned by uid 65534, not root' <<C
fleet = { $EP signing_key = "$T/keys/nobody.key"; };
C
head -c 32 /dev/urandom | base64 >"$T/keys/etcd.pw"
chmod 0644 "$T/keys/etcd.pw"
bad "a password file readable by others" 9 'password_file .* must not be readable by others' <<C
fleet = { $EP signing_key = "$T/keys/sign.key"; user = "web1"; password_file = "$T/keys/etcd.pw"; };
C
chmod 0600 "$T/keys/etcd.pw"
bad "a user without its password file" 9 'an etcd user needs password_file' <<C
fleet = { $EP signing_key = "$T/keys/sign.key"; user = "web1"; };
C
bad "tls with a plain http:// endpoint" 9 'is not https:// but tls is configured' <<C
fleet = { $EP signing_key = "$T/keys/sign.key"; tls = { ca = "$T/keys/backup1.pub"; }; };
C
bad "an http:// endpoint among https:// ones" 9 'http://127.0.0.1:2379 is not https:// but other endpoints are' <<C
fleet = { endpoints = [ "https://127.0.0.1:2379", "http://127.0.0.1:2379" ]; signing_key = "$T/keys/sign.key"; };
C
bad "a tls client certificate without its key" 10 'needs both cert and key' <<C
fleet = { endpoints = [ "https://127.0.0.1:2379" ]; signing_key = "$T/keys/sign.key";
tls = { cert = "$T/keys/backup1.pub"; }; };
C
bad "a tls file that does not exist" 10 'ca .*/nosuch.pem: No such file' <<C
fleet = { endpoints = [ "https://127.0.0.1:2379" ]; signing_key = "$T/keys/sign.key";
tls = { ca = "$T/keys/nosuch.pem"; }; };
C
bad "a timeout out of range" 9 'timeout must be from 1s to 10m' <<C
fleet = { $EP signing_key = "$T/keys/sign.key"; timeout = "1h"; };
C
bad "a fleet timeout not shorter than lock_timeout" 9 \
	'fleet timeout \(10s\) must be shorter than lock_timeout \(10s\)' <<C
fleet = { $EP signing_key = "$T/keys/sign.key"; timeout = "10s"; };
C
bad "lock_timeout lowered below the default fleet timeout" 10 \
	'fleet timeout \(5s\) must be shorter than lock_timeout \(3s\)' <<C
lock_timeout = "3s";
fleet = { $EP signing_key = "$T/keys/sign.key"; };
C
good "a fleet timeout of 20s under a lock_timeout of 30s" <<C
lock_timeout = "30s";
fleet = { $EP signing_key = "$T/keys/sign.key"; timeout = "20s"; };
C
bad "a fleet delivery without sealed_to" 12 'needs sealed_to' <<C
fleet = { $EP signing_key = "$T/keys/sign.key"; };
$ACC
  deliver = ( { fleet = "backup1"; } ); } );
C
bad "a fleet delivery with a file" 12 'exactly one kind.*this one has fleet and file' <<C
fleet = { $EP signing_key = "$T/keys/sign.key"; };
$ACC
  deliver = ( { fleet = "backup1"; sealed_to = "$T/keys/backup1.pub"; file = "$T/out/x"; } ); } );
C
bad "a consumer name that cannot be part of a key" 12 'fleet consumer "b/1" is not' <<C
fleet = { $EP signing_key = "$T/keys/sign.key"; };
$ACC
  deliver = ( { fleet = "b/1"; sealed_to = "$T/keys/backup1.pub"; } ); } );
C
bad "one consumer twice in an account" 12 'fleet consumer "backup1" already has a deliver entry' <<C
fleet = { $EP signing_key = "$T/keys/sign.key"; };
$ACC deliver = ( { fleet = "backup1"; sealed_to = "$T/keys/backup1.pub"; },
  { fleet = "backup1"; sealed_to = "$T/keys/backup1.pub"; } ); } );
C
bad "a signing key given as the consumer's sealing key" 12 'sealed_to key refused: .*not a rotsec public key file.*rotsec-ed25519-public' <<C
fleet = { $EP signing_key = "$T/keys/sign.key"; };
$ACC
  deliver = ( { fleet = "backup1"; sealed_to = "$T/keys/sign.pub"; } ); } );
C
done_testing
