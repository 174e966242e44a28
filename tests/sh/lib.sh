# Shared helpers for shell tests. Source it first; it creates $T, a private temp dir removed
# at exit, and prints TAP. Tests never touch the host's /etc, /var/lib or services: every
# path goes through a config in $T, and system tests use private mount namespaces.
#
#   ok NAME / not_ok NAME / skip NAME REASON
#   check NAME CMD...            ok when CMD exits 0
#   check_fails NAME CMD...      ok when CMD exits non-zero
#   check_eq NAME GOT WANT
#   check_match NAME STRING REGEX (grep -E)
#   done_testing                 prints the plan; call last

set -u
: "${O:?O must point at the build directory}"
# As tests/run.sh does, for a test run on its own: the system's commands only.
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
top=${top:-$(cd "$(dirname "$0")/../.." && pwd)}
ASAN=$O/asan
REL=$O/rel
CTL=$ASAN/rotsecctl
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:exitcode=86}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

T=$(mktemp -d /tmp/rotsec-t.XXXXXX)
chmod 0755 "$T"
_tap_n=0
_cleanups=""
at_exit() { _cleanups="$* ; $_cleanups"; }
_finish() {
	eval "$_cleanups" 2>/dev/null
	[ -n "${KEEP_T:-}" ] || rm -rf "$T"
}
trap _finish EXIT

ok() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $*"; }
not_ok() { _tap_n=$((_tap_n + 1)); echo "not ok $_tap_n - $*"; }
skip() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $1 # SKIP $2"; }
diag() { echo "# $*"; }

check() {
	_name=$1
	shift
	if "$@" >"$T/.out" 2>&1; then ok "$_name"; else
		not_ok "$_name"
		sed 's/^/# /' "$T/.out" | tail -20
	fi
}
check_fails() {
	_name=$1
	shift
	if "$@" >"$T/.out" 2>&1; then
		not_ok "$_name (succeeded)"
		sed 's/^/# /' "$T/.out" | tail -20
	else ok "$_name"; fi
}
check_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else
		not_ok "$1"
		diag "got:  '$2'"
		diag "want: '$3'"
	fi
}
check_match() {
	if printf '%s\n' "$2" | grep -Eq -- "$3"; then ok "$1"; else
		not_ok "$1"
		diag "no match for /$3/ in:"
		printf '%s\n' "$2" | sed 's/^/#   /' | tail -20
	fi
}
done_testing() { echo "1..$_tap_n"; }

# A file's bytes as one checksum, to prove something did not change.
sum_of() { cat "$@" 2>/dev/null | sha256sum | cut -d' ' -f1; }

# ---- rotsec environment in $T ----
# rotsec_env: a store, state dir, run dir, outbox and fake passwd/group files under $T, and
# $CONF, a config whose top part points every path there. Add accounts with conf_accounts.
rotsec_env() {
	mkdir -p "$T/store" "$T/out" "$T/keys"
	chmod 0755 "$T/store" "$T/out"
	printf 'root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nbackup:x:34:34:backup:/var/backups:/usr/sbin/nologin\n' >"$T/passwd"
	printf 'root:x:0:\ndaemon:x:1:\nbackup:x:34:\nrotsec:x:990:\n' >"$T/group"
	CONF=$T/rotsec.conf
	export CONF
}

# conf_write DEFAULTS GROUPS ACCOUNTS: the whole config, paths first (one per line, so
# line numbers of what follows are stable: the paths take lines 1-8).
conf_write() {
	cat >"$CONF" <<CONF_EOF
store_dir = "$T/store";
state_dir = "$T/state";
key_file = "$T/rotsec.key";
run_dir = "$T/run";
audit_log = "$T/audit.jsonl";
metrics_file = "$T/rotsec.prom";
passwd_file = "$T/passwd";
group_file = "$T/group";
defaults = { $1 };
groups = ( $2 );
accounts = (
$3
);
CONF_EOF
}

ctl() { "$CTL" -c "$CONF" "$@"; }

# verify_as NAME FILE: what `rotsecctl verify` says of the password in FILE.
verify_as() { ctl verify "$1" <"$2" 2>/dev/null; }

# In a private mount namespace with /dev overlaid so that /dev/log is a socket we own:
# everything sent to syslog lands in $T/syslog.txt. Never touches the host's /dev.
with_syslog() {
	mkdir -p "$T/.devup" "$T/.devwork"
	: >"$T/syslog.txt"
	unshare -m sh -c '
		mount --make-rprivate / &&
		mount -t overlay overlay -o "lowerdir=/dev,upperdir=$1/.devup,workdir=$1/.devwork" /dev || exit 97
		python3 "$2/tests/sh/syslog-catcher.py" /dev/log "$1/syslog.txt" &
		catcher=$!
		i=0; while [ ! -S /dev/log ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
		shift 2
		"$@"; rc=$?
		sleep 0.2; kill $catcher 2>/dev/null; wait $catcher 2>/dev/null
		exit $rc' sh "$T" "$top" "$@"
}

# ns_system CMD...: CMD in a new mount namespace over the test's copies, the way a
# set-user-ID program sees them (it ignores LD_LIBRARY_PATH and ROTSEC_STORE_DIR): $T/lib
# over the library directory $LIBDIR and $T/varlib over /var/lib (overlays), and
# $T/etc/nsswitch.conf and $T/etc/pam.d bound over /etc's. Exit 97 if a mount fails.
ns_system() {
	unshare -m sh -c '
		T=$1 LIBDIR=$2
		shift 2
		mount -t overlay rotsec-lib -o "lowerdir=$T/lib:$LIBDIR" "$LIBDIR" &&
			mount -t overlay rotsec-varlib -o "lowerdir=$T/varlib:/var/lib" /var/lib &&
			mount --bind "$T/etc/nsswitch.conf" /etc/nsswitch.conf &&
			mount --bind "$T/etc/pam.d" /etc/pam.d || exit 97
		exec "$@"' ns "$T" "$LIBDIR" "$@"
}
