#!/usr/bin/env python3
"""The message catalogues are complete: po/update-pot extracts every
translatable string of the sources into a fresh .pot (in a temporary
directory), and every msgid of it must have a translation in each po/*.po
(msgcmp: untranslated and fuzzy entries count as missing); msgfmt --check
--statistics must report only translated messages (no fuzzy, no
untranslated), and the .po must hold no msgid the sources no longer have.
Fails when a new English string has no translation.

Usage: check_catalogue.py [--source DIR]. Needs gettext (xgettext, msgcmp,
msgfmt, msgattrib). Last line: "N passed, N failed".
"""
import argparse
import glob
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))
from harness import expect, run_tests  # noqa: E402

SRC = os.path.dirname(os.path.dirname(HERE))
STATE = {}


def sh(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)
    return p.returncode, p.stdout, p.stderr


def pot():
    if "pot" not in STATE:
        d = tempfile.mkdtemp(prefix="smqtt-pot-")
        out = os.path.join(d, "smqtt.pot")
        rc, o, e = sh([os.path.join(SRC, "po", "update-pot"), out])
        expect(rc == 0, "po/update-pot runs", o, e)
        STATE["pot"] = out
    return STATE["pot"]


def msgids(path):
    """The msgids (singular) of a .po/.pot, without the header or obsolete entries."""
    rc, o, e = sh(["msgattrib", "--no-obsolete", "--no-wrap", "--no-location", path])
    expect(rc == 0, "msgattrib reads %s" % path, e)
    ids, cur = [], None
    for line in o.split("\n"):
        m = re.match(r'^msgid (".*")$', line)
        if m:
            cur = [m.group(1)]
            ids.append(cur)
        elif cur is not None and line.startswith('"'):
            cur.append(line)
        else:
            cur = None
    return {"".join(eval(s) for s in parts) for parts in ids} - {""}  # noqa: S307 (C-quoted strings from gettext)


def catalogues():
    pos = sorted(glob.glob(os.path.join(SRC, "po", "*.po")))
    expect(pos, "po/ holds at least one catalogue")
    return pos


def test_sources_have_strings():
    ids = msgids(pot())
    expect(len(ids) > 250, "the sources mark their messages (%d msgids)" % len(ids))
    for s in ("cannot read {option} file {file}", "connection to {where} refused", "result: all checks passed\n"):
        expect(s in ids, "%r is extracted" % s)
    for s in ("Error: Unknown option '%s'.\n", "Error: A TLS error occurred.\n"):
        expect(s not in ids, "mosquitto's own text %r is not extracted (it stays English)" % s)


def test_every_msgid_translated():
    for po in catalogues():
        rc, o, e = sh(["msgcmp", po, pot()])
        expect(rc == 0, "%s translates every msgid of the sources (msgcmp)" % os.path.basename(po), e[-3000:])


def test_no_stale_msgids():
    want = msgids(pot())
    for po in catalogues():
        stale = msgids(po) - want
        expect(not stale, "%s holds no msgid the sources lost (run msgmerge)" % os.path.basename(po), sorted(stale))


def test_msgfmt_statistics():
    for po in catalogues():
        rc, o, e = sh(["msgfmt", "--check", "--statistics", "-o", os.devnull, po])
        expect(rc == 0, "msgfmt --check %s" % po, e)
        expect(re.fullmatch(r"\d+ translated messages?\.\n", e), "%s: all translated, none fuzzy" % po, e)


def test_glossary_heads_the_catalogue():
    for po in catalogues():
        with open(po, encoding="utf-8") as f:
            head = f.read(4000)
        expect("Glossary" in head and 'msgid ""' in head and head.index("Glossary") < head.index('msgid ""'),
               "%s starts with its glossary" % po)


def main():
    global SRC
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", default=SRC)
    ap.add_argument("only", nargs="*")
    opts = ap.parse_args()
    SRC = os.path.abspath(opts.source)
    return run_tests(globals(), lambda t: t(), only=opts.only)


if __name__ == "__main__":
    sys.exit(main())
