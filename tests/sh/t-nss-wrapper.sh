#!/bin/sh
# nss_rotsec under cwrap's nss_wrapper: getent and id see rotsec's accounts through the
# module, loaded by nss_wrapper from the build dir with ROTSEC_STORE_DIR pointing at a store
# in $T. No namespace, no root-owned system file involved. Both builds: the release module,
# and the ASan+UBSan one with the sanitizer runtime preloaded into the (uninstrumented)
# getent and id.
. "$(dirname "$0")/lib.sh"

MKSTORE=$ASAN/tests/tools/mkstore
WRAPPER=$(for d in /usr/lib/"$(${CC:-gcc} -print-multiarch 2>/dev/null)" /usr/lib64 /usr/lib; do
	[ -f "$d/libnss_wrapper.so" ] && echo "$d/libnss_wrapper.so" && break
done)
if [ -z "$WRAPPER" ] || [ ! -x "$MKSTORE" ]; then
	skip "nss_rotsec under nss_wrapper" "libnss-wrapper or $MKSTORE is missing"
	done_testing
	exit 0
fi
LIBASAN=$(${CC:-gcc} -print-file-name=libasan.so)

mkdir -m 0755 "$T/store"
"$MKSTORE" "$T/store" <<EOF || exit 1
user name=svc-a uid=60001 gid=60000 gecos=Backup_agent home=/var/lib/svc-a groups=60010
user name=svc-b uid=60002 gid=60000
group name=svc gid=60000
group name=svc-ops gid=60010 members=svc-a,backup
secret name=svc-a uid=60001 current=pw-a
secret name=svc-b uid=60002 current=pw-b
EOF
# nss_wrapper's own "files": copies, so that root and backup exist as on the host.
cp /etc/passwd "$T/passwd"
cp /etc/group "$T/group"

# nw MODULE CMD...: CMD under nss_wrapper with MODULE as its NSS module.
nw() {
	_m=$1
	shift
	_pre=$WRAPPER
	case "$_m" in "$ASAN"/*) _pre="$LIBASAN $WRAPPER" ;; esac
	env LD_PRELOAD="$_pre" NSS_WRAPPER_PASSWD="$T/passwd" NSS_WRAPPER_GROUP="$T/group" \
		NSS_WRAPPER_MODULE_SO_PATH="$_m" NSS_WRAPPER_MODULE_FN_PREFIX=rotsec \
		ROTSEC_STORE_DIR="$T/store" "$@"
}

for build in rel asan; do
	[ $build = rel ] && M=$REL/libnss_rotsec.so.2 || M=$ASAN/libnss_rotsec.so.2
	if [ ! -f "$M" ]; then
		not_ok "$build: the module is built ($M)"
		continue
	fi
	check_eq "$build: getent passwd shows a rotsec account" "$(nw "$M" getent passwd svc-a)" \
		"svc-a:x:60001:60000:Backup agent:/var/lib/svc-a:/usr/sbin/nologin"
	check_eq "$build: getent passwd finds it by uid" \
		"$(nw "$M" getent passwd 60002 | cut -d: -f1)" svc-b
	check_eq "$build: getent group shows a rotsec group with its members" \
		"$(nw "$M" getent group svc-ops)" "svc-ops:x:60010:svc-a,backup"
	check_eq "$build: getent group finds it by gid" \
		"$(nw "$M" getent group 60000 | cut -d: -f1)" svc
	check_eq "$build: id shows a rotsec account with its groups" "$(nw "$M" id svc-a)" \
		"uid=60001(svc-a) gid=60000(svc) groups=60000(svc),60010(svc-ops)"
	check_match "$build: id shows the rotsec group of a local user listed as a member" \
		"$(nw "$M" id backup)" 'groups=34\(backup\),60010\(svc-ops\)$'
	check_eq "$build: getent passwd lists files entries, then rotsec's" \
		"$(nw "$M" getent passwd | tail -2 | cut -d: -f1 | tr '\n' ' ')" "svc-a svc-b "
	check_eq "$build: getent group lists rotsec groups once" \
		"$(nw "$M" getent group | grep -c '^svc')" 2
	check_eq "$build: an unknown name is not found" "$(nw "$M" getent passwd nosuch; echo $?)" 2
	check_eq "$build: an invalid name is not found" \
		"$(nw "$M" getent passwd 'Not:Valid'; echo $?)" 2
done

mv "$T/store" "$T/store.away"
M=$ASAN/libnss_rotsec.so.2
check_eq "with the store missing local accounts still resolve" \
	"$(nw "$M" getent passwd root | cut -d: -f1)" root
check_eq "with the store missing a rotsec name resolves to nothing" \
	"$(nw "$M" getent passwd svc-a; echo $?)" 2
check_match "with the store missing id of a local user still works" "$(nw "$M" id backup)" \
	'^uid=34\(backup\) gid=34\(backup\) groups=34\(backup\)$'
mv "$T/store.away" "$T/store"
done_testing
