#!/bin/sh
# Crash safety of rotsecd (ARCHITECTURE.md, contract §3): the daemon is SIGKILLed at every fault
# point a rotation of its own passes (journal steps, store and journal writes, deliveries), then
# started again. Right after the kill the consumer's secret still opens the account; after
# the restart the rotation is finished from the journal, and what each consumer was
# delivered is the current secret according to `rotsecctl verify`.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon-lib.sh"
rotsec_env
cat >"$T/consumer" <<'SH'
#!/bin/sh
cat >"$(dirname "$0")/got.tmp" && mv "$(dirname "$0")/got.tmp" "$(dirname "$0")/got"
SH
chmod 0755 "$T/consumer"
conf_write 'rotate_every = "2h"; grace = "1h"; max_grace = "2h";' '{ name = "svc"; gid = 60000; }' \
	'{ name = "svc-a"; uid = 60001; group = "svc"; verify = [ "/bin/true" ];
	   deliver = ( { file = "'"$T"'/out/svc-a.pw"; }, { command = [ "'"$T"'/consumer" ]; } ); }'
ctl sync >/dev/null || {
	not_ok "initial sync"
	done_testing
	exit 1
}
for d in store state out run; do mkdir -p "$T/$d" && cp -a "$T/$d" "$T/$d.base"; done
cp "$T/got" "$T/got.base"
old=$T/out.base/svc-a.pw
reset() {
	for d in store state out run; do rm -rf "$T/$d" && cp -a "$T/$d.base" "$T/$d"; done
	cp "$T/got.base" "$T/got"
}

# The points: those of a daemon start (sync), and those of one SIGUSR1 rotation after it.
dmn_start ROTSEC_FAULT_LOG="$T/points.start" || not_ok "rotsecd starts"
mv "$T/points.start" "$T/points.start.done"
dmn_stop >/dev/null
reset
: >"$T/points.start"
dmn_start ROTSEC_FAULT_LOG="$T/points.all"
: >"$T/points.all"
dmn_signal USR1
wait_until 20 gen_is svc-a 2
wait_until 20 sh -c "\"$CTL\" -c \"$CONF\" status svc-a --json | grep -q '\"step\": \"delivered\"'"
dmn_stop >/dev/null
points=$(sort -u "$T/points.all" | tr '\n' ' ')
for want in rotate.generated rotate.activated deliver.done verify.done \
	atomic.renamed:svc-a.state atomic.renamed:secrets.cdb atomic.renamed:svc-a.pw; do
	check_match "a daemon rotation passes fault point $want" "$points" "(^| )$want( |$)"
done
startpoints=" $(sort -u "$T/points.start.done" | tr '\n' ' ') "

killed=0 atstart=0 bad=0
for p in $points; do
	reset
	rm -f "$T/rotsec.prom"
	if dmn_start ROTSEC_FAULT="$p"; then
		dmn_signal USR1
	else
		atstart=$((atstart + 1))
	fi
	if ! dmn_wait_dead 30; then
		diag "rotsecd did not die at $p"
		bad=$((bad + 1))
		_dmn_kill
		continue
	fi
	[ "$DMN_RC" -eq 137 ] || {
		diag "rotsecd killed at $p exited $DMN_RC"
		bad=$((bad + 1))
	}
	case "$startpoints" in *" $p "*) ;; *) killed=$((killed + 1)) ;; esac
	# No flow failure, even before the restart: what the consumers hold opens the account.
	for f in "$T/out/svc-a.pw" "$T/got"; do
		v=$(verify_as svc-a "$f")
		case "$v" in current | previous) ;; *)
			diag "killed at $p: $(basename "$f") says '$v'"
			bad=$((bad + 1))
			;;
		esac
	done
	if ! dmn_start; then
		diag "restart after a kill at $p failed: $(tail -3 "$T/rotsecd.log")"
		bad=$((bad + 1))
		continue
	fi
	# A kill during the start-up sync left no rotation behind: ask for one now.
	gen_is svc-a 1 && dmn_signal USR1
	if ! wait_until 30 sh -c "\"$CTL\" -c \"$CONF\" status svc-a --json |
		grep -q '\"generation\": 2.*\"delivery\": \"ok\".*\"step\": \"delivered\"'"; then
		diag "after a kill at $p and a restart: $(ctl status svc-a --json | tr -d '\n')"
		bad=$((bad + 1))
	fi
	v1=$(verify_as svc-a "$T/out/svc-a.pw")
	v2=$(verify_as svc-a "$T/got")
	vo=$(verify_as svc-a "$old")
	if [ "$v1" != current ] || [ "$v2" != current ] || [ "$vo" != previous ]; then
		diag "after a kill at $p and a restart: file '$v1', command '$v2', old secret '$vo'"
		bad=$((bad + 1))
	fi
	ls -a "$T/store" "$T/state" "$T/out" | grep -q '^\..*\.[A-Za-z0-9]\{6\}$' && {
		diag "temp file left after a kill at $p and a restart"
		bad=$((bad + 1))
	}
	dmn_stop || {
		diag "rotsecd restarted after a kill at $p did not stop cleanly"
		bad=$((bad + 1))
	}
done
check "SIGKILL of rotsecd at each point of its rotation ($killed, and $atstart in the start-up sync) resumes on restart, and the consumers' secrets always verify" \
	[ "$bad" -eq 0 -a "$killed" -ge 10 ]

# ---- a start-up sync that fails is retried ----
rm -rf "$T/store" "$T/state" "$T/run" "$T/out"/*
mkdir -m 0777 "$T/store"
chmod 0777 "$T/store"
if dmn_start; then
	check "rotsecd keeps running when its start-up sync fails (store dir writable by all)" \
		grep -q 'start-up: sync failed: .*retrying in 1s' "$T/rotsecd.log"
	chmod 0755 "$T/store"
	check "once the store dir is safe, the sync is retried and the account created" \
		wait_until 20 cdb -q "$T/store/secrets.cdb" sn:svc-a
	check "and its first secret delivered" wait_until 20 sh -c \
		"\"$CTL\" -c \"$CONF\" verify svc-a <\"$T/out/svc-a.pw\" 2>/dev/null | grep -qx current"
	ctl rotate svc-a >/dev/null 2>&1
	check "a rotsecctl rotate in the store dir made after the start is noticed (metrics show generation 2)" \
		wait_until 20 grep -qx 'rotsec_generation{account="svc-a"} 2' "$T/rotsec.prom"
	check "rotsecd stops cleanly" dmn_stop
else
	not_ok "rotsecd starts when its start-up sync fails"
fi
check_fails "no sanitizer report" grep -q 'Sanitizer' "$T/rotsecd.log"
done_testing
