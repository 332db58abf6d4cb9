"""What every integration script in tests/integration shares (stdlib only):
where the smqtt binaries are, the failure helper, and the runner that runs
the script's test_* functions and prints "ok NAME (N s)" / "FAIL NAME: why"
/ "skip NAME: why" lines and the last line "N passed, N failed" (", N
skipped" added when a test was skipped)."""

import json
import os
import sys
import time
import traceback

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def bindir():
    """Where the smqtt binaries are: $SMQTT_BIN_DIR (absolute, or relative to
    the repo), else build/bin."""
    d = os.environ.get("SMQTT_BIN_DIR") or os.path.join(REPO, "build", "bin")
    return d if os.path.isabs(d) else os.path.join(REPO, d)


def binpath(tool):
    """An smqtt binary, in bindir()."""
    return os.path.join(bindir(), tool)


class Skip(Exception):
    """Raised by a test that cannot run here (not root, a tool missing): the
    runner prints "skip NAME: why" and counts it apart; it is not a failure."""


def expect(cond, what, *details):
    """Fail the test with `what` and the details (shortened) unless cond."""
    if not cond:
        raise AssertionError(what + "".join("\n    " + repr(d)[:2000] for d in details))


def first_line(text):
    """The first non-blank line of text, stripped ("" if none)."""
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def last_json(err):
    """The JSON object on the last line of stderr (--diag-format json)."""
    lines = err.rstrip("\n").split("\n")
    try:
        j = json.loads(lines[-1])
    except ValueError as e:
        raise AssertionError("last stderr line is not JSON: %s\n    %r" % (e, err))
    expect(isinstance(j, dict), "the JSON line is an object", j)
    return j


def run_tests(namespace, call, only=None, teardown=None):
    """Run the test_* functions of namespace (a script's globals()) in name
    order; `only` (default: the command-line arguments) keeps those whose
    name contains one of its words. call(test) runs one test; a test that
    raises Skip is skipped. teardown(), if given, runs after the last test
    (also when the loop is interrupted) and before the summary line; if it
    raises, that counts as a failure. Returns the exit status: 1 if one
    failed."""
    only = sys.argv[1:] if only is None else only
    tests = [v for k, v in sorted(namespace.items()) if k.startswith("test_") and callable(v)]
    passed = failed = skipped = 0
    try:
        for t in tests:
            if only and not any(w in t.__name__ for w in only):
                continue
            t0 = time.monotonic()
            try:
                call(t)
                print("ok %s (%.1f s)" % (t.__name__, time.monotonic() - t0), flush=True)
                passed += 1
            except Skip as e:
                print("skip %s: %s" % (t.__name__, e), flush=True)
                skipped += 1
            except Exception as e:  # noqa: BLE001
                print("FAIL %s: %s" % (t.__name__, e), flush=True)
                if not isinstance(e, AssertionError):
                    traceback.print_exc()
                failed += 1
    finally:
        if teardown:
            try:
                teardown()
            except Exception as e:  # noqa: BLE001
                print("FAIL teardown: %s" % e, flush=True)
                traceback.print_exc()
                failed += 1
    print("%d passed, %d failed" % (passed, failed) + (", %d skipped" % skipped if skipped else ""))
    return 1 if failed else 0
