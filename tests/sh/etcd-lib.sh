# A 3-member etcd cluster for the fleet tests, from Debian's etcd (etcd-server). Source it in
# place of lib.sh: it first moves the test into its own network and mount namespaces
# (unshare -mn, loopback up), so that the fixed loopback ports below can never meet
# anything else on the machine, and the data directories live on a tmpfs mounted there.
#
#   etcd_start_all                 start m1 m2 m3 and wait until they serve
#   etcd_start N / etcd_kill N     (re)start member N (1-3) / SIGKILL it (by its pid)
#   etcd_leader                    the number of the member that is leader now
#   etcd_wait_healthy [N...]       wait until members serve (all by default)
#   ectl ARGS...                   etcdctl against the whole cluster (root creds if set)
#   ETCD_ENDPOINTS                 the client URLs, comma-separated
#   etcd_tls_setup                 before etcd_start_all: a CA in $T/pki, a server certificate
#                                  for 127.0.0.1, and clients made with etcd_tls_client NAME
#                                  ($T/pki/NAME.{crt,key}); the members then serve https://
#                                  only, to clients with a certificate of that CA
# Every member is killed by pid at exit. (Each member preallocates a 64 MiB WAL: the
# tmpfs holds 1 GiB, in memory only as far as it is used.)
if [ -z "${ROTSEC_ETCD_NS:-}" ]; then
	ROTSEC_ETCD_NS=1 exec unshare -mn sh "$0" "$@"
fi
mount --make-rprivate / || exit 1
ip link set lo up || exit 1
. "$(dirname "$0")/lib.sh"

ETCD_DIR=$T/etcd
mkdir -p "$ETCD_DIR"
mount -t tmpfs -o size=1g,mode=0700 tmpfs "$ETCD_DIR" || exit 1
at_exit 'umount -l "$ETCD_DIR"'

etcd_client_port() { echo $(($1 * 10000 + 2379)); }
etcd_peer_port() { echo $(($1 * 10000 + 2380)); }
ETCD_SCHEME=http
ETCD_ENDPOINTS="http://127.0.0.1:12379,http://127.0.0.1:22379,http://127.0.0.1:32379"
ETCD_TLS_OPTS=""
ETCDCTL_TLS=""
ETCD_CLUSTER="m1=http://127.0.0.1:12380,m2=http://127.0.0.1:22380,m3=http://127.0.0.1:32380"
ETCD_EXTRA=${ETCD_EXTRA:-}
ETCDCTL_API=3
export ETCDCTL_API

etcd_start() {
	_n=$1
	# Short heartbeats and elections: a killed leader is replaced within seconds.
	# Progress notifications every 2 s: the follower's silent-watch handling is exercised.
	# shellcheck disable=SC2086
	etcd --name "m$_n" --data-dir "$ETCD_DIR/m$_n" \
		--listen-client-urls "$ETCD_SCHEME://127.0.0.1:$(etcd_client_port "$_n")" \
		--advertise-client-urls "$ETCD_SCHEME://127.0.0.1:$(etcd_client_port "$_n")" \
		--listen-peer-urls "http://127.0.0.1:$(etcd_peer_port "$_n")" \
		--initial-advertise-peer-urls "http://127.0.0.1:$(etcd_peer_port "$_n")" \
		--initial-cluster "$ETCD_CLUSTER" --initial-cluster-state new \
		--initial-cluster-token rotsec-test \
		--heartbeat-interval 100 --election-timeout 1000 \
		--experimental-watch-progress-notify-interval 2s \
		--auth-token simple $ETCD_TLS_OPTS $ETCD_EXTRA >>"$ETCD_DIR/m$_n.log" 2>&1 &
	echo $! >"$ETCD_DIR/m$_n.pid"
}

etcd_kill() {
	[ -f "$ETCD_DIR/m$1.pid" ] || return 0
	kill -9 "$(cat "$ETCD_DIR/m$1.pid")" 2>/dev/null
	wait "$(cat "$ETCD_DIR/m$1.pid")" 2>/dev/null
	rm -f "$ETCD_DIR/m$1.pid"
}
at_exit 'etcd_kill 1; etcd_kill 2; etcd_kill 3'

ectl() {
	# shellcheck disable=SC2086
	etcdctl --endpoints="$ETCD_ENDPOINTS" --dial-timeout=2s --command-timeout=5s $ETCDCTL_TLS \
		${ETCD_ROOT_PW:+--user=root:$ETCD_ROOT_PW} "$@"
}

# etcd_leaks FILE: how many of the secrets in FILE (one a line) appear anywhere in etcd, in
# a key or a value, raw or base64 (the JSON dump carries values in base64). Prints the count.
etcd_leaks() {
	ectl get "" --prefix -w json >"$T/dump.json" || return 1
	ectl get "" --prefix --print-value-only >"$T/dump.txt" || return 1
	_leaked=0
	while read -r _s; do
		[ -n "$_s" ] || continue
		if grep -qF "$_s" "$T/dump.txt" "$T/dump.json" ||
			grep -qF "$(printf %s "$_s" | base64 -w0 | cut -c1-24)" "$T/dump.json"; then
			_leaked=$((_leaked + 1))
		fi
	done <"$1"
	echo "$_leaked"
}

etcd_wait_healthy() {
	_members="$*"
	[ -n "$_members" ] || _members="1 2 3"
	_i=0
	while [ $_i -lt 150 ]; do
		_ok=1
		for _n in $_members; do
			# shellcheck disable=SC2086
			etcdctl --endpoints="$ETCD_SCHEME://127.0.0.1:$(etcd_client_port "$_n")" \
				--dial-timeout=1s --command-timeout=2s $ETCDCTL_TLS endpoint health \
				>/dev/null 2>&1 || _ok=0
		done
		[ $_ok = 1 ] && return 0
		sleep 0.1
		_i=$((_i + 1))
	done
	diag "etcd members $_members did not become healthy"
	return 1
}

etcd_start_all() {
	etcd_start 1
	etcd_start 2
	etcd_start 3
	etcd_wait_healthy
}

etcd_leader() {
	for _n in 1 2 3; do
		[ -f "$ETCD_DIR/m$_n.pid" ] || continue
		# shellcheck disable=SC2086
		etcdctl --endpoints="$ETCD_SCHEME://127.0.0.1:$(etcd_client_port "$_n")" --dial-timeout=1s \
			--command-timeout=2s $ETCDCTL_TLS endpoint status 2>/dev/null |
			awk -F', ' '$5 == "true" { found = 1 } END { exit !found }' &&
			{ echo "$_n"; return 0; }
	done
	return 1
}

# ---- TLS ----
PKI=$T/pki
# etcd_tls_cert NAME SUBJECT [SAN]: NAME.key and NAME.crt in $PKI, signed by the test CA.
etcd_tls_cert() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$PKI/$1.key" -out "$PKI/$1.csr" -subj "$2" 2>/dev/null || return 1
	if [ -n "${3:-}" ]; then
		printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$3" >"$PKI/$1.ext"
	else
		printf 'extendedKeyUsage=clientAuth\n' >"$PKI/$1.ext"
	fi
	openssl x509 -req -in "$PKI/$1.csr" -CA "$PKI/${CA_NAME:-ca}.crt" \
		-CAkey "$PKI/${CA_NAME:-ca}.key" -CAcreateserial -days 2 -extfile "$PKI/$1.ext" \
		-out "$PKI/$1.crt" 2>/dev/null || return 1
	chmod 0600 "$PKI/$1.key"
}
# etcd_tls_ca NAME: a self-signed CA, NAME.{crt,key}.
etcd_tls_ca() {
	mkdir -p "$PKI"
	openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$PKI/$1.key" -out "$PKI/$1.crt" -days 2 -subj "/CN=rotsec test $1" \
		2>/dev/null
}
etcd_tls_client() { etcd_tls_cert "$1" "/CN=$1"; }
etcd_tls_setup() {
	etcd_tls_ca ca && etcd_tls_cert server "/CN=etcd" "IP:127.0.0.1" &&
		etcd_tls_client root || return 1
	ETCD_SCHEME=https
	ETCD_ENDPOINTS="https://127.0.0.1:12379,https://127.0.0.1:22379,https://127.0.0.1:32379"
	ETCD_TLS_OPTS="--cert-file $PKI/server.crt --key-file $PKI/server.key --client-cert-auth --trusted-ca-file $PKI/ca.crt"
	ETCDCTL_TLS="--cacert $PKI/ca.crt --cert $PKI/root.crt --key $PKI/root.key"
}

# ---- fleet helpers ----
# fleet_keys HOST... / CONSUMER...: signing pairs $T/keys/HOST.{key,pub} (keygen --sign),
# sealing pairs $T/keys/CONSUMER.{key,pub} (keygen).
PUB=$ASAN/tests/tools/fleet_publish
mkdir -p "$T/keys"
fleet_host_keys() { for _h in "$@"; do "$CTL" keygen --sign "$T/keys/$_h" >/dev/null || return 1; done; }
fleet_consumer_keys() { for _c in "$@"; do "$CTL" keygen "$T/keys/$_c" >/dev/null || return 1; done; }
# A random secret that no test reuses, kept in $T/secrets.all for the final dump check.
new_secret() {
	_s=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
	echo "$_s" >>"$T/secrets.all"
	echo "$_s"
}
# publish HOST ACCOUNT GEN CONSUMER... with stdin: current [previous]
publish() {
	_h=$1 _a=$2 _g=$3
	shift 3
	_c=""
	for _x in "$@"; do _c="$_c $_x=$T/keys/$_x.pub"; done
	# shellcheck disable=SC2086
	"$PUB" --endpoints "$ETCD_ENDPOINTS" --host "$_h" --sign-key "$T/keys/$_h.key" \
		--rev-file "$T/rev.$_h.$_a" ${PUB_EXTRA:-} "$_a" "$_g" $_c
}
# fetch_as CONSUMER HOST ACCOUNT [more fleet fetch options]
fetch_as() {
	_c=$1 _h=$2 _a=$3
	shift 3
	"$CTL" fleet fetch --endpoints "$ETCD_ENDPOINTS" --key "$T/keys/$_c.key" \
		--trust "$_h=$T/keys/$_h.pub" "$@" "$_h" "$_a"
}
# Binary values in and out of etcd, byte for byte (etcdctl adds a newline on output
# and takes the value whole from stdin).
kv_save() { ectl get --print-value-only "$1" | head -c -1 >"$2"; }
kv_load() { ectl put "$2" <"$1" >/dev/null; }
kv_copy() { kv_save "$1" "$T/.kv" && kv_load "$T/.kv" "$2"; }
