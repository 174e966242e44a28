#!/bin/sh
# Fleet under etcd failures: the leader SIGKILLed during publishes (no generation lost,
# fetch always answers a working secret), two members down (quorum lost: publishing fails
# with a clear reason, then succeeds when quorum returns), a follower across both.
. "$(dirname "$0")/etcd-lib.sh"

etcd_start_all || { not_ok "the etcd cluster starts"; done_testing; exit 1; }
fleet_host_keys web1
fleet_consumer_keys backup1
mkdir -p "$T/follow"
chmod 0700 "$T/follow"
: >"$T/runs"
cat >"$T/cmd.sh" <<CMD
#!/bin/sh
read -r s
echo "\$ROTSEC_GENERATION \$s" >>"$T/runs"
CMD
chmod 0755 "$T/cmd.sh"
"$CTL" fleet follow --endpoints "$ETCD_ENDPOINTS" --key "$T/keys/backup1.key" \
	--trust "web1=$T/keys/web1.pub" --state "$T/follow" --check 2s --timeout 2 \
	web1 svc -- "$T/cmd.sh" >"$T/follow.log" 2>&1 &
follow_pid=$!
at_exit 'kill $follow_pid 2>/dev/null'

# ---- the leader killed during rotations ----
# Each generation is published until it goes through (as the engine retries a failed
# delivery); after each, fetch must answer that generation's secret or, while the
# publish was still failing, the previous one: never nothing, never an older one.
bad=0 lost=0 retried=0 prev=""
for g in 1 2 3 4 5 6 7 8 9 10 11 12; do
	s=$(new_secret)
	echo "$g $s" >>"$T/published"
	if [ "$g" = 4 ] || [ "$g" = 9 ]; then
		l=$(etcd_leader) && { diag "killing leader m$l before generation $g"; etcd_kill "$l"; }
		killed=$l
	fi
	tries=0
	until printf '%s\n' "$s" | publish web1 svc "$g" backup1 >/dev/null 2>>"$T/pub.err"; do
		tries=$((tries + 1))
		[ $tries -lt 40 ] || { lost=$((lost + 1)); break; }
		got=$(fetch_as backup1 web1 svc --timeout 2 2>/dev/null)
		[ -z "$got" ] || [ "$got" = "$prev" ] || bad=$((bad + 1))
		sleep 0.25
	done
	[ $tries -gt 0 ] && retried=$((retried + 1))
	got=$(fetch_as backup1 web1 svc --timeout 2 2>/dev/null)
	[ "$got" = "$s" ] || { bad=$((bad + 1)); diag "generation $g: fetch answered another secret"; }
	if [ "$g" = 5 ] || [ "$g" = 10 ]; then
		etcd_start "$killed"
		etcd_wait_healthy
	fi
	prev=$s
done
diag "publishes that needed retries: $retried"
check_eq "no generation is lost when the leader is killed during rotations" "$lost" 0
check_eq "fetch always answered the newest published secret" "$bad" 0
i=0
while [ "$(wc -l <"$T/runs")" -lt 1 ] || [ "$(tail -n 1 "$T/runs" | cut -d' ' -f1)" != 12 ]; do
	[ $i -lt 300 ] || break
	sleep 0.1
	i=$((i + 1))
done
check_eq "the follower reached generation 12" "$(tail -n 1 "$T/runs")" "$(tail -n 1 "$T/published")"
check "and ran CMD for increasing generations only" \
	sh -c "cut -d' ' -f1 '$T/runs' | sort -n -c -u"

# ---- two members down: quorum lost ----
l=$(etcd_leader)
others=""
for n in 1 2 3; do [ "$n" = "$l" ] || others="$others $n"; done
for n in $others; do etcd_kill "$n"; done
diag "killed members$others; m$l alone"
s13=$(new_secret)
# One version id for every try of generation 13, as the engine keeps it in its journal: a
# write that timed out without quorum may still be committed once quorum returns, and the
# next try must then find it as its own.
v13=0123456789abcdef0123456789abcdef
t13=$(date +%s)
t0=$(date +%s)
out=$(echo "$s13" | PUB_EXTRA="--version $v13 --rotated-at $t13" publish web1 svc 13 backup1 2>&1)
rc=$?
check_eq "publishing without quorum fails as unreachable/unavailable (exit 4)" "$rc" 4
check_match "with a clear reason" "$out" 'no leader|timed out|unreachable|no etcd endpoint answered'
check "and within the request timeouts" test $(($(date +%s) - t0)) -lt 30
fetch_as backup1 web1 svc --timeout 2 >/dev/null 2>"$T/err"
check_eq "fetch without quorum exits 4 (a linearizable read needs the leader)" "$?" 4
for n in $others; do etcd_start "$n"; done
etcd_wait_healthy
tries=0
until echo "$s13" | PUB_EXTRA="--version $v13 --rotated-at $t13" publish web1 svc 13 backup1 >"$T/pub13" 2>&1; do
	tries=$((tries + 1))
	[ $tries -lt 40 ] || break
	sleep 0.5
done
check "once quorum returns, generation 13 is published (or found, committed late)" test $tries -lt 40
diag "generation 13: $(cat "$T/pub13")"
check_eq "and fetched" "$(fetch_as backup1 web1 svc)" "$s13"
i=0
while [ "$(tail -n 1 "$T/runs" | cut -d' ' -f1)" != 13 ] && [ $i -lt 400 ]; do
	sleep 0.1
	i=$((i + 1))
done
check_eq "the follower caught up on its own" "$(tail -n 1 "$T/runs")" "13 $s13"
kill "$follow_pid"
wait "$follow_pid"
check_eq "follow exits 0 on SIGTERM" "$?" 0
check_match "it said why while the cluster was broken" "$(cat "$T/follow.log")" \
	'no leader|timed out|unreachable|went silent|canceled'

check_eq "no secret of this test appears in etcd, raw or base64" "$(etcd_leaks "$T/secrets.all")" 0
done_testing
