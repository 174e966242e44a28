#!/bin/sh
# The fleet over TLS with client certificates: a 3-member cluster that serves https only
# and only to clients with a certificate of its CA. rotsecd publishes with its fleet
# section's tls = { ca; cert; key; }, a consumer fetches with --cacert/--cert/--keyfile;
# without a client certificate, with another CA's, with a CA that did not sign the
# members' or over plain http, nothing is read or written.
. "$(dirname "$0")/etcd-lib.sh"
. "$(dirname "$0")/daemon-lib.sh"
rotsec_env
etcd_tls_setup || { not_ok "the test CA and certificates are made"; done_testing; exit 1; }
etcd_tls_client web1
etcd_tls_client backup1
# Another CA, and a client certificate of it.
CA_NAME=other etcd_tls_ca other
CA_NAME=other etcd_tls_cert intruder "/CN=intruder"
etcd_start_all || { not_ok "the etcd cluster starts with TLS"; done_testing; exit 1; }
fleet_consumer_keys backup1

conf_write 'rotate_every = "1h"; grace = "1s"; max_grace = "1h"; retry_min = "1s"; retry_max = "2s";' \
	'{ name = "svc"; gid = 60000; }' \
	"{ name = \"svc-a\"; uid = 60001; group = \"svc\";
	   deliver = ( { fleet = \"backup1\"; sealed_to = \"$T/keys/backup1.pub\"; } ); }"
cat >>"$CONF" <<C
fleet = {
  endpoints = [ "https://127.0.0.1:12379", "https://127.0.0.1:22379", "https://127.0.0.1:32379" ];
  host = "web1";
  signing_key = "$T/keys/sign.key";
  tls = { ca = "$PKI/ca.crt"; cert = "$PKI/web1.crt"; key = "$PKI/web1.key"; };
  timeout = "3s";
};
C
check "rotsecctl check accepts the tls settings" ctl check
chmod 0644 "$PKI/web1.key"
check_match "a client key readable by others is refused" "$(ctl check 2>&1)" \
	'key .*/web1.key has mode 0644: it must not be readable by others'
chmod 0600 "$PKI/web1.key"

dmn_start || {
	not_ok "rotsecd starts"
	sed 's/^/# /' "$T/rotsecd.log"
	done_testing
	exit 1
}
s1=$(ctl show svc-a 2>/dev/null)
echo "$s1" >>"$T/secrets.all"
# tls_fetch [TLS OPTIONS...]
tls_fetch() {
	"$CTL" fleet fetch --endpoints "$ETCD_ENDPOINTS" --key "$T/keys/backup1.key" \
		--trust "web1=$T/keys/sign.key.pub" --timeout 3 "$@" web1 svc-a
}
check_eq "rotsecd publishes over TLS with its client certificate, and a consumer fetches it" \
	"$(tls_fetch --cacert "$PKI/ca.crt" --cert "$PKI/backup1.crt" --keyfile "$PKI/backup1.key")" \
	"$s1"
check_match "the status is there, with the alive key" \
	"$("$CTL" fleet status --endpoints "$ETCD_ENDPOINTS" --cacert "$PKI/ca.crt" \
		--cert "$PKI/backup1.crt" --keyfile "$PKI/backup1.key")" '^web1 +svc-a +1 .* yes$'

tls_fetch --cacert "$PKI/ca.crt" >/dev/null 2>"$T/err"
check_eq "without a client certificate the members refuse the connection (exit 4)" "$?" 4
tls_fetch --cacert "$PKI/ca.crt" --cert "$PKI/intruder.crt" --keyfile "$PKI/intruder.key" \
	>/dev/null 2>"$T/err"
check_eq "a client certificate of another CA is refused (exit 4)" "$?" 4
tls_fetch --cacert "$PKI/other.crt" --cert "$PKI/backup1.crt" --keyfile "$PKI/backup1.key" \
	>/dev/null 2>"$T/err"
check_eq "members whose certificate the given CA did not sign are not trusted (exit 4)" "$?" 4
check_match "saying it is about the certificate" "$(cat "$T/err")" 'certificate|SSL|TLS'
"$CTL" fleet fetch --endpoints "http://127.0.0.1:12379" --key "$T/keys/backup1.key" \
	--trust "web1=$T/keys/sign.key.pub" --timeout 3 web1 svc-a >/dev/null 2>&1
check_eq "plain http to a TLS member reads nothing (exit 4)" "$?" 4
"$CTL" fleet fetch --endpoints "http://127.0.0.1:12379" --cacert "$PKI/ca.crt" \
	--key "$T/keys/backup1.key" --trust "web1=$T/keys/sign.key.pub" web1 svc-a >/dev/null 2>"$T/err"
check_match "and TLS options with an http:// endpoint are refused before anything is sent" \
	"$(cat "$T/err")" 'not https:// but TLS is configured'

# A rotation through the daemon's TLS connection.
sleep 1.2
ctl rotate svc-a >/dev/null 2>&1
s2=$(ctl show svc-a 2>/dev/null)
echo "$s2" >>"$T/secrets.all"
check_eq "a rotation by rotsecctl is published over TLS too" \
	"$(tls_fetch --cacert "$PKI/ca.crt" --cert "$PKI/backup1.crt" --keyfile "$PKI/backup1.key")" \
	"$s2"
dmn_stop

check_eq "no secret of this test appears in etcd, raw or base64" "$(etcd_leaks "$T/secrets.all")" 0
done_testing
