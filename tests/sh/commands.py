#!/usr/bin/env python3
"""List the commands that shell scripts run.

    commands.py FILE...

prints one line per command: NAME<TAB>FILE:LINE (the first place it is run). A command is
the first word of a simple command (after a newline, ;, |, &&, ||, (, $(, `, or a keyword
such as then/do/else), or the word after a wrapper that runs its arguments as a command
(exec, nice, timeout, env, unshare, setpriv, xargs, ...), or an absolute path of a program
(/usr/sbin/sshd) anywhere. Strings given to `sh -c`, `bash -c` and here-documents are
scanned as shell too: tests write scripts that way. Function names defined in the files,
variables ($X), shell builtins and keywords are not commands.

This is a scanner, not a shell parser: it errs towards listing too much. The test that uses
it (t-deps.sh) checks each name against the packages .ci/deps installs, so a word taken
for a command by mistake shows up there and can be fixed in the script or listed as an
exception with its reason.
"""
import re
import sys

KEYWORDS = {
    "if", "then", "else", "elif", "fi", "do", "done", "while", "until", "for", "in",
    "case", "esac", "!", "{", "}", "function", "select", "time", "[[", "]]", "coproc",
}
BUILTINS = {
    ".", ":", "[", "alias", "bg", "break", "cd", "command", "continue", "declare", "echo",
    "eval", "exit", "export", "false", "fg", "getopts", "hash", "jobs", "kill", "let",
    "local", "printf", "pwd", "read", "readonly", "return", "set", "shift", "source",
    "test", "times", "trap", "true", "type", "typeset", "ulimit", "umask", "unalias",
    "unset", "wait", "builtin", "enable", "mapfile", "readarray", "shopt", "disown",
    "exec", "complete", "compgen", "compopt", "pushd", "popd", "dirs", "caller",
}
# Wrappers: their first non-option argument (after the listed number of option arguments
# that take a value) is itself a command.
WRAPPERS = {
    "exec", "nice", "nohup", "env", "timeout", "unshare", "setpriv", "xargs", "stdbuf",
    "ionice", "chrt", "taskset", "setsid", "runuser", "chroot", "nsenter", "faketime",
    "valgrind", "strace", "sudo", "fakeroot", "command", "builtin", "ip", "flock",
    "systemd-run", "script", "watch", "busybox", "dbus-run-session", "time", "then",
}
# Options of wrappers that take a separate value ("timeout -s KILL 5 cmd").
OPTS_WITH_VALUE = {
    "nice": {"-n"}, "timeout": {"-s", "-k", "--signal", "--kill-after"},
    "setpriv": {"--reuid", "--regid", "--groups", "--inh-caps", "--bounding-set",
                "--securebits", "--pdeathsig", "--ambient-caps", "--selinux-label",
                "--apparmor-profile"},
    "runuser": {"-u", "-g", "-G", "-s", "--user", "--group", "--shell"},
    "xargs": {"-I", "-n", "-P", "-L", "-s", "-d", "-E", "-a"},
    "unshare": set(), "stdbuf": set(), "env": {"-u", "-C", "--unset", "--chdir"},
    "flock": {"-w", "-E", "--timeout", "--conflict-exit-code"},
    "valgrind": set(), "strace": {"-o", "-e", "-p", "-s", "-u"},
    "chroot": set(), "nsenter": {"-t", "--target"},
}
# `ip netns exec NS cmd`: handled specially below.

ABS = re.compile(r"(?<![\w./-])(/(?:usr/)?s?bin/[A-Za-z0-9_.+-]+)")
HEREDOC = re.compile(r"<<-?\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1")
FUNCDEF = re.compile(r"^\s*(?:function\s+)?([A-Za-z_][A-Za-z0-9_-]*)\s*\(\)\s*[{(]?", re.M)
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]*")
ASSIGN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\[[^]]*\])?\+?=")


def words(segment):
    """Split one command segment into words, keeping quoted strings as single words
    (quotes removed) and reporting which words were single-quoted or double-quoted."""
    out = []
    i, n = 0, len(segment)
    while i < n:
        c = segment[i]
        if c.isspace():
            i += 1
            continue
        w, quoted = "", False
        while i < n and not segment[i].isspace():
            c = segment[i]
            if c in "'\"":
                q = c
                i += 1
                start = i
                while i < n and segment[i] != q:
                    if q == '"' and segment[i] == "\\":
                        i += 1
                    i += 1
                w += segment[start:i]
                quoted = True
                i += 1
            elif c == "\\" and i + 1 < n:
                w += segment[i + 1]
                i += 2
            else:
                w += c
                i += 1
        out.append((w, quoted))
    return out


def match_paren(text, j):
    """The index just after the ")" that closes a "$(" whose text starts at j, skipping
    quoted strings and nested parentheses."""
    depth, n = 1, len(text)
    while j < n and depth:
        c = text[j]
        if c == "\\":
            j += 2
            continue
        if c == "'":
            k = text.find("'", j + 1)
            j = n if k < 0 else k + 1
            continue
        if c == '"':
            k = j + 1
            while k < n and text[k] != '"':
                if text[k] == "\\":
                    k += 1
                elif text.startswith("$(", k):
                    k = match_paren(text, k + 2) - 1
                k += 1
            j = k + 1
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        j += 1
    return j


def split_segments(text):
    """Split shell text into command segments at separators outside quotes. Returns
    (segment, line offset) pairs, and the strings inside $(...) and backticks as
    segments of their own (recursively)."""
    segs = []
    chain = []  # indexes in segs of the segments joined by | since the last separator
    depth = 0  # open ( of subshells in this text
    cur, line, start_line = "", 1, 1
    i, n = 0, len(text)
    quote = None
    while i < n:
        c = text[i]
        if quote:
            if c == "\\" and quote == '"' and i + 1 < n:
                cur += text[i:i + 2]
                i += 2
                continue
            if quote == '"' and text.startswith("$((", i):
                j = text.find("))", i)
                j = n if j < 0 else j + 2
                line += text[i:j].count("\n")
                cur += "0"
                i = j
                continue
            if quote == '"' and text.startswith("$(", i):
                # a command substitution inside double quotes: its own segment
                j = match_paren(text, i + 2)
                segs.extend((s, l + line - 1) for s, l in split_segments(text[i + 2:j - 1]))
                cur += "$_"
                line += text[i:j].count("\n")
                i = j
                continue
            if c == quote:
                quote = None
            if c == "\n":
                line += 1
            cur += c
            i += 1
            continue
        if c in "'\"":
            quote = c
            cur += c
            i += 1
            continue
        if text.startswith("\\\n", i):  # a line continued
            cur += " "
            line += 1
            i += 2
            continue
        if text.startswith("$((", i) or text.startswith("((", i):
            # arithmetic: no commands inside
            j = text.find("))", i)
            j = n if j < 0 else j + 2
            line += text[i:j].count("\n")
            cur += "0"
            i = j
            continue
        if c == "#" and (not cur or cur[-1].isspace() or cur[-1] in ";|&("):
            while i < n and text[i] != "\n":
                i += 1
            continue
        if text.startswith("$(", i):
            j = match_paren(text, i + 2)
            segs.extend((s, l + line - 1) for s, l in split_segments(text[i + 2:j - 1]))
            cur += "$_"
            line += text[i:j].count("\n")
            i = j
            continue
        if c == "`":
            j = text.find("`", i + 1)
            j = n if j < 0 else j
            segs.extend((s, l + line - 1) for s, l in split_segments(text[i + 1:j]))
            cur += "$_"
            i = j + 1
            continue
        if c == "&" and (cur.endswith(">") or cur.endswith("<") or text.startswith("&>", i)):
            cur += c  # a redirection (2>&1, >&2, &>file), not a separator
            i += 1
            continue
        if c in ";|&()\n":
            if c == "(":
                depth += 1
            if c == ")" and depth == 0:
                # the end of a case pattern ("a | b)"): its words are not commands
                for k in chain:
                    segs[k] = ("", segs[k][1])
                cur = ""
            elif c == ")":
                depth -= 1
            segs.append((cur, start_line))
            if c == "|" and not text.startswith("||", i) and (i == 0 or text[i - 1] != "|"):
                chain.append(len(segs) - 1)
            else:
                chain = []
            cur = ""
            if c == "\n":
                line += 1
            start_line = line
            i += 1
            continue
        cur += c
        i += 1
    segs.append((cur, start_line))
    return segs


def strip_heredocs(text):
    """Return (text with here-document bodies blanked, [(body, first line)])."""
    lines = text.split("\n")
    out, bodies = [], []
    i = 0
    while i < len(lines):
        ln = lines[i]
        out.append(ln)
        m = HEREDOC.search(ln) if "<<" in ln and "<<<" not in ln else None
        i += 1
        if not m:
            continue
        delim = m.group(2)
        # A here-document is shell when it is fed to a shell or written to a .sh file;
        # otherwise it is data (a config, a python script): blanked, not scanned.
        shell = re.search(r"(^|[\s|;(])(ba|da)?sh(\s|$)|\.sh\b", ln[:m.start()]) is not None
        body, first = [], i + 1
        while i < len(lines) and lines[i].strip() != delim:
            body.append(lines[i])
            out.append("")
            i += 1
        if i < len(lines):
            out.append("")
            i += 1
        if shell:
            bodies.append(("\n".join(body), first))
    return "\n".join(out), bodies


_ALT = r"""(?:[^\s()|;&#'"]+|'[^'\n]*'|"[^"\n]*")"""
CASE_PATTERN = re.compile(r"(?m)(^|;;|\bin\b)([ \t]*)(\(?" + _ALT + r"(?:[ \t]*\|[ \t]*" + _ALT + r")*)\)")


def blank_case_patterns(text):
    """Blank the patterns of case branches ("  a | b) cmd ;;"), which look like commands."""
    return CASE_PATTERN.sub(lambda m: m.group(1) + m.group(2) + " " * (len(m.group(3)) + 1),
                            text)


def commands_of(text, funcs, where, found, depth=0):
    text, bodies = strip_heredocs(text)
    text = blank_case_patterns(text)
    for body, first in bodies:
        commands_of(body, funcs, (where[0], where[1] + first - 1), found, depth + 1)
    for m in ABS.finditer(text):
        line = where[1] + text.count("\n", 0, m.start())
        found.setdefault(m.group(1), (where[0], line))
    for seg, line in split_segments(text):
        ws = words(seg)
        k = 0
        expect = True
        wrapper = None
        while k < len(ws):
            w, quoted = ws[k]
            k += 1
            if not expect:
                # sh -c 'script': the script is shell too
                if w in ("-c",) and wrapper in ("sh", "bash", "dash") and k < len(ws):
                    commands_of(ws[k][0], funcs, (where[0], where[1] + line - 1), found,
                                depth + 1)
                    k += 1
                continue
            if not w or ASSIGN.match(w) or w.startswith(("<", ">", "2>", "&")):
                continue
            if w in ("for", "case", "select"):
                expect = False  # for NAME in WORDS; case WORD in: no command follows
                continue
            if w in KEYWORDS:
                continue
            if not NAME.fullmatch(w):
                expect = False  # a case pattern, a test operand: not a command name
                continue
            if wrapper and w.startswith("-"):
                if w in OPTS_WITH_VALUE.get(wrapper, ()):
                    k += 1
                continue
            if wrapper == "timeout" and re.fullmatch(r"[0-9.]+[smhd]?", w):
                continue
            if wrapper == "ip":
                # `ip netns exec NAME cmd`; any other use of ip runs nothing
                if w == "netns" and k + 1 < len(ws) and ws[k][0] == "exec":
                    k += 2
                    continue
                expect = False
                continue
            if wrapper == "faketime" and quoted:
                continue
            if "$" in w or w.startswith(("/", ".", "~")) or "/" in w:
                expect = False  # a variable, or a path: not a command name
                continue
            if w not in funcs and w not in BUILTINS:
                found.setdefault(w, (where[0], where[1] + line - 1))
            if w in WRAPPERS and w not in funcs:
                wrapper = w
                continue
            if w in ("sh", "bash", "dash"):
                wrapper = w
            expect = False


def main(paths):
    texts = {}
    funcs = set()
    for p in paths:
        with open(p, encoding="utf-8", errors="replace") as f:
            texts[p] = f.read()
        funcs.update(FUNCDEF.findall(texts[p]))
    found = {}
    for p in paths:
        commands_of(texts[p], funcs, (p, 1), found)
    for name in sorted(found):
        f, line = found[name]
        print(f"{name}\t{f}:{line}")


if __name__ == "__main__":
    main(sys.argv[1:])
