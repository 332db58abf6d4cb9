#!/usr/bin/env python3
"""check_docs: keep the man pages and shell completions in step with the
option table (common/options.c), as printed by tests/docs/dump_options.

Checks, for each tool (smqtt_pub, smqtt_sub, smqtt_rr):
  * man/<tool>.1 documents every option of the table in its OPTIONS section:
    a .TP entry whose tag names exactly the option's short and long forms in
    bold and its argument (the table's argname) in italics;
  * the integer ranges of the table (min, max) are stated in the entries;
  * every bold option-like word on the page is an option of the tool, an
    option listed in PENDING below, or listed in NOT_OPTIONS;
  * the page has the required sections, its EXIT STATUS section lists the
    tool's codes and names no other tool, FILES names the options file;
  * smqtt_sub.1 and smqtt_rr.1 document every -F conversion and escape accepted by
    check_format() in common/options.c, and @@ and @N;
  * bash (completions/smqtt.bash), zsh (completions/_smqtt) and fish
    (completions/<tool>.fish) offer exactly the tool's options, plus PENDING
    ones; zsh and fish give every option a description and offer every -F
    conversion for smqtt_sub;
and for the other pages:
  * man/smqtt-tls.7 has an entry in its CAUSES section for every cause id of
    the catalogue (the quoted ids of the table in common/explain.c), tagged
    with the id in bold and the cause's stage, and no entry for anything
    else; its EXIT STATUS lists 1, 7, 8 and 27;
  * man/smqtt-profiles.5 has an entry in its KEYS section for every long
    option whose scope is SCOPE_CONN (dump_options --full), tagged with the
    key in bold and its type (string, integer, boolean), and no entry for
    anything else;
  * every long option these two pages name in bold is in the table;
and for every page in man/: the smqtt pages it refers to, e.g.
smqtt-tls(7), exist in man/ in that section, and `mandoc -T lint -W
warning` and `groff -ww -z -man` print nothing. The translated pages in
man/LANG/ (man/zh_CN/smqtt-tls.7) are linted the same way, groff reading
them as UTF-8 for a terminal as man-db does (`groff -k -Tutf8`), with its
"break" warnings off (groff 1.22 cannot break a line between Chinese
characters); a translated smqtt-tls.7 has a CAUSES entry (the id in bold,
the stage) for every cause id, as the English one.

Usage: check_docs.py --dump PATH/TO/dump_options [--source SOURCE_DIR]
(or the environment variables SMQTT_DUMP_OPTIONS and SMQTT_SOURCE_DIR).
The last line printed is "N passed, N failed"; the exit status is 1 when
any check failed.
"""

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys

# Options documented (man pages, completions) before they exist in the option
# table. Remove an entry once the option is in the table: the check fails
# while an entry is both here and in the table. Value: (tools, argname).
PENDING = {
    # e.g. "--profile": (("pub", "sub"), "name"),
}

# Option-like words that a page may mention in bold although the tool does
# not have them (e.g. to say that it does not support them).
NOT_OPTIONS = {
    # -S: mosquitto_pub's DNS SRV option, named where the man page says
    # smqtt does not have it
    "pub": {"-S"},
    "sub": set(),
    "rr": set(),
}

TOOLS = ("pub", "sub", "rr")
SHELL_TIMEOUT = 30

REQUIRED_SECTIONS = [
    "NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS", "FILES",
    "ENVIRONMENT", "DIFFERENCES FROM MOSQUITTO", "EXAMPLES", "SEE ALSO",
]
EXIT_CODES = {"pub": {"0", "1", "7", "8"}, "sub": {"0", "1", "8", "27", "255"},
              "rr": {"0", "1", "7", "8", "27"}}

OPTION_RE = re.compile(r"^--?[A-Za-z][A-Za-z0-9-]*$")


class Results:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, problems, note=None):
        """problems: list of strings; empty means the check passed."""
        if problems:
            self.failed += 1
            print(f"FAIL {name}")
            for p in problems:
                print(f"     {p}")
        else:
            self.passed += 1
            print(f"ok   {name}" + (f" ({note})" if note else ""))


# ---- the option table --------------------------------------------------

class Option:
    def __init__(self, tool, short, long, kind, argname, scope, lo, hi, help_):
        self.tool, self.short, self.long = tool, short, long
        self.kind, self.argname = kind, argname
        self.scope, self.min, self.max, self.help = scope, lo, hi, help_

    @property
    def names(self):
        return [n for n in (self.short, self.long) if n]

    @property
    def label(self):
        return "/".join(self.names)


def load_table(dump):
    out = subprocess.run([dump, "--full"], capture_output=True, text=True,
                         timeout=SHELL_TIMEOUT, check=True).stdout
    table = {t: [] for t in TOOLS}
    for line in out.splitlines():
        f = line.split("\t")
        if len(f) != 9 or f[0] not in TOOLS:
            raise ValueError(f"unexpected dump_options line: {line!r}")
        table[f[0]].append(Option(f[0], f[1], f[2], f[3], f[4], f[5],
                                  int(f[6]), int(f[7]), f[8]))
    return table


# ---- roff --------------------------------------------------------------

def unescape(s):
    """Roff text to plain text (fonts already removed)."""
    s = s.replace("\\-", "-").replace("\\(aq", "'").replace("\\(lq", '"')
    s = s.replace("\\(rq", '"').replace("\\(en", "-").replace("\\&", "")
    s = s.replace("\\ ", " ").replace("\\c", "").replace("\\e", "\\")
    return s


def macro_args(rest):
    """Split the arguments of a macro line, honouring double quotes."""
    args, cur, quoted, has = [], "", False, False
    i = 0
    while i < len(rest):
        c = rest[i]
        if c == '"':
            if quoted and i + 1 < len(rest) and rest[i + 1] == '"':
                cur += '"'
                i += 2
                continue
            quoted = not quoted
            has = True
        elif c in " \t" and not quoted:
            if cur or has:
                args.append(cur)
            cur, has = "", False
        else:
            cur += c
        i += 1
    if cur or has:
        args.append(cur)
    return args


FONT_RE = re.compile(r"\\f(\[[^\]]*\]|\(..|.)")


def segments(line):
    """[(font, plain text)] of one roff line; font is 'B', 'I' or 'R'."""
    if line.startswith("."):
        m = re.match(r"\.(\S+)\s*(.*)", line)
        name, rest = (m.group(1), m.group(2)) if m else ("", "")
        args = macro_args(rest)
        if name in ("B", "I", "SM", "SB"):
            font = "I" if name == "I" else "B"
            return [(font, unescape(FONT_RE.sub("", " ".join(args))))]
        if len(name) == 2 and set(name) <= set("BIR"):
            return [(name[i % 2], unescape(FONT_RE.sub("", a)))
                    for i, a in enumerate(args)]
        return []
    segs, font, pos = [], "R", 0
    for m in FONT_RE.finditer(line):
        segs.append((font, line[pos:m.start()]))
        f = m.group(1).strip("[]()")
        font = "B" if f in ("B", "CB") else "I" if f in ("I", "CI") else "R"
        pos = m.end()
    segs.append((font, line[pos:]))
    return [(f, unescape(t)) for f, t in segs if t]


def bold_words(line):
    words = []
    for font, text in segments(line):
        if font == "B":
            words += [w.strip(",;.()[]{}|") for w in text.split()]
    return words


def italic_text(line):
    return " ".join(t.strip() for f, t in segments(line) if f == "I" and t.strip())


def plain(line):
    if line.startswith(".") and not segments(line):
        return ""
    return "".join(t for _, t in segments(line))


def read_page(path):
    with open(path, encoding="utf-8") as fp:
        lines = [l for l in fp.read().splitlines() if not l.startswith(('.\\"', "'\\\""))]
    sections, name = {}, None
    for l in lines:
        m = re.match(r"\.SH\s+(.*)", l)
        if m:
            name = m.group(1).strip().strip('"')
            sections[name] = []
        elif name:
            sections[name].append(l)
    return lines, sections


def tagged_entries(lines):
    """[(tag lines, body lines)] of the .TP entries in lines."""
    entries, i = [], 0
    while i < len(lines):
        if re.match(r"\.TP\b", lines[i]) and i + 1 < len(lines):
            tags = [lines[i + 1]]
            i += 2
            while i + 1 < len(lines) and re.match(r"\.TQ\b", lines[i]):
                tags.append(lines[i + 1])
                i += 2
            body = []
            while i < len(lines) and not re.match(r"\.(TP|SS|SH|PP|P|LP|IP)\b", lines[i]):
                body.append(lines[i])
                i += 1
            entries.append((tags, body))
        else:
            i += 1
    return entries


# ---- man page checks ---------------------------------------------------

def check_man(res, src, tool, opts):
    prog = f"smqtt_{tool}"
    path = os.path.join(src, "man", f"{prog}.1")
    if not os.path.exists(path):
        res.check(f"{prog}.1 exists", [f"{path} is missing"])
        return
    lines, sections = read_page(path)
    missing = [s for s in REQUIRED_SECTIONS if s not in sections]
    if tool == "sub" and "OUTPUT FORMAT" not in sections:
        missing.append("OUTPUT FORMAT")
    res.check(f"{prog}.1 has the required sections",
              [f"no section {s}" for s in missing])

    entries = tagged_entries(sections.get("OPTIONS", []))
    by_name = {}
    for tags, body in entries:
        for tag in tags:
            names = [w for w in bold_words(tag) if OPTION_RE.match(w)]
            if names:
                by_name.setdefault(frozenset(names), []).append((tag, body))

    problems = []
    for o in opts:
        found = by_name.get(frozenset(o.names))
        if not found:
            problems.append(f"{o.label}: no OPTIONS entry whose tag names exactly "
                            f"{' and '.join(o.names)} in bold")
            continue
        tag, _ = found[0]
        want = o.argname if o.kind != "NONE" else ""
        got = italic_text(tag)
        if got != want:
            problems.append(f"{o.label}: tag argument is {got!r} in italics, "
                            f"the table says {want!r}")
    res.check(f"{prog}.1 documents every {prog} option of the table", problems)

    problems = []
    for o in opts:
        if o.kind not in ("INT", "REAL") or (o.min == 0 and o.max == 0):
            continue
        found = by_name.get(frozenset(o.names))
        if not found:
            continue
        text = " ".join(plain(l) for l in found[0][1])
        for n in (o.min, o.max):
            if not re.search(rf"(?<![\d.]){n}(?!\d)", text):
                problems.append(f"{o.label}: range bound {n} not stated")
    res.check(f"{prog}.1 states the ranges of the integer options", problems)

    known = {n for o in opts for n in o.names}
    pending = {n for n, (tools, _) in PENDING.items() if tool in tools}
    problems = []
    documented = set()
    for l in lines:
        for w in bold_words(l):
            if OPTION_RE.match(w):
                documented.add(w)
                if w not in known and w not in pending and w not in NOT_OPTIONS[tool]:
                    problems.append(f"{w} is not an option of {prog} "
                                    f"(not in the table, PENDING or NOT_OPTIONS)")
    for n in sorted(pending):
        if frozenset([n]) not in by_name:
            problems.append(f"pending option {n} has no OPTIONS entry")
        else:
            want = PENDING[n][1] or ""
            got = italic_text(by_name[frozenset([n])][0][0])
            if got != want:
                problems.append(f"{n}: tag argument is {got!r}, PENDING says {want!r}")
    res.check(f"{prog}.1 names no unknown option", sorted(set(problems)))

    exit_lines = sections.get("EXIT STATUS", [])
    codes = set()
    for tags, _ in tagged_entries(exit_lines):
        for tag in tags:
            codes.update(re.findall(r"\d+", plain(tag)))
    problems = [f"EXIT STATUS does not list {c}" for c in sorted(EXIT_CODES[tool] - codes, key=int)]
    text = " ".join(plain(l) for l in exit_lines)
    for other in TOOLS:
        for wrong in (f"smqtt_{other}", f"mosquitto_{other}"):
            if other != tool and wrong in text:
                problems.append(f"EXIT STATUS names {wrong}")
    res.check(f"{prog}.1 EXIT STATUS", problems)

    text = " ".join(plain(l) for l in sections.get("FILES", []))
    problems = [f"FILES does not name {f}" for f in
                (f"$XDG_CONFIG_HOME/mosquitto_{tool}", f"~/.config/mosquitto_{tool}")
                if f not in text]
    res.check(f"{prog}.1 FILES names the options file", problems)

    if tool == "sub":
        specs, escapes = format_sequences(src)
        tags = set()
        for tags_, _ in tagged_entries(sections.get("OUTPUT FORMAT", [])):
            for t in tags_:
                tags.update(w for f, txt in segments(t) if f == "B" for w in txt.split())
        wanted = [f"%{c}" for c in specs] + [f"\\{c}" for c in escapes] + ["@@", "@N"]
        res.check(f"{prog}.1 OUTPUT FORMAT documents every -F sequence",
                  [f"no OUTPUT FORMAT entry for {w}" for w in wanted if w not in tags])


def format_sequences(src):
    """The -F conversions and escapes accepted by check_format()."""
    with open(os.path.join(src, "common", "options.c"), encoding="utf-8") as fp:
        text = fp.read()

    def cstring(name):
        m = re.search(rf"{name}\[\]\s*=\s*\"((?:[^\"\\]|\\.)*)\"", text)
        if not m:
            raise ValueError(f"{name}[] not found in common/options.c")
        return re.sub(r"\\(.)", r"\1", m.group(1))

    return cstring("specs"), cstring("escapes")


def translated_pages(src):
    """The man pages in man/LANG/ (translations)."""
    return sorted(glob.glob(os.path.join(src, "man", "*", "*.[1-9]")))


def check_lint(res, src):
    pages = sorted(glob.glob(os.path.join(src, "man", "*.[1-9]")))
    localized = translated_pages(src)
    for tool, cmd in (("mandoc", ["mandoc", "-T", "lint", "-W", "warning"]),
                      ("groff", ["groff", "-ww", "-z", "-man"])):
        if not shutil.which(tool):
            res.check(f"{tool} lint of man/", [f"{tool} is not installed"])
            continue
        for page in pages + localized:
            c = list(cmd)
            if tool == "groff" and page in localized:
                c = ["groff", "-k", "-Tutf8", "-ww", "-Wbreak", "-z", "-man"]
            p = subprocess.run(c + [page], capture_output=True, text=True,
                               timeout=SHELL_TIMEOUT)
            out = (p.stdout + p.stderr).strip()
            problems = out.splitlines() if out else []
            if p.returncode:
                problems.append(f"exit status {p.returncode}")
            res.check(f"{' '.join(c)} {os.path.relpath(page, src)}", problems)


# ---- smqtt-tls(7) and smqtt-profiles(5) --------------------------------

TLS_PAGE = "smqtt-tls.7"
PROFILES_PAGE = "smqtt-profiles.5"
TLS_SECTIONS = ["NAME", "DESCRIPTION", "REPORTS", "CAUSES", "TLS VERSIONS", "PROBES",
                "EXIT STATUS", "EXAMPLES", "SEE ALSO"]
TLS_EXIT_CODES = {"1", "7", "8", "27"}
PROFILES_SECTIONS = ["NAME", "DESCRIPTION", "FILES", "SYNTAX", "HOSTS", "KEYS", "PATHS",
                     "ERRORS", "EXAMPLES", "SEE ALSO"]
KEY_TYPES = {"NONE": "boolean", "INT": "integer", "REAL": "number", "STR": "string",
             "SPECIAL": "string"}
STAGE_NAMES = {"STAGE_PROFILE": "profile", "STAGE_PREFLIGHT": "preflight",
               "STAGE_RESOLVE": "resolve", "STAGE_TCP": "tcp", "STAGE_TLS": "tls",
               "STAGE_WS": "websocket", "STAGE_MQTT": "mqtt"}


def cause_catalogue(src):
    """[(id, stage name)] of the cause table in common/explain.c, in order."""
    with open(os.path.join(src, "common", "explain.c"), encoding="utf-8") as fp:
        text = fp.read()
    m = re.search(r"struct\s+cause_info\s+table\s*\[[^\]]*\]\s*=\s*\{(.*?)\n\};", text, re.S)
    if not m:
        raise ValueError("the cause table (struct cause_info table[]) not found in common/explain.c")
    macros = dict(re.findall(r"#define\s+(\w+)\s+(STAGE_\w+)", text))
    rows = []
    for cid, stage in re.findall(r"\{\s*CAUSE_\w+\s*,\s*\"([^\"]+)\"\s*,\s*(\w+)", m.group(1)):
        stage = macros.get(stage, stage)
        rows.append((cid, STAGE_NAMES.get(stage, stage)))
    if not rows:
        raise ValueError("no cause ids found in the table of common/explain.c")
    return rows


def page_entries(section_lines):
    """{bold word of a tag: [(plain text of the tag, body lines)]}."""
    found = {}
    for tags, body in tagged_entries(section_lines):
        for tag in tags:
            for w in bold_words(tag):
                found.setdefault(w, []).append((plain(tag), body))
    return found


def check_long_options(res, name, lines, table):
    known = {o.long for t in TOOLS for o in table[t] if o.long} | set(PENDING)
    bad = set()
    for l in lines:
        for w in bold_words(l):
            if w.startswith("--") and OPTION_RE.match(w) and w not in known:
                bad.add(w)
    res.check(f"{name} names only options of the table in bold",
              [f"{w} is not an option of smqtt_pub or smqtt_sub" for w in sorted(bad)])


def check_tls_page(res, src, table):
    path = os.path.join(src, "man", TLS_PAGE)
    if not os.path.exists(path):
        res.check(f"{TLS_PAGE} exists", [f"{path} is missing"])
        return
    lines, sections = read_page(path)
    res.check(f"{TLS_PAGE} has the required sections",
              [f"no section {s}" for s in TLS_SECTIONS if s not in sections])
    try:
        causes = cause_catalogue(src)
    except (OSError, ValueError) as e:
        res.check(f"{TLS_PAGE} documents every cause of common/explain.c", [str(e)])
        return
    entries = page_entries(sections.get("CAUSES", []))
    problems = []
    for cid, stage in causes:
        if cid not in entries:
            problems.append(f"{cid}: no CAUSES entry tagged with it in bold")
        elif not any(re.search(rf"\(\s*{re.escape(stage)}\s*\)", tag) for tag, _ in entries[cid]):
            problems.append(f"{cid}: its tag does not give its stage as ({stage})")
        elif not any(" ".join(plain(l) for l in body).strip() for _, body in entries[cid]):
            problems.append(f"{cid}: its entry is empty")
    ids = {c for c, _ in causes}
    problems += [f"CAUSES has an entry for {w}, which is not a cause id of common/explain.c"
                 for w in sorted(entries) if w not in ids]
    res.check(f"{TLS_PAGE} documents every cause of common/explain.c ({len(causes)} ids)", problems)

    codes = set()
    for tags, _ in tagged_entries(sections.get("EXIT STATUS", [])):
        for tag in tags:
            codes.update(re.findall(r"\d+", plain(tag)))
    res.check(f"{TLS_PAGE} EXIT STATUS",
              [f"EXIT STATUS does not list {c}" for c in sorted(TLS_EXIT_CODES - codes, key=int)])
    check_long_options(res, TLS_PAGE, lines, table)


def check_translated_tls_pages(res, src):
    """Each man/LANG/smqtt-tls.7 has a CAUSES-like entry for every cause id."""
    causes = cause_catalogue(src)
    for path in translated_pages(src):
        if os.path.basename(path) != TLS_PAGE:
            continue
        rel = os.path.relpath(path, src)
        lines, _ = read_page(path)
        entries = page_entries(lines)
        problems = []
        for cid, stage in causes:
            if cid not in entries:
                problems.append(f"{cid}: no entry tagged with it in bold")
            elif not any(re.search(rf"\(\s*{re.escape(stage)}\s*\)", tag) for tag, _ in entries[cid]):
                problems.append(f"{cid}: its tag does not give its stage as ({stage})")
        res.check(f"{rel} documents every cause of common/explain.c ({len(causes)} ids)", problems)


def check_profiles_page(res, src, table):
    path = os.path.join(src, "man", PROFILES_PAGE)
    if not os.path.exists(path):
        res.check(f"{PROFILES_PAGE} exists", [f"{path} is missing"])
        return
    lines, sections = read_page(path)
    res.check(f"{PROFILES_PAGE} has the required sections",
              [f"no section {s}" for s in PROFILES_SECTIONS if s not in sections])

    keys = {}
    for t in TOOLS:
        for o in table[t]:
            if o.scope == "CONN" and o.long:
                keys[o.long[2:]] = KEY_TYPES.get(o.kind, o.kind)
    entries = page_entries(sections.get("KEYS", []))
    problems = []
    for key, typ in sorted(keys.items()):
        if key not in entries:
            problems.append(f"{key}: no KEYS entry tagged with it in bold")
        elif not any(re.search(rf"\(\s*{typ}\s*\)", tag) for tag, _ in entries[key]):
            problems.append(f"{key}: its tag does not give its type as ({typ})")
    problems += [f"KEYS has an entry for {w}, which is not a long option with scope SCOPE_CONN"
                 for w in sorted(entries) if w not in keys]
    res.check(f"{PROFILES_PAGE} lists every profile key (SCOPE_CONN long options, "
              f"{len(keys)} keys) with its type", problems)

    text = " ".join(plain(l) for l in sections.get("FILES", []))
    res.check(f"{PROFILES_PAGE} FILES names the profile files in their order",
              [f"FILES does not name {f}" for f in
               ("SMQTT_PROFILES", "$XDG_CONFIG_HOME/smqtt/profiles.conf", "~/.config/smqtt/profiles.conf",
                "$XDG_CONFIG_HOME/smqtt/profiles.d/*.conf", "/etc/smqtt/profiles.conf")
               if f not in text])
    check_long_options(res, PROFILES_PAGE, lines, table)


REF_RE = re.compile(r"\b(smqtt[-_][A-Za-z0-9_-]*)\((\d)\)")


def check_references(res, src):
    pages = sorted(glob.glob(os.path.join(src, "man", "*.[1-9]")))
    have = {os.path.basename(p) for p in pages}
    for page in pages:
        lines, _ = read_page(page)
        refs = set()
        for l in lines:
            refs.update(REF_RE.findall(plain(l)))
        res.check(f"{os.path.relpath(page, src)} refers only to existing smqtt pages",
                  [f"refers to {n}({s}), but there is no man/{n}.{s}"
                   for n, s in sorted(refs) if f"{n}.{s}" not in have])


# ---- completion checks -------------------------------------------------

def compare(expected, offered, what):
    problems = [f"{what} does not offer {o}" for o in sorted(expected - offered)]
    problems += [f"{what} offers {o}, which is not an option (not in the table or PENDING)"
                 for o in sorted(offered - expected)]
    return problems


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=SHELL_TIMEOUT, **kw)


def bash_options(src, prog):
    script = (f'source "$1" || exit 1\n'
              f'complete -p {prog} | grep -q -- "-F _smqtt" || exit 3\n'
              f'COMP_WORDS=({prog} -); COMP_CWORD=1; COMP_LINE="{prog} -"; COMP_POINT=${{#COMP_LINE}}\n'
              f'_smqtt {prog} - {prog}\n'
              f'printf "%s\\n" "${{COMPREPLY[@]}}"\n')
    p = run(["bash", "--norc", "--noprofile", "-c", script, "bash",
             os.path.join(src, "completions", "smqtt.bash")])
    if p.returncode:
        raise RuntimeError(f"bash exited with {p.returncode}: {p.stderr.strip()}")
    return set(p.stdout.split())


def zsh_specs(src, prog):
    """The _arguments specs of completions/_smqtt for prog, via a stub."""
    script = ('fpath=("$1" $fpath)\n'
              'autoload -Uz +X _smqtt || exit 1\n'
              '_arguments() { print -rl -- "$@" }\n'
              f'service={prog}; words=({prog} ""); CURRENT=2\n'
              '_smqtt\n')
    p = run(["zsh", "-f", "-c", script, "zsh", os.path.join(src, "completions")])
    if p.returncode:
        raise RuntimeError(f"zsh exited with {p.returncode}: {p.stderr.strip()}")
    lines = p.stdout.splitlines()
    if ":" in lines:
        lines = lines[lines.index(":") + 1:]
    specs = {}
    for l in lines:
        m = re.match(r"^(?:\([^)]*\))?[*]?(--?[A-Za-z0-9][A-Za-z0-9-]*)([+=]?)(\[[^\]]*\])?", l)
        if m:
            specs[m.group(1)] = (m.group(3) or "").strip("[]")
    return specs


def fish_options(src, prog):
    path = os.path.join(src, "completions", f"{prog}.fish")
    script = (f'source "$argv[1]"; or exit 1\n'
              f'complete -C "{prog} -"\n'
              f'complete -C "{prog} --"\n')
    p = run(["fish", "--no-config", "-c", script, path])
    if p.returncode:
        raise RuntimeError(f"fish exited with {p.returncode}: {p.stderr.strip()}")
    opts = {}
    for l in p.stdout.splitlines():
        name, _, desc = l.partition("\t")
        if OPTION_RE.match(name):
            opts[name] = desc
    return opts


def fish_text_options(src, prog):
    opts = {}
    with open(os.path.join(src, "completions", f"{prog}.fish"), encoding="utf-8") as fp:
        for l in fp:
            if not re.match(rf"\s*complete\s+-c\s+{prog}\b", l):
                continue
            desc = re.search(r"-d\s+'((?:[^'\\]|\\.)*)'", l)
            for m in re.finditer(r"\s-(s|l)\s+(\S+)", l):
                name = ("-" if m.group(1) == "s" else "--") + m.group(2)
                opts[name] = desc.group(1) if desc else ""
    return opts


def check_completions(res, src, tool, opts, specs):
    prog = f"smqtt_{tool}"
    expected = {n for o in opts for n in o.names}
    expected |= {n for n, (tools, _) in PENDING.items() if tool in tools}

    try:
        res.check(f"bash completion offers exactly the {prog} options",
                  compare(expected, bash_options(src, prog), "completions/smqtt.bash"))
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        res.check(f"bash completion offers exactly the {prog} options", [str(e)])

    name = f"zsh completion offers exactly the {prog} options, with descriptions"
    if shutil.which("zsh"):
        try:
            zs = zsh_specs(src, prog)
            problems = compare(expected, set(zs), "completions/_smqtt")
            problems += [f"completions/_smqtt: {o} has no description"
                         for o, d in sorted(zs.items()) if not d.strip()]
            res.check(name, problems)
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
            res.check(name, [str(e)])
    else:
        with open(os.path.join(src, "completions", "_smqtt"), encoding="utf-8") as fp:
            text = fp.read()
        words = set(re.findall(r"(?<![A-Za-z0-9-])--?[A-Za-z0-9][A-Za-z0-9-]*", text))
        res.check(name, [f"completions/_smqtt does not mention {o}"
                         for o in sorted(expected - words)],
                  note="zsh not installed: text checked only")

    name = f"fish completion offers exactly the {prog} options, with descriptions"
    note = None
    try:
        if shutil.which("fish"):
            fo = fish_options(src, prog)
        else:
            fo, note = fish_text_options(src, prog), "fish not installed: text checked only"
        problems = compare(expected, set(fo), f"completions/{prog}.fish")
        problems += [f"completions/{prog}.fish: {o} has no description"
                     for o, d in sorted(fo.items()) if not d.strip()]
        res.check(name, problems, note=note)
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        res.check(name, [str(e)])

    if tool in ("sub", "rr"):
        wanted = {f"%{c}" for c in specs}
        name = "zsh and fish offer every -F conversion with its meaning"
        problems = []
        with open(os.path.join(src, "completions", "_smqtt"), encoding="utf-8") as fp:
            ztext = fp.read()
        for w in sorted(wanted):
            if not re.search(rf"'{re.escape(w)}:[^']+'", ztext):
                problems.append(f"completions/_smqtt: -F does not offer {w} with a description")
        if shutil.which("fish"):
            try:
                p = run(["fish", "--no-config", "-c",
                         f'source "$argv[1]"; or exit 1; complete -C "{prog} -F %"',
                         os.path.join(src, "completions", f"{prog}.fish")])
                offered = {}
                for l in p.stdout.splitlines():
                    k, _, d = l.partition("\t")
                    offered[k] = d
                for w in sorted(wanted):
                    if not offered.get(w, "").strip():
                        problems.append(f"completions/{prog}.fish: -F does not offer {w} "
                                        f"with a description")
            except (OSError, subprocess.TimeoutExpired) as e:
                problems.append(str(e))
        res.check(name, problems)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dump", default=os.environ.get("SMQTT_DUMP_OPTIONS"),
                    help="path of the dump_options program")
    ap.add_argument("--source", default=os.environ.get("SMQTT_SOURCE_DIR",
                    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")),
                    help="the smqtt source directory")
    args = ap.parse_args()
    res = Results()
    src = os.path.abspath(args.source)

    table = None
    if not args.dump:
        res.check("dump_options runs", ["no --dump PATH (or SMQTT_DUMP_OPTIONS) given"])
    else:
        try:
            table = load_table(args.dump)
            res.check("dump_options prints the option table",
                      [f"no {t} options" for t in TOOLS if not table[t]])
        except (OSError, ValueError, subprocess.SubprocessError) as e:
            res.check("dump_options prints the option table", [str(e)])
            table = None

    if table:
        in_table = {n for t in TOOLS for o in table[t] for n in o.names}
        res.check("PENDING lists only options not yet in the table",
                  [f"{n} is in the option table now: remove it from PENDING in {__file__}"
                   for n in sorted(PENDING) if n in in_table])
        specs = format_sequences(src)[0]
        for tool in TOOLS:
            check_man(res, src, tool, table[tool])
        check_tls_page(res, src, table)
        check_translated_tls_pages(res, src)
        check_profiles_page(res, src, table)
        for tool in TOOLS:
            check_completions(res, src, tool, table[tool], specs)

    check_references(res, src)
    check_lint(res, src)
    print(f"{res.passed} passed, {res.failed} failed")
    return 1 if res.failed else 0


if __name__ == "__main__":
    sys.exit(main())
