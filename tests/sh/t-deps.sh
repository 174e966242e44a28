#!/bin/sh
# Every command the tests run comes from a Debian package that .ci/deps installs (or from
# one that every Debian system has: Essential or priority required), so that `make check`
# passes on a fresh machine and not only where someone installed a tool by hand. The
# commands are found by tests/sh/commands.py, which scans the test scripts; each is looked
# up the way the tests run it (PATH of the system directories only, see tests/run.sh) and
# its package asked of dpkg.
. "$(dirname "$0")/lib.sh"

SYSPATH=/usr/sbin:/usr/bin:/sbin:/bin

# owner PATH: the package that owns the file PATH, trying it as written and resolved,
# with and without the /usr prefix (merged /usr: dpkg may know /bin/sh as /usr/bin/sh).
owner() {
	for p in "$1" "$(readlink -f "$1")"; do
		for q in "$p" "${p#/usr}" "/usr$p"; do
			pkg=$(dpkg -S "$q" 2>/dev/null | grep -v '^diversion' | head -1 | cut -d: -f1)
			[ -n "$pkg" ] && echo "$pkg" && return 0
		done
	done
	return 1
}

# missing_deps DEPS FILE...: one line per command that no package of DEPS (a file, one
# package a line) or of the base system provides.
missing_deps() {
	deps=$1
	shift
	dpkg-query -W -f='${Package} ${Essential} ${Priority}\n' |
		awk '$2 == "yes" || $3 == "required" { print $1 }' >"$T/base"
	# What the listed packages depend on is installed with them.
	# shellcheck disable=SC2046
	apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
		--no-replaces --no-enhances $(cat "$deps") 2>/dev/null |
		sed -n 's/^ *\(Pre\)\{0,1\}Depends: \([^ <]*\).*/\2/p' | sort -u >>"$T/base"
	/usr/bin/python3 "$top/tests/sh/commands.py" "$@" | while read -r name where; do
		case $name in
		rotsec* | */rotsec*) continue ;; # rotsec's own programs
		# written by t-deb inside its namespace (Debian's switch that keeps maintainer
		# scripts from starting services), not a program any package provides
		/usr/sbin/policy-rc.d) continue ;;
		esac
		case $name in
		/*) path=$name ;;
		*) path=$(PATH=$SYSPATH command -v "$name" 2>/dev/null) ;;
		esac
		case $path in
		/*) ;;
		*)
			echo "$name ($where) is not installed: add its package to .ci/deps"
			continue
			;;
		esac
		if ! pkg=$(owner "$path"); then
			echo "$name ($where) is $path, which no Debian package installed"
			continue
		fi
		pkg=${pkg%%,*}
		grep -qx "$pkg" "$deps" || grep -qx "$pkg" "$T/base" ||
			echo "$name ($where) comes from package $pkg, which .ci/deps does not install"
	done
}

scripts=$(ls "$top"/tests/sh/*.sh "$top"/tests/run.sh "$top"/tests/demo.sh "$top"/tests/fuzz/*.sh)
sh "$top/.ci/deps" --list | tr ' ' '\n' | sed '/^$/d' >"$T/deps"
# shellcheck disable=SC2086
out=$(missing_deps "$T/deps" $scripts)
check_eq "every command the tests run comes from a package .ci/deps installs" "$out" ""

# The check itself: a script that runs a command from a package left out of the list, and
# one that is not installed at all, are both caught; shell functions and builtins are not
# commands.
cat >"$T/planted-test" <<'S'
ok() { echo ok; }
ok "pamtester is only a word here"
x=$(pamtester login nobody authenticate 2>&1 | head -1)
if true; then no-such-command-rotsec --now; fi
case $x in pamtester) : ;; esac
S
grep -vx pamtester "$T/deps" >"$T/deps-less"
out=$(missing_deps "$T/deps-less" "$T/planted-test")
check_match "a command whose package .ci/deps leaves out is caught" "$out" \
	'^pamtester \(.*planted-test:3\) comes from package pamtester'
check_match "a command that is not installed is caught" "$out" \
	'^no-such-command-rotsec \(.*:4\) is not installed'
check_eq "functions, builtins, words in strings and case patterns are not commands" \
	"$(echo "$out" | wc -l | tr -d ' ')" 2

# The tests run with the system's PATH, so that a tool installed by hand elsewhere
# (/usr/local, a language version manager) cannot stand in for a Debian package.
check_eq "the tests run with the system directories as PATH" "$PATH" "$SYSPATH"

done_testing
