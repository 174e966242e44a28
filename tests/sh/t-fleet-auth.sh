#!/bin/sh
# Fleet with etcd authentication on: a role per host that can write only its own status
# and alive keys and its consumers' sealed keys, a role per consumer that can read only its
# own slice (and the public status). A host cannot write another host's keys, a consumer
# cannot read another's.
. "$(dirname "$0")/etcd-lib.sh"
. "$(dirname "$0")/daemon-lib.sh"

etcd_start_all || { not_ok "the etcd cluster starts"; done_testing; exit 1; }
fleet_host_keys web1 web2
fleet_consumer_keys backup1 mon1
P=rotsec/v1
pw() { head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$T/$1.pw"; chmod 0600 "$T/$1.pw"; }
for u in root web1 web2 backup1 mon1; do pw "$u"; done
ectl user add root --new-user-password="$(cat "$T/root.pw")" >/dev/null
for h in web1 web2; do
	ectl user add "$h" --new-user-password="$(cat "$T/$h.pw")" >/dev/null
	ectl role add "host-$h" >/dev/null
	ectl role grant-permission "host-$h" readwrite --prefix "$P/status/$h/" >/dev/null
	ectl role grant-permission "host-$h" readwrite "$P/alive/$h" >/dev/null
	for c in backup1 mon1; do
		ectl role grant-permission "host-$h" readwrite --prefix "$P/sealed/$c/$h/" >/dev/null
	done
	ectl user grant-role "$h" "host-$h" >/dev/null
done
for c in backup1 mon1; do
	ectl user add "$c" --new-user-password="$(cat "$T/$c.pw")" >/dev/null
	ectl role add "consumer-$c" >/dev/null
	ectl role grant-permission "consumer-$c" read --prefix "$P/sealed/$c/" >/dev/null
	ectl role grant-permission "consumer-$c" read --prefix "$P/status/" >/dev/null
	ectl role grant-permission "consumer-$c" read --prefix "$P/alive/" >/dev/null
	ectl role grant-permission "consumer-$c" read --prefix "$P/ack/" >/dev/null
	for h in web1 web2; do
		ectl role grant-permission "consumer-$c" readwrite --prefix "$P/ack/$h/$c/" >/dev/null
	done
	ectl user grant-role "$c" "consumer-$c" >/dev/null
done
check "authentication is enabled" ectl auth enable
ETCD_ROOT_PW=$(cat "$T/root.pw")

s1=$(new_secret)
out=$(echo "$s1" | PUB_EXTRA="--user web1 --password-file $T/web1.pw" publish web1 svc 1 backup1 mon1 2>&1)
check_match "web1 publishes with its own user" "$out" '^written '
s2=$(new_secret)
out=$(echo "$s2" | PUB_EXTRA="--user web1 --password-file $T/web1.pw" publish web2 svc 1 backup1 2>&1)
check_eq "web1's user cannot publish as web2 (permission denied, exit 8)" "$?" 8
check_match "etcd's refusal is named" "$out" 'permission denied'
check_eq "and nothing of web2 was written" "$(ectl get --prefix --keys-only "$P/status/web2/")" ""
out=$(echo "$s2" | publish web1 svc 2 backup1 mon1 2>&1)
check_eq "without credentials, publishing is refused (exit 8)" "$?" 8
echo wrong >"$T/bad.pw"
chmod 0600 "$T/bad.pw"
out=$(echo "$s2" | PUB_EXTRA="--user web1 --password-file $T/bad.pw" publish web1 svc 2 backup1 2>&1)
check_eq "a wrong password is refused (exit 8)" "$?" 8
check_match "as an authentication failure" "$out" 'authentication failed'
chmod 0644 "$T/web1.pw"
out=$(echo "$s2" | PUB_EXTRA="--user web1 --password-file $T/web1.pw" publish web1 svc 2 backup1 2>&1)
check_match "a password file readable by others is refused" "$out" 'readable by others'
chmod 0600 "$T/web1.pw"
check "web1 keeps its alive key on a lease with its user" "$PUB" --endpoints "$ETCD_ENDPOINTS" \
	--host web1 --sign-key "$T/keys/web1.key" --user web1 --password-file "$T/web1.pw" --alive 1
check_match "the alive key is there" "$(ectl get --keys-only "$P/alive/web1")" "$P/alive/web1"

auth_fetch() {
	_u=$1
	shift
	"$CTL" fleet fetch --endpoints "$ETCD_ENDPOINTS" --user "$_u" --password-file "$T/$_u.pw" "$@"
}
check_eq "backup1 fetches its secret with its user" \
	"$(auth_fetch backup1 --key "$T/keys/backup1.key" --trust "web1=$T/keys/web1.pub" web1 svc)" "$s1"
auth_fetch mon1 --key "$T/keys/backup1.key" --trust "web1=$T/keys/web1.pub" web1 svc \
	>/dev/null 2>"$T/err"
check_eq "mon1's user cannot read backup1's slice (exit 8)" "$?" 8
check_match "permission denied" "$(cat "$T/err")" 'permission denied'
check_eq "mon1 reads its own" \
	"$(auth_fetch mon1 --key "$T/keys/mon1.key" --trust "web1=$T/keys/web1.pub" web1 svc)" "$s1"
check_match "a consumer's user sees the fleet status" \
	"$("$CTL" fleet status --endpoints "$ETCD_ENDPOINTS" --user mon1 --password-file "$T/mon1.pw")" \
	'^web1 +svc +1 '


# follow with authentication: the watch carries the token.
mkdir -p "$T/follow"
chmod 0700 "$T/follow"
cat >"$T/cmd.sh" <<CMD
#!/bin/sh
read -r s
echo "\$ROTSEC_GENERATION \$s" >>"$T/runs"
CMD
chmod 0755 "$T/cmd.sh"
"$CTL" fleet follow --endpoints "$ETCD_ENDPOINTS" --user backup1 --password-file "$T/backup1.pw" \
	--key "$T/keys/backup1.key" --trust "web1=$T/keys/web1.pub" --state "$T/follow" --ack \
	web1 svc -- "$T/cmd.sh" >"$T/follow.log" 2>&1 &
fpid=$!
at_exit 'kill $fpid 2>/dev/null'
s3=$(new_secret)
sleep 1
echo "$s3" | PUB_EXTRA="--user web1 --password-file $T/web1.pw" publish web1 svc 3 backup1 mon1 >/dev/null
i=0
while [ "$(wc -l <"$T/runs" 2>/dev/null || echo 0)" -lt 2 ] && [ $i -lt 200 ]; do
	sleep 0.1
	i=$((i + 1))
done
check_eq "follow with a user runs CMD at start and for the new generation" "$(cat "$T/runs")" "1 $s1
3 $s3"
check_match "its ack was allowed" "$(ectl get --print-value-only "$P/ack/web1/backup1/svc")" '"generation":3'
kill "$fpid"

# ---- rotsecd with its host's etcd user ----
rotsec_env
conf_write 'rotate_every = "1h"; grace = "1s"; max_grace = "1h"; retry_min = "1s"; retry_max = "2s";' \
	'{ name = "svc"; gid = 60000; }' \
	"{ name = \"db\"; uid = 60001; group = \"svc\";
	   deliver = ( { fleet = \"backup1\"; sealed_to = \"$T/keys/backup1.pub\"; },
	               { fleet = \"mon1\"; sealed_to = \"$T/keys/mon1.pub\"; } ); }"
cp "$CONF" "$T/base.conf"
# fleet_conf HOST USER: the fleet section of host HOST, authenticated as USER.
fleet_conf() {
	cp "$T/base.conf" "$CONF"
	cat >>"$CONF" <<C
fleet = { endpoints = [ "http://127.0.0.1:12379", "http://127.0.0.1:22379" ];
  host = "$1"; signing_key = "$T/keys/web2.key"; user = "$2"; password_file = "$T/$2.pw";
  timeout = "2s"; };
C
}
fleet_conf web2 web2
dmn_start || { not_ok "rotsecd starts"; sed 's/^/# /' "$T/rotsecd.log"; }
sdb=$(ctl show db 2>/dev/null)
echo "$sdb" >>"$T/secrets.all"
check_eq "rotsecd publishes as web2 with web2's user, and backup1 fetches it with its own" \
	"$(auth_fetch backup1 --key "$T/keys/backup1.key" --trust "web2=$T/keys/web2.pub" web2 db)" \
	"$sdb"
check "rotsecd keeps its alive key with its user" wait_until 10 sh -c \
	"ETCDCTL_API=3 etcdctl --endpoints='$ETCD_ENDPOINTS' --user=root:$ETCD_ROOT_PW get --keys-only $P/alive/web2 | grep -q web2"
auth_fetch mon1 --key "$T/keys/backup1.key" --trust "web2=$T/keys/web2.pub" web2 db \
	>/dev/null 2>&1
check_eq "mon1's user cannot read backup1's message of it" "$?" 8
dmn_stop
# A host that names itself web1 with web2's credentials: etcd refuses, and it is an
# ordinary failed delivery.
fleet_conf web1 web2
sleep 1.2
ctl rotate db >"$T/rot.out" 2>&1
check_match "web2's user cannot publish as web1 through rotsecctl rotate" "$(cat "$T/rot.out")" \
	'delivery of db to fleet (backup1|mon1) failed: .*permission denied'
check_eq "the rotation itself went on locally" "$(jfield db generation)" 2
check_eq "and status says the deliveries failed" "$(jfield db delivery)" "failed 2/2"
check_eq "nothing of web1's db is in etcd" "$(ectl get --prefix --keys-only "$P/status/web1/db")" ""
ctl show db >>"$T/secrets.all" 2>/dev/null

check_eq "no secret of this test appears in etcd, raw or base64" "$(etcd_leaks "$T/secrets.all")" 0
done_testing
