#!/bin/sh
# rotsecd's events and its life as a service: readiness over NOTIFY_SOCKET after the first
# sync, `rotsecctl rotate` noticed while running, SIGUSR1, SIGHUP with a broken and with a
# good config, SIGTERM; an idle daemon that sleeps; metrics that parse as Prometheus text
# and an audit log that parses as JSON lines.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon-lib.sh"
rotsec_env

# A systemd stand-in: every datagram on the notify socket, one line per assignment, with
# whether the store existed and the audit log had the sync when it arrived.
cat >"$T/notify.py" <<'PY'
import os, socket, sys
sock, out, top = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sock)
with open(out, "a", buffering=1) as f:
    while True:
        msg = s.recv(4096).decode()
        synced = os.path.exists(top + "/store/secrets.cdb") and os.path.exists(top + "/store/accounts.cdb")
        try:
            audited = '"event":"sync"' in open(top + "/audit.jsonl").read()
        except OSError:
            audited = False
        for line in msg.split("\n"):
            f.write("%s synced=%d audited=%d\n" % (line, synced, audited))
PY
python3 "$T/notify.py" "$T/notify.sock" "$T/notify.log" "$T" &
npid=$!
at_exit "kill $npid"
wait_until 20 test -S "$T/notify.sock" || not_ok "the notify listener is up"

accounts='{ name = "svc-s"; uid = 60001; group = "svc"; grace = "30s"; deliver = ( { file = "'"$T"'/out/svc-s.pw"; } ); },
	 { name = "svc-t"; uid = 60002; group = "svc"; deliver = ( { file = "'"$T"'/out/svc-t.pw"; } ); }'
conf_write 'rotate_every = "1h"; grace = "2s"; max_grace = "1h";' '{ name = "svc"; gid = 60000; }' "$accounts"

dmn_start NOTIFY_SOCKET="$T/notify.sock" || {
	not_ok "rotsecd starts"
	sed 's/^/# /' "$T/rotsecd.log"
	done_testing
	exit 1
}
check "READY=1 arrives" wait_until 20 grep -q '^READY=1' "$T/notify.log"
check_eq "READY=1 comes after the first sync (store written and sync audited)" \
	"$(grep -m1 '^READY=1' "$T/notify.log")" "READY=1 synced=1 audited=1"
check_match "and says what the daemon does" "$(cat "$T/notify.log")" '^STATUS=.+'

# ---- an idle daemon sleeps ----
# Every pass rewrites the metrics file (a new inode each time). With nothing due for an
# hour, two seconds must pass without a single pass: the daemon's own lock files and
# store writes must not wake it up again and again.
ino=$(stat -c %i "$T/rotsec.prom")
changes=0
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
	sleep 0.1
	n=$(stat -c %i "$T/rotsec.prom" 2>/dev/null)
	[ "$n" != "$ino" ] && changes=$((changes + 1)) && ino=$n
done
check_eq "an idle daemon does not wake up (metrics rewritten $changes times in 2 s)" "$changes" "0"

# ---- rotsecctl rotate while the daemon runs ----
check "rotsecctl rotate works while rotsecd runs" ctl rotate svc-s
st=$(ctl status svc-s --json)
check "the daemon notices without a restart: metrics show generation 2" wait_until 20 sh -c \
	"grep -qx 'rotsec_generation{account=\"svc-s\"} 2' \"$T/rotsec.prom\""
check "and the new activation time and the previous secret's deadline" wait_until 20 sh -c "
	grep -qx 'rotsec_last_rotation_timestamp_seconds{account=\"svc-s\"} $(jget "$st" current_since)' \"$T/rotsec.prom\" &&
	grep -qx 'rotsec_previous_valid_until_timestamp_seconds{account=\"svc-s\"} $(jget "$st" previous_valid_until)' \"$T/rotsec.prom\""

# ---- SIGUSR1 ----
dmn_signal USR1
check "SIGUSR1 rotates an account that is not in grace" wait_until 20 gen_is svc-t 2
check_eq "but not one whose previous secret is in grace" "$(jfield svc-s generation)" "2"
check "SIGUSR1 is logged" grep -q 'SIGUSR1: rotating every account not in grace' "$T/rotsecd.log"
check_eq "the delivered secret of the rotated account is current" \
	"$(verify_as svc-t "$T/out/svc-t.pw")" "current"

# ---- SIGHUP with a broken config ----
cp "$CONF" "$T/good.conf"
conf_write 'rotate_every = "soon"; grace = "2s"; max_grace = "1h";' '{ name = "svc"; gid = 60000; }' \
	'{ name = "svc-s"; uid = 60001; group = "svc"; deliver = ( { file = "'"$T"'/out/svc-s.pw"; } ); }'
: >"$T/notify.log"
dmn_signal HUP
check "SIGHUP with a broken config logs file:line" wait_until 20 grep -q "^rotsecd: $CONF:9: rotate_every \"soon\"" "$T/rotsecd.log"
check "and says it keeps the previous config" grep -q 'still running on the previous config' "$T/rotsecd.log"
check "the daemon keeps running" kill -0 "$DPID"
check "the account the broken config left out is still in the store" cdb -q "$T/store/secrets.cdb" sn:svc-t
check_eq "systemd was told RELOADING=1, then READY=1" \
	"$(grep -E '^(RELOADING|READY)=1' "$T/notify.log" | cut -d' ' -f1 | tr '\n' ' ')" "RELOADING=1 READY=1 "

# ---- SIGHUP with a good config ----
cp "$T/good.conf" "$CONF"
conf_write 'rotate_every = "1h"; grace = "2s"; max_grace = "1h";' '{ name = "svc"; gid = 60000; }' \
	"$accounts"',
	 { name = "svc-n"; uid = 60003; group = "svc"; deliver = ( { file = "'"$T"'/out/svc-n.pw"; } ); }'
dmn_signal HUP
check "SIGHUP with a good config adds the new account to the store" \
	wait_until 20 cdb -q "$T/store/secrets.cdb" sn:svc-n
check "its first secret is delivered and current" wait_until 20 sh -c \
	"\"$CTL\" -c \"$CONF\" verify svc-n <\"$T/out/svc-n.pw\" 2>/dev/null | grep -qx current"
check "the metrics list it" wait_until 20 grep -q 'rotsec_generation{account="svc-n"} 1' "$T/rotsec.prom"
check "the reload is logged" grep -q "reloaded $CONF: 3 accounts" "$T/rotsecd.log"
dmn_signal USR1
check "the daemon rotates the new account on SIGUSR1" wait_until 20 gen_is svc-n 2

# ---- metrics: Prometheus text format ----
cat >"$T/promparse.py" <<'PY'
# The text exposition format, strictly enough to catch what node_exporter would refuse:
# HELP and TYPE before the samples of a family, one TYPE per family, every sample
# `name{label="value",...} number` with a name of a declared family, no duplicates.
import re, sys
NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"'
SAMPLE = re.compile(r"^(%s)(\{%s(?:,%s)*\})? (-?[0-9.eE+-]+|NaN|[+-]Inf)$" % (NAME, LABEL, LABEL))
types, helps, seen, families = {}, set(), set(), {}
text = open(sys.argv[1]).read()
assert text.endswith("\n"), "no final newline"
for n, line in enumerate(text.splitlines(), 1):
    if line.startswith("# HELP "):
        name = line.split(" ")[2]
        assert re.fullmatch(NAME, name), (n, line)
        assert name not in helps, ("second HELP", n, line)
        helps.add(name)
    elif line.startswith("# TYPE "):
        _, _, name, t = line.split(" ")
        assert t in ("counter", "gauge", "histogram", "summary", "untyped"), (n, line)
        assert name not in types, ("second TYPE", n, line)
        types[name] = t
    elif line.startswith("#"):
        continue
    else:
        m = SAMPLE.match(line)
        assert m, ("not a sample", n, line)
        name = m.group(1)
        assert name in types, ("sample without TYPE", n, line)
        assert name in helps, ("sample without HELP", n, line)
        float(m.group(3))
        key = (name, m.group(2))
        assert key not in seen, ("duplicate", n, line)
        seen.add(key)
        families[name] = families.get(name, 0) + 1
for want in sys.argv[2:]:
    assert want in types, ("missing family", want)
print(len(seen), "samples in", len(types), "families")
PY
check "the metrics file parses as Prometheus text with every family of issue 5" python3 "$T/promparse.py" "$T/rotsec.prom" \
	rotsec_last_update_timestamp_seconds rotsec_metrics_interval_seconds rotsec_build_info \
	rotsec_last_rotation_timestamp_seconds rotsec_next_rotation_timestamp_seconds \
	rotsec_previous_valid_until_timestamp_seconds rotsec_logins_total rotsec_delivery_failures_total \
	rotsec_tripwire_hits_total rotsec_degraded
check_eq "the metrics file is 0644" "$(stat -c %a "$T/rotsec.prom")" "644"
check "the file says when it was written (within the last minute)" \
	[ $(($(date +%s) - $(metric rotsec_last_update_timestamp_seconds))) -le 60 ]
check_eq "and how often it is rewritten at least (metrics_interval, 60 s)" \
	"$(metric rotsec_metrics_interval_seconds)" 60
check_eq "there is no up gauge, which a killed daemon would leave at 1" "$(metric rotsec_up)" ""

# ---- audit: JSON lines ----
check "the audit log is JSON lines with time, actor and event" python3 -c '
import json, sys
events = set()
for n, line in enumerate(open(sys.argv[1]), 1):
    o = json.loads(line)
    assert {"time", "actor", "event"} <= o.keys(), (n, line)
    events.add((o["actor"], o["event"]))
for want in [("rotsecd", "sync"), ("rotsecd", "create"), ("rotsecd", "rotate"), ("rotsecd", "deliver"), ("rotsecctl", "rotate")]:
    assert want in events, want
' "$T/audit.jsonl"

# ---- SIGTERM ----
: >"$T/notify.log"
stopped_at=$(date +%s)
dmn_stop
check_eq "SIGTERM stops the daemon with status 0" "$?" "0"
check "the metrics are written a last time as it stops" \
	[ "$(metric rotsec_last_update_timestamp_seconds)" -ge "$stopped_at" ]
check "the metrics still parse after the stop" python3 "$T/promparse.py" "$T/rotsec.prom"
check "systemd was told STOPPING=1" wait_until 20 grep -q '^STOPPING=1' "$T/notify.log"
check "the stop is logged" grep -q 'rotsecd stopping' "$T/rotsecd.log"

# ---- SIGTERM waits for the current step ----
cat >"$T/slow" <<'SH'
#!/bin/sh
d=$(dirname "$0")
touch "$d/slow.started"
sleep 1.5
cat >"$d/slow.got"
SH
chmod 0755 "$T/slow"
conf_write 'rotate_every = "1h"; grace = "2s"; max_grace = "1h";' '{ name = "svc"; gid = 60000; }' \
	'{ name = "svc-slow"; uid = 60004; group = "svc"; deliver = ( { command = [ "'"$T"'/slow" ]; timeout = "10s"; } ); }'
dmn_start || not_ok "rotsecd starts with a slow consumer"
rm -f "$T/slow.started" "$T/slow.got"
dmn_signal USR1
wait_until 20 test -e "$T/slow.started"
dmn_stop
check_eq "SIGTERM during a delivery waits for it, then exits 0" "$?" "0"
check_eq "the delivery finished: the consumer has the current secret" \
	"$(verify_as svc-slow "$T/slow.got")" "current"
check_eq "and the journal says delivered" "$(jfield svc-slow step)" "delivered"

# ---- a bad config at start ----
conf_write 'rotate_every = "soon";' '{ name = "svc"; gid = 60000; }' ''
"$ROTSECD" -c "$CONF" -f >"$T/bad.out" 2>&1
check_eq "rotsecd refuses to start on a bad config, with status 1" "$?" "1"
check "and says file:line" grep -q "^rotsecd: $CONF:9: rotate_every \"soon\"" "$T/bad.out"
check_fails "no sanitizer report" grep -q 'Sanitizer' "$T/rotsecd.log" "$T/bad.out"
done_testing
