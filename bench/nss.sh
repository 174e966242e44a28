#!/bin/sh
# NSS bench (issue 4): getpwnam_r and getpwuid_r, hit and miss, and a full getpwent
# enumeration, for nss files, libnss-extrausers, libnss-cache and nss_rotsec holding the
# same accounts, at several sizes; each backend in a fresh process (bench/nss_bench.c)
# inside a private mount namespace. Prints ns per call and ratios to files, writes the
# data and, when gnuplot is there, the plot. Exit 0 when it ran (nss_rotsec absent is a
# skip, said so), 1 when it could not run.
. "$(dirname "$0")/lib.sh"

need "$BIN/nss_bench" "$CTL" unshare
SIZES=${BENCH_NSS_SIZES:-10 1000 10000 100000}
ROUNDS=${BENCH_NSS_ROUNDS:-$([ -n "$QUICK" ] && echo 2 || echo 7)}
UID0=300000
SMALL=$(echo "$SIZES" | awk '{ print $1 }')
# Every backend's files on a disk file system, where /etc and /var/lib/rotsec are (not a
# tmpfs: its 4 KiB pages are not how a store written to disk sits in the page cache). The
# outer run makes the directory and removes it.
N=${BENCH_N:-}
MOD=$REL/libnss_rotsec.so.2
# The peers, as Debian installs them (the packages are in .ci/deps).
EXTRAUSERS=libnss_extrausers.so.2
CACHE=libnss_cache.so.2
# Built stores are kept between runs, keyed by the rotsecctl binary and the size: a
# first sync of 100,000 accounts is most of this bench's time.
CACHE_DIR=$OUT/nss-stores

# ---- inside the outer namespace: generate every backend's files on a tmpfs ----

# passwd_lines N: the accounts every backend holds, in passwd(5) form.
passwd_lines() {
	awk -v n="$1" -v u="$UID0" 'BEGIN {
		for (i = 1; i <= n; i++)
			printf "bsvc%06d:x:%d:64000:bench account %d:/nonexistent:/usr/sbin/nologin\n", i, u + i, i
	}'
}

# cache_index FILE FIELD: libnss-cache's index of FILE by FIELD (1 name, 3 uid), as its
# nsscache tool writes it: one entry per line, "KEY\0OFFSET\0" padded with NULs to one
# width for all, sorted by KEY in byte order, OFFSET the entry's line in FILE. The
# module binary-searches it (and falls back to a linear scan when it is missing or older
# than FILE, which would make it look like files).
cache_index() {
	awk -F: -v f="$2" '{ printf "%s\001%d\n", $f, off; off += length($0) + 1 }' "$1" |
		LC_ALL=C sort |
		awk -F'\001' '
		{ k[NR] = $1; o[NR] = $2; l = length($1) + length($2) + 2; if (l > w) w = l }
		END {
			for (i = 1; i <= NR; i++) {
				s = k[i] "\001" o[i] "\001"
				while (length(s) < w + 1) s = s "\001"
				print s
			}
		}' | tr '\001' '\000'
}

gen_files() { # N
	d=$N/$1
	mkdir -p "$d/etc" "$d/extrausers"
	passwd_lines "$1" >"$d/etc/passwd"
	cp "$d/etc/passwd" "$d/extrausers/passwd"
	cp "$d/etc/passwd" "$d/etc/passwd.cache"
	cache_index "$d/etc/passwd.cache" 1 >"$d/etc/passwd.cache.ixname"
	cache_index "$d/etc/passwd.cache" 3 >"$d/etc/passwd.cache.ixuid"
}

# put_whole SRC DST: a copy written with one write(2), as the store writer writes a store
# (common/store_write.c): cp writes in pieces, and the page cache would then hold it in
# small folios, which a fresh process maps a few pages at a time, unlike a real store's.
put_whole() {
	dd if="$1" of="$2" bs=64M status=none && chmod --reference="$1" "$2" &&
		chown --reference="$1" "$2"
}

# The rotsec store for N accounts, through rotsecctl sync (or the cache of an earlier run).
gen_store() { # N
	d=$N/$1
	key=$(cat "$CTL" | sha256sum | cut -c1-16)
	c=$CACHE_DIR/$1-$key
	if [ ! -f "$c/accounts.cdb" ] || [ ! -f "$c/secrets.cdb" ]; then
		# Built on a tmpfs: a first sync journals every account with an fsync each,
		# minutes for 100,000 on a disk. The store is then kept in the cache.
		f=$N/fast/$1
		bench_conf "$f" bsvc "$1" "$UID0"
		t0=$(date +%s)
		"$CTL" -c "$f/rotsec.conf" sync >/dev/null || return 1
		say "  (store of $1 accounts built with rotsecctl sync in $(($(date +%s) - t0)) s; kept in $CACHE_DIR)" >>"$W/nss-build.log"
		rm -rf "$CACHE_DIR/$1-"*
		mkdir -p "$c" && cp -a "$f/store/accounts.cdb" "$f/store/secrets.cdb" "$c/" || return 1
		rm -rf "$f"
	fi
	mkdir -p "$d/store" && chmod 0755 "$d" "$d/store" &&
		put_whole "$c/accounts.cdb" "$d/store/accounts.cdb" &&
		put_whole "$c/secrets.cdb" "$d/store/secrets.cdb"
}

# One size, inside the namespace in_ns made (its /etc is $N/n/etc over the host's):
# extrausers' directory is bind-mounted too, and every backend runs ROUNDS times, each
# time in a fresh process, the backends in turn. Prints "ROUND BACKEND OP NS".
one_size() { # N
	n=$1
	mount --bind "$N/$n/extrausers" /var/lib/extrausers || return 1
	for r in $(seq 1 "$ROUNDS"); do
		for b in $BACKENDS; do
			case $b in
			files) lib=libc.so.6 svc=files ;;
			extrausers) lib=$EXTRAUSERS svc=extrausers ;;
			cache) lib=$CACHE svc=cache ;;
			rotsec) lib=$MOD svc=rotsec ;;
			esac
			ROTSEC_STORE_DIR=$N/$n/store "$BIN/nss_bench" -r 11 -t 4 "$lib" "$svc" "$n" \
				bsvc "$UID0" >"$N/one.out" || {
				echo "nss_bench $b with $n accounts failed" >&2
				return 1
			}
			sed "s/^/$r $b /" "$N/one.out"
		done
		# rotsec with the smallest store, in the same round: the "flat" target pairs
		# the large store with it, as the other targets pair backends.
		if [ -n "$WITH_ROTSEC" ] && [ "$n" != "$SMALL" ]; then
			ROTSEC_STORE_DIR=$N/$SMALL/store "$BIN/nss_bench" -r 11 -t 4 "$MOD" rotsec \
				"$SMALL" bsvc "$UID0" >"$N/one.out" || return 1
			sed "s/^/$r rotsec_small /" "$N/one.out"
		fi
	done
}

inner() {
	mkdir -p "$N/fast"
	mount --make-rprivate / && mount -t tmpfs -o mode=0755 tmpfs "$N/fast" || return 97
	for n in $SIZES; do
		gen_files "$n" || return 1
		if [ -n "$WITH_ROTSEC" ]; then
			gen_store "$n" || {
				echo "rotsecctl sync of $n accounts failed" >&2
				return 1
			}
		fi
	done
	for n in $SIZES; do
		in_ns "$N/$n/etc" env BENCH_W="$W" BENCH_N="$N" BACKENDS="$BACKENDS" \
			WITH_ROTSEC="$WITH_ROTSEC" sh "$0" --size "$n" >"$W/nss-raw.$n" || return 1
	done
}

case ${1:-} in
--inner)
	inner
	exit
	;;
--size)
	one_size "$2"
	exit
	;;
esac

# ---- outside: which backends, run, report ----
BACKENDS="files extrausers cache"
WITH_ROTSEC=
for lib in $EXTRAUSERS $CACHE; do
	ldconfig -p | grep -q "$lib" || [ -e "/usr/lib/$lib" ] ||
		die "$lib not found: install libnss-extrausers and libnss-cache (make deps)"
done
[ -d /var/lib/extrausers ] || die "/var/lib/extrausers missing (libnss-extrausers)"
if [ -e "$MOD" ]; then
	BACKENDS="$BACKENDS rotsec"
	WITH_ROTSEC=1
fi
mkdir -p "$CACHE_DIR"
N=$(mktemp -d /var/tmp/rotsec-bench-nss.XXXXXX) || die "cannot make a directory in /var/tmp"
chmod 0755 "$N"
trap 'rm -rf "$W" "$N"' EXIT
env BENCH_W="$W" BENCH_N="$N" BACKENDS="$BACKENDS" WITH_ROTSEC="$WITH_ROTSEC" \
	unshare -m sh "$0" --inner || die "the NSS bench failed"

# ---- report ----
say "NSS: passwd lookups per backend (issue 4); ns per call, median of $ROUNDS fresh processes; ratios to files paired per round"
[ -n "$WITH_ROTSEC" ] ||
	say "  nss_rotsec: SKIPPED, $MOD not built (nss_rotsec/ has not landed); the peers still run"
[ ! -f "$W/nss-build.log" ] || cat "$W/nss-build.log"

# "ROUND BACKEND OP NS" -> "ROUND BACKEND:OP NS" for med/pair.
for n in $SIZES; do
	awk '{ print $1, $2 ":" $3, $4 }' "$W/nss-raw.$n" >"$W/nss.$n"
done

OPS="pwnam_hit pwnam_miss pwuid_hit pwuid_miss ent first"
: >"$OUT/nss.tsv"
printf '  %-8s %-10s' accounts backend
for op in $OPS; do printf ' %16s' "$op"; done
echo
for n in $SIZES; do
	for b in $BACKENDS; do
		printf '  %-8s %-10s' "$n" "$b"
		line="$n|$b"
		for op in $OPS; do
			t=$(med "$W/nss.$n" "$b:$op")
			x=$(pair "$W/nss.$n" "$b:$op" "files:$op")
			if [ "$b" = files ]; then
				printf ' %16s' "$(fmt_ns "$t")"
			else
				printf ' %16s' "$(fmt_ns "$t") $(fmt_x "$x")"
			fi
			line="$line|$t|$x"
		done
		echo
		echo "$line" >>"$OUT/nss.tsv"
	done
done
say "  (ent: per entry of a full setpwent/getpwent_r/endpwent pass; first: the first lookup of"
say "   a fresh process, which opens the files (nss_rotsec reads its store into memory then);"
say "   NNx: ratio to files)"

# The targets, for nss_rotsec.
if [ -n "$WITH_ROTSEC" ]; then
	small=$(echo "$SIZES" | awk '{ print $1 }')
	large=$(echo "$SIZES" | awk '{ print $NF }')
	say "  targets (nss_rotsec):"
	for op in pwnam_hit pwnam_miss pwuid_hit pwuid_miss; do
		x=$(pair "$W/nss.$small" "rotsec:$op" "files:$op")
		printf '    %-44s %7s  <= 1.0   %s\n' "$op at $small accounts vs files" "$(fmt_x "$x")" "$(verdict "$x" le 1.0)"
	done
	for op in pwnam_hit pwnam_miss pwuid_hit pwuid_miss; do
		x=$(pair "$W/nss.$large" "rotsec:$op" "rotsec_small:$op")
		printf '    %-44s %7s  <= 1.2   %s\n' "$op at $large vs at $small (flat)" "$(fmt_x "$x")" "$(verdict "$x" le 1.2)"
	done
	for op in pwnam_hit pwnam_miss pwuid_hit pwuid_miss; do
		x=$(pair "$W/nss.$large" "rotsec:$op" "cache:$op")
		printf '    %-44s %7s  <= 0.2   %s\n' "$op at $large vs libnss-cache" "$(fmt_x "$x")" "$(verdict "$x" le 0.2)"
	done
	for n in $SIZES; do
		x=$(pair "$W/nss.$n" "rotsec:ent" "files:ent")
		printf '    %-44s %7s  <= 1.0   %s\n' "enumeration per entry at $n vs files" "$(fmt_x "$x")" "$(verdict "$x" le 1.0)"
	done
fi

# The figure: getpwnam_r hit against the number of accounts, log-log, one line per backend.
{
	printf '# accounts'
	for b in $BACKENDS; do printf ' %s_pwnam_hit %s_pwuid_hit' "$b" "$b"; done
	echo
	for n in $SIZES; do
		printf '%s' "$n"
		for b in $BACKENDS; do
			printf ' %s %s' "$(med "$W/nss.$n" "$b:pwnam_hit")" "$(med "$W/nss.$n" "$b:pwuid_hit")"
		done
		echo
	done
} >"$OUT/nss.dat"
if command -v gnuplot >/dev/null 2>&1; then
	gnuplot -e "datafile='$OUT/nss.dat'; outfile='$OUT/nss.png'; backends='$BACKENDS'" \
		"$top/bench/nss.gp" 2>"$W/gnuplot.err" &&
		say "  plot: $OUT/nss.png (data: $OUT/nss.dat)" ||
		say "  plot: gnuplot failed: $(head -1 "$W/gnuplot.err")"
else
	say "  plot: gnuplot not installed; data in $OUT/nss.dat"
fi
