#!/bin/sh
# Rotation bench (issue 5): one rotation end to end with `rotsecctl rotate` (the config
# loaded and checked whole, generate, hash, store write with fsync, journal, file
# delivery), next to `chpasswd` changing one password in an /etc holding the same number
# of users. Both on the same disk, in one private mount namespace, alternating round by
# round. Exit 0 when it ran, 1 when not.
#
# Sizes: 10 and 1,000 accounts (BENCH_ROT_SIZES), what real hosts carry: tens to
# hundreds of service accounts. Target: <= 1.0x chpasswd at both.
. "$(dirname "$0")/lib.sh"

need "$CTL" "$BIN/tmexec" "$BIN/pam_bench" chpasswd unshare
ROUNDS=${BENCH_ROT_ROUNDS:-$([ -n "$QUICK" ] && echo 3 || echo 11)}
SIZES=${BENCH_ROT_SIZES:-10 1000}
R=$W/rot

# etc_copy DIR N: passwd, shadow, group and gshadow for the overlay's upper layer: the
# host's users and groups (passwd and group are world-readable; their shadow entries are
# written locked, so no host hash is copied) plus N users bsvc000001.. with their groups.
etc_copy() {
	mkdir -p "$1/pam.d"
	cp /etc/passwd "$1/passwd"
	cp /etc/group "$1/group"
	cut -d: -f1 /etc/passwd | awk '{ print $1 ":*:19000:0:99999:7:::" }' >"$1/shadow"
	cut -d: -f1 /etc/group | awk '{ print $1 ":*::" }' >"$1/gshadow"
	awk -v n="$2" -v h="$hash" -v P="$1/passwd" -v S="$1/shadow" -v G="$1/group" \
		-v GS="$1/gshadow" 'BEGIN {
		for (i = 1; i <= n; i++) {
			name = sprintf("bsvc%06d", i)
			printf "%s:x:%d:%d:bench account %d:/nonexistent:/usr/sbin/nologin\n", name, 200000 + i, 200000 + i, i >> P
			printf "%s:%s:19000:0:99999:7:::\n", name, h >> S
			printf "%s:x:%d:\n", name, 200000 + i >> G
			printf "%s:!::\n", name >> GS
		}
	}'
	chmod 0640 "$1/shadow" "$1/gshadow"
	# Debian 12's stack for chpasswd (common-password), written out so that a host with
	# other password modules (pwquality, sss) does not change the figure.
	printf '%s\n' 'password [success=1 default=ignore] pam_unix.so obscure yescrypt' \
		'password requisite pam_deny.so' 'password required pam_permit.so' >"$1/pam.d/chpasswd"
}

# The stores are built with rotsecctl sync on a tmpfs (a first sync journals every
# account with an fsync each, which on a disk would make the setup the longest part of
# the bench), then copied to the disk where the rotations run. Journals and stores hold no paths, so the copy is the same
# state under another config. Runs inside `unshare -m`, where the tmpfs is mounted.
build_stores() {
	mount --make-rprivate / && mount -t tmpfs -o mode=0755 tmpfs "$R/fast" || return 97
	for n in $SIZES; do
		bench_conf "$R/fast/$n" bsvc "$n" 200000 "$R/fast/$n/out"
		mkdir -p "$R/fast/$n/out"
		"$CTL" -c "$R/fast/$n/rotsec.conf" sync >/dev/null || return 1
		bench_conf "$R/$n" bsvc "$n" 200000 "$R/$n/out"
		cp -a "$R/fast/$n/store" "$R/fast/$n/state" "$R/fast/$n/out" \
			"$R/fast/$n/rotsec.key" "$R/$n/" || return 1
		rm -rf "${R:?}/fast/$n"
	done
}

# The rounds for n accounts, inside a namespace whose /etc is the copy with n users
# (writable: chpasswd's lock, temp and new shadow land in its upper layer, on the same
# disk as the rotsec store). Prints "ROUND rotsec|chpasswd|config NS".
rounds() { # N
	n=$1
	for r in $(seq 1 "$ROUNDS"); do
		head -c 64 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32 >"$R/newpw"
		printf 'bsvc000001:%s\n' "$(cat "$R/newpw")" >"$R/chpasswd.in"
		t=$("$BIN/tmexec" "$CTL" -c "$R/$n/rotsec.conf" rotate bsvc000001) || return 1
		echo "$r rotsec $t"
		# untimed: end the grace, or the next rotation would be refused
		"$CTL" -c "$R/$n/rotsec.conf" revoke bsvc000001 >/dev/null || return 1
		t=$("$BIN/tmexec" -i "$R/chpasswd.in" chpasswd) || return 1
		echo "$r chpasswd $t"
		t=$("$BIN/tmexec" "$CTL" -c "$R/$n/rotsec.conf" check) || return 1
		echo "$r config $t"
	done
}

case ${1:-} in
--build) build_stores; exit ;;
--rounds) rounds "$2"; exit ;;
esac

mkdir -p "$R/fast"
chmod 0755 "$R" "$R/fast"
# A yescrypt hash that every generated user of the /etc copy carries (hashing one per
# user would make the setup slow for nothing: chpasswd reads and rewrites the entries, it
# does not check them).
head -c 64 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32 >"$R/pw"
echo >>"$R/pw"
hash=$("$BIN/pam_bench" --hash "$R/pw") || die "cannot make a yescrypt hash"

unshare -m env BENCH_W="$W" sh "$0" --build 2>"$R/build.err" || {
	sed 's/^/  /' "$R/build.err" >&2
	die "could not build the rotsec stores with rotsecctl sync"
}

say "Rotation: one password change end to end (issue 5); median of $ROUNDS rounds, ratios paired per round"
printf '  %-10s %12s %12s %9s   %-10s %s\n' accounts "rotsecctl" "chpasswd" ratio target "config load"
: >"$OUT/rotate.tsv"
for n in $SIZES; do
	etc_copy "$R/etc$n" "$n"
	before=$(sed -n 's/^bsvc000001:\([^:]*\):.*/\1/p' "$R/etc$n/shadow")
	in_ns "$R/etc$n" env BENCH_W="$W" sh "$0" --rounds "$n" >"$R/rot$n.dat" 2>"$R/rot$n.err" ||
		{
			sed 's/^/  /' "$R/rot$n.err" >&2
			die "rotation rounds with $n accounts failed"
		}
	after=$(sed -n 's/^bsvc000001:\([^:]*\):.*/\1/p' "$R/etc$n/shadow")
	[ -n "$after" ] && [ "$after" != "$before" ] || die "chpasswd did not change the password"
	a=$(med "$R/rot$n.dat" rotsec)
	b=$(med "$R/rot$n.dat" chpasswd)
	c=$(med "$R/rot$n.dat" config)
	x=$(pair "$R/rot$n.dat" rotsec chpasswd)
	printf '  %-10s %12s %12s %9s   %-10s %s\n' "$n" "$(fmt_ns "$a")" "$(fmt_ns "$b")" \
		"$(fmt_x "$x")" "<= 1.0 $(verdict "$x" le 1.0)" "$(fmt_ns "$c") (rotsecctl check)"
	printf '%s|%s|%s|%s|%s\n' "$n" "$a" "$b" "$x" "$c" >>"$OUT/rotate.tsv"
done
