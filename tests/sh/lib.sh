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
