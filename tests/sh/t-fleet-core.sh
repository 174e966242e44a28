#!/bin/sh
# Fleet over a real 3-member etcd cluster: a host publishes rotations (the engine's
# rs_fleet_publish, through tests/tools/fleet_publish), consumers fetch and follow them;
# forged, replayed and moved messages are refused; compaction; fleet status; and no
# secret in etcd in plaintext.
. "$(dirname "$0")/etcd-lib.sh"

etcd_start_all || { not_ok "the etcd cluster starts"; done_testing; exit 1; }
fleet_host_keys web1 web2 evil
fleet_consumer_keys backup1 mon1

check_eq "keygen --sign writes the secret key 0600 and the public key 0644" \
	"$(stat -c %a "$T/keys/web1.key") $(stat -c %a "$T/keys/web1.pub")" "600 644"
check_match "signing keys carry their own label" "$(cat "$T/keys/web1.pub")" \
	'^rotsec-ed25519-public [A-Za-z0-9+/]{43}=$'
check_fails "keygen --sign refuses to overwrite a key" "$CTL" keygen --sign "$T/keys/web1"

# ---- publish and fetch ----
s1=$(new_secret)
check "a host publishes generation 1 to two consumers in one transaction" \
	sh -c "echo '$s1' | '$PUB' --endpoints '$ETCD_ENDPOINTS' --host web1 \
	--sign-key '$T/keys/web1.key' --rev-file '$T/rev.web1.svc' svc 1 \
	backup1='$T/keys/backup1.pub' mon1='$T/keys/mon1.pub'"
out=$(fetch_as backup1 web1 svc 2>&1)
check_eq "the consumer fetches the current secret" "$out" "$s1"
check_eq "so does the second consumer, from its own key" "$(fetch_as mon1 web1 svc 2>&1)" "$s1"

fetch_as backup1 web1 nosuch >/dev/null 2>&1
check_eq "fetch of an account never published exits 3" "$?" 3
"$CTL" fleet fetch --endpoints "http://127.0.0.1:1,http://127.0.0.1:2" --key "$T/keys/backup1.key" \
	--trust "web1=$T/keys/web1.pub" web1 svc >/dev/null 2>"$T/err"
check_eq "fetch with etcd unreachable exits 4" "$?" 4
check_match "and says which endpoints it tried" "$(cat "$T/err")" 'no etcd endpoint answered'

"$CTL" fleet fetch --endpoints "$ETCD_ENDPOINTS" --key "$T/keys/backup1.key" \
	--trust "web1=$T/keys/evil.pub" web1 svc >/dev/null 2>"$T/err"
check_eq "a signature by another key than the trusted one exits 5" "$?" 5

# ---- trusted keys that someone else could replace ----
mkdir -p "$T/open"
chmod 0777 "$T/open"
cp "$T/keys/web1.pub" "$T/open/web1.pub"
fetch_as backup1 web1 svc --trust "web1=$T/open/web1.pub" >/dev/null 2>"$T/err"
check_eq "a trusted key in a directory anyone can write is refused" "$?" 1
check_match "saying who could replace it" "$(cat "$T/err")" 'which others than root and this user can write'
cp "$T/keys/web1.pub" "$T/keys/nobody.pub"
chown 65534 "$T/keys/nobody.pub"
fetch_as backup1 web1 svc --trust "web1=$T/keys/nobody.pub" >/dev/null 2>"$T/err"
check_eq "a trusted key owned by another user is refused" "$?" 1
check_match "saying whose it is" "$(cat "$T/err")" 'owned by uid 65534, neither root nor this user'

# ---- forged: a message signed by another key, written where web1's goes ----
s_forged=$(new_secret)
echo "$s_forged" | "$PUB" --endpoints "$ETCD_ENDPOINTS" --host evil --sign-key "$T/keys/evil.key" \
	--rev-file "$T/rev.evil" svc 5 backup1="$T/keys/backup1.pub" >/dev/null
kv_save rotsec/v1/sealed/backup1/web1/svc "$T/saved.bin"
kv_copy rotsec/v1/sealed/backup1/evil/svc rotsec/v1/sealed/backup1/web1/svc
out=$(fetch_as backup1 web1 svc 2>&1)
check_eq "a message from another host's key at web1's path is refused (exit 5)" \
	"$(fetch_as backup1 web1 svc >/dev/null 2>&1; echo $?)" 5
check_match "as from a host whose key is not trusted" "$out" 'host evil, whose key is not trusted'
out=$("$CTL" fleet fetch --endpoints "$ETCD_ENDPOINTS" --key "$T/keys/backup1.key" \
	--trust "web1=$T/keys/web1.pub" --trust "evil=$T/keys/evil.pub" web1 svc 2>&1)
check_eq "trusted for itself, it is still refused at web1's path (exit 6)" \
	"$("$CTL" fleet fetch --endpoints "$ETCD_ENDPOINTS" --key "$T/keys/backup1.key" \
	--trust "web1=$T/keys/web1.pub" --trust "evil=$T/keys/evil.pub" web1 svc >/dev/null 2>&1; echo $?)" 6
check_match "because it names another host" "$out" 'moved from another key'
# A message really signed by web1's key for another account, moved to svc's path.
s_other=$(new_secret)
echo "$s_other" | "$PUB" --endpoints "$ETCD_ENDPOINTS" --host web1 --sign-key "$T/keys/web1.key" \
	--rev-file "$T/rev.web1.other" other 9 backup1="$T/keys/backup1.pub" >/dev/null
kv_copy rotsec/v1/sealed/backup1/web1/other rotsec/v1/sealed/backup1/web1/svc
fetch_as backup1 web1 svc >/dev/null 2>&1
check_eq "web1's own message for another account, moved to svc's key, is refused (exit 6)" "$?" 6
# A message sealed to mon1, put in backup1's slot: does not open.
kv_copy rotsec/v1/sealed/mon1/web1/svc rotsec/v1/sealed/backup1/web1/svc
fetch_as backup1 web1 svc >/dev/null 2>&1
check_eq "a message sealed to another consumer does not open (exit 9)" "$?" 9
kv_load "$T/saved.bin" rotsec/v1/sealed/backup1/web1/svc
check_eq "the real message, put back, opens again" "$(fetch_as backup1 web1 svc 2>/dev/null)" "$s1"

# ---- follow: every rotation, once, in order ----
mkdir -p "$T/follow" "$T/cmdout"
: >"$T/cmdout/runs"
chmod 0700 "$T/follow"
cat >"$T/cmd.sh" <<'CMD'
#!/bin/sh
# Records the generation and the secret it was given, one line per run.
read -r s
echo "$ROTSEC_GENERATION $s" >>"$(dirname "$0")/cmdout/runs"
CMD
chmod 0755 "$T/cmd.sh"
follow_start() {
	"$CTL" fleet follow --endpoints "$ETCD_ENDPOINTS" --key "$T/keys/backup1.key" \
		--trust "web1=$T/keys/web1.pub" --state "$T/follow" --check 3s --ack \
		web1 svc -- "$T/cmd.sh" >>"$T/follow.log" 2>&1 &
	FOLLOW_PID=$!
}
follow_stop() { kill "$FOLLOW_PID" 2>/dev/null; wait "$FOLLOW_PID" 2>/dev/null; }
at_exit 'follow_stop'
# wait_runs N: until CMD ran N times (20 s at most)
wait_runs() {
	_i=0
	while [ "$(wc -l <"$T/cmdout/runs" 2>/dev/null || echo 0)" -lt "$1" ] && [ $_i -lt 200 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
}
follow_start
wait_runs 1
check_eq "follow runs CMD once at start when DIR holds nothing" "$(cat "$T/cmdout/runs")" "1 $s1"
expect="1 $s1"
prev=$s1
for g in 2 3 4 5 6 7 8 9 10 11; do
	s=$(new_secret)
	printf '%s\n%s\n' "$s" "$prev" | PUB_EXTRA="--previous-until $(($(date +%s) + 3600))" \
		publish web1 svc "$g" backup1 mon1 >/dev/null || diag "publish $g failed"
	expect="$expect
$g $s"
	prev=$s
	wait_runs $((g))
done
sleep 1
check_eq "follow saw 10 rotations: CMD ran once per generation, in order, with the secret" \
	"$(cat "$T/cmdout/runs")" "$expect"
check_match "the state directory holds generation 11" "$(cat "$T/follow/state")" 'generation 11'
check_eq "the state file is private" "$(stat -c %a "$T/follow/state")" 600
check_match "the consumer's ack says it switched to 11" \
	"$(ectl get --print-value-only rotsec/v1/ack/web1/backup1/svc)" '"generation":11'

# ---- the same generation again does not run CMD; an old one written back is a replay ----
kv_save rotsec/v1/sealed/backup1/web1/svc "$T/gen11.bin"
s12=$(new_secret)
echo "$s12" | publish web1 svc 12 backup1 mon1 >/dev/null
wait_runs 12
kv_save rotsec/v1/sealed/backup1/web1/svc "$T/gen12.bin"
# Replay: generation 11's message, saved before 12 was published, written back.
kv_load "$T/gen11.bin" rotsec/v1/sealed/backup1/web1/svc
sleep 2
check_eq "a replayed generation 11 over 12 runs no CMD" "$(wc -l <"$T/cmdout/runs")" 12
check_match "and the follower says why" "$(cat "$T/follow.log")" 'older than generation 12 held already: a replay'
fetch_as backup1 web1 svc --state "$T/follow" >/dev/null 2>&1
check_eq "fetch --state refuses the replay too (exit 7)" "$?" 7
kv_load "$T/gen12.bin" rotsec/v1/sealed/backup1/web1/svc

# ---- follow killed and restarted across 3 rotations: CMD once, for the newest ----
follow_stop
for g in 13 14 15; do
	s=$(new_secret)
	echo "$s" | publish web1 svc "$g" backup1 mon1 >/dev/null
done
# ---- and compaction past the follower's revision while it is down ----
rev=$(ectl get rotsec/v1/status/web1/svc -w json | sed 's/.*"revision":\([0-9]*\).*/\1/')
ectl compaction --physical "$rev" >/dev/null
check_match "the cluster compacted past the follower's revision" \
	"$(ectl get --rev=2 rotsec/v1/status/web1/svc 2>&1)" 'compacted'
follow_start
wait_runs 13
sleep 2
check_eq "restarted after 3 rotations and a compaction, follow runs CMD once, for the newest" \
	"$(tail -n +13 "$T/cmdout/runs")" "15 $s"
check_eq "and only once" "$(wc -l <"$T/cmdout/runs")" 13

# Compaction while it watches: it goes on seeing rotations.
s16=$(new_secret)
echo "$s16" | publish web1 svc 16 backup1 mon1 >/dev/null
wait_runs 14
rev=$(ectl get rotsec/v1/status/web1/svc -w json | sed 's/.*"revision":\([0-9]*\).*/\1/')
ectl compaction --physical "$rev" >/dev/null
s17=$(new_secret)
echo "$s17" | publish web1 svc 17 backup1 mon1 >/dev/null
wait_runs 15
check_eq "a compaction while following loses no rotation" "$(tail -n 1 "$T/cmdout/runs")" "17 $s17"
follow_stop

# ---- publish: retry after a lost answer; never older over newer ----
s18=$(new_secret)
t18=$(date +%s)
out=$(echo "$s18" | PUB_EXTRA="--version 00112233445566778899aabbccddeeff --rotated-at $t18" publish web1 svc 18 backup1 mon1)
check_match "generation 18 is written, with one etcd request" "$out" '^written .* 1$'
cp "$T/rev.web1.svc" "$T/rev.18"
echo "1 17" >"$T/rev.web1.svc" # as if the answer had been lost: the old revision kept
out=$(echo "$s18" | PUB_EXTRA="--version 00112233445566778899aabbccddeeff --rotated-at $t18" publish web1 svc 18 backup1 mon1)
check_match "the retry of generation 18 finds it there and counts as done" "$out" '^found '
check_eq "and returns the revision that was written" "$(cat "$T/rev.web1.svc")" "$(cat "$T/rev.18")"
out=$(echo "$(new_secret)" | publish web1 svc 17 backup1 mon1 2>&1)
check_eq "an older generation than the one published last is refused (exit 3)" "$?" 3
check_match "before anything is sent" "$out" 'older than generation 18 published already'
echo "0 0" >"$T/rev.web1.svc" # a host whose state was restored from an old backup
out=$(echo "$(new_secret)" | publish web1 svc 17 backup1 mon1 2>&1)
check_eq "an older generation over a newer status is refused by the transaction (exit 3)" "$?" 3
check_match "saying why" "$out" 'holds generation 18.*refusing to publish over it'
cp "$T/rev.18" "$T/rev.web1.svc"
echo "0 0" >"$T/rev.web1.svc"
out=$(echo "$(new_secret)" | PUB_EXTRA="--version ffeeddccbbaa99887766554433221100" publish web1 svc 18 backup1 mon1 2>&1)
check_match "generation 18 again with another version id (a restored host) is refused" "$out" 'refusing'
cp "$T/rev.18" "$T/rev.web1.svc"
check_eq "the consumer still gets generation 18" "$(fetch_as backup1 web1 svc)" "$s18"
ectl del rotsec/v1/status/web1/svc >/dev/null
s19=$(new_secret)
out=$(echo "$s19" | publish web1 svc 19 backup1 mon1)
check_match "a deleted status is written again (replaced)" "$out" '^replaced '

# ---- status ----
s2=$(new_secret)
echo "$s2" | publish web2 db 1 mon1 >/dev/null
"$PUB" --endpoints "$ETCD_ENDPOINTS" --host web1 --sign-key "$T/keys/web1.key" --alive 4 &
alive_pid=$!
sleep 2
out=$("$CTL" fleet status --endpoints "$ETCD_ENDPOINTS")
rc=$?
check_match "fleet status lists web1's svc with its generation, alive" "$out" 'web1 +svc +19 .* yes$'
check_match "and web2, which keeps no alive key, as not alive" "$out" 'web2 +db +1 .* NO$'
check_eq "with a warning exit status (a host not alive, consumers not switched)" "$rc" 1
json=$("$CTL" fleet status --endpoints "$ETCD_ENDPOINTS" --json)
check_match "fleet status --json" "$json" '"account": "svc"'
wait "$alive_pid"
echo "$(new_secret)" | PUB_EXTRA="--degraded" publish web2 db 2 mon1 >/dev/null
"$CTL" fleet status --endpoints "$ETCD_ENDPOINTS" >/dev/null
check_eq "a degraded account makes it critical (exit 2)" "$?" 2
"$CTL" fleet status --endpoints "http://127.0.0.1:1" >/dev/null 2>&1
check_eq "etcd unreachable is unknown (exit 3)" "$?" 3

# ---- the consumer section of a config file ----
cat >"$T/consumer.conf" <<CONF
consumer = {
  key = "$T/keys/backup1.key";
  endpoints = [ "http://127.0.0.1:12379", "http://127.0.0.1:22379" ];
  trust = ( { host = "web1"; key = "$T/keys/web1.pub"; } );
};
CONF
check_eq "fetch takes its settings from -c FILE's consumer section" \
	"$("$CTL" -c "$T/consumer.conf" fleet fetch web1 svc)" "$s19"
chmod 0666 "$T/consumer.conf"
check_fails "a consumer config writable by others is refused" "$CTL" -c "$T/consumer.conf" fleet fetch web1 svc

# ---- nothing in etcd is a secret in plaintext ----
check_match "the dump has the fleet's keys" "$(ectl get "" --prefix --keys-only)" 'rotsec/v1/sealed/backup1/web1/svc'
# The check itself finds a secret put there, raw and as a value.
printf '%s\n' "probe-$$-not-a-rotsec-secret" >"$T/probe"
ectl put "rotsec-test/probe" "probe-$$-not-a-rotsec-secret" >/dev/null
check_eq "etcd_leaks finds a planted secret" "$(etcd_leaks "$T/probe")" 1
ectl del "rotsec-test/probe" >/dev/null
check_eq "no secret of this test appears in etcd's keys and values, raw or base64 ($(wc -l <"$T/secrets.all") checked)" \
	"$(etcd_leaks "$T/secrets.all")" 0
check_fails "nor in the follower's log" grep -qF "$s1" "$T/follow.log"
done_testing
