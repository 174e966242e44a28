#!/bin/sh
# Fleet deliveries through rotsecd and rotsecctl over a real 3-member etcd cluster: the
# signing key made on first use; every rotation published and followed (10 of them, CMD
# once each, in order); the etcd leader SIGKILLed during rotations (no generation lost,
# fetch always answers a secret that works); quorum lost (rotations go on locally, the
# previous secret held, degraded at max_grace, the newest published when quorum returns,
# the follower catching up once); a consumer and an account removed from the config
# leave etcd; the alive key; and no secret of the test anywhere in etcd.
. "$(dirname "$0")/etcd-lib.sh"
. "$(dirname "$0")/daemon-lib.sh"
rotsec_env
etcd_start_all || { not_ok "the etcd cluster starts"; done_testing; exit 1; }
fleet_consumer_keys backup1 mon1
P=rotsec/v1

# conf ACCOUNTS: the config with the fleet section; svc-a goes to backup1 and mon1.
conf() {
	conf_write 'rotate_every = "1h"; grace = "1s"; max_grace = "1h"; retry_min = "1s"; retry_max = "2s";' \
		'{ name = "svc"; gid = 60000; }' "$1"
	cat >>"$CONF" <<C
fleet = {
  endpoints = [ "http://127.0.0.1:12379", "http://127.0.0.1:22379", "http://127.0.0.1:32379" ];
  host = "web1";
  signing_key = "$T/keys/sign.key";
  timeout = "2s";
};
C
}
SVC_A="{ name = \"svc-a\"; uid = 60001; group = \"svc\"; max_grace = \"8s\";
	   deliver = ( { fleet = \"backup1\"; sealed_to = \"$T/keys/backup1.pub\"; },
	               { fleet = \"mon1\"; sealed_to = \"$T/keys/mon1.pub\"; } ); }"
SVC_B="{ name = \"svc-b\"; uid = 60002; group = \"svc\";
	   deliver = ( { fleet = \"backup1\"; sealed_to = \"$T/keys/backup1.pub\"; } ); }"
conf "$SVC_A, $SVC_B"
check "rotsecctl check accepts the fleet section and the fleet deliveries" ctl check

dmn_start || {
	not_ok "rotsecd starts"
	sed 's/^/# /' "$T/rotsecd.log"
	done_testing
	exit 1
}
check_eq "the signing key is made on first use, 0600, with its .pub 0644 beside it" \
	"$(stat -c %a "$T/keys/sign.key") $(stat -c %a "$T/keys/sign.key.pub")" "600 644"
# shown: the current secret, kept for the final dump check
shown() { ctl show svc-a 2>/dev/null | tee -a "$T/secrets.all"; }
fetch() {
	"$CTL" fleet fetch --endpoints "$ETCD_ENDPOINTS" --key "$T/keys/$1.key" --timeout 2 \
		--trust "web1=$T/keys/sign.key.pub" web1 "$2" 2>/dev/null
}
s1=$(shown)
ctl show svc-b >>"$T/secrets.all" 2>/dev/null
check_eq "a consumer fetches the first secret that rotsecd published" "$(fetch backup1 svc-a)" "$s1"
check_eq "and so does the other, from its own key" "$(fetch mon1 svc-a)" "$s1"
check_match "the status and alive keys are there" "$(ectl get --prefix "$P/" --keys-only)" \
	"$P/alive/web1"
out=$("$CTL" fleet status --endpoints "$ETCD_ENDPOINTS")
check_match "fleet status shows rotsecd's host alive" "$out" '^web1 +svc-a +1 .* yes$'

# ---- follow: every rotation of rotsecctl rotate, once, in order ----
mkdir -p "$T/follow"
chmod 0700 "$T/follow"
: >"$T/runs"
cat >"$T/cmd.sh" <<CMD
#!/bin/sh
read -r s
echo "\$ROTSEC_GENERATION \$s" >>"$T/runs"
CMD
chmod 0755 "$T/cmd.sh"
follow_start() {
	"$CTL" fleet follow --endpoints "$ETCD_ENDPOINTS" --key "$T/keys/backup1.key" \
		--trust "web1=$T/keys/sign.key.pub" --state "$T/follow" --check 2s --timeout 2 --ack \
		web1 svc-a -- "$T/cmd.sh" >>"$T/follow.log" 2>&1 &
	FPID=$!
}
follow_start
at_exit 'kill $FPID 2>/dev/null'
runs_reach() { [ "$(tail -n 1 "$T/runs" 2>/dev/null | cut -d' ' -f1)" = "$1" ]; }
wait_until 20 runs_reach 1
expect="1 $s1"
# rotate_now: one rotation of svc-a by rotsecctl, once the previous secret's grace allows
# (rotsecctl rotate exits 1 both when it refuses and when a delivery failed); its output
# in $T/rot.out.
rotate_now() {
	_g0=$(jfield svc-a generation)
	_end=$(($(now_ms) + 30000))
	while [ "$(jfield svc-a generation)" = "$_g0" ] && [ "$(now_ms)" -lt "$_end" ]; do
		ctl rotate svc-a >"$T/rot.out" 2>&1 || sleep 0.2
	done
	[ "$(jfield svc-a generation)" != "$_g0" ]
}
for g in 2 3 4 5 6 7 8 9 10 11; do
	rotate_now || diag "rotation to $g failed"
	expect="$expect
$g $(shown)"
	wait_until 20 runs_reach "$g"
done
check_eq "10 rotations by rotsecctl: CMD ran once per generation, in order, with its secret" \
	"$(cat "$T/runs")" "$expect"
check_match "the follower's ack reaches the host's status" \
	"$(ectl get --print-value-only "$P/ack/web1/backup1/svc-a")" '"generation":11'
# ---- the follower stopped across 3 rotations ----
kill "$FPID"
wait "$FPID" 2>/dev/null
for g in 12 13 14; do rotate_now || diag "rotation to $g failed"; done
s14=$(shown)
follow_start
check "restarted after 3 rotations, the follower catches up" wait_until 20 runs_reach 14
sleep 1
check_eq "running CMD once, for the newest, with its secret" "$(tail -n +12 "$T/runs")" "14 $s14"
check_match "one transaction per rotation" "$(grep '"event":"publish","account":"svc-a","generation":11' "$T/audit.jsonl" | head -1)" \
	'"reason":"rotation".*"requests":1'

# ---- the leader killed during rotations ----
bad=0
for g in 15 16 17 18 19 20; do
	case $g in
	16 | 19)
		l=$(etcd_leader) && diag "killing leader m$l before generation $g"
		etcd_kill "$l"
		killed=$l
		;;
	18) etcd_start "$killed" ;;
	esac
	rotate_now || diag "rotation to $g failed"
	s=$(shown)
	got=$(fetch backup1 svc-a)
	printf '%s\n' "$got" >"$T/got"
	# A secret that works: the current one, or the previous one while it is held.
	case $(verify_as svc-a "$T/got") in
	current | previous) ;;
	*) bad=$((bad + 1)) && diag "generation $g: fetch answered no working secret" ;;
	esac
done
etcd_start "$killed"
etcd_wait_healthy
check_eq "with the leader killed twice, fetch always answered a secret that works" "$bad" 0
check "the newest generation is published once the cluster is whole" \
	wait_until 30 sh -c "[ \"\$('$CTL' fleet fetch --endpoints '$ETCD_ENDPOINTS' --key '$T/keys/backup1.key' --trust 'web1=$T/keys/sign.key.pub' web1 svc-a 2>/dev/null)\" = '$s' ]"
check "and the follower reached it" wait_until 30 runs_reach 20
check "running CMD for increasing generations only" sh -c "cut -d' ' -f1 '$T/runs' | sort -n -c -u"

# ---- quorum lost: rotations go on locally ----
l=$(etcd_leader)
down=""
for n in 1 2 3; do [ "$n" = "$l" ] || down="$down $n"; done
for n in $down; do etcd_kill "$n"; done
diag "killed members$down; m$l alone"
rotate_now
check_match "without quorum, a rotation goes on locally and says the delivery failed" \
	"$(cat "$T/rot.out")" 'rotated to generation 21.*|delivery of svc-a to fleet'
s21=$(shown)
printf '%s\n' "$s" >"$T/s20"
st=$(ctl status svc-a --json)
c21=$(jget "$st" current_since)
check_eq "the previous secret is held to max_grace (activation + 8 s)" \
	"$(jget "$st" previous_valid_until)" "$((c21 + 8))"
check_eq "past its grace the previous secret still opens the account" \
	"$(sleep 1.5; verify_as svc-a "$T/s20")" "previous"
check "at max_grace the account is degraded" wait_until 20 sh -c \
	"'$CTL' -c '$CONF' status svc-a --json | grep -q '\"degraded\": true'"
check_eq "and the previous secret is revoked" "$(verify_as svc-a "$T/s20")" "revoked"
rotate_now
s22=$(shown)
check_eq "rotations go on while etcd has no quorum" "$(jfield svc-a generation)" 22
for n in $down; do etcd_start "$n"; done
etcd_wait_healthy
check "when quorum returns, the newest generation is published" \
	wait_until 30 sh -c "[ \"\$('$CTL' fleet fetch --endpoints '$ETCD_ENDPOINTS' --key '$T/keys/backup1.key' --trust 'web1=$T/keys/sign.key.pub' web1 svc-a 2>/dev/null)\" = '$s22' ]"
check "the account is no longer degraded" wait_until 20 sh -c \
	"'$CTL' -c '$CONF' status svc-a --json | grep -q '\"degraded\": false'"
check "the follower catches up" wait_until 30 runs_reach 22
# Generation 21 was proposed to the lone member and timed out; etcd may still commit that
# proposal once quorum returns (a timed-out write is not a failed one), so the follower may
# see 21 just before 22: at most once, and never after 22.
check "running CMD for 21 at most once and for 22 once, in that order" \
	sh -c "[ \$(grep -c '^21 ' '$T/runs') -le 1 ] && [ \$(grep -c '^22 ' '$T/runs') -eq 1 ] &&
		cut -d' ' -f1 '$T/runs' | sort -n -c -u"
check_match "fleet status shows it, not degraded" \
	"$(wait_until 10 sh -c "'$CTL' fleet status --endpoints '$ETCD_ENDPOINTS' | grep -q '^web1 *svc-a *22 .* no '"; "$CTL" fleet status --endpoints "$ETCD_ENDPOINTS")" \
	'^web1 +svc-a +22 .* no +'
check_match "the follower said why while the cluster was broken" "$(cat "$T/follow.log")" \
	'no leader|timed out|unreachable|went silent|canceled'
kill "$FPID"
wait "$FPID" 2>/dev/null

# ---- a consumer removed, then an account ----
conf "{ name = \"svc-a\"; uid = 60001; group = \"svc\"; max_grace = \"8s\";
	   deliver = ( { fleet = \"backup1\"; sealed_to = \"$T/keys/backup1.pub\"; } ); }, $SVC_B"
dmn_signal HUP
check "a consumer removed from the config loses its sealed key in etcd" wait_until 20 sh -c \
	"! ETCDCTL_API=3 etcdctl --endpoints='$ETCD_ENDPOINTS' get --keys-only --prefix $P/sealed/mon1/ | grep -q svc-a"
check_eq "the other keeps it" "$(fetch backup1 svc-a)" "$s22"
conf "{ name = \"svc-a\"; uid = 60001; group = \"svc\"; max_grace = \"8s\";
	   deliver = ( { fleet = \"backup1\"; sealed_to = \"$T/keys/backup1.pub\"; } ); }"
dmn_signal HUP
check "an account removed from the config leaves etcd" wait_until 20 sh -c \
	"! ETCDCTL_API=3 etcdctl --endpoints='$ETCD_ENDPOINTS' get --keys-only --prefix $P/ | grep -q svc-b"

# ---- a clean stop ends the alive key ----
dmn_stop
check_eq "rotsecd's stop revokes its alive key at once" "$(ectl get --keys-only "$P/alive/web1")" ""
"$CTL" fleet status --endpoints "$ETCD_ENDPOINTS" >"$T/st.out"
check_match "fleet status then shows the host as not alive" "$(cat "$T/st.out")" '^web1 +svc-a .* NO$'

# ---- nothing in etcd is a secret ----
check_eq "no secret of this test ($(sort -u "$T/secrets.all" | wc -l)) appears in etcd, raw or base64" \
	"$(etcd_leaks "$T/secrets.all")" 0
check_fails "nor in rotsecd's log" grep -qF "$s22" "$T/rotsecd.log"
check_fails "nor in the audit log" grep -qF "$s22" "$T/audit.jsonl"
done_testing
