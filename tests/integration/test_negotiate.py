#!/usr/bin/env python3
"""TLS version negotiation against real legacy peers.

stunnel (Debian stunnel4) terminates TLS in front of a plain mosquitto port
with a TLS version ceiling (TLS 1.0 only, TLS 1.1 at most, TLS 1.2 at most);
a mosquitto TLS listener (OpenSSL 3, TLS 1.3) stands for a modern broker.
Every client connection goes through tests/lib/relay.py, which counts the
TCP connections exactly and records what each ClientHello offered (versions,
the fallback SCSV) and what the server answered in clear text (ServerHello
version, alerts). For the SCSV cases the relay also plays the middlebox: it
drops the first connection (or every connection offering TLS 1.3, or every
connection) right after the ClientHello.

Cases: the default run against a TLS 1.0-only broker fails and names TLS
1.0 and --tls-version tlsv1; --tls-version tlsv1 (and the same through a
profile) steps down with the SCSV, publishes / receives, and warns once; a
TLS 1.3 minimum against a TLS 1.2 broker names the broker's maximum; a
remembered version (XDG_CACHE_HOME/smqtt/tls-versions, 0600) is a hint only:
the next run still offers the full range first, then steps down to it with
the SCSV; certificate failures are never retried; a step-down
after a dropped handshake carries the SCSV and the broker's
inappropriate_fallback (86) is explained, not worked around.

Usage: test_negotiate.py [-k SUBSTRING]... [--list]
The last line is "N passed, N failed"; exit status 1 on any failure.
Only 127.0.0.1 is contacted. Python 3 standard library only.
"""
import argparse
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.dont_write_bytecode = True   # keep tests/lib free of __pycache__
sys.path.insert(0, os.path.join(REPO, "tests", "lib"))
from lab_peers import Mosquitto, Stunnel, popen, terminate_on_sigterm  # noqa: E402
from relay import Relay  # noqa: E402
from harness import bindir, binpath, expect, last_json  # noqa: E402

TIMEOUT = 20
HOST = "127.0.0.1"
REF_PUB = "/usr/bin/mosquitto_pub"
REF_SUB = "/usr/bin/mosquitto_sub"
TOOLS = ("smqtt_pub", "smqtt_sub")
CERT_CAUSES = ("server-cert-untrusted", "server-chain-incomplete")


def brief(events):
    """The relay's record, short enough for a failure message."""
    return [{"n": e["n"], "action": e["action"], "offered": (e["hello"] or {}).get("versions"),
             "scsv": (e["hello"] or {}).get("scsv"), "server": e["server"]} for e in events]


class Ctx:
    def __init__(self, tmp, lab):
        self.tmp = tmp
        self.lab = lab
        self.n = 0

    def f(self, rel):
        return os.path.join(self.lab, rel)

    def new_cache(self):
        self.n += 1
        d = os.path.join(self.tmp, "cache", str(self.n))
        os.makedirs(d)
        return d

    def env(self, cache=None, **extra):
        env = dict(os.environ)
        for k in ("SMQTT_PROFILES", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
            env.pop(k, None)
        env["HOME"] = os.path.join(self.tmp, "home")
        env["SMQTT_SYSCONFDIR"] = os.path.join(self.tmp, "sysconf")
        env["XDG_CACHE_HOME"] = cache or self.new_cache()
        env["LC_ALL"] = "C"
        env.update(extra)
        return env

    def run(self, argv, env=None, timeout=TIMEOUT):
        wrapper = os.environ.get("SMQTT_WRAPPER")
        if wrapper and os.path.basename(argv[0]).startswith("smqtt_"):
            argv = wrapper.split() + argv
        p = subprocess.run(argv, env=env or self.env(), stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=timeout, cwd=self.tmp)
        return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")

    def tool(self, tool, relay, args, topic="neg/test", env=None, cid=None):
        argv = [binpath(tool), "-h", HOST]
        if relay is not None:
            argv += ["-p", str(relay.port)]
        argv += list(args)
        if cid:
            argv += ["-i", cid]
        if tool == "smqtt_pub":
            argv += ["-t", topic, "-m", "negotiated"]
        else:
            argv += ["-t", topic, "-C", "1", "-W", "10"]
        return self.run(argv, env=env)

    # ----- a reference subscriber on the plain port ----------------------
    def watcher(self, topic):
        self.n += 1
        cid = "neg-watch-%d-%d" % (os.getpid(), self.n)
        mark = self.m.log_mark()
        p = popen([REF_SUB, "-h", HOST, "-p", str(self.m.port("plain")), "-t", topic, "-C", "1",
                   "-v", "-i", cid, "-W", "10"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.m.wait_for_log(r"Sending SUBACK to %s\b" % re.escape(cid), 5, since=mark)
        return p

    def publish_plain(self, topic, payload):
        subprocess.run([REF_PUB, "-h", HOST, "-p", str(self.m.port("plain")), "-t", topic, "-m", payload],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=TIMEOUT, check=True)


def received(w):
    try:
        out, _ = w.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        w.kill()
        out, _ = w.communicate()
    return out.decode(errors="replace")


def stop_watcher(w):
    """Stop a watcher; what it printed."""
    if w.poll() is None:
        w.terminate()
    try:
        out, _ = w.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        w.kill()
        out, _ = w.communicate()
    except ValueError:          # already communicated
        return ""
    return (out or b"").decode(errors="replace")


def since(relay, mark):
    return relay.settle()[mark:]


def check_text(label, err):
    expect(err.startswith("Error: "), label + ": stderr starts with 'Error: '", err)
    expect("\n  why: " in err and "\n  fix: " in err, label + ": why and fix lines", err)
    for bare in ("A TLS error occurred", "The connection was lost"):
        expect(bare not in err, label + ": not the bare %r" % bare, err)


def warning_lines(err):
    return [line for line in err.splitlines() if line.startswith("Warning:")]


def cache_file(cache):
    return os.path.join(cache, "smqtt", "tls-versions")


# ---------------------------------------------------------------------------
# TLS 1.0-only broker

def test_tlsv1_only_default_fails(c):
    r = c.r10
    rc, out, err = c.run([REF_PUB, "-h", HOST, "-p", str(r.port), "--cafile", c.f("good/ca.crt"),
                          "-t", "neg/ref", "-m", "x"])
    expect(rc != 0, "mosquitto_pub fails against the TLS 1.0-only broker too", rc, err)
    for tool in TOOLS:
        mark = r.mark()
        rc, out, err = c.tool(tool, r, ["--cafile", c.f("good/ca.crt")])
        expect(rc == 8, tool + ": exit 8", rc, err)
        check_text(tool, err)
        rc, out, err = c.tool(tool, r, ["--cafile", c.f("good/ca.crt"), "--diag-format", "json"])
        expect(rc == 8, tool + " json: exit 8", rc, err)
        j = last_json(err)
        expect(j["cause"] == "protocol-version-mismatch", tool + ": cause protocol-version-mismatch", j)
        expect("the highest TLS version the broker speaks is TLS 1.0; this run allows only TLS 1.2 and up (the default), "
               "so they have no version in common" in j["why"], tool + ": why names TLS 1.0 as the broker's maximum, "
               "and why that fails (issue 26: no non-sequitur)", j["why"])
        speaks = re.search(r"speaks is ([^;(]*)", j["why"])
        expect(speaks and "TLS 1.1" not in speaks.group(1) and "TLS 1.2" not in speaks.group(1),
               tool + ": why does not claim the broker speaks TLS 1.1 or 1.2", j["why"])
        expect("--tls-version tlsv1" in j["fix"] and "--tls-version tlsv1." not in j["fix"],
               tool + ": fix gives --tls-version tlsv1", j["fix"])
        ev = since(r, mark)
        expect(not any(e["hello"]["scsv"] for e in ev), tool + ": no step-down below the default minimum", brief(ev))


def test_tlsv1_explicit_publishes_and_warns(c):
    r = c.r10
    w = c.watcher("neg/v1pub")
    try:
        mark = r.mark()
        keylog = os.path.join(c.tmp, "v1.keylog")
        rc, out, err = c.tool("smqtt_pub", r, ["--cafile", c.f("good/ca.crt"), "--tls-version", "tlsv1",
                                               "--tls-keylog", keylog], topic="neg/v1pub")
        expect(rc == 0, "smqtt_pub --tls-version tlsv1 publishes", rc, err)
        # the step-down attempt that worked (TLS 1.0) wrote its key log line
        with open(keylog) as f:
            lines = f.read().splitlines()
        expect(len(lines) == 1 and re.fullmatch(r"CLIENT_RANDOM [0-9a-f]{64} [0-9a-f]{96}", lines[0]),
               "--tls-keylog holds the TLS 1.0 retry's CLIENT_RANDOM line", lines)
        expect(stat.S_IMODE(os.stat(keylog).st_mode) == 0o600, "the key log is mode 0600", oct(os.stat(keylog).st_mode))
        got = received(w)
    finally:
        stop_watcher(w)
    expect(got == "neg/v1pub negotiated\n", "the subscriber on the plain port got the message", got)
    warns = warning_lines(err)
    expect(len(warns) == 1 and "deprecated" in warns[0] and "tlsv1" in warns[0],
           "one Warning line about a deprecated protocol", err)
    expect(err.strip() == warns[0], "nothing else on stderr", err)
    ev = since(r, mark)
    # 1.3/1.2 refused, 1.1 + SCSV refused, 1.0 + SCSV accepted
    expect(len(ev) == 3, "three handshakes: TLS 1.3, then 1.1, then 1.0", brief(ev))
    expect(ev[0]["hello"]["max_version"] == "TLSv1.3" and not ev[0]["hello"]["scsv"],
           "the first offers TLS 1.3 without the SCSV", brief(ev))
    expect(ev[0]["server"]["alerts"] == [70], "the broker answered protocol_version (70)", brief(ev))
    expect(ev[1]["hello"]["versions"] == ["TLSv1.1"] and ev[1]["hello"]["scsv"],
           "the second offers TLS 1.1 with the SCSV", brief(ev))
    expect(ev[2]["hello"]["versions"] == ["TLSv1"] and ev[2]["hello"]["scsv"],
           "the third offers TLS 1.0 with the SCSV", brief(ev))
    expect(ev[2]["server"]["hello_version"] == "TLSv1", "the broker answered with TLS 1.0", brief(ev))


def test_tlsv1_explicit_subscribes(c):
    r = c.r10
    cid = "neg-sub-v1-%d" % os.getpid()
    mark = c.m.log_mark()
    argv = [binpath("smqtt_sub"), "-h", HOST, "-p", str(r.port), "--cafile", c.f("good/ca.crt"),
            "--tls-version", "tlsv1", "-t", "neg/v1sub", "-C", "1", "-W", "10", "-i", cid]
    p = subprocess.Popen(argv, env=c.env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        c.m.wait_for_log(r"Sending SUBACK to %s\b" % re.escape(cid), 10, since=mark)
        c.publish_plain("neg/v1sub", "hello-v1")
        out, err = p.communicate(timeout=TIMEOUT)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    out, err = out.decode(), err.decode()
    expect(p.returncode == 0 and out == "hello-v1\n", "smqtt_sub over TLS 1.0 receives the message",
           p.returncode, out, err)
    warns = warning_lines(err)
    expect(len(warns) == 1 and "deprecated" in warns[0], "one Warning line about a deprecated protocol", err)


def profile_text(name, port, cafile, extra=""):
    return ('%s: {\n  hosts = ["%s"];\n  port = %d;\n  cafile = "%s";\n%s};\n'
            % (name, HOST, port, cafile, extra))


def test_tlsv1_through_profile(c):
    r = c.r10
    prof = os.path.join(c.tmp, "legacy.conf")
    with open(prof, "w") as f:
        f.write(profile_text("legacy", r.port, c.f("good/ca.crt"), '  tls-version = "tlsv1";\n'))
    w = c.watcher("neg/v1prof")
    try:
        rc, out, err = c.tool("smqtt_pub", None, [], topic="neg/v1prof", env=c.env(SMQTT_PROFILES=prof))
        expect(rc == 0, "smqtt_pub with profile tls-version = \"tlsv1\" publishes", rc, err)
        got = received(w)
    finally:
        stop_watcher(w)
    expect(got == "neg/v1prof negotiated\n", "the subscriber on the plain port got the message", got)
    warns = warning_lines(err)
    expect(len(warns) == 1 and "deprecated" in warns[0], "one Warning line about a deprecated protocol", err)


def test_tlsv1_profile_without_version_names_the_profile(c):
    r = c.r10
    prof = os.path.join(c.tmp, "legacy-noversion.conf")
    with open(prof, "w") as f:
        f.write(profile_text("oldbox", r.port, c.f("good/ca.crt")))
    for tool in TOOLS:
        rc, out, err = c.tool(tool, None, ["--diag-format", "json"], env=c.env(SMQTT_PROFILES=prof))
        expect(rc == 8, tool + ": exit 8", rc, err)
        j = last_json(err)
        expect(j["cause"] == "protocol-version-mismatch", tool + ": cause", j)
        expect('tls-version = "tlsv1";' in j["fix"] and "oldbox" in j["fix"],
               tool + ": fix says to add tls-version = \"tlsv1\"; to profile oldbox", j["fix"])


# ---------------------------------------------------------------------------
# TLS 1.2-max broker, TLS 1.3 asked for

def test_tls13_minimum_against_tls12_broker(c):
    r = c.r12
    for tool in TOOLS:
        mark = r.mark()
        rc, out, err = c.tool(tool, r, ["--cafile", c.f("good/ca.crt"), "--tls-version", "tlsv1.3"])
        expect(rc == 8, tool + ": exit 8", rc, err)
        check_text(tool, err)
        rc, out, err = c.tool(tool, r, ["--cafile", c.f("good/ca.crt"), "--tls-version", "tlsv1.3",
                                        "--diag-format", "json"])
        j = last_json(err)
        expect(rc == 8 and j["cause"] == "protocol-version-mismatch", tool + ": protocol-version-mismatch", rc, j)
        expect("the highest TLS version the broker speaks is TLS 1.2; this run allows only TLS 1.3 and up (--tls-version), "
               "so they have no version in common" in j["why"], tool + ": why says the broker's maximum is TLS 1.2", j["why"])
        expect("--tls-version tlsv1.2" in j["fix"], tool + ": fix gives --tls-version tlsv1.2", j["fix"])
        ev = since(r, mark)
        attempts = [e for e in ev if "TLSv1.3" in e["hello"]["versions"] and len(e["hello"]["versions"]) == 1]
        expect(not any(e["hello"]["scsv"] for e in ev), tool + ": no step-down below --tls-version", brief(ev))
        expect(attempts, tool + ": the handshakes offered TLS 1.3 only", brief(ev))


# ---------------------------------------------------------------------------
# the remembered version

def check_remembered(c, relay, version, first_count, offered):
    cache = c.new_cache()
    env = c.env(cache=cache)
    args = ["--cafile", c.f("good/ca.crt"), "--tls-version", version]
    mark = relay.mark()
    rc, out, err = c.tool("smqtt_pub", relay, args, env=env)
    expect(rc == 0, "first run publishes", rc, err)
    ev = since(relay, mark)
    expect(len(ev) == first_count, "first run: %d handshakes (stepping down)" % first_count, brief(ev))
    path = cache_file(cache)
    expect(os.path.isfile(path), "the version was remembered in %s" % path, os.listdir(cache))
    mode = stat.S_IMODE(os.stat(path).st_mode)
    expect(mode == 0o600, "the cache file is mode 0600", oct(mode))
    dmode = stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode)
    expect(dmode & 0o077 == 0, "the cache directory is private", oct(dmode))
    with open(path) as f:
        text = f.read()
    expect("%s:%d %s\n" % (HOST, relay.port, version) in text, "the cache names host:port and the version", text)
    for tool in TOOLS:
        mark = relay.mark()
        if tool == "smqtt_pub":
            rc, out, err = c.tool(tool, relay, args, env=env)
            expect(rc == 0, tool + ": second run publishes", rc, err)
        else:
            rc, out, err = check_sub_receives(c, relay, args, env)
        ev = since(relay, mark)
        expect(len(ev) == 2, tool + ": the next run does TWO handshakes", brief(ev))
        expect(ev[0]["hello"]["versions"] == ["TLSv1.3", "TLSv1.2"] and not ev[0]["hello"]["scsv"],
               tool + ": the first still offers the full range, without the SCSV (memory is no ceiling)",
               brief(ev))
        expect(ev[1]["hello"]["versions"] == [offered] and ev[1]["hello"]["scsv"],
               tool + ": the second steps down to the remembered version, with the SCSV", brief(ev))
        expect(len(warning_lines(err)) == (1 if version in ("tlsv1", "tlsv1.1") else 0),
               tool + ": the deprecated-protocol warning", err)


def check_sub_receives(c, relay, args, env):
    cid = "neg-sub-%d-%d" % (os.getpid(), relay.mark())
    mark = c.m.log_mark()
    argv = [binpath("smqtt_sub"), "-h", HOST, "-p", str(relay.port)] + args + \
        ["-t", "neg/remember", "-C", "1", "-W", "10", "-i", cid]
    p = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        c.m.wait_for_log(r"Sending SUBACK to %s\b" % re.escape(cid), 10, since=mark)
        c.publish_plain("neg/remember", "again")
        out, err = p.communicate(timeout=TIMEOUT)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    out, err = out.decode(), err.decode()
    expect(p.returncode == 0 and out == "again\n", "smqtt_sub receives", p.returncode, out, err)
    return p.returncode, out, err


def test_remembered_tlsv1_1_is_a_hint(c):
    check_remembered(c, c.r11, "tlsv1.1", 2, "TLSv1.1")


def test_remembered_tlsv1_is_a_hint(c):
    """TLS 1.0 remembered: the step-down offers TLS 1.1 down to TLS 1.0 at
    once (two handshakes instead of three)."""
    check_remembered(c, c.r10, "tlsv1", 3, "TLSv1.1")


def test_lower_cached_version_does_not_add_a_handshake(c):
    """A run whose minimum is above the remembered version ignores it: it
    makes as many connections as with no cache at all."""
    r = c.r10
    args = ["--cafile", c.f("good/ca.crt")]
    mark = r.mark()
    rc, out, err = c.tool("smqtt_pub", r, args)
    expect(rc == 8, "default run fails against TLS 1.0 (empty cache)", rc, err)
    plain_count = len(since(r, mark))
    cache = c.new_cache()
    os.makedirs(os.path.join(cache, "smqtt"), mode=0o700)
    with open(cache_file(cache), "w") as f:
        f.write("%s:%d tlsv1\n" % (HOST, r.port))
    os.chmod(cache_file(cache), 0o600)
    mark = r.mark()
    rc, out, err = c.tool("smqtt_pub", r, args, env=c.env(cache=cache))
    expect(rc == 8, "default run fails against TLS 1.0 (tlsv1 remembered)", rc, err)
    ev = since(r, mark)
    expect(len(ev) == plain_count, "as many connections as without the cache (%d)" % plain_count, brief(ev))


# ---------------------------------------------------------------------------
# certificate failures are not retried

def test_cert_failure_not_retried_tls13(c):
    r = c.rtls
    for tool in TOOLS:
        mark = r.mark()
        rc, out, err = c.tool(tool, r, ["--cafile", c.f("other-ca/ca.crt"), "--diag-format", "json"])
        j = last_json(err)
        expect(rc == 8 and j["cause"] == "server-cert-untrusted", tool + ": server-cert-untrusted", rc, j)
        ev = since(r, mark)
        expect(len(ev) == 1, tool + ": one connection only", brief(ev))


def test_cert_failure_not_retried_tls12(c):
    r = c.r12
    for tool in TOOLS:
        mark = r.mark()
        rc, out, err = c.tool(tool, r, ["--cafile", c.f("other-ca/ca.crt"), "--diag-format", "json"])
        j = last_json(err)
        # stunnel sends only its leaf: see test_explain for which cause is right
        expect(rc == 8 and j["cause"] in CERT_CAUSES, tool + ": a certificate failure", rc, j)
        ev = since(r, mark)
        expect(len(ev) == 1, tool + ": one connection only (a TLS 1.2 broker needs no step-down)", brief(ev))


def test_cert_failure_after_step_down_not_retried(c):
    r = c.r10
    cache = c.new_cache()
    for tool in TOOLS:
        mark = r.mark()
        rc, out, err = c.tool(tool, r, ["--cafile", c.f("other-ca/ca.crt"), "--tls-version", "tlsv1",
                                        "--diag-format", "json"], env=c.env(cache=cache))
        j = last_json(err)
        expect(rc == 8 and j["cause"] in CERT_CAUSES, tool + ": a certificate failure", rc, j)
        ev = since(r, mark)
        expect(len(ev) == 3, tool + ": 1.3, 1.1, 1.0 and nothing after the certificate failure", brief(ev))
    expect(not os.path.exists(cache_file(cache)), "a failed run remembers nothing", cache)


# ---------------------------------------------------------------------------
# the fallback SCSV

def check_scsv(c, policy, minimum):
    """A first handshake offering TLS 1.3 is dropped by the relay; a probe
    offering at most TLS 1.2 gets a ServerHello; so smqtt steps down to the
    next version, TLS 1.2, with the SCSV; the broker (OpenSSL, TLS 1.3)
    answers inappropriate_fallback (86): explained, and no connection at the
    lower version."""
    for tool in TOOLS:
        w = c.watcher("neg/scsv") if tool == "smqtt_pub" else None
        bmark = c.m.log_mark()
        cache = c.new_cache()
        with Relay((HOST, c.m.port("tls")), policy=policy) as r:
            rc, out, err = c.tool(tool, r, ["--cafile", c.f("good/ca.crt"), "--tls-version", minimum,
                                            "--diag-format", "json"], topic="neg/scsv", env=c.env(cache=cache))
            ev = r.settle()
        got = stop_watcher(w) if w is not None else ""
        expect(rc == 8, tool + ": exit 8", rc, err)
        j = last_json(err)
        dropped = [e for e in ev if e["action"] == "drop"]
        stepdown = [e for e in ev if e["action"] == "relay" and e["hello"]["scsv"]]
        expect(dropped and "TLSv1.3" in dropped[0]["hello"]["versions"] and not dropped[0]["hello"]["scsv"],
               tool + ": the first handshake offered TLS 1.3 and was dropped", brief(ev))
        expect(len(stepdown) == 1, tool + ": exactly one step-down attempt, carrying the SCSV", brief(ev), j)
        s = stepdown[0]
        expect(s["hello"]["max_version"] == "TLSv1.2", tool + ": the step-down offered TLS 1.2 (the next version "
               "down), not lower", brief(ev))
        expect(s["server"]["alerts"] == [86] and s["server"]["hello_version"] is None,
               tool + ": the broker answered inappropriate_fallback (86), no ServerHello", brief(ev))
        expect(ev.index(s) == len(ev) - 1, tool + ": nothing after the refused step-down", brief(ev))
        expect(j["cause"] == "inappropriate-fallback", tool + ": cause inappropriate-fallback", j, brief(ev))
        expect("inappropriate_fallback" in j["summary"] and j["why"] and j["fix"], tool + ": explained", j)
        expect(j["evidence"].get("fallback_scsv") is True and j["evidence"].get("alert_received")
               == "inappropriate_fallback", tool + ": evidence of the SCSV and alert 86", j["evidence"])
        check_text(tool, err)
        # no connection at the lower version
        log = c.m.log_text(bmark)
        expect("New client connected" not in log, tool + ": no MQTT session was made", log)
        expect(not os.path.exists(cache_file(cache)), tool + ": no version remembered", cache)
        if w is not None:
            expect(got == "", tool + ": nothing was delivered", got)


def test_scsv_drop_first(c):
    check_scsv(c, "drop-first", "tlsv1.2")


def test_scsv_tls13_intolerant_middlebox(c):
    check_scsv(c, "drop-tls13", "tlsv1.2")


def test_scsv_drop_first_tlsv1_1_allowed(c):
    check_scsv(c, "drop-first", "tlsv1.1")


def test_hangup_on_every_hello_is_not_intolerance(c):
    """A peer that hangs up on every ClientHello (the TLS 1.2 probe too) is
    not TLS 1.3 intolerance: no step-down, no SCSV."""
    for tool in TOOLS:
        with Relay((HOST, c.m.port("tls")), policy="drop-all") as r:
            rc, out, err = c.tool(tool, r, ["--cafile", c.f("good/ca.crt"), "--tls-version", "tlsv1.2",
                                            "--diag-format", "json"])
            ev = r.settle()
        j = last_json(err)
        expect(rc == 8, tool + ": exit 8", rc, err)
        expect(j["cause"] not in ("tls-unclassified", "inappropriate-fallback", "protocol-version-mismatch"),
               tool + ": not unclassified, not a version problem", j)
        expect(j["cause"] == "tls-to-plain-port", tool + ": explained as a port that does not speak TLS", j)
        expect(not any(e["hello"]["scsv"] for e in ev), tool + ": no step-down attempt", brief(ev))


# ---------------------------------------------------------------------------
# --tls-resume over TLS 1.2 (stunnel) and TLS 1.3 (mosquitto)

def test_tls_resume_tls12_and_tls13(c):
    """Three runs share a cache: the first makes a full handshake, the next two
    resume the session the run before saved (without the broker's
    certificate), and every message arrives."""
    for version, relay in (("TLSv1.2", c.r12), ("TLSv1.3", c.rtls)):
        env = c.env()
        for i in range(3):
            topic = "neg/resume/%s/%d" % (version, i)
            w = c.watcher(topic)
            rc, out, err = c.tool("smqtt_pub", relay, ["--cafile", c.f("good/ca.crt"), "--tls-resume", "--trace"],
                                  topic=topic, env=env)
            got = received(w)
            label = "%s run %d" % (version, i + 1)
            expect(rc == 0 and got == topic + " negotiated\n", label + ": published and received", rc, got, err)
            expect("negotiated %s" % version in err, label + ": " + version, err)
            want = "session resumed (--tls-resume)" if i else "session new (full handshake)"
            expect(want in err, label + ": " + want, err)
        sdir = os.path.join(env["XDG_CACHE_HOME"], "smqtt", "sessions")
        files = os.listdir(sdir)
        expect(len(files) == 1, version + ": one session file", files)
        der = subprocess.run(["openssl", "asn1parse", "-in", os.path.join(sdir, files[0])],
                             capture_output=True, text=True)
        expect(der.returncode == 0 and not re.search(r"d=1 .*cont \[ 3 \]", der.stdout),
               version + ": the session parses and holds no broker certificate", der.stdout, der.stderr)


TESTS = [v for k, v in globals().items() if k.startswith("test_")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", action="append")
    ap.add_argument("--list", action="store_true")
    opts = ap.parse_args()
    tests = [t for t in TESTS if not opts.k or any(k in t.__name__ for k in opts.k)]
    if opts.list:
        for t in tests:
            print(t.__name__)
        return 0
    for tool in TOOLS:
        if not os.access(binpath(tool), os.X_OK):
            print("FAIL setup: %s not found in %s" % (tool, bindir()))
            print("0 passed, 1 failed")
            return 1
    terminate_on_sigterm()
    tmp = tempfile.mkdtemp(prefix="smqtt-negotiate-")
    lab = os.path.join(tmp, "lab")
    c = Ctx(tmp, lab)
    peers = []
    passed = failed = 0
    try:
        os.makedirs(os.path.join(tmp, "home"))
        subprocess.run(["bash", os.path.join(REPO, "tests", "lib", "scenarios.sh"), lab], check=True, timeout=300)
        m = Mosquitto(os.path.join(tmp, "mosquitto"), "neg")
        peers.append(m)
        m.listener("plain", ["allow_anonymous true"])
        m.listener("tls", ["allow_anonymous true", "cafile " + c.f("good/ca.crt"),
                           "certfile " + c.f("good/server.crt"), "keyfile " + c.f("good/server.key")])
        m.start()
        c.m = m
        cert = ["cert = " + c.f("good/server.crt"), "key = " + c.f("good/server.key")]
        legacy = ["securityLevel = 0", "ciphers = DEFAULT:@SECLEVEL=0"]
        st = {}
        for name, opts_ in (("v10", ["sslVersionMin = TLSv1", "sslVersionMax = TLSv1"] + legacy),
                            ("v11", ["sslVersionMin = TLSv1", "sslVersionMax = TLSv1.1"] + legacy),
                            ("v12", ["sslVersionMax = TLSv1.2"])):
            s = Stunnel(os.path.join(tmp, "stunnel"), name, m.port("plain"), cert + opts_)
            peers.append(s)
            s.start()
            st[name] = s
        c.st = st
        # every client connection goes through a counting relay
        c.r10 = Relay((HOST, st["v10"].port)).start()
        c.r11 = Relay((HOST, st["v11"].port)).start()
        c.r12 = Relay((HOST, st["v12"].port)).start()
        c.rtls = Relay((HOST, m.port("tls"))).start()
        peers += [c.r10, c.r11, c.r12, c.rtls]
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
        # the stunnel logs agree with the relays' counts
        try:
            for name, r in (("v10", c.r10), ("v11", c.r11), ("v12", c.r12)):
                n = len(r.settle())
                deadline = time.monotonic() + 5
                while len(st[name].accepted()) < n and time.monotonic() < deadline:
                    time.sleep(0.02)
                expect(len(st[name].accepted()) == n, "stunnel %s logged the %d connections the relay saw"
                       % (name, n), len(st[name].accepted()))
            print("ok stunnel_logs_agree_with_relays")
            passed += 1
        except Exception as e:  # noqa: BLE001
            print("FAIL stunnel_logs_agree_with_relays: %s" % e)
            failed += 1
    except Exception as e:  # noqa: BLE001
        print("FAIL setup: %s" % e)
        traceback.print_exc()
        failed += 1
    finally:
        for p in reversed(peers):
            try:
                p.stop()
            except Exception:  # noqa: BLE001
                traceback.print_exc()
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
