# Helpers for the rotsecd tests (t-daemon-*.sh). Source after lib.sh and rotsec_env.
#
#   dmn_start [VAR=VALUE...]   start `rotsecd -c $CONF -f $DMN_ARGS` in the background,
#                              with those variables in its environment; stderr to
#                              $T/rotsecd.log.
#                              Waits until the first metrics are written,
#                              which happens after the start-up sync and the first pass.
#                              Sets DPID. Fails when the daemon died or never got there.
#   dmn_stop                   SIGTERM, wait; returns the daemon's exit status
#   dmn_signal SIG             send SIG to the daemon
#   wait_until SECS CMD...     run CMD every 0.1 s until it succeeds; fails after SECS
#   jfield NAME FIELD          a field of `rotsecctl status NAME --json`
#   jget JSON FIELD            a field of a status object already read
#   metric NAME [LABELS]       the value of one sample in the metrics file
#   record_use NAME KIND       a login of KIND (current|previous|tripwire) with NAME's
#                              current generation, as pam_rotsec would record it
#   now_ms                     wall clock in milliseconds
# The daemon is killed when the test exits, whatever happened.

ROTSECD=$ASAN/rotsecd
RECORD_USE=$ASAN/tests/tools/record_use
DPID=

_dmn_kill() {
	[ -n "$DPID" ] || return 0
	kill -KILL "$DPID" 2>/dev/null
	wait "$DPID" 2>/dev/null
	DPID=
}
at_exit _dmn_kill

now_ms() { echo $(($(date +%s%N) / 1000000)); }

wait_until() {
	_wu_end=$(($(now_ms) + $1 * 1000))
	shift
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		[ "$(now_ms)" -ge "$_wu_end" ] && return 1
		sleep 0.1
	done
}

_dmn_alive() { [ -n "$DPID" ] && kill -0 "$DPID" 2>/dev/null; }
_dmn_up() {
	_dmn_alive || return 2
	# Not grep's own status: 2 means a missing file to grep, "not yet" to us.
	grep -q '^rotsec_last_update_timestamp_seconds [0-9]' "$T/rotsec.prom" 2>/dev/null || return 1
}

dmn_start() {
	rm -f "$T/rotsec.prom"
	# shellcheck disable=SC2086 # DMN_ARGS are words
	env "$@" "$ROTSECD" -c "$CONF" -f ${DMN_ARGS:-} >>"$T/rotsecd.log" 2>&1 &
	DPID=$!
	# Generous: it returns as soon as the daemon is up or dead, and a start-up sync
	# fsyncs several files, which takes long on a disk busy with other work.
	_wu_end=$(($(now_ms) + 60000))
	while :; do
		_dmn_up
		case $? in
		0) return 0 ;;
		2) return 1 ;;
		esac
		[ "$(now_ms)" -ge "$_wu_end" ] && return 1
		sleep 0.05
	done
}

dmn_signal() { kill -"$1" "$DPID"; }

dmn_stop() {
	[ -n "$DPID" ] || return 0
	kill -TERM "$DPID" 2>/dev/null
	wait "$DPID"
	_ds_rc=$?
	DPID=
	return $_ds_rc
}

# The exit status of a daemon that is expected to die on its own (a fault point).
dmn_wait_dead() {
	_wd_end=$(($(now_ms) + $1 * 1000))
	while kill -0 "$DPID" 2>/dev/null; do
		[ "$(now_ms)" -ge "$_wd_end" ] && return 1
		sleep 0.05
	done
	wait "$DPID"
	DMN_RC=$?
	DPID=
	return 0
}

# jget JSON FIELD: a field of one status object. No python here: it is polled, and an
# interpreter start costs more than the poll.
jget() { printf '%s\n' "$1" | sed -n "s/.*\"$2\": \(\"[^\"]*\"\|[^,}]*\).*/\1/p" | tr -d '"'; }
jfield() { jget "$(ctl status "$1" --json 2>/dev/null)" "$2"; }

metric() {
	if [ $# -ge 2 ]; then
		sed -n "s/^$1{$2} //p" "$T/rotsec.prom"
	else
		sed -n "s/^$1 //p" "$T/rotsec.prom"
	fi
}

record_use() { "$RECORD_USE" "$T/run" "$1" "$(jfield "$1" generation)" "$2"; }

# gen_is NAME N: NAME's current generation is N.
gen_is() { [ "$(jfield "$1" generation)" = "$2" ]; }
