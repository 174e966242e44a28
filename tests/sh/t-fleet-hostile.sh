#!/bin/sh
# The fleet's consumer side against an endpoint that lies: a hostile "etcd" on loopback
# (tests/sh/fake-etcd.py) answering with huge bodies, deep nesting, wrong types, base64
# garbage, redirects, a slow drip, silence and never-ending watch streams; and a proxy
# in the environment. fetch, follow and status end in bounded time and memory, say why,
# never follow a redirect or a proxy, and a follower that once listened to a liar (or to
# a cluster since rebuilt) still takes the next real rotation.
. "$(dirname "$0")/etcd-lib.sh"

FAKE=18379
FAKE_URL=http://127.0.0.1:$FAKE
etcd_start_all || { not_ok "the etcd cluster starts"; done_testing; exit 1; }
fleet_host_keys web1
fleet_consumer_keys backup1
s1=$(new_secret)
echo "$s1" | publish web1 svc 1 backup1 >/dev/null || diag "publish 1 failed"
kv_save rotsec/v1/sealed/backup1/web1/svc "$T/gen1.bin"

# fake_start MODE ARGS...: the hostile endpoint, until fake_stop.
fake_start() {
	FAKE_ETCD_LOG=${FAKE_LOG:-$T/fake.log} python3 "$top/tests/sh/fake-etcd.py" "$FAKE" "$@" >"$T/fake.ready" 2>>"$T/fake.err" &
	FAKE_PID=$!
	_i=0
	while [ ! -s "$T/fake.ready" ] && [ $_i -lt 100 ]; do sleep 0.05; _i=$((_i + 1)); done
}
fake_stop() { kill "$FAKE_PID" 2>/dev/null; wait "$FAKE_PID" 2>/dev/null; : >"$T/fake.ready"; }
at_exit 'fake_stop'

mkdir -p "$T/follow" "$T/cmdout"
chmod 0700 "$T/follow"
: >"$T/cmdout/runs"
cat >"$T/cmd.sh" <<'CMD'
#!/bin/sh
read -r s
echo "$ROTSEC_GENERATION $s" >>"$(dirname "$0")/cmdout/runs"
CMD
chmod 0755 "$T/cmd.sh"
follow_start() { # ENDPOINTS
	"$CTL" fleet follow --endpoints "$1" --key "$T/keys/backup1.key" \
		--trust "web1=$T/keys/web1.pub" --state "$T/follow" --check 2s --timeout 2 \
		web1 svc -- "$T/cmd.sh" >>"$T/follow.log" 2>&1 &
	FOLLOW_PID=$!
}
follow_stop() { kill "$FOLLOW_PID" 2>/dev/null; wait "$FOLLOW_PID" 2>/dev/null; }
at_exit 'follow_stop'
wait_runs() { # N: until CMD ran N times (20 s at most)
	_i=0
	while [ "$(wc -l <"$T/cmdout/runs")" -lt "$1" ] && [ $_i -lt 200 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
}

# ---- a revision from a liar (or from a cluster since rebuilt) ----
# The endpoint hands the follower generation 1's real message at a revision far beyond
# the cluster's. The message is genuine, so CMD runs; the revision is not, and must not
# keep the follower from generation 2 once it reads the real cluster again.
fake_start value "$T/gen1.bin" 4611686018427387904
follow_start "$FAKE_URL"
wait_runs 1
follow_stop
fake_stop
check_eq "a follower given a genuine message at a forged revision runs CMD for it" \
	"$(cat "$T/cmdout/runs")" "1 $s1"
s2=$(new_secret)
echo "$s2" | publish web1 svc 2 backup1 >/dev/null || diag "publish 2 failed"
follow_start "$ETCD_ENDPOINTS"
wait_runs 2
check_eq "restarted on the real cluster, it runs CMD for generation 2" \
	"$(tail -n 1 "$T/cmdout/runs")" "2 $s2"
s3=$(new_secret)
echo "$s3" | publish web1 svc 3 backup1 >/dev/null || diag "publish 3 failed"
wait_runs 3
check_eq "and for generation 3 as it comes" "$(tail -n 1 "$T/cmdout/runs")" "3 $s3"

# ---- junk written to the key as fast as etcd takes it ----
# Whoever can write the key (anyone, on an etcd without roles) writes 300 values that are
# no message: each is refused, and the follower's log says so at most a few times, not
# once a value, and it still takes the next real rotation.
kv_save rotsec/v1/sealed/backup1/web1/svc "$T/gen3.bin"
: >"$T/follow.log.junk"
cp "$T/follow.log" "$T/follow.log.before"
python3 - "${ETCD_ENDPOINTS%%,*}" <<'PY'
import base64, http.client, json, sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
c = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
key = base64.b64encode(b"rotsec/v1/sealed/backup1/web1/svc").decode()
for i in range(300):
    body = json.dumps({"key": key, "value": base64.b64encode(b"junk %d" % i).decode()})
    c.request("POST", "/v3/kv/put", body, {"Content-Type": "application/json"})
    c.getresponse().read()
PY
sleep 2
refused=$(($(grep -c 'refusing the value' "$T/follow.log") - $(grep -c 'refusing the value' "$T/follow.log.before")))
diag "follow: $refused lines for 300 junk values"
check "300 junk values are logged a few times, not 300" test "$refused" -ge 1 -a "$refused" -le 5
kv_load "$T/gen3.bin" rotsec/v1/sealed/backup1/web1/svc
s4=$(new_secret)
echo "$s4" | publish web1 svc 4 backup1 >/dev/null || diag "publish 4 failed"
wait_runs 4
check_eq "and the next real rotation runs CMD" "$(tail -n 1 "$T/cmdout/runs")" "4 $s4"
follow_stop

# ---- what a liar can send: every answer ends in bounded time and memory ----
# measure CMD...: runs CMD (stdout and stderr to $T/m.out) and prints "STATUS SECONDS
# MAXRSS_MB", the largest resident size the command reached.
cat >"$T/measure.py" <<'PY'
import resource, subprocess, sys, time
t = time.time()
with open(sys.argv[1], "wb") as out:
    rc = subprocess.run(sys.argv[2:], stdout=out, stderr=subprocess.STDOUT).returncode
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(rc, int(time.time() - t), ru.ru_maxrss // 1024)
PY
# (ASan keeps freed memory in quarantine: without it, its figures are the live heap.)
measure() { ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=1" python3 "$T/measure.py" "$T/m.out" "$@"; }
fetch_fake() {
	measure "$CTL" fleet fetch --endpoints "$FAKE_URL" --key "$T/keys/backup1.key" \
		--trust "web1=$T/keys/web1.pub" --timeout 2 web1 svc
}
publish_fake() {
	echo "$(new_secret)" | measure "$PUB" --endpoints "$FAKE_URL" --host web1 \
		--sign-key "$T/keys/web1.key" --rev-file "$T/rev.fake" svc 9 "backup1=$T/keys/backup1.pub"
}
# An answer of 60 MB: one long string, or tiny arrays that each become a node once parsed
# (some 45 times the answer's size in memory: gigabytes, before answers were bounded); and
# one just under the bound.
for m in "big 60000000:a 60 MB string" "many 60000000:60 MB of tiny arrays" \
	"many 900000:900 kB of tiny arrays"; do
	what=${m#*:}
	fake_start ${m%%:*}
	set -- $(fetch_fake)
	diag "fetch: status $1, $2 s, $3 MB: $(head -c 160 "$T/m.out")"
	check "fetch refuses an answer of $what, in bounded time and memory" \
		test "$1" = 1 -a "$2" -le 10 -a "$3" -le 200
	set -- $(publish_fake)
	diag "publish: status $1, $2 s, $3 MB: $(head -c 160 "$T/m.out")"
	check "the host's publish (as rotsecd's) refuses an answer of $what too" \
		test "$1" != 0 -a "$2" -le 10 -a "$3" -le 200
	fake_stop
done
# Deep nesting, wrong types, base64 that is not: refused as malformed, at once.
for m in "nested 100000:100,000 nested arrays" "types:members of the wrong types" \
	"b64:a key and value that are not base64"; do
	fake_start ${m%%:*}
	set -- $(fetch_fake)
	diag "fetch: status $1, $2 s, $3 MB: $(head -c 160 "$T/m.out")"
	check "fetch refuses an answer with ${m#*:}" test "$1" = 1 -a "$2" -le 5
	check_match "saying it is not etcd's" "$(cat "$T/m.out")" 'malformed|no JSON object'
	fake_stop
done

# An endpoint that answers every transaction just inside the timeout (5 s), each time
# with this host's status moved on: the publish (rotsecd holds the account's lock while
# it runs, and a `rotsecctl rotate --revoke-previous` waits for that lock 10 s) ends
# within one timeout, as timed out, not after one timeout per round.
fake_start txn-moving 4
set -- $(publish_fake)
diag "publish: status $1, $2 s: $(head -c 160 "$T/m.out")"
check "a publish whose rounds each take most of the timeout ends within it (status $1, $2 s)" \
	test "$1" = 4 -a "$2" -le 7
fake_stop

# A redirect is not followed: the second endpoint never hears from us.
: >"$T/fake2.log"
FAKE=18380 FAKE_LOG=$T/fake2.log fake_start value "$T/gen1.bin" 7
FAKE2_PID=$FAKE_PID
fake_start redirect http://127.0.0.1:18380
set -- $(fetch_fake)
check "fetch does not follow a redirect (status $1)" test "$1" != 0 -a "$1" -lt 86
check_eq "and the endpoint it pointed to got no request" "$(grep -c . "$T/fake2.log")" 0
fake_stop

# An http:// endpoint among https:// ones (a typo, an old list) is refused before anything
# is sent: failing over to it would hand its listener the etcd password in the clear.
head -c 24 /dev/urandom | base64 >"$T/etcd.pw"
chmod 0600 "$T/etcd.pw"
: >"$T/fake.log"
fake_start value "$T/gen1.bin" 7
"$CTL" fleet fetch --endpoints "https://127.0.0.1:9,$FAKE_URL" --user backup1 \
	--password-file "$T/etcd.pw" --key "$T/keys/backup1.key" --trust "web1=$T/keys/web1.pub" \
	--timeout 2 web1 svc >"$T/m.out" 2>&1
check_eq "fetch refuses an http:// endpoint among https:// ones (status 1)" "$?" 1
check_match "saying why" "$(cat "$T/m.out")" 'not https:// but other endpoints are'
check_eq "and the http:// endpoint never heard the password" "$(grep -c . "$T/fake.log")" 0
fake_stop

# A proxy in the environment is not taken (the endpoints are what the admin configured):
# the "proxy" is the second fake endpoint, which would answer generation 1.
out=$(http_proxy=http://127.0.0.1:18380 HTTP_PROXY=http://127.0.0.1:18380 \
	https_proxy=http://127.0.0.1:18380 ALL_PROXY=http://127.0.0.1:18380 NO_PROXY= \
	fetch_as backup1 web1 svc 2>&1)
check_eq "fetch goes to the endpoint, not to the proxy of its environment" "$out" "$s4"
kill "$FAKE2_PID" 2>/dev/null
wait "$FAKE2_PID" 2>/dev/null
check_eq "the proxy got no request" "$(grep -c . "$T/fake2.log")" 0

# A slow drip and silence end at the timeout (2 s).
for m in "drip 0.3:one byte every 0.3 s" "silent:no answer at all"; do
	fake_start ${m%%:*}
	set -- $(fetch_fake)
	diag "fetch: status $1, $2 s: $(head -c 160 "$T/m.out")"
	check "fetch gives up on ${m#*:} at its timeout (exit 4)" test "$1" = 4 -a "$2" -le 4
	fake_stop
done

# What the endpoint says goes into messages as one line of printable text: no line or
# terminal escape of its making reaches a log or a terminal.
fake_start message "$(printf 'bad\nrotsecd[1]: current secret accepted\033]0;x\007')"
fetch_fake >/dev/null
check_eq "fetch says what the endpoint answered on one line" "$(wc -l <"$T/m.out")" 1
check_eq "with no control character" "$(tr -d '\n' <"$T/m.out" | tr -d '[:print:]' | wc -c)" 0
fake_stop

# ---- a follower on a watch that never ends, or never says anything sensible ----
# Bytes without a line end, or lines of junk, without end: the follower drops the watch,
# reads again and watches again, in bounded memory, and stops at once on SIGTERM. The
# endpoint's value is generation 1, older than the 4 held: refused as a replay, once.
for m in "watch-endless:a watch answer without a line end" "watch-junk:a watch of junk lines"; do
	fake_start ${m%%:*} "$T/gen1.bin" 5
	: >"$T/follow.log"
	ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=1" follow_start "$FAKE_URL"
	sleep 6
	hwm=$(awk '/^VmHWM/ { print int($2 / 1024) }' "/proc/$FOLLOW_PID/status" 2>/dev/null)
	diag "follow: ${hwm:-?} MB at most; $(grep -c . "$T/follow.log") log lines"
	check "follow keeps going on ${m#*:}, in bounded memory" test "${hwm:-9999}" -le 200
	check_match "saying why" "$(cat "$T/follow.log")" 'over-long watch answer|not JSON'
	check_eq "the replayed generation 1 is refused once" \
		"$(grep -c 'older than generation 4 held already' "$T/follow.log")" 1
	t0=$(date +%s)
	follow_stop
	check "and stops on SIGTERM at once" test $(($(date +%s) - t0)) -le 2
	fake_stop
done
check_eq "CMD never ran for any of it" "$(wc -l <"$T/cmdout/runs")" 4

# ---- a follower whose every watch is canceled at once ----
# A real member cancels a watch only for a revision compacted away, and the read that
# follows gives one it keeps. An endpoint that cancels every watch as it is created
# must not turn the follower into a loop of reads, watches and log lines as fast as the
# loopback carries them: it is an endpoint that does not work, retried with backoff.
fake_start watch-cancel "$T/gen1.bin" 5
: >"$T/follow.log"
: >"$T/fake.log"
follow_start "$FAKE_URL"
sleep 4
watches=$(grep -c '^/v3/watch' "$T/fake.log")
lines=$(grep -c . "$T/follow.log")
diag "follow: $watches watches, $lines log lines in 4 s"
check "follow opens a handful of watches in 4 s, not thousands" test "$watches" -le 8
check "and logs a handful of lines" test "$lines" -le 20
follow_stop
fake_stop

# ---- fleet status: a status is its key's, in names that print ----
# Another host (or, without roles, any writer of etcd) writes under its own key a status
# that names web1, or names that would drive the admin's terminal.
st='"generation":99,"version":"00","rotated_at":1,"previous_valid_until":0,"degraded":false,"consumers":[]'
ectl put rotsec/v1/status/evil/svc "{\"host\":\"web1\",\"account\":\"svc\",$st}" >/dev/null
ectl put rotsec/v1/status/evil/db "$(printf '{"host":"evil\\u001b]0;x\\u0007","account":"db",%s}' "$st")" >/dev/null
ectl put "$(printf 'rotsec/v1/status/ev\033[2Jil/x')" 'not a status' >/dev/null
out=$("$CTL" fleet status --endpoints "$ETCD_ENDPOINTS" 2>&1)
diag "$(printf '%s\n' "$out" | cat -v)"
check_fails "fleet status shows no row for web1 from another host's key" \
	sh -c "printf '%s\n' \"\$1\" | grep -E '^web1 +svc +99 '" sh "$out"
check_match "and says whose key it was under" "$out" 'status/evil/svc'
check_eq "no control character from etcd reaches the terminal" \
	"$(printf '%s' "$out" | tr -d '\n' | tr -d '[:print:]' | wc -c)" 0

# ---- endpoints that accept and never answer ----
# One publish (rotsecd holds the account's lock while it runs) is one etcd operation:
# with every endpoint silent it ends within one timeout (5 s), not one per endpoint; and
# a silent endpoint leaves a live one after it a floor of that timeout to answer in.
publish_to() { # ENDPOINTS: account other, generation 1, as rotsecd's publish
	echo "$(new_secret)" | measure "$PUB" --endpoints "$1" --host web1 \
		--sign-key "$T/keys/web1.key" --rev-file "$T/rev.other" other 1 "backup1=$T/keys/backup1.pub"
}
SILENT_PIDS=""
for port in 18381 18382 18383; do
	FAKE_ETCD_LOG=$T/silent.log python3 "$top/tests/sh/fake-etcd.py" "$port" silent \
		>"$T/silent.$port" 2>>"$T/fake.err" &
	SILENT_PIDS="$SILENT_PIDS $!"
done
at_exit 'for p in $SILENT_PIDS; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done'
for port in 18381 18382 18383; do
	_i=0
	while [ ! -s "$T/silent.$port" ] && [ $_i -lt 100 ]; do
		sleep 0.05
		_i=$((_i + 1))
	done
done
: >"$T/silent.log"
set -- $(publish_to "http://127.0.0.1:18381,http://127.0.0.1:18382,http://127.0.0.1:18383")
diag "publish: status $1, $2 s: $(head -c 200 "$T/m.out")"
check "a publish to 3 silent endpoints ends within one timeout, as unreachable (status $1, $2 s)" \
	test "$1" = 4 -a "$2" -le 6
check_match "saying how many endpoints it tried in that time" "$(cat "$T/m.out")" \
	'no etcd endpoint answered within the 5000 ms timeout \(2 of 3 tried'
: >"$T/silent.log"
set -- $(publish_to "http://127.0.0.1:18381,${ETCD_ENDPOINTS%%,*}")
diag "publish: status $1, $2 s: $(head -c 200 "$T/m.out")"
check "a live member after a silent endpoint publishes, within the timeout (status $1, $2 s)" \
	test "$1" = 0 -a "$2" -le 6
check_eq "after the silent endpoint had the transaction" "$(grep -c '^/v3/kv/txn' "$T/silent.log")" 1
check_match "and it is in etcd" "$(ectl get --keys-only rotsec/v1/status/web1/other)" \
	'status/web1/other'

done_testing
