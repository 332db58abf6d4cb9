#!/usr/bin/env python3
"""smqtt in Chinese (zh_CN.UTF-8): what is translated and what is not.

The scenario lab of test_explain.py (its PKIs, mosquitto listeners, stunnel
and silent peers) is started once; then smqtt_pub runs each failure twice,
with LC_ALL=C and with LANG=zh_CN.UTF-8 (LC_ALL unset), both with
--diag-format json, and:

  * the explanation is Chinese: the "Error:" line and the fix: line hold
    Chinese text; the markers "Error: ", "  why: ", "  fix: " are kept;
  * the exit status and the JSON cause are those of the C locale, and the
    JSON line is English (ASCII) and the same as in the C locale, "it is
    now <time>" aside;
  * --check (passing and failing), the -v trace, warnings and smqtt's own
    usage errors are Chinese; the --check verdicts (pass/FAIL/result) and
    the trace's topic tags stay;
  * stdout of pub/sub runs is byte-identical in both locales;
  * what mosquitto's clients print identically (usage errors, "Error:
    Unknown option", the connection-lost line) is byte-identical too;
  * LANGUAGE=zh_CN alone, under the C locale, gives English.

Skipped when the zh_CN.UTF-8 locale is not installed (tests/run generates
it). Only 127.0.0.0/8 is contacted. Python 3 standard library only.
Last line: "N passed, N failed".
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(REPO, "tests", "lib"))
sys.path.insert(0, HERE)
import test_explain as lab_mod  # noqa: E402
from harness import Skip, binpath, expect, last_json, run_tests  # noqa: E402
from lab_peers import terminate_on_sigterm  # noqa: E402

ZH = "zh_CN.UTF-8"
CJK = re.compile("[\u4e00-\u9fff]")
STATE = {}
# scenarios whose outcome depends on timing (TLS 1.3 client certificates) may
# end in a different but explained way: run those once more when the two
# locales disagree
RETRIES = 3


def zh_available():
    out = subprocess.run(["locale", "-a"], capture_output=True, text=True).stdout.lower().split()
    return "zh_cn.utf8" in out


class Lab(lab_mod.Lab):
    """The scenario lab, its clients run in a chosen locale."""
    locale = "C"
    extra = {}

    def env(self):
        env = super().env()
        env.pop("LC_ALL", None)
        for k in ("LANG", "LANGUAGE", "LC_MESSAGES", "LC_CTYPE"):
            env.pop(k, None)
        if self.locale == "C":
            env["LC_ALL"] = "C"
        else:
            env["LANG"] = self.locale
        env.update(self.extra)
        return env

    def run_in(self, locale, argv, timeout=lab_mod.TIMEOUT, **extra):
        self.locale, self.extra = locale, extra
        try:
            return self.run(argv, timeout)
        finally:
            self.locale, self.extra = "C", {}


def lab():
    if "lab" not in STATE:
        raise Skip("the lab did not start")
    return STATE["lab"]


def norm(text):
    return lab_mod.norm(text)


def is_chinese(s):
    return bool(CJK.search(s))


def scenario_argv(lb, sc):
    return lb.argv(binpath("smqtt_pub"), sc)


def one_scenario(lb, sc):
    argv = scenario_argv(lb, sc) + ["--diag-format", "json"]
    for attempt in range(RETRIES):
        rc_c, out_c, err_c, _ = lb.run_in("C", argv)
        rc_z, out_z, err_z, _ = lb.run_in(ZH, argv)
        j_c, j_z = last_json(err_c), last_json(err_z)
        if (rc_c, j_c["cause"]) == (rc_z, j_z["cause"]) or attempt == RETRIES - 1:
            break
    expect(rc_z == rc_c, "%s: the exit status is the C locale's" % sc.name, rc_c, rc_z, err_z)
    expect(j_z["cause"] == j_c["cause"], "%s: the JSON cause is the C locale's" % sc.name, j_c["cause"], j_z["cause"])
    line = err_z.rstrip("\n").split("\n")[-1]
    expect(line.isascii(), "%s: the JSON line is English" % sc.name, line)
    for k in ("cause", "stage", "summary", "why", "fix", "host", "port"):
        expect(norm(str(j_z[k])) == norm(str(j_c[k])), "%s: JSON %s is the C locale's" % (sc.name, k), j_c[k], j_z[k])
    expect([p["cause"] for p in j_z["problems"]] == [p["cause"] for p in j_c["problems"]],
           "%s: the JSON problems are the C locale's" % sc.name, j_c["problems"], j_z["problems"])
    expect(out_z == out_c, "%s: stdout is the same" % sc.name, out_c, out_z)
    text = err_z.rstrip("\n").split("\n")[:-1]
    errors = [i for i, l in enumerate(text) if l.startswith("Error: ")]
    expect(errors, "%s: an Error: line" % sc.name, err_z)
    i = errors[0]
    expect(is_chinese(text[i]), "%s: the Error: line is Chinese" % sc.name, text[i])
    expect(i + 2 < len(text) and text[i + 1].startswith("  why: ") and text[i + 2].startswith("  fix: "),
           "%s: why: and fix: follow, markers in English" % sc.name, err_z)
    expect(is_chinese(text[i + 2]), "%s: the fix: line is Chinese" % sc.name, text[i + 2])
    expect(is_chinese(text[i + 1]), "%s: the why: line is Chinese" % sc.name, text[i + 1])
    expect(not is_chinese(err_c), "%s: the C locale's text is English" % sc.name, err_c)


def test_scenarios_explained_in_chinese():
    lb = lab()
    problems = []
    for sc in lab_mod.SCENARIOS:
        try:
            one_scenario(lb, sc)
        except AssertionError as e:
            problems.append(str(e))
    expect(not problems, "%d of %d scenarios: %s" % (len(problems), len(lab_mod.SCENARIOS), "\n".join(problems)))


def check_argv(lb, port, *extra):
    return [binpath("smqtt_pub"), "-h", "127.0.0.1", "-p", str(port), "-t", "lab/l10n", "-m", "x", "--check"] + list(extra)


def test_check_report_in_chinese():
    lb = lab()
    ok = check_argv(lb, lb.m.port("good"), "--cafile", lb.f("good/ca.crt"))
    rc_c, out_c, err_c, _ = lb.run_in("C", ok)
    rc_z, out_z, err_z, _ = lb.run_in(ZH, ok)
    expect(rc_c == 0 and rc_z == 0, "--check passes in both locales", rc_c, rc_z, out_c, out_z, err_z)
    expect("result: all checks passed" in out_c, "C: the English verdict", out_c)
    expect(re.search(r"^result: \S*[\u4e00-\u9fff]", out_z, re.M), "zh: the result line is Chinese", out_z)
    expect(re.search(r"^  pass  .*[\u4e00-\u9fff]", out_z, re.M), "zh: pass lines are Chinese, the tag stays", out_z)
    expect(len(out_z.splitlines()) == len(out_c.splitlines()), "the same lines", out_c, out_z)
    bad = check_argv(lb, lb.m.port("good"), "--cafile", lb.f("good/server.crt"))
    rc_c, out_c, err_c, _ = lb.run_in("C", bad)
    rc_z, out_z, err_z, _ = lb.run_in(ZH, bad)
    expect(rc_c == rc_z == 1, "a failing --check exits 1 in both locales", rc_c, rc_z)
    expect(re.search(r"^  FAIL  .*[\u4e00-\u9fff]", out_z, re.M), "zh: the FAIL line is Chinese", out_z)
    expect(re.search(r"^        why: .*[\u4e00-\u9fff]", out_z, re.M), "zh: its why: is Chinese", out_z)
    expect(not is_chinese(out_c), "C: English", out_c)


def test_trace_in_chinese():
    lb = lab()
    argv = [binpath("smqtt_pub"), "-h", "127.0.0.1", "-p", str(lb.m.port("good")), "--cafile", lb.f("good/ca.crt"),
            "-t", "lab/l10n", "-m", "x", "--trace"]
    rc_c, out_c, err_c, _ = lb.run_in("C", argv)
    rc_z, out_z, err_z, _ = lb.run_in(ZH, argv)
    expect(rc_c == rc_z == 0, "the publish works in both locales", rc_c, rc_z, err_z)
    expect(re.search(r"^smqtt_pub: \[ *\d+ ms\] tls: .*[\u4e00-\u9fff]", err_z, re.M),
           "zh: tls: trace lines are Chinese, the tag stays", err_z)
    expect(not is_chinese(err_c), "C: an English trace", err_c)
    expect(len(err_z.splitlines()) == len(err_c.splitlines()), "as many trace lines", err_c, err_z)


def test_warning_in_chinese():
    lb = lab()
    pw = os.path.join(lb.tmp, "readable-password")
    with open(pw, "w") as f:
        f.write("secret\n")
    os.chmod(pw, 0o644)
    argv = [binpath("smqtt_pub"), "-h", "127.0.0.1", "-p", str(lb.m.port("auth")), "-u", "bob",
            "--password-file", pw, "-t", "lab/l10n", "-m", "x"]
    rc_c, _, err_c, _ = lb.run_in("C", argv)
    rc_z, _, err_z, _ = lb.run_in(ZH, argv)
    expect(rc_c == rc_z == 0, "the publish works in both locales", rc_c, rc_z, err_c, err_z)
    expect(err_c.startswith("Warning: ") and "other users" in err_c, "C: the English warning", err_c)
    expect(err_z.startswith("Warning: ") and is_chinese(err_z), "zh: the warning is Chinese, its marker stays", err_z)


def test_own_usage_errors_in_chinese():
    lb = lab()
    for args in (["--diag-format", "xml"], ["--connect-timeout", "0"], ["--compat", "3"], ["--profile"]):
        argv = [binpath("smqtt_pub"), "-t", "lab/l10n", "-m", "x"] + args
        rc_c, out_c, err_c, _ = lb.run_in("C", argv)
        rc_z, out_z, err_z, _ = lb.run_in(ZH, argv)
        expect(rc_c == rc_z, "%s: the same exit status" % args, rc_c, rc_z)
        expect(out_c == out_z, "%s: the same stdout" % args, out_c, out_z)
        expect(err_z.startswith("Error: ") and is_chinese(err_z.split("\n")[0]), "%s: a Chinese error" % args, err_z)
        # mosquitto's hint line stays as mosquitto words it
        expect(err_z.split("\n")[-2:] == err_c.split("\n")[-2:], "%s: the --help hint is unchanged" % args,
               err_c, err_z)


def same_help(out_c, out_z, what):
    """The usage text (stdout) differs only in the help of smqtt's own
    options, which is translated; mosquitto's lines are unchanged."""
    lc, lz = out_c.split("\n"), out_z.split("\n")
    expect(len(lc) == len(lz), "%s: the usage text has as many lines" % what, out_c, out_z)
    for a, b in zip(lc, lz):
        expect(a == b or is_chinese(b), "%s: a usage line differs without being translated" % what, a, b)
    if out_c:
        expect(out_c != out_z, "%s: smqtt's own options' help is translated" % what)
        for line in ("Usage: ", " -t : mqtt topic", " --cafile : "):
            hits_c = [a for a in lc if line in a]
            expect(hits_c and hits_c == [b for b in lz if line in b], "%s: %r unchanged" % (what, line), hits_c)


def test_help_translates_only_smqtt_options():
    lb = lab()
    for tool in ("smqtt_pub", "smqtt_sub"):
        rc_c, out_c, err_c, _ = lb.run_in("C", [binpath(tool), "--help"])
        rc_z, out_z, err_z, _ = lb.run_in(ZH, [binpath(tool), "--help"])
        expect(rc_c == rc_z, "%s --help: the same exit status" % tool, rc_c, rc_z)
        same_help(out_c, out_z, tool + " --help")
        expect(re.search(r"^ --check : .*[\u4e00-\u9fff]", out_z, re.M), "%s --help: --check's help is Chinese" % tool,
               out_z)


def test_mosquitto_messages_unchanged():
    lb = lab()
    both = ("smqtt_pub", "smqtt_sub")
    cases = [
        (both, ["--bogus"]),
        (both, ["-t", "lab/l10n", "-m", "x", "-q", "3"]),
        (both, ["-t", "lab/l10n", "-m", "x", "-p"]),
        (both, ["-t", "lab/l10n", "-m", "x", "--will-payload", "p"]),
        (("smqtt_pub",), ["-m", "x"]),
        (("smqtt_pub",), ["-t", "lab/l10n"]),
        (("smqtt_sub",), ["-C", "1"]),
    ]
    for tools, args in cases:
        for tool in tools:
            argv = [binpath(tool)] + args
            rc_c, out_c, err_c, _ = lb.run_in("C", argv)
            rc_z, out_z, err_z, _ = lb.run_in(ZH, argv)
            expect((rc_c, err_c) == (rc_z, err_z), "%s %s: exit status and stderr byte-identical" % (tool, args),
                   (rc_c, err_c), (rc_z, err_z))
            same_help(out_c, out_z, "%s %s" % (tool, args))


def test_stdout_identical():
    lb = lab()
    port = str(lb.m.port("plain"))
    sub = [binpath("smqtt_sub"), "-h", "127.0.0.1", "-p", port, "-t", "lab/l10n/#", "-C", "3", "-W", "10",
           "-F", "%t|%p|%l|%x|%q|%r|%m", "--trace"]
    outs = {}
    for locale in ("C", ZH):
        # retained messages: the subscriber gets them at once, no race
        for i, payload in enumerate(("hello", "1.5", "\u4f60\u597d world")):
            lb.run_in("C", [binpath("smqtt_pub"), "-h", "127.0.0.1", "-p", port, "-t", "lab/l10n/%d" % i,
                            "-m", payload, "-r", "-q", "1"])
        rc, out, err, _ = lb.run_in(locale, sub)
        expect(rc == 0, "%s: the subscriber exits 0" % locale, rc, err)
        outs[locale] = out
    expect(outs["C"] == outs[ZH], "sub -F: stdout is byte-identical", outs["C"], outs[ZH])
    pub = [binpath("smqtt_pub"), "-h", "127.0.0.1", "-p", port, "-t", "lab/l10n/d", "-m", "x", "-d"]
    r = {loc: lb.run_in(loc, pub) for loc in ("C", ZH)}
    norm_d = lambda s: re.sub(r"\bsmqtt[^ ]*|mosq-\S+|\b[0-9a-f]{8,}\b", "X", s)  # noqa: E731
    expect(r["C"][0] == r[ZH][0] == 0, "pub -d exits 0", r["C"][0], r[ZH][0])
    expect(norm_d(r["C"][1]) == norm_d(r[ZH][1]), "pub -d: stdout is the same", r["C"][1], r[ZH][1])
    # the retained messages go
    for i in range(3):
        lb.run_in("C", [binpath("smqtt_pub"), "-h", "127.0.0.1", "-p", port, "-t", "lab/l10n/%d" % i, "-r", "-n"])


def test_language_alone_is_english_in_c_locale():
    lb = lab()
    argv = [binpath("smqtt_pub"), "-h", "127.0.0.1", "-p", str(lb.closed_port), "-t", "lab/l10n", "-m", "x"]
    rc, _, err, _ = lb.run_in("C", argv, LANGUAGE="zh_CN")
    expect(rc == 1 and err.startswith("Error: connection to "), "LANGUAGE=zh_CN under LC_ALL=C: English", rc, err)
    rc, _, err, _ = lb.run_in(ZH, argv, LANGUAGE="zh_CN")
    expect(rc == 1 and is_chinese(err), "LANGUAGE=zh_CN with LANG=zh_CN.UTF-8: Chinese", rc, err)
    rc, _, err, _ = lb.run_in(ZH, argv, LC_MESSAGES="C")
    expect(rc == 1 and err.startswith("Error: connection to "), "LC_MESSAGES=C wins over LANG", rc, err)


def main():
    terminate_on_sigterm()
    if not zh_available():
        print("skip l10n: the %s locale is not installed (localedef -i zh_CN -f UTF-8 %s)" % (ZH, ZH))
        print("0 passed, 0 failed, 1 skipped")
        return 0
    tmp = tempfile.mkdtemp(prefix="smqtt-l10n-")
    peers = []

    def stack(p):
        peers.append(p)
        return p

    lb = Lab(tmp, 1)
    try:
        os.makedirs(os.path.join(tmp, "home"), exist_ok=True)
        subprocess.run(["bash", os.path.join(REPO, "tests", "lib", "scenarios.sh"), lb.lab],
                       check=True, timeout=300, stdout=subprocess.DEVNULL)
        lab_mod.start_peers(lb, stack)
        STATE["lab"] = lb
    except Exception as e:  # noqa: BLE001
        print("lab set-up failed: %s" % e)

    def teardown():
        h = getattr(lb, "holder", None)
        if h is not None:
            h.terminate()
            h.wait(timeout=5)
        for p in reversed(peers):
            p.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    return run_tests(globals(), lambda t: t(), teardown=teardown)


if __name__ == "__main__":
    sys.exit(main())
