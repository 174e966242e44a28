#!/bin/sh
# The folder layout is the design (ARCHITECTURE.md): common/ knows nothing above it, and the
# modules, which are loaded into other people's processes, never include an engine header.
# The Makefile gives each folder only its own include paths, so a plain `#include
# "config.h"` in a module does not compile; this test also catches what the compiler
# cannot: a relative path into another folder ("../engine/config.h"), and two files that
# include each other's headers (a dependency circle, which the layout issue removed).
. "$(dirname "$0")/lib.sh"

# layout_violations ROOT: one line per include that leaves the folders a folder may use.
layout_violations() {
	(
		cd "$1" || exit 1
		for dir in common pam_rotsec nss_rotsec engine rotsecd rotsecctl; do
			[ -d "$dir" ] || continue
			case $dir in
			common) allowed="common" ;;
			pam_rotsec | nss_rotsec) allowed="$dir common" ;;
			engine) allowed="engine common" ;;
			*) allowed="$dir engine common" ;;
			esac
			for f in "$dir"/*.[ch]; do
				[ -f "$f" ] || continue
				sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f" |
					while read -r inc; do
						case $inc in
						*/*)
							echo "$f includes \"$inc\": a path into another folder"
							continue
							;;
						esac
						found=""
						for a in $allowed; do
							[ -f "$a/$inc" ] && found=$a && break
						done
						[ -n "$found" ] ||
							echo "$f includes \"$inc\", which is not in: $allowed"
					done
			done
		done
	)
}

# include_cycles ROOT: pairs of files (by stem: x.c and x.h are one unit) that include
# each other, in any production folder.
include_cycles() {
	(
		cd "$1" || exit 1
		for f in common/*.[ch] pam_rotsec/*.[ch] nss_rotsec/*.[ch] engine/*.[ch] \
			rotsecd/*.[ch] rotsecctl/*.[ch]; do
			[ -f "$f" ] || continue
			stem=$(basename "$f")
			stem=${stem%.*}
			sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)\.h".*/\1/p' "$f" |
				while read -r inc; do
					[ "$inc" = "$stem" ] || echo "$stem $inc"
				done
		done | sort -u >"$T/edges"
		while read -r a b; do
			if grep -qx "$b $a" "$T/edges" && [ "$a" \< "$b" ]; then
				echo "$a and $b include each other"
			fi
		done <"$T/edges"
	)
}

out=$(layout_violations "$top")
check_eq "common/ and the modules include no engine header, the engine no program's" "$out" ""
out=$(include_cycles "$top")
check_eq "no two files include each other" "$out" ""

# The checks themselves: a tree with each kind of violation planted must be caught.
mkdir -p "$T/tree/common" "$T/tree/pam_rotsec" "$T/tree/nss_rotsec" "$T/tree/engine" \
	"$T/tree/rotsecd"
echo '#include "names.h"' >"$T/tree/common/names.c"
: >"$T/tree/common/names.h"
: >"$T/tree/engine/config.h"
: >"$T/tree/rotsecd/scheduler.h"
echo '#include "config.h"' >"$T/tree/pam_rotsec/auth.c"
echo '#include "../engine/config.h"' >"$T/tree/nss_rotsec/nss.c"
printf '#include "scheduler.h"\n#include "config.h"\n' >"$T/tree/engine/engine.c"
out=$(layout_violations "$T/tree")
check_match "a module including an engine header is caught" "$out" 'pam_rotsec/auth.c includes "config.h"'
check_match "a relative path into the engine is caught" "$out" 'nss_rotsec/nss.c includes "../engine/config.h"'
check_match "the engine including a program's header is caught" "$out" 'engine/engine.c includes "scheduler.h"'
check_eq "a folder's own and common/ headers are allowed" \
	"$(echo "$out" | grep -c 'common/names.c')" 0
echo '#include "engine.h"' >"$T/tree/engine/config.c"
: >"$T/tree/engine/engine.h"
out=$(include_cycles "$T/tree")
check_eq "two files including each other are caught" "$out" "config and engine include each other"

# ---- every shell script parses ----
# sh reads a script as it runs it: a syntax error past a test's last check (a stray `fi`
# after done_testing and exit) never fails the test, and leaves dead code that looks alive.
bad=""
for f in "$top"/tests/sh/*.sh "$top"/bench/*.sh "$top"/.ci/deps "$top"/tests/run.sh; do
	sh -n "$f" 2>/dev/null || bad="$bad ${f#"$top"/}"
done
bash -n "$top/.ci/run" 2>/dev/null || bad="$bad .ci/run"
check_eq "every shell script of the tree parses (sh -n)" "$bad" ""
printf 'check ok\n\tdone_testing\n\texit 0\nfi\n' >"$T/broken.sh"
check_fails "and sh -n finds a stray fi after the exit" sh -n "$T/broken.sh"

done_testing
