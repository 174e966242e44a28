#!/bin/sh
# The fleet's libraries (libcurl, jansson) are the daemon's and the CLI's only: the PAM and
# NSS modules, loaded into other programs, link nothing new (nor libconfig), in both builds.
. "$(dirname "$0")/lib.sh"

needed() { readelf -d -W "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort | tr '\n' ' '; }

for v in rel asan; do
	for m in pam_rotsec.so libnss_rotsec.so.2; do
		n=$(needed "$O/$v/$m")
		check_eq "the $v $m needs no libcurl, jansson or libconfig" \
			"$(echo "$n" | tr ' ' '\n' | grep -E '^lib(curl|jansson|config)' | tr '\n' ' ')" ""
		check_fails "and ldd finds none of them behind its dependencies ($v $m)" \
			sh -c "ldd '$O/$v/$m' | grep -E 'libcurl|libjansson|libconfig'"
	done
	check_match "the $v rotsecctl links libcurl and jansson" "$(needed "$O/$v/rotsecctl")" \
		'libcurl.*libjansson|libjansson.*libcurl'
done
check_eq "the release NSS module still needs libc only" "$(needed "$O/rel/libnss_rotsec.so.2")" \
	"libc.so.6 "
done_testing
