#!/usr/bin/env python3
"""Integration tests of preflight: the local checks of --cafile / --cert /
--key that smqtt_pub and smqtt_sub run before any TLS connection.

The TLS material comes from the scenario lab (tests/lib/scenarios.sh). Every
preflight cause of the catalogue has at least one case; each case is run
with smqtt_pub and smqtt_sub, in the text form (exit 1, "Error: ..." with
"  why: " and "  fix: " lines on stderr, nothing on stdout) and with
--diag-format json (the last stderr line is a JSON object: cause, stage
"preflight", summary/why/fix, host, port, problems[]). A fatal finding must
stop the run before the broker is contacted: the broker log of the run shows
no new connection on the TLS port.

The motivating report is reproduced with a real mosquitto broker whose CA,
server and client certificates all have the subject CN=127.0.0.1: the
reference mosquitto_pub fails with the bare "A TLS error occurred", smqtt
names the cause (ca-subject-equals-leaf) without connecting.

Usage: test_preflight.py [-k SUBSTRING]... [--known-bugs] [--list]
  -k SUBSTRING   only tests whose name contains SUBSTRING (repeatable)
  --known-bugs   also run the tests of known, not yet fixed bugs
  --list         list the test names and exit
The last line is "N passed, N failed"; exit status 1 on any failure.

Only 127.0.0.1 is contacted. Python 3 standard library only.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.dont_write_bytecode = True   # keep tests/lib free of __pycache__
sys.path.insert(0, os.path.join(REPO, "tests", "lib"))
from broker import Broker, free_port  # noqa: E402
from harness import bindir, binpath, expect, last_json  # noqa: E402
from lab_peers import Stunnel  # noqa: E402

TIMEOUT = 15          # seconds for any client process
HOST = "127.0.0.1"
REF_PUB = "/usr/bin/mosquitto_pub"
TOOLS = ("smqtt_pub", "smqtt_sub")


class Ctx:
    def __init__(self, tmp, lab, good, samecn):
        self.tmp = tmp
        self.lab = lab
        self.good = good        # broker with the good PKI
        self.samecn = samecn    # broker with the samecn PKI
        self.nsentinel = 0

    def f(self, rel):
        """A path in the scenario lab."""
        return os.path.join(self.lab, rel)

    def env(self, lang=None):
        """The clients' environment: the C locale, or LANG=lang alone."""
        env = dict(os.environ)
        for k in ("SMQTT_PROFILES", "XDG_CONFIG_HOME"):
            env.pop(k, None)
        env["HOME"] = os.path.join(self.tmp, "home")
        env["SMQTT_SYSCONFDIR"] = os.path.join(self.tmp, "sysconf")
        if lang:
            for k in ("LC_ALL", "LANGUAGE", "LC_MESSAGES", "LC_CTYPE"):
                env.pop(k, None)
            env["LANG"] = lang
        else:
            env["LC_ALL"] = "C"
        return env

    def run(self, argv, lang=None):
        """Run argv with stdin not a terminal; (rc, stdout, stderr)."""
        wrapper = os.environ.get("SMQTT_WRAPPER")
        if wrapper and os.path.basename(argv[0]).startswith("smqtt_"):
            argv = wrapper.split() + argv
        p = subprocess.run(argv, env=self.env(lang), stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=TIMEOUT, cwd=self.tmp)
        return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")

    def smqtt(self, tool, port, tls_args, extra=()):
        args = ["--no-profile", "-h", HOST, "-p", str(port)]
        if tool == "smqtt_pub":
            args += ["-t", "preflight/test", "-m", "x"]
        else:
            args += ["-t", "preflight/test", "-C", "1", "-W", "5"]
        return self.run([binpath(tool)] + args + list(tls_args) + list(extra))

    # ----- did a client reach the broker? ---------------------------------
    def sentinel(self, b):
        """Connect a reference client to b's plain port and wait until the
        broker logged it: whatever happened before is in the log now.
        Returns the sentinel's source address:port."""
        self.nsentinel += 1
        cid = "sentinel-%d-%d" % (os.getpid(), self.nsentinel)
        mark = b.log_mark()
        subprocess.run([REF_PUB, "-h", HOST, "-p", str(b.port), "-i", cid, "-t", "sentinel", "-m", "s"],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=TIMEOUT, check=True)
        m = b.wait_for_log(r"New client connected from (\S+) as %s " % re.escape(cid), 5, since=mark)
        return m.group(1)

    def connections(self, b, since):
        """The connections the broker accepted since the log offset since,
        other than the sentinel's (mosquitto logs "New connection from" on
        accept; the port it names is not always right, so any counts)."""
        addr = self.sentinel(b)
        return [line for line in b.log_text(since).splitlines()
                if "New connection from " in line and "New connection from %s " % addr not in line]


def settle(c, b):
    """Let the log of the fixture's start-up probes settle: wait until the
    log has not grown for 0.3 s after a sentinel."""
    c.sentinel(b)
    size, deadline = -1, time.monotonic() + 5
    while time.monotonic() < deadline:
        now = b.log_mark()
        if now == size:
            return
        size = now
        time.sleep(0.3)


def norm(text):
    """text with the current time (which differs between two runs) masked."""
    return re.sub(r"it is now \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", "it is now <now>", text or "")


def first_block(err):
    """summary, why, fix of the first finding in the text form."""
    lines = err.split("\n")
    summary = lines[0][len("Error: "):] if lines and lines[0].startswith("Error: ") else None
    why = lines[1][len("  why: "):] if len(lines) > 1 and lines[1].startswith("  why: ") else None
    fix = lines[2][len("  fix: "):] if len(lines) > 2 and lines[2].startswith("  fix: ") else None
    return summary, why, fix


def check_fatal(c, tls_args, cause, causes=None, why_has=(), fix_has=(), summary_has=(),
                broker=None, min_problems=1):
    """Run both tools, text and JSON; the run must stop in preflight with
    cause as the primary finding, and the set of problem causes must be
    causes (default {cause}), all fatal unless said otherwise."""
    b = broker or c.good
    port = b.tls_req_port
    want = causes if causes is not None else {cause: "fatal"}
    for tool in TOOLS:
        label = "%s %s" % (tool, " ".join(os.path.relpath(a, c.lab) if a.startswith(c.lab) else a
                                          for a in tls_args))
        mark = b.log_mark()
        # text form
        rc, out, err = c.smqtt(tool, port, tls_args)
        expect(rc == 1, label + ": exit 1", rc, err)
        expect(out == "", label + ": nothing on stdout", out)
        expect(err.startswith("Error: "), label + ": first stderr line starts with 'Error: '", err)
        expect("\n  why: " in err and "\n  fix: " in err, label + ": why and fix lines", err)
        t_summary, t_why, t_fix = first_block(err)
        expect(t_why and t_fix, label + ": the first Error is followed by its why and fix", err)
        expect(not err.rstrip("\n").split("\n")[-1].startswith("{"), label + ": no JSON without --diag-format", err)
        # JSON form
        rc, out, jerr = c.smqtt(tool, port, tls_args, ["--diag-format", "json"])
        expect(rc == 1, label + " json: exit 1", rc, jerr)
        expect(out == "", label + " json: nothing on stdout", out)
        j = last_json(jerr)
        expect(j.get("cause") == cause, label + " json: cause", cause, j.get("cause"), jerr)
        expect(j.get("stage") == "preflight", label + " json: stage preflight", j.get("stage"))
        for k in ("summary", "why", "fix"):
            expect(isinstance(j.get(k), str) and j[k].strip(), label + " json: non-empty " + k, j)
        expect(j.get("host") == HOST, label + " json: host", j.get("host"))
        expect(j.get("port") == port, label + " json: port", j.get("port"))
        expect(isinstance(j.get("evidence"), dict), label + " json: evidence object", j.get("evidence"))
        probs = j.get("problems")
        expect(isinstance(probs, list) and len(probs) >= min_problems, label + " json: problems list", probs)
        for p in probs:
            expect(set(p) >= {"cause", "severity", "summary"} and p["summary"], label + " json: problem fields", p)
        expect({"cause": cause, "severity": "fatal"} in [{"cause": p["cause"], "severity": p["severity"]} for p in probs],
               label + " json: problems has the cause as fatal", probs)
        got = {}
        for p in probs:
            got.setdefault(p["cause"], set()).add(p["severity"])
        expect(set(got) == set(want) and all(want[k] in got[k] for k in want),
               label + " json: the problems are exactly the expected ones", want, probs)
        # the text form has one Error block per fatal problem, one Warning
        # block per warning, and agrees with the JSON on the primary finding
        for sev, word in (("fatal", "Error"), ("warning", "Warning")):
            n = len(re.findall(r"^%s: " % word, err, re.M))
            expect(n == sum(1 for p in probs if p["severity"] == sev),
                   label + ": one %s block per %s problem" % (word, sev), err, probs)
        # the text form and the JSON form agree on the primary finding
        same = [norm(a) == norm(b) for a, b in ((t_summary, j["summary"]), (t_why, j["why"]), (t_fix, j["fix"]))]
        expect(all(same),
               label + ": text and JSON give the same primary finding", (t_summary, t_why, t_fix), j)
        for s in why_has:
            expect(s in j["why"], label + ": why mentions %r" % s, j["why"])
        for s in fix_has:
            expect(s in j["fix"], label + ": fix mentions %r" % s, j["fix"])
        for s in summary_has:
            expect(s in j["summary"], label + ": summary mentions %r" % s, j["summary"])
        # preflight stopped the run: the broker was never contacted
        conns = c.connections(b, mark)
        expect(not conns, label + ": the broker was not contacted", conns)
        result = (err, j)
    return result


def good_pair(c):
    return ["--cert", c.f("good/client.crt"), "--key", c.f("good/client.key")]


# ---------------------------------------------------------------------------
# file-unreadable

def test_file_unreadable_missing_cafile(c):
    missing = os.path.join(c.tmp, "no-such-ca.crt")
    check_fatal(c, ["--cafile", missing] + good_pair(c), "file-unreadable",
                summary_has=["--cafile", missing], why_has=["does not exist"])


def test_file_unreadable_missing_cert(c):
    missing = os.path.join(c.tmp, "no-such-client.crt")
    check_fatal(c, ["--cafile", c.f("good/ca.crt"), "--cert", missing, "--key", c.f("good/client.key")],
                "file-unreadable", summary_has=["--cert", missing])


def test_file_unreadable_missing_key(c):
    missing = os.path.join(c.tmp, "no-such-client.key")
    check_fatal(c, ["--cafile", c.f("good/ca.crt"), "--cert", c.f("good/client.crt"), "--key", missing],
                "file-unreadable", summary_has=["--key", missing])


def test_file_unreadable_cafile_directory(c):
    check_fatal(c, ["--cafile", c.f("good")] + good_pair(c), "file-unreadable",
                why_has=["is a directory", "--capath"])


def test_file_unreadable_key_directory(c):
    check_fatal(c, ["--cafile", c.f("good/ca.crt"), "--cert", c.f("good/client.crt"), "--key", c.f("good")],
                "file-unreadable", why_has=["is a directory"])


# ---------------------------------------------------------------------------
# file-not-pem

def test_file_not_pem_der_cafile(c):
    check_fatal(c, ["--cafile", c.f("der/ca.der")] + good_pair(c), "file-not-pem",
                why_has=["DER"], fix_has=["openssl x509 -inform der"])


def test_file_not_pem_der_cert(c):
    check_fatal(c, ["--cafile", c.f("good/ca.crt"), "--cert", c.f("der/client.der"), "--key", c.f("good/client.key")],
                "file-not-pem", why_has=["DER"], fix_has=["openssl x509 -inform der"])


def test_file_not_pem_der_key(c):
    check_fatal(c, ["--cafile", c.f("good/ca.crt"), "--cert", c.f("good/client.crt"), "--key", c.f("der/client.key.der")],
                "file-not-pem", summary_has=["private key"], why_has=["DER"], fix_has=["openssl pkey -inform der"])


def test_file_not_pem_garbage(c):
    check_fatal(c, ["--cafile", c.f("garbage/garbage.bin")] + good_pair(c), "file-not-pem",
                why_has=["neither PEM nor DER"])


def test_file_not_pem_key_as_cert(c):
    check_fatal(c, ["--cafile", c.f("good/ca.crt"), "--cert", c.f("good/client.key"), "--key", c.f("good/client.key")],
                "file-not-pem", summary_has=["--cert"], why_has=["private key"], fix_has=["swap"])


def test_file_not_pem_cert_as_key(c):
    check_fatal(c, ["--cafile", c.f("good/ca.crt"), "--cert", c.f("good/client.crt"), "--key", c.f("good/client.crt")],
                "file-not-pem", summary_has=["--key"], why_has=["certificate"], fix_has=["swap"])


# ---------------------------------------------------------------------------
# cafile-not-ca

def test_cafile_not_ca_server_cert(c):
    check_fatal(c, ["--cafile", c.f("good/server.crt")] + good_pair(c), "cafile-not-ca",
                why_has=["the broker's own certificate", "CN=localhost"], fix_has=["--cafile"])


def test_cafile_not_ca_client_cert(c):
    check_fatal(c, ["--cafile", c.f("good/client.crt")] + good_pair(c), "cafile-not-ca",
                why_has=["client certificate", "CN=smqtt-client"])


def test_cafile_not_ca_noca(c):
    check_fatal(c, ["--cafile", c.f("noca/ca.crt"), "--cert", c.f("noca/client.crt"), "--key", c.f("noca/client.key")],
                "cafile-not-ca", why_has=["not a CA"])


# ---------------------------------------------------------------------------
# ca-subject-equals-leaf: the motivating report

def samecn_args(c):
    return ["--cafile", c.f("samecn/ca.crt"), "--cert", c.f("samecn/client.crt"), "--key", c.f("samecn/client.key")]


def test_ca_subject_equals_leaf_motivating_report(c):
    b = c.samecn
    # the reference client: a bare TLS error
    mark = b.log_mark()
    rc, out, err = c.run([REF_PUB, "-h", HOST, "-p", str(b.tls_req_port), "-t", "preflight/samecn", "-m", "x"]
                         + samecn_args(c))
    # mosquitto_pub 2.0.21 (Debian 13) may say 'Protocol error' (exit 14)
    # where 2.0.11 says 'A TLS error occurred' (exit 1 or 8)
    expect(rc in (1, 8, 14), "mosquitto_pub fails (exit 1, 8 or 14)", rc, err)
    expect(out == "", "mosquitto_pub: nothing on stdout", out)
    expect(err.strip() in ("Error: A TLS error occurred.", "Unable to connect (A TLS error occurred.).",
                           "Error: Protocol error"), "mosquitto_pub says only 'A TLS error occurred' or "
           "'Protocol error'", err)
    # (and it did reach the broker: this also proves the no-contact check works)
    expect(c.connections(b, mark), "mosquitto_pub reached the broker", b.log_text(mark))
    # smqtt: the cause, before connecting
    check_fatal(c, samecn_args(c), "ca-subject-equals-leaf", broker=b,
                why_has=["CN=127.0.0.1", "self-signed"], summary_has=["CN=127.0.0.1"],
                fix_has=["distinct Common Name"])


# ---------------------------------------------------------------------------
# validity, key, purpose, strength

def test_cert_expired(c):
    check_fatal(c, ["--cafile", c.f("expired/ca.crt"), "--cert", c.f("expired/client.crt"),
                    "--key", c.f("expired/client.key")],
                "cert-expired", summary_has=["2020-01-02"], why_has=["2020-01-01", "CN=smqtt-client"])


def test_cert_not_yet_valid(c):
    check_fatal(c, ["--cafile", c.f("notyet/ca.crt"), "--cert", c.f("notyet/client.crt"),
                    "--key", c.f("notyet/client.key")],
                "cert-not-yet-valid", why_has=["clock"])


def test_key_mismatch(c):
    check_fatal(c, ["--cafile", c.f("good/ca.crt"), "--cert", c.f("good/client.crt"),
                    "--key", c.f("other-ca/client.key")],
                "key-mismatch", summary_has=[c.f("other-ca/client.key"), c.f("good/client.crt")])


def test_key_encrypted(c):
    check_fatal(c, ["--cafile", c.f("encrypted/ca.crt"), "--cert", c.f("encrypted/client.crt"),
                    "--key", c.f("encrypted/client.key")],
                "key-encrypted", why_has=["not a terminal"])


def test_cert_not_for_client(c):
    check_fatal(c, ["--cafile", c.f("servereku/ca.crt"), "--cert", c.f("servereku/client.crt"),
                    "--key", c.f("servereku/client.key")],
                "cert-not-for-client", why_has=["serverAuth"], fix_has=["clientAuth"])


def test_weak_crypto_rsa1024(c):
    check_fatal(c, ["--cafile", c.f("weak/ca.crt"), "--cert", c.f("weak/client.crt"), "--key", c.f("weak/client.key")],
                "weak-crypto", why_has=["1024"])


def test_weak_crypto_sha1(c):
    check_fatal(c, ["--cafile", c.f("sha1/ca.crt"), "--cert", c.f("sha1/client.crt"), "--key", c.f("sha1/client.key")],
                "weak-crypto", why_has=["SHA1"], fix_has=["SHA-256"])


# ---------------------------------------------------------------------------
# several problems in one run

def test_several_problems_at_once(c):
    missing = os.path.join(c.tmp, "no-such-ca.crt")
    args = ["--cafile", missing, "--cert", c.f("good/client.key"), "--key", c.f("good/client.crt")]
    err, j = check_fatal(c, args, "file-unreadable", causes={"file-unreadable": "fatal", "file-not-pem": "fatal"},
                         min_problems=3)
    expect(len(j["problems"]) >= 3, "all three problems reported", j["problems"])
    expect(all(p["severity"] == "fatal" for p in j["problems"]), "all fatal", j["problems"])
    text = " | ".join(p["summary"] for p in j["problems"])
    for s in (missing, "--cert file " + c.f("good/client.key"), "--key file " + c.f("good/client.crt")):
        expect(s in text, "problems name %r" % s, text)
    for tool in TOOLS:
        rc, out, err = c.smqtt(tool, c.good.tls_req_port, args)
        expect(len(re.findall(r"^Error: ", err, re.M)) == 3, tool + ": three Error blocks in the text form", err)


# ---------------------------------------------------------------------------
# --check

def test_check_good_passes(c):
    b = c.good
    for tool in TOOLS:
        mark = b.log_mark()
        rc, out, err = c.run([binpath(tool), "--no-profile", "--check", "-h", HOST,
                              "-p", str(b.tls_req_port), "--cafile", c.f("good/ca.crt")] + good_pair(c))
        expect(rc == 0, tool + " --check on the good scenario exits 0", rc, out, err)
        expect("result: all checks passed" in out, tool + ": 'result: all checks passed'", out)
        expect("FAIL" not in out and "warn" not in out, tool + ": no FAIL or warn line", out)
        expect(c.connections(b, mark), tool + ": --check connected to the broker", b.log_text(mark))


def test_check_samecn_fails_without_connecting(c):
    """A local failure stops the MQTT connection; being a report, --check
    still shows the broker's chain, from a TLS handshake alone (issue 26)."""
    b = c.samecn
    for tool in TOOLS:
        mark = b.log_mark()
        rc, out, err = c.run([binpath(tool), "--no-profile", "--check", "-h", HOST,
                              "-p", str(b.tls_req_port)] + samecn_args(c))
        expect(rc == 1, tool + " --check on samecn exits 1", rc, out, err)
        expect("FAIL" in out and "CN=127.0.0.1" in out, tool + ": a FAIL line naming CN=127.0.0.1", out)
        expect("no MQTT connection was attempted" in out, tool + ": says no MQTT connection was attempted", out)
        expect("result: all checks passed" not in out, tool + ": does not claim success", out)
        expect("the broker's chain, from a TLS handshake without client certificate" in out
               and "0: /CN=127.0.0.1 -> /CN=127.0.0.1 (valid until" in out, tool + ": the broker's chain is shown", out)
        log = b.log_text(mark)
        expect("New client connected" not in log, tool + " --check: no MQTT client connected", log)
        rc, out, err = c.run([binpath(tool), "--no-profile", "--check", "--diag-format", "json",
                              "-h", HOST, "-p", str(b.tls_req_port)] + samecn_args(c))
        j = last_json(err)
        expect(rc == 1 and j["cause"] == "ca-subject-equals-leaf" and j["stage"] == "preflight",
               tool + " --check --diag-format json", rc, j)
        expect(j["evidence"]["broker_chain"][0]["subject"] == "CN=127.0.0.1"
               and ("chain", "pass") in [(x["step"], x["verdict"]) for x in j["evidence"]["checks"]],
               tool + ": the JSON has the broker's chain and the steps", j["evidence"])


# ---------------------------------------------------------------------------
# --check as a report that stands alone (issue 26): every step that ran,
# in order, the failure's why and fix on stdout, warn lines, the JSON

def check_lines(out):
    """The (tag, text) of each step line of a --check report."""
    return [(ln[2:6], ln[8:]) for ln in out.splitlines() if re.match(r"^  (pass|warn|FAIL)  ", ln)]


def test_check_failure_report_stands_alone(c):
    """A host name mismatch: the steps that passed, then the failure with
    its why and fix, all on stdout; stderr has nothing of it."""
    with Broker(pki_dir=c.f("wrongsan"), tls=False) as b:
        for tool in TOOLS:
            rc, out, err = c.run([binpath(tool), "--no-profile", "--check", "-h", "localhost", "-p", str(b.tls_req_port),
                                  "--cafile", c.f("wrongsan/ca.crt"), "--cert", c.f("wrongsan/client.crt"),
                                  "--key", c.f("wrongsan/client.key")])
            expect(rc == 8, tool + ": exit 8, as without --check", rc, out, err)
            expect(any(t == "pass" and x.startswith("TCP") for t, x in check_lines(out)), tool + ": the TCP step is listed",
                   out)
            lines = out.splitlines()
            i_tcp = next(i for i, ln in enumerate(lines) if ln.startswith("  pass  TCP connection to localhost:"))
            i_tls = next(i for i, ln in enumerate(lines) if ln.startswith("  pass  TLS"))
            i_chain = next(i for i, ln in enumerate(lines) if "certificate chain leads to a trusted CA" in ln)
            i_fail = next(i for i, ln in enumerate(lines) if ln.startswith("  FAIL  the broker's certificate is not valid for localhost"))
            expect(i_tcp < i_tls < i_chain < i_fail, tool + ": TCP, TLS, chain, then the failed host name", out)
            expect(lines[i_fail + 1].startswith("        why: the certificate CN=other.example is valid for DNS:other.example")
                   and lines[i_fail + 2].startswith("        fix: "), tool + ": why and fix follow on stdout", out)
            expect("result: a check failed" in out, tool + ": the result line", out)
            expect("Error:" not in err and "why:" not in err, tool + ": the explanation is not on stderr", err)
            rc, out, err = c.run([binpath(tool), "--no-profile", "--check", "--diag-format", "json", "-h", "localhost",
                                  "-p", str(b.tls_req_port), "--cafile", c.f("wrongsan/ca.crt")])
            j = last_json(err)
            steps = [(x["step"], x["verdict"]) for x in j["evidence"]["checks"]]
            expect(j["cause"] == "hostname-mismatch" and steps[-4:] == [("tcp", "pass"), ("tls", "pass"), ("chain", "pass"),
                                                                         ("tls", "fail")],
                   tool + ": the JSON lists every step with its verdict", steps, j)


def test_check_success_json_and_warnings(c):
    """On success the JSON holds every step, the TLS version, the cipher and
    the CONNACK; a CN-only host match is a warn line, and the result says
    how many warnings there were."""
    b = c.good
    rc, out, err = c.run([binpath("smqtt_pub"), "--no-profile", "--check", "--diag-format", "json", "-h", HOST,
                          "-p", str(b.tls_req_port), "--cafile", c.f("good/ca.crt")] + good_pair(c))
    expect(rc == 0 and out.rstrip().endswith("result: all checks passed"), "good: passes without warnings", rc, out, err)
    j = last_json(err)
    ev = j["evidence"]
    steps = [(x["step"], x["verdict"]) for x in ev["checks"]]
    expect(steps[-4:] == [("tcp", "pass"), ("tls", "pass"), ("hostname", "pass"), ("mqtt", "pass")],
           "the JSON lists tcp, tls, hostname, mqtt", steps)
    expect(ev["tls_version"] in ("TLSv1.2", "TLSv1.3") and ev["cipher"] and ev["connack"] == 0
           and ev["connack_text"] and ev["warnings"] == 0, "TLS version, cipher and CONNACK in the JSON", ev)
    expect(all(x["verdict"] == "pass" for x in ev["checks"]), "every verdict pass", ev["checks"])
    with Broker(pki_dir=c.f("nosan"), tls=False) as n:
        rc, out, err = c.run([binpath("smqtt_pub"), "--no-profile", "--check", "--diag-format", "json", "-h", "localhost",
                              "-p", str(n.tls_req_port), "--cafile", c.f("nosan/ca.crt"), "--cert", c.f("nosan/client.crt"),
                              "--key", c.f("nosan/client.key")])
        expect(rc == 0, "nosan: exit 0", rc, out, err)
        expect(re.search(r"^  warn  hostname localhost matches only the broker certificate's Common Name", out, re.M),
               "a CN-only host match is a warn line", out)
        expect("result: all checks passed with 1 warning" in out, "passed with 1 warning", out)
        j = last_json(err)
        expect(("hostname", "warn") in [(x["step"], x["verdict"]) for x in j["evidence"]["checks"]]
               and j["evidence"]["warnings"] == 1, "the JSON has the warning", j["evidence"])


def zh_available():
    out = subprocess.run(["locale", "-a"], capture_output=True, text=True).stdout.lower().split()
    return "zh_cn.utf8" in out


def test_check_legacy_tls_warnings(c):
    """--tls-version tlsv1 / tlsv1.1 against a real TLS 1.0 / 1.1 peer
    (stunnel4 in front of the good broker's plain port): the run passes,
    and the report says in warn lines that the version is deprecated and
    that OpenSSL's security level 0 (which smqtt sets for TLS 1.0/1.1 on
    that connection only) accepts weak keys; the result counts them, the
    JSON has them as steps with the TLS version. The zh_CN result line once."""
    b = c.good
    cert = ["cert = " + c.f("good/server.crt"), "key = " + c.f("good/server.key")]
    legacy = ["securityLevel = 0", "ciphers = DEFAULT:@SECLEVEL=0"]
    for opt, version, name in (("tlsv1", "TLSv1", "TLS 1.0"), ("tlsv1.1", "TLSv1.1", "TLS 1.1")):
        st = Stunnel(os.path.join(c.tmp, "stunnel"), opt, b.port,
                     cert + ["sslVersionMin = " + version, "sslVersionMax = " + version] + legacy)
        with st:
            st.start()
            argv = [binpath("smqtt_pub"), "--no-profile", "--check", "-h", HOST, "-p", str(st.port),
                    "--cafile", c.f("good/ca.crt"), "--tls-version", opt]
            mark, smark = b.log_mark(), st.log_mark()
            rc, out, err = c.run(argv)
            expect(rc == 0, opt + ": --check exits 0", rc, out, err)
            lines = check_lines(out)
            expect(("pass", "TLS %s, cipher " % version) in [(t, x[:len(version) + 13]) for t, x in lines],
                   opt + ": a pass line for the TLS version", out)
            expect(("warn", "%s is deprecated (RFC 8996): allowed here only because --tls-version asked for it; "
                    "the broker should offer TLS 1.2 or 1.3" % name) in lines,
                   opt + ": a warn line naming %s as deprecated" % name, out)
            expect(("warn", "OpenSSL security level 0: weak keys, digests and ciphers are accepted on this connection")
                   in lines, opt + ": a warn line for security level 0", out)
            expect([t for t, _ in lines].count("warn") == 2 and "FAIL" not in out, opt + ": two warn lines, no FAIL",
                   out)
            expect(out.rstrip().endswith("result: all checks passed with 2 warnings"),
                   opt + ": 'all checks passed with 2 warnings'", out)
            expect(st.accepted(smark), opt + ": the run went through stunnel", st.log_text(smark))
            expect(c.connections(b, mark), opt + ": and on to the broker", b.log_text(mark))
            rc, out, err = c.run(argv + ["--diag-format", "json"])
            expect(rc == 0, opt + " json: exit 0", rc, out, err)
            ev = last_json(err)["evidence"]
            checks = [(x["step"], x["verdict"]) for x in ev["checks"]]
            expect(checks[-6:] == [("tcp", "pass"), ("tls", "pass"), ("tls", "warn"), ("tls", "warn"),
                                   ("hostname", "pass"), ("mqtt", "pass")],
                   opt + " json: tcp, tls pass, two tls warns, hostname, mqtt", checks)
            warns = [x["detail"] for x in ev["checks"] if x["verdict"] == "warn"]
            expect(len(warns) == 2 and warns[0].startswith(name + " is deprecated (RFC 8996)")
                   and warns[1].startswith("OpenSSL security level 0"), opt + " json: the warnings' details", warns)
            expect(ev["tls_version"] == version and ev["cipher"]
                   and ev["connack"] == 0 and ev["warnings"] == 2, opt + " json: tls_version, cipher, CONNACK, warnings 2", ev)
            if opt == "tlsv1":
                if not zh_available():
                    print("  note: zh_CN.UTF-8 is not installed: the zh_CN result line is not checked")
                    continue
                rc, out, err = c.run(argv, lang="zh_CN.UTF-8")
                expect(rc == 0 and out.rstrip().endswith("result: 全部检查通过，有 2 个警告"),
                       "zh_CN: the result line counts the 2 warnings", rc, out, err)
                expect(len([ln for ln in out.splitlines() if ln.startswith("  warn  ")]) == 2
                       and "OpenSSL 安全级别 0" in out and "TLS 1.0 已被弃用（RFC 8996）" in out,
                       "zh_CN: the two warn lines in Chinese", out)


# ---------------------------------------------------------------------------
# --cert / --key without --cafile, --capath or --tls-use-os-certs: TLS is off
# (mosquitto's behaviour, kept), said in one warning line before connecting

REF_SUB = "/usr/bin/mosquitto_sub"


def test_cert_without_trust_option_warns(c):
    b = c.good
    pair = good_pair(c)
    warn = "Warning: TLS is off: no --cafile, --capath or --tls-use-os-certs was given, so --cert and --key are ignored"
    for port, what in ((b.port, "plain port"), (b.tls_req_port, "TLS port")):
        ref = c.run([REF_PUB, "-h", HOST, "-p", str(port), "-t", "preflight/off", "-m", "x"] + pair)
        rc, out, err = c.run([binpath("smqtt_pub"), "--no-profile", "-h", HOST, "-p", str(port),
                              "-t", "preflight/off", "-m", "x"] + pair)
        expect(rc == ref[0], "smqtt_pub on the %s: mosquitto_pub's exit %d" % (what, ref[0]), rc, err)
        expect(out == ref[1], "smqtt_pub on the %s: the same stdout" % what, out, ref[1])
        lines = err.splitlines()
        expect(lines and lines[0].startswith(warn), "smqtt_pub on the %s: the warning first" % what, err)
        expect(sum(1 for ln in lines if ln.startswith("Warning:")) == 1, "one warning line", err)
        if port == b.port:
            expect(rc == 0 and len(lines) == 1, "plain port: connects without TLS, only the warning", rc, err)
        else:
            expect("plain-to-tls-port" in c.run([binpath("smqtt_pub"), "--no-profile", "-h", HOST, "-p", str(port),
                                                "-t", "preflight/off", "-m", "x", "--diag-format", "json"]
                                               + pair)[2], "TLS port: explained as plain-to-tls-port", err)
    # smqtt_sub: the same line once, then mosquitto_sub's behaviour (-W ends it)
    ref = c.run([REF_SUB, "-h", HOST, "-p", str(b.port), "-t", "preflight/off", "-W", "1"] + pair)
    rc, out, err = c.run([binpath("smqtt_sub"), "--no-profile", "-h", HOST, "-p", str(b.port),
                          "-t", "preflight/off", "-W", "1"] + pair)
    expect(rc == ref[0] and out == ref[1], "smqtt_sub: mosquitto_sub's exit %d and stdout" % ref[0], rc, out, err)
    expect(err.startswith(warn) and err.count("Warning:") == 1, "smqtt_sub: the warning once", err)
    # --quiet silences it; a trust option turns TLS on and the warning off
    rc, out, err = c.run([binpath("smqtt_pub"), "--no-profile", "--quiet", "-h", HOST, "-p", str(b.port),
                          "-t", "preflight/off", "-m", "x"] + pair)
    expect(rc == 0 and err == "", "--quiet: no warning", rc, err)
    rc, out, err = c.run([binpath("smqtt_pub"), "--no-profile", "--check", "-h", HOST, "-p", str(b.port)] + pair)
    expect(rc == 0 and "  warn  TLS is off" in out, "--check: a warn line, exit 0", rc, out, err)


# ---------------------------------------------------------------------------
# sound material is not flagged: preflight passes, the run goes on to
# the network (a closed port on 127.0.0.1, so --check reports a failed
# connection, not a failed local check)

CLEAN = [
    ("good", ["--cafile", "good/ca.crt", "--cert", "good/client.crt", "--key", "good/client.key"]),
    ("ecdsa", ["--cafile", "ecdsa/ca.crt", "--cert", "ecdsa/client.crt", "--key", "ecdsa/client.key"]),
    ("intermediate chain", ["--cafile", "intermediate/root.crt", "--cert", "intermediate/client-chain.crt",
                            "--key", "intermediate/client.key"]),
    ("nosan", ["--cafile", "nosan/ca.crt", "--cert", "nosan/client.crt", "--key", "nosan/client.key"]),
    ("wrongsan", ["--cafile", "wrongsan/ca.crt", "--cert", "wrongsan/client.crt", "--key", "wrongsan/client.key"]),
    ("capath", ["--capath", "good", "--cert", "good/client.crt", "--key", "good/client.key"]),
]


def test_clean_material_passes_preflight(c):
    port = free_port(HOST)
    for name, rel in CLEAN:
        args = [c.f(a) if "/" in a or a == "good" else a for a in rel]
        for tool in TOOLS:
            rc, out, err = c.run([binpath(tool), "--no-profile", "--check", "-h", HOST,
                                  "-p", str(port)] + args)
            expect("no connection was attempted" not in out, "%s %s: preflight passes" % (tool, name), out, err)
            expect(" FAIL  connection" in out, "%s %s: goes on to connect (closed port)" % (tool, name), out, err)
            expect("  warn  " not in out, "%s %s: no warning" % (tool, name), out)


# ---------------------------------------------------------------------------
# known bugs (run with --known-bugs): sound setups that the reference
# client accepts, but preflight stops.

def test_fixed_samecn_keyid_is_accepted(c):
    """CA and leaves all CN=127.0.0.1 but with key identifiers: mosquitto_pub
    connects, so smqtt must not stop with a fatal finding (a warning is fine)."""
    with Broker(pki_dir=c.f("samecn-keyid"), tls=False) as b:
        args = ["--cafile", c.f("samecn-keyid/ca.crt"), "--cert", c.f("samecn-keyid/client.crt"),
                "--key", c.f("samecn-keyid/client.key")]
        rc, out, err = c.run([REF_PUB, "-h", HOST, "-p", str(b.tls_req_port), "-t", "kb", "-m", "x"] + args)
        expect(rc == 0, "mosquitto_pub connects", rc, err)
        rc, out, err = c.run([binpath("smqtt_pub"), "--no-profile", "-h", HOST,
                              "-p", str(b.tls_req_port), "-t", "kb", "-m", "x"] + args)
        expect(rc == 0, "smqtt_pub connects too", rc, err)


def test_fixed_selfsigned_server_as_cafile(c):
    """A self-signed broker certificate given as --cafile is a valid trust
    anchor for OpenSSL: mosquitto_pub connects; smqtt must too."""
    pki = os.path.join(c.tmp, "kb-selfsigned")
    os.makedirs(pki, exist_ok=True)
    shutil.copy(c.f("good/ca.crt"), os.path.join(pki, "ca.crt"))
    for f in ("server.crt", "server.key"):
        shutil.copy(c.f("selfsigned/" + f), os.path.join(pki, f))
    with Broker(pki_dir=pki, tls_require_certificate=False) as b:
        args = ["--cafile", c.f("selfsigned/server.crt")]
        rc, out, err = c.run([REF_PUB, "-h", HOST, "-p", str(b.tls_port), "-t", "kb", "-m", "x"] + args)
        expect(rc == 0, "mosquitto_pub connects", rc, err)
        rc, out, err = c.run([binpath("smqtt_pub"), "--no-profile", "-h", HOST,
                              "-p", str(b.tls_port), "-t", "kb", "-m", "x"] + args)
        expect(rc == 0, "smqtt_pub connects too", rc, err)


def test_fixed_cert_and_key_in_one_file(c):
    """--key FILE holding the certificate and then the key: OpenSSL reads the
    key from it; mosquitto_pub connects; smqtt must too."""
    combo = os.path.join(c.tmp, "combo.pem")
    with open(combo, "w") as out_f:
        for f in ("good/client.crt", "good/client.key"):
            with open(c.f(f)) as in_f:
                out_f.write(in_f.read())
    os.chmod(combo, 0o600)
    b = c.good
    args = ["--cafile", c.f("good/ca.crt"), "--cert", c.f("good/client.crt"), "--key", combo]
    rc, out, err = c.run([REF_PUB, "-h", HOST, "-p", str(b.tls_req_port), "-t", "kb", "-m", "x"] + args)
    expect(rc == 0, "mosquitto_pub connects", rc, err)
    rc, out, err = c.run([binpath("smqtt_pub"), "--no-profile", "-h", HOST,
                          "-p", str(b.tls_req_port), "-t", "kb", "-m", "x"] + args)
    expect(rc == 0, "smqtt_pub connects too", rc, err)


def test_fixed_corrupt_pem_is_reported(c):
    """A PEM file whose base64 body is damaged is silently accepted by
    preflight (no finding), then fails in the TLS library."""
    bad_ca = os.path.join(c.tmp, "corrupt.crt")
    with open(bad_ca, "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\nAAAAnot*base64!!\n-----END CERTIFICATE-----\n")
    bad_key = os.path.join(c.tmp, "corrupt.key")
    with open(bad_key, "w") as f:
        f.write("-----BEGIN PRIVATE KEY-----\nAAAAnot*base64!!\n-----END PRIVATE KEY-----\n")
    os.chmod(bad_key, 0o600)
    for args in (["--cafile", bad_ca] + good_pair(c),
                 ["--cafile", c.f("good/ca.crt"), "--cert", c.f("good/client.crt"), "--key", bad_key]):
        rc, out, err = c.smqtt("smqtt_pub", c.good.tls_req_port, args, ["--diag-format", "json"])
        j = last_json(err)
        expect(rc == 1 and j.get("stage") == "preflight", "a damaged PEM file is a preflight finding", rc, err)


KNOWN_BUGS = []  # every bug found so far is fixed; its test is a test_fixed_* case
TESTS = [v for k, v in sorted(globals().items()) if k.startswith("test_")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", action="append")
    ap.add_argument("--known-bugs", action="store_true")
    ap.add_argument("--list", action="store_true")
    opts = ap.parse_args()
    tests = TESTS + (KNOWN_BUGS if opts.known_bugs else [])
    if opts.k:
        tests = [t for t in tests if any(k in t.__name__ for k in opts.k)]
    if opts.list:
        for t in tests:
            print(t.__name__)
        return 0
    for tool in TOOLS:
        if not os.access(binpath(tool), os.X_OK):
            print("FAIL setup: %s not found in %s" % (tool, bindir()))
            print("0 passed, 1 failed")
            return 1
    tmp = tempfile.mkdtemp(prefix="smqtt-preflight-")
    lab = os.path.join(tmp, "lab")
    passed = failed = 0
    try:
        subprocess.run(["bash", os.path.join(REPO, "tests", "lib", "scenarios.sh"), lab],
                       check=True, timeout=300)
        os.makedirs(os.path.join(tmp, "home"), exist_ok=True)
        with Broker(pki_dir=os.path.join(lab, "good"), tls=False) as good, \
                Broker(pki_dir=os.path.join(lab, "samecn"), tls=False) as samecn:
            c = Ctx(tmp, lab, good, samecn)
            settle(c, good)
            settle(c, samecn)
            for t in tests:
                try:
                    t(c)
                    print("ok", t.__name__)
                    passed += 1
                except Exception as e:  # noqa: BLE001
                    print("FAIL %s: %s" % (t.__name__, e))
                    if not isinstance(e, AssertionError):
                        traceback.print_exc()
                    failed += 1
                sys.stdout.flush()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
