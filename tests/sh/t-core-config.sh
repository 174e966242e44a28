#!/bin/sh
# Every validation rule of the config, through rotsecctl: the error names file and line,
# check/sync/rotate exit 1, and the store stays byte-identical.
. "$(dirname "$0")/lib.sh"
rotsec_env
good_accounts='{ name = "svc-a"; uid = 60001; group = "svc"; deliver = ( { file = "'"$T"'/out/svc-a.pw"; } ); }'
conf_write 'rotate_every = "2h"; grace = "1h"; max_grace = "2h";' '{ name = "svc"; gid = 60000; }' "$good_accounts"
ctl sync >/dev/null || not_ok "initial sync"
cp "$CONF" "$T/good.conf"
store_sum() { sum_of "$T/store/accounts.cdb" "$T/store/secrets.cdb"; }
base=$(store_sum)
printf 'not a key\n' >"$T/keys/bad.pub"

# header: the eight path lines of conf_write, then what the case gives (line 9 onwards).
header() {
	head -8 "$T/good.conf"
}

# bad NAME LINE REGEX: config body on stdin (starts at line 9).
bad() {
	{ header; cat; } >"$CONF"
	base=$(store_sum)
	out=$(ctl check 2>&1)
	rc=$?
	check_eq "$1: check exits 1" "$rc" "1"
	check_match "$1: reported at $CONF:$2" "$out" "^$CONF:$2: .*$3"
	ctl sync >/dev/null 2>&1
	rc=$?
	check_eq "$1: sync refuses (exit 1)" "$rc" "1"
	ctl rotate svc-a --revoke-previous >/dev/null 2>&1
	check_eq "$1: store is byte-identical" "$(store_sum)" "$base"
}

bad "a syntax error" 10 'syntax error|parse error' <<'C'
groups = ( { name = "svc"; gid = 60000; } );
accounts = ( { name = "svc-a"; uid = } );
C

bad "an unknown top-level key" 9 'unknown key "store_directory"' <<'C'
store_directory = "/x";
C

bad "an unknown key in an account" 11 'unknown key "passwd"' <<'C'
groups = ( { name = "svc"; gid = 60000; } );
accounts = ( { name = "svc-a"; uid = 60001; group = "svc";
  passwd = "x"; } );
C

bad "a duplicate account name" 11 'account "svc-a" is already defined' <<'C'
groups = ( { name = "svc"; gid = 60000; } );
accounts = ( { name = "svc-a"; uid = 60001; group = "svc"; },
 { name = "svc-a"; uid = 60002; group = "svc"; } );
C

bad "a duplicate uid" 12 'uid 60001 is already used' <<'C'
groups = ( { name = "svc"; gid = 60000; } );
accounts = ( { name = "svc-a"; uid = 60001; group = "svc"; },
 { name = "svc-b";
   uid = 60001; group = "svc"; } );
C

bad "a duplicate gid" 11 'gid 60000 is already used' <<'C'
groups = ( { name = "svc"; gid = 60000; },
  { name = "svc2";
    gid = 60000; } );
accounts = ();
C

bad "uid 0" 11 'uid 0 is root' <<'C'
groups = ( { name = "svc"; gid = 60000; } );
accounts = ( { name = "svc-a";
  uid = 0; group = "svc"; } );
C

bad "gid 0" 10 'gid 0 is root' <<'C'
groups = ( { name = "svc";
  gid = 0; } );
accounts = ();
C

bad "a name that exists in passwd_file" 10 'account "daemon" already exists in' <<'C'
groups = ( { name = "svc"; gid = 60000; } );
accounts = ( { name = "daemon"; uid = 60001; group = "svc"; } );
C

bad "a uid that exists in passwd_file" 11 'uid 34 is already used by user "backup"' <<'C'
groups = ( { name = "svc"; gid = 60000; } );
accounts = ( { name = "svc-a";
  uid = 34; group = "svc"; } );
C

bad "a group name that exists in group_file" 9 'group "backup" already exists in' <<'C'
groups = ( { name = "backup"; gid = 60000; } );
C

bad "a gid that exists in group_file" 10 'gid 990 is already used by group "rotsec"' <<'C'
groups = ( { name = "svc";
  gid = 990; } );
C

bad "an invalid name" 10 'not a valid .*name' <<'C'
groups = ( { name = "svc"; gid = 60000; } );
accounts = ( { name = "Svc A"; uid = 60001; group = "svc"; } );
C

bad "a name longer than 32 characters" 10 'not a valid .*name' <<'C'
groups = ( { name = "svc"; gid = 60000; } );
accounts = ( { name = "svc-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"; uid = 60001; group = "svc"; } );
C

bad "a group that does not exist" 11 'group "nosuch" of account "svc-a" does not exist' <<'C'
groups = ( { name = "svc"; gid = 60000; } );
accounts = ( { name = "svc-a"; uid = 60001;
  group = "nosuch"; } );
C

bad "grace not shorter than rotate_every" 10 'grace \(2h\) must be shorter than rotate_every \(1h\)' <<'C'
defaults = { rotate_every = "1h";
  grace = "2h"; max_grace = "3h"; };
C

bad "grace longer than max_grace" 10 'grace \(3h\) must be .*max_grace \(1h\)' <<'C'
defaults = { rotate_every = "1d";
  grace = "3h"; max_grace = "1h"; };
C

bad "a secret under 64 bits of entropy" 11 '64' <<'C'
groups = ( { name = "svc"; gid = 60000; } );
accounts = ( { name = "svc-a"; uid = 60001; group = "svc";
  length = 8; } );
C

bad "a relative path" 11 'must be an absolute path' <<'C'
groups = ( { name = "svc"; gid = 60000; } );
accounts = ( { name = "svc-a"; uid = 60001; group = "svc";
  deliver = ( { file = "out/svc-a.pw"; } ); } );
C

# The paths of the header too: store_dir made relative on its line.
{ sed 's|^store_dir = ".*";|store_dir = "var/lib/rotsec";|' "$T/good.conf"; } >"$CONF"
out=$(ctl check 2>&1)
check_match "a relative store_dir is reported at line 1" "$out" "^$CONF:1: .*store_dir.*absolute path"

bad "a file delivery readable by others" 12 'mode' <<C
groups = ( { name = "svc"; gid = 60000; } );
accounts = ( { name = "svc-a"; uid = 60001; group = "svc";
  deliver = ( { file = "$T/out/x.pw";
    mode = "0644"; } ); } );
C

bad "a sealed_to key that is not an X25519 public key" 11 'bad.pub' <<C
groups = ( { name = "svc"; gid = 60000; } );
accounts = ( { name = "svc-a"; uid = 60001; group = "svc";
  deliver = ( { sealed_to = "$T/keys/bad.pub"; file = "$T/out/x.sealed"; } ); } );
C

# 33 deliveries: one more than the rotation journal follows per account.
{
	echo 'groups = ( { name = "svc"; gid = 60000; } );'
	echo 'accounts = ( { name = "svc-a"; uid = 60001; group = "svc";'
	printf '  deliver = ( '
	for i in $(seq 1 33); do printf '{ file = "%s/out/x%d.pw"; }%s' "$T" "$i" "$([ "$i" -lt 33 ] && echo ', ')"; done
	echo ' ); } );'
} | bad "more deliveries than the journal follows" 11 'svc-a has 33 deliveries; at most 32 are allowed'

# A warning is not an error: secrets between 64 and 128 bits are accepted with a warning.
{ header; cat <<C; } >"$CONF"
groups = ( { name = "svc"; gid = 60000; } );
accounts = ( { name = "svc-a"; uid = 60001; group = "svc";
  length = 16; deliver = ( { file = "$T/out/svc-a.pw"; } ); } );
C
out=$(ctl check 2>&1)
rc=$?
check_eq "a secret under 128 bits is only a warning (exit 0)" "$rc" "0"
check_match "and the warning names the line" "$out" "^warning: $CONF:11: .*128"

# Many errors at once are all reported.
{ header; cat <<'C'; } >"$CONF"
groups = ( { name = "svc"; gid = 0; } );
accounts = ( { name = "Bad"; uid = 0; group = "nosuch"; colour = "red"; } );
C
n=$(ctl check 2>&1 | grep -c "^$CONF:")
check "every error of a config is reported, not just the first ($n)" [ "$n" -ge 4 ]
check_eq "after all that the store is byte-identical" "$(store_sum)" "$base"

# check --effective NAME: every setting of one account as it takes effect, one per line,
# from the account itself, from defaults or built in; nothing in the store changes.
conf_write 'rotate_every = "2h"; grace = "1h"; max_grace = "2h";' '{ name = "svc"; gid = 60000; }' \
	'{ name = "svc-a"; uid = 60001; group = "svc"; grace = "30m"; deliver = ( { file = "'"$T"'/out/svc-a.pw"; } ); }'
out=$(ctl check --effective svc-a)
rc=$?
check_eq "check --effective exits 0" "$rc" "0"
check_match "check --effective shows the account's own grace" "$out" '^grace 30m$'
check_match "check --effective shows rotate_every from defaults" "$out" '^rotate_every 2h$'
check_match "check --effective shows the built-in length" "$out" '^length 32$'
check_match "check --effective shows the delivery with its defaults" "$out" \
	"^deliver file $T/out/svc-a.pw owner root group root mode 0400\$"
check_eq "check --effective prints each of the 23 settings once" \
	"$(printf '%s\n' "$out" | cut -d' ' -f1 | sort | uniq -c | awk '$1 == 1' | wc -l | tr -d ' ')" "23"
out=$(ctl check --effective nosuch 2>&1)
rc=$?
check_eq "check --effective of an account that is not configured exits 1" "$rc" "1"
check_match "and names it" "$out" 'has no account nosuch'
ctl status --effective svc-a >/dev/null 2>&1
check_eq "--effective with another command is a usage error (exit 3)" "$?" "3"
ctl check --effective >/dev/null 2>&1
check_eq "--effective without a name is a usage error (exit 3)" "$?" "3"
check_eq "check --effective leaves the store byte-identical" "$(store_sum)" "$base"
done_testing
