#!/bin/sh
# rotsecd's time and use triggers, with short real durations: rotate_every fires on time
# and not before, a window that excludes now holds the rotation back, jitter stays within
# its bounds, rotate_after_use fires after a recorded login, and nothing rotates while the
# previous secret is in grace.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon-lib.sh"
rotsec_env
# Windows are local time: pin the zone for the daemon, rotsecctl and the expectations.
TZ=UTC
export TZ

h=$(date +%H | sed 's/^0//')
hh() { printf '%02d:00' $((($1) % 24)); }
# [now+2h, now+3h) never contains now; [now-0h, now+2h) always does.
away="$(hh $((h + 2)))-$(hh $((h + 3)))"
here="$(hh "$h")-$(hh $((h + 2)))"

dl() { echo "deliver = ( { file = \"$T/out/$1.pw\"; } );"; }
conf_write 'rotate_every = "1h"; grace = "1s"; max_grace = "1h"; retry_min = "1s"; retry_max = "2s";' \
	'{ name = "svc"; gid = 60000; }' \
	"{ name = \"svc-every\"; uid = 60001; group = \"svc\"; rotate_every = \"3s\"; $(dl svc-every) },
	 { name = \"svc-away\"; uid = 60002; group = \"svc\"; rotate_every = \"2s\"; window = \"$away\"; $(dl svc-away) },
	 { name = \"svc-here\"; uid = 60003; group = \"svc\"; rotate_every = \"2s\"; window = \"$here\"; $(dl svc-here) },
	 { name = \"svc-jitter\"; uid = 60004; group = \"svc\"; rotate_every = \"2s\"; jitter = \"1s\"; $(dl svc-jitter) },
	 { name = \"svc-use\"; uid = 60005; group = \"svc\"; grace = \"2s\"; rotate_after_use = \"1s\"; $(dl svc-use) }"

dmn_start || {
	not_ok "rotsecd starts"
	sed 's/^/# /' "$T/rotsecd.log"
	done_testing
	exit 1
}
ok "rotsecd starts and syncs the config into the store"
all=$(ctl status --json)
check_eq "accounts on schedules of 3 s or more start at generation 1" \
	"$(for a in svc-every svc-away svc-use; do jget "$(echo "$all" | grep "\"$a\"")" generation; done | tr '\n' ' ')" \
	"1 1 1 "
st=$(ctl status svc-every --json)
t0=$(jget "$st" current_since)
check_eq "the status shows the schedule: next rotation rotate_every after activation" \
	"$(jget "$st" next_rotation)" "$((t0 + 3))"

# ---- rotate_every ----
wait_until 20 gen_is svc-every 2
c2=$(jfield svc-every current_since)
check "rotate_every = 3s fires, not before 3 s (activated $((c2 - t0)) s after the first secret)" \
	[ "$((c2 - t0))" -ge 3 ]
check "rotate_every = 3s fires on time (within 3 s)" [ "$((c2 - t0))" -le 6 ]
check_eq "the scheduled rotation delivered the new secret" \
	"$(verify_as svc-every "$T/out/svc-every.pw")" "current"

# ---- window ----
check_eq "a rotation due outside its window ($away) waits: still generation 1" \
	"$(jfield svc-away generation)" "1"
want=$(python3 -c '
import sys, datetime
now = datetime.datetime.now(datetime.timezone.utc)
start = now.replace(hour=int(sys.argv[1][:2]), minute=0, second=0, microsecond=0)
if start <= now:
    start += datetime.timedelta(days=1)
print(int(start.timestamp()))' "$away")
check_eq "its next rotation is the window's next opening" "$(jfield svc-away next_rotation)" "$want"
check "a rotation due inside its window ($here) happens" wait_until 20 sh -c \
	"[ \$(\"$CTL\" -c \"$CONF\" status svc-here --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"accounts\"][0][\"generation\"])') -ge 2 ]"

# ---- jitter ----
wait_until 20 gen_is svc-jitter 3
j1=$(jfield svc-jitter current_since)
jn=$(jfield svc-jitter next_rotation)
check "with jitter = 1s the next rotation is 2 s to 3 s after activation ($((jn - j1)))" \
	[ "$((jn - j1))" -ge 2 -a "$((jn - j1))" -lt 3 ]
check "jittered rotations keep happening" wait_until 20 gen_is svc-jitter 4
c=$(jfield svc-jitter current_since)
check "and none comes before rotate_every" [ "$((c - j1))" -ge 2 ]

# ---- rotate_after_use ----
check_eq "without a login, rotate_after_use does nothing (1h schedule)" "$(jfield svc-use generation)" "1"
u0=$(date +%s)
record_use svc-use current
check "a recorded login makes rotate_after_use = 1s fire" wait_until 20 gen_is svc-use 2
cu=$(jfield svc-use current_since)
check "not before 1 s after the login ($((cu - u0)) s)" [ "$((cu - u0))" -ge 1 ]
check_eq "the rotation after use delivered the new secret" \
	"$(verify_as svc-use "$T/out/svc-use.pw")" "current"

# ---- no rotation while the previous secret is in grace ----
until=$(jfield svc-use previous_valid_until)
check "the replaced secret is in grace (2 s)" [ "$until" != null ]
record_use svc-use current
check "a login during grace makes the next rotation due, and it happens" wait_until 20 gen_is svc-use 3
c3=$(jfield svc-use current_since)
check "but only once the grace ended (rotated at $c3, grace until $until)" [ "$c3" -ge "$until" ]

check "SIGTERM stops the daemon with status 0" dmn_stop
check_fails "the daemon logged no error" grep -Ei 'error|failed|Sanitizer' "$T/rotsecd.log"
done_testing
