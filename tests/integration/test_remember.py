#!/usr/bin/env python3
"""What smqtt remembers between runs must never weaken a later run (issue
23), against real peers: mosquitto 2.0 TLS listeners with the scenario
lab's certificates (good, other-ca, wrongsan), stunnel with a TLS 1.2
ceiling, each behind tests/lib/relay.py, which records what every
ClientHello offered.

Sessions (--tls-resume): a session saved by a run with --insecure, or with
another CA, or with a CA file whose contents changed since, is never
resumed by a run that asks for the check; --trace says why; a session file
of an older smqtt (no trust record) is not offered.

Versions: what is remembered is a hint, never a ceiling: after a TLS 1.2
broker the next run still offers TLS 1.3; after TLS 1.0 (allowed by
--tls-version) a broker that now speaks TLS 1.3 gets it at once and the
memory follows; a remembered tlsv1 alone never takes a run below TLS 1.2.

Profiles: a profile with a port does not take over another -p of its host;
--profile forces it and every option names its source (trace, fix, JSON);
--list-profiles shows the port; a same-address hint; --save-profile saves
what the user chose, never the negotiated TLS version.

Files: --tls-keylog never writes to a file another user owns or can write;
a --proxy password in a profile is masked in --trace, warned about in a
readable profile and by --save-profile (through microsocks, a real SOCKS5
server).

Relay: the WebSocket relay's directory is gone once libmosquitto has
connected, and nothing is left after SIGINT/SIGTERM/SIGHUP/SIGKILL of
smqtt_sub --ws, nor by smqtt_pub --ws. Run as root, two throwaway users
race in a world-writable, non-sticky $TMPDIR: user B renames and replaces
user A's relay directory and binds and connects in it while A runs
smqtt_pub --ws with a password; A succeeds or explains, B receives nothing,
and A leaves nothing but a directory B took before A could open it. Many
runs in a non-sticky $TMPDIR leave nothing; a signal between the relay's
listen and accept (raised by an LD_PRELOAD shim) ends each tool at once,
with nothing left.

Usage: test_remember.py [SUBSTRING]...   Last line: "N passed, N failed".
Only 127.0.0.1 is contacted. Python 3 standard library only.
"""
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(REPO, "tests", "lib"))
from lab_peers import Mosquitto, Stunnel, terminate_on_sigterm  # noqa: E402
from relay import Relay  # noqa: E402
from harness import binpath, expect, last_json, run_tests  # noqa: E402

TIMEOUT = 20
HOST = "127.0.0.1"


class Ctx:
    def __init__(self, tmp, lab):
        self.tmp = tmp
        self.lab = lab
        self.n = 0

    def f(self, rel):
        return os.path.join(self.lab, rel)

    def env(self, cache=None, **extra):
        env = dict(os.environ)
        for k in ("SMQTT_PROFILES", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "LANGUAGE"):
            env.pop(k, None)
        if cache is None:
            self.n += 1
            cache = os.path.join(self.tmp, "cache", str(self.n))
            os.makedirs(cache)
        env["HOME"] = os.path.join(self.tmp, "home")
        env["SMQTT_SYSCONFDIR"] = os.path.join(self.tmp, "sysconf")
        env["XDG_CACHE_HOME"] = cache
        env["LC_ALL"] = "C"
        env.update(extra)
        return env

    def pub(self, port, args, env, host=HOST):
        argv = [binpath("smqtt_pub"), "-h", host, "-p", str(port)] + list(args) + ["-t", "rem/t", "-m", "x"]
        wrapper = os.environ.get("SMQTT_WRAPPER")
        if wrapper:
            argv = wrapper.split() + argv
        p = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=TIMEOUT,
                           cwd=self.tmp)
        return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")

    def sessions(self, env):
        d = os.path.join(env["XDG_CACHE_HOME"], "smqtt", "sessions")
        return sorted(os.listdir(d)) if os.path.isdir(d) else []


# ---------------------------------------------------------------------------
# Sessions (finding 1)

def test_session_insecure_never_saved_nor_used(c):
    """The certificate names other.example: --cafile alone fails (host name
    mismatch, exit 8). One run with --insecure --tls-resume must not let a
    later run without --insecure skip the host name check."""
    env = c.env()
    port = c.m.port("wrongsan")
    args = ["--cafile", c.f("wrongsan/ca.crt"), "--tls-resume", "--trace"]
    rc, _, err = c.pub(port, args, env)
    expect(rc == 8, "--cafile without --insecure: host name mismatch, exit 8", rc, err)
    rc, _, err = c.pub(port, args + ["--insecure"], env)
    expect(rc == 0, "--insecure connects", rc, err)
    expect("no session is offered or saved: --insecure" in err, "the trace says why no session is kept", err)
    expect(c.sessions(env) == [], "no session saved under --insecure", c.sessions(env))
    rc, _, err = c.pub(port, args + ["--diag-format", "json"], env)
    expect(rc == 8, "the next run without --insecure still fails on the host name", rc, err)
    expect("session resumed" not in err and "verified when it was saved" not in err, "nothing resumed", err)
    expect(last_json(err)["cause"] == "hostname-mismatch", "explained as the host name mismatch", err)


def test_session_other_ca_not_resumed(c):
    """A session saved with --cafile other-ca/ca.crt is not resumed by a run
    with --cafile good/ca.crt, which does not trust the broker."""
    env = c.env()
    port = c.m.port("otherca")
    rc, _, err = c.pub(port, ["--cafile", c.f("other-ca/ca.crt"), "--tls-resume", "--trace"], env)
    expect(rc == 0 and "session new (full handshake)" in err, "the trusting run connects", rc, err)
    expect(len(c.sessions(env)) == 1, "and saves a session", c.sessions(env))
    rc, _, err = c.pub(port, ["--cafile", c.f("other-ca/ca.crt"), "--tls-resume", "--trace"], env)
    expect(rc == 0 and "session resumed (--tls-resume)" in err, "the same run resumes it (control)", rc, err)
    rc, _, err = c.pub(port, ["--cafile", c.f("good/ca.crt"), "--tls-resume", "--trace", "--diag-format", "json"],
                       env)
    expect(rc == 8, "another CA: exit 8", rc, err)
    expect("the saved session is not offered" in err and "the CA (--cafile" in err,
           "the trace says the session is refused because the CA differs", err)
    expect(last_json(err)["cause"] == "server-cert-untrusted", "explained as an unknown CA", err)


def test_session_ca_file_contents_count(c):
    """The same --cafile path with other contents is another CA."""
    env = c.env()
    port = c.m.port("otherca")
    ca = os.path.join(c.tmp, "changing-ca.crt")
    shutil.copy(c.f("other-ca/ca.crt"), ca)
    args = ["--cafile", ca, "--tls-resume", "--trace"]
    rc, _, err = c.pub(port, args, env)
    expect(rc == 0 and len(c.sessions(env)) == 1, "saves a session", rc, err)
    shutil.copy(c.f("good/ca.crt"), ca)
    rc, _, err = c.pub(port, args, env)
    expect(rc == 8, "the CA file now holds another CA: exit 8", rc, err)
    expect("the CA (--cafile" in err, "the trace names the CA", err)


def test_session_settings_count(c):
    """--tls-version, --ciphers, the host name checked: each change means a
    full handshake, and the trace names it; the same run resumes."""
    env = c.env()
    port = c.m.port("tls")
    base = ["--cafile", c.f("good/ca.crt"), "--tls-resume", "--trace"]
    rc, _, err = c.pub(port, base, env)
    expect(rc == 0, "saves", rc, err)
    for extra, word in ((["--tls-version", "tlsv1.2"], "--tls-version differs"),
                        (["--ciphers", "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES256-GCM-SHA384"],
                         "--ciphers differs")):
        rc, _, err = c.pub(port, base + extra, env)
        expect(rc == 0 and word in err and "session resumed" not in err, "changed %s: not resumed" % extra[0],
               rc, err)
        rc, _, err = c.pub(port, base, env)   # the original again
        rc, _, err = c.pub(port, base, env)
        expect(rc == 0 and "session resumed (--tls-resume)" in err, "the original run resumes again", rc, err)


def test_session_of_an_older_smqtt_not_offered(c):
    """A session file without the trust record (as 6c15cfd wrote it) is not
    offered; a full handshake replaces it."""
    env = c.env()
    port = c.m.port("tls")
    args = ["--cafile", c.f("good/ca.crt"), "--tls-resume", "--trace"]
    rc, _, err = c.pub(port, args, env)
    path = os.path.join(env["XDG_CACHE_HOME"], "smqtt", "sessions", c.sessions(env)[0])
    with open(path) as f:
        lines = f.read().split("\n", 1)
    expect(lines[0].startswith("smqtt-session-trust: v1 "), "the file starts with the trust record", lines[0])
    with open(path, "w") as f:
        f.write(lines[1])
    rc, _, err = c.pub(port, args, env)
    expect(rc == 0 and "an older smqtt saved it" in err and "session new (full handshake)" in err,
           "not offered, full handshake", rc, err)
    rc, _, err = c.pub(port, args, env)
    expect(rc == 0 and "session resumed (--tls-resume)" in err, "the new session resumes", rc, err)


# ---------------------------------------------------------------------------
# Versions (finding 2)

def since(relay, mark):
    return relay.settle()[mark:]


def hellos(ev):
    return [((e["hello"] or {}).get("versions"), (e["hello"] or {}).get("scsv")) for e in ev]


def cached(env):
    path = os.path.join(env["XDG_CACHE_HOME"], "smqtt", "tls-versions")
    if not os.path.exists(path):
        return ""
    with open(path) as f:
        return f.read()


def test_version_tls12_broker_not_a_ceiling(c):
    """After a run against a TLS 1.2-only broker, the next run still offers
    TLS 1.3 and 1.2 (one handshake, no SCSV), not exactly 1.2."""
    env = c.env()
    r = c.relay
    r.target = (HOST, c.s12.port)
    args = ["--cafile", c.f("good/ca.crt"), "--trace"]
    rc, _, err = c.pub(r.port, args, env)
    expect(rc == 0 and "negotiated TLSv1.2" in err, "first run: TLS 1.2", rc, err)
    expect("%s:%d tlsv1.2\n" % (HOST, r.port) in cached(env), "tlsv1.2 remembered", cached(env))
    mark = r.mark()
    rc, _, err = c.pub(r.port, args, env)
    ev = since(r, mark)
    expect(rc == 0, "second run publishes", rc, err)
    expect(hellos(ev) == [(["TLSv1.3", "TLSv1.2"], False)], "one handshake offering the full range", hellos(ev))
    expect("worked last time for this broker: not used" in err, "the trace says the memory is not used", err)


def test_version_rises_again(c):
    """TLS 1.0 remembered (the user allowed it); the broker now speaks TLS
    1.3: the next run offers the full range, gets TLS 1.3 in one handshake,
    and the memory follows up."""
    env = c.env()
    r = c.relay
    args = ["--cafile", c.f("good/ca.crt"), "--tls-version", "tlsv1", "--trace"]
    try:
        r.target = (HOST, c.s10.port)
        rc, _, err = c.pub(r.port, args, env)
        expect(rc == 0 and "negotiated TLSv1 " in err.replace("TLSv1,", "TLSv1 "), "first run: TLS 1.0", rc, err)
        expect("%s:%d tlsv1\n" % (HOST, r.port) in cached(env), "tlsv1 remembered", cached(env))
        r.target = (HOST, c.m.port("tls"))
        mark = r.mark()
        rc, _, err = c.pub(r.port, args, env)
        ev = since(r, mark)
        expect(rc == 0 and "negotiated TLSv1.3" in err, "the upgraded broker: TLS 1.3", rc, err)
        expect(hellos(ev) == [(["TLSv1.3", "TLSv1.2"], False)], "one handshake, the full range first",
               hellos(ev))
        expect("deprecated protocol" not in err, "no deprecated-protocol warning", err)
        expect("%s:%d tlsv1.3\n" % (HOST, r.port) in cached(env), "the memory rose to tlsv1.3", cached(env))
    finally:
        r.target = (HOST, c.s12.port)


def test_version_memory_alone_never_below_tls12(c):
    """A cache entry of tlsv1 (written by another run or by hand) makes a
    run without --tls-version offer nothing below TLS 1.2: against a TLS
    1.0-only broker it fails (exit 8) with no step-down, as with no cache."""
    env = c.env()
    r = c.relay
    os.makedirs(os.path.join(env["XDG_CACHE_HOME"], "smqtt"), mode=0o700)
    try:
        r.target = (HOST, c.s10.port)
        with open(os.path.join(env["XDG_CACHE_HOME"], "smqtt", "tls-versions"), "w") as f:
            f.write("%s:%d tlsv1\n" % (HOST, r.port))
        mark = r.mark()
        rc, _, err = c.pub(r.port, ["--cafile", c.f("good/ca.crt"), "--trace"], env)
        ev = since(r, mark)
        expect(rc == 8, "exit 8", rc, err)
        expect(all(v and "TLSv1.2" in v and not s for v, s in hellos(ev)), "never below TLS 1.2, no SCSV",
               hellos(ev))
    finally:
        r.target = (HOST, c.s12.port)


def saved_profile(env, name):
    path = os.path.join(env["XDG_CONFIG_HOME"], "smqtt", "profiles.d", name + ".conf")
    with open(path) as f:
        return f.read()


def test_save_profile_keeps_no_negotiated_version(c):
    """--save-profile against a TLS 1.3 broker writes no tls-version (the
    user chose none): when the broker later speaks only TLS 1.2, the run
    through the profile still connects (a saved tlsv1.3 would refuse it).
    The negotiated version goes to the version memory, a hint."""
    env = c.env(XDG_CONFIG_HOME=os.path.join(c.tmp, "savever-%d" % c.n))
    r = c.relay
    try:
        r.target = (HOST, c.m.port("tls"))
        rc, _, err = c.pub(r.port, ["--cafile", c.f("good/ca.crt"), "--trace", "--save-profile", "lab"], env)
        expect(rc == 0 and "negotiated TLSv1.3" in err and "saved profile 'lab'" in err, "saved after TLS 1.3",
               rc, err)
        text = saved_profile(env, "lab")
        expect("tls-version" not in text and "cafile" in text and "port = %d;" % r.port in text,
               "the profile holds the user's options, no negotiated version", text)
        expect("%s:%d tlsv1.3\n" % (HOST, r.port) in cached(env), "the version memory has it", cached(env))
        r.target = (HOST, c.s12.port)
        rc, _, err = c.pub(r.port, ["--trace"], env)
        expect(rc == 0 and "profile: 'lab'" in err and "negotiated TLSv1.2" in err,
               "the broker now speaks only TLS 1.2: the profile's run still connects", rc, err)
    finally:
        r.target = (HOST, c.s12.port)


def test_save_profile_keeps_the_users_version(c):
    """--tls-version given by the user is saved as given, not replaced by
    the negotiated TLS 1.3, and stays a minimum: a later run through the
    profile gets TLS 1.3 from a TLS 1.3 broker and TLS 1.2 from stunnel."""
    env = c.env(XDG_CONFIG_HOME=os.path.join(c.tmp, "savever-%d" % c.n))
    r = c.relay
    try:
        r.target = (HOST, c.m.port("tls"))
        rc, _, err = c.pub(r.port, ["--cafile", c.f("good/ca.crt"), "--tls-version", "tlsv1.2", "--trace",
                                    "--save-profile", "mine"], env)
        expect(rc == 0 and "negotiated TLSv1.3" in err, "saved after TLS 1.3", rc, err)
        text = saved_profile(env, "mine")
        expect('tls-version = "tlsv1.2";' in text, "the user's --tls-version is saved as given", text)
        r.target = (HOST, c.s12.port)
        rc, _, err = c.pub(r.port, ["--trace"], env)
        expect(rc == 0 and "negotiated TLSv1.2" in err and "(profile 'mine', line" in err,
               "TLS 1.2 through the profile", rc, err)
    finally:
        r.target = (HOST, c.s12.port)


# ---------------------------------------------------------------------------
# Profiles (finding 3)

def write_profiles(c, text):
    path = os.path.join(c.tmp, "profiles-%d.conf" % c.n)
    c.n += 1
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)
    return path


def home_profile(c):
    return write_profiles(c, 'home: {\n  hosts = ["localhost"];\n  port = %d;\n  cafile = "%s";\n};\n'
                          % (c.m.port("tls"), c.f("good/ca.crt")))


def test_profile_other_port_not_applied(c):
    """A profile saved for localhost:TLS does not take over -p PLAIN: the
    plain publish works as with mosquitto_pub, and the trace says why the
    profile was not used. Without -p the profile still applies."""
    env = c.env(SMQTT_PROFILES=home_profile(c))
    rc, _, err = c.pub(c.m.port("plain"), ["--trace"], env, host="localhost")
    expect(rc == 0, "-p PLAIN publishes without the profile", rc, err)
    expect("profile: none applies: 'home'" in err and "port %d" % c.m.port("tls") in err
           and "-p %d on the command line differs" % c.m.port("plain") in err, "the trace says why", err)
    argv = [binpath("smqtt_pub"), "-h", "localhost", "--trace", "-t", "rem/t", "-m", "x"]
    p = subprocess.run(argv, env=env, capture_output=True, timeout=TIMEOUT)
    err = p.stderr.decode()
    expect(p.returncode == 0 and "profile: 'home'" in err and "negotiated TLS" in err,
           "without -p the profile applies (TLS on its port)", p.returncode, err)
    expect("--cafile %s (profile 'home', line 4)" % c.f("good/ca.crt") in err
           and "-p %d (profile 'home', line 3)" % c.m.port("tls") in err, "each option names its source", err)
    rc, _, err = c.pub(c.m.port("tls"), ["--trace"], env, host="localhost")
    expect(rc == 0 and "profile: 'home'" in err, "-p equal to the profile's port: applies", rc, err)


def test_profile_forced_names_itself(c):
    """--profile home -p PLAIN forces the profile: the TLS failure names
    the profile in the trace, the fix (--no-profile) and the JSON."""
    env = c.env(SMQTT_PROFILES=home_profile(c))
    rc, _, err = c.pub(c.m.port("plain"), ["--profile", "home", "--trace", "--diag-format", "json"], env,
                       host="localhost")
    expect(rc == 8, "exit 8 (TLS to a plain port)", rc, err)
    expect("-p %d (command line; the profile's port %d is not used)" % (c.m.port("plain"), c.m.port("tls")) in err,
           "the trace says -p overrides the profile's port", err)
    j = last_json(err)
    expect(j["cause"] == "tls-to-plain-port", "tls-to-plain-port", j)
    expect(j["evidence"].get("profile", {}).get("name") == "home"
           and "--cafile" in j["evidence"]["profile"].get("supplied", ""), "the JSON evidence names the profile", j)
    expect("--no-profile" in j["fix"] and "profile 'home'" in j["fix"], "the fix offers --no-profile", j["fix"])
    rc, _, err = c.pub(c.m.port("plain"), ["--profile", "home"], env, host="localhost")
    expect(rc == 8 and "fix:" in err and "--no-profile" in err.split("fix:", 1)[1], "the text fix too", err)


def test_local_checks_name_the_profile(c):
    """--cert from a profile names a file that does not exist: the local
    check's finding names the profile and the line of its key, in text,
    in JSON (evidence.file_origins, files[].from, profile) and in --check;
    its fix offers --no-profile naming the profile and what it supplied.
    The same file on the command line says nothing of the kind."""
    missing = os.path.join(c.tmp, "no-such-client.crt")
    path = write_profiles(c, 'home: {\n  hosts = ["localhost"];\n  port = %d;\n  cafile = "%s";\n'
                          '  cert = "%s";\n  key = "%s";\n};\n'
                          % (c.m.port("tls"), c.f("good/ca.crt"), missing, c.f("good/client.key")))
    env = c.env(SMQTT_PROFILES=path)
    rc, _, err = c.pub(c.m.port("tls"), [], env, host="localhost")
    note = "(from profile 'home', %s:5)" % path
    expect(rc == 1 and ("cannot read --cert file %s %s" % (missing, note)) in err, "the finding names the profile", rc, err)
    fix = err.split("fix:", 1)[1].split("\n", 1)[0] if "fix:" in err else ""
    expect("run with --no-profile (the profile supplied --cafile, --cert, --key)" in fix
           and ("profile 'home' (%s:1)" % path) in fix, "the fix offers --no-profile, naming what it supplied", fix)
    rc, _, err = c.pub(c.m.port("tls"), ["--diag-format", "json"], env, host="localhost")
    j = last_json(err)
    expect(j["cause"] == "file-unreadable" and note in j["summary"], "the JSON summary names the profile", j)
    origins = {o["option"]: o for o in j["evidence"].get("file_origins", [])}
    expect(origins.get("--cert", {}).get("kind") == "profile" and origins["--cert"].get("profile") == "home"
           and origins["--cert"].get("where") == "%s:5" % path and origins.get("--cafile", {}).get("where") == "%s:4" % path,
           "evidence.file_origins: each file with its profile and line", j["evidence"])
    files = {f["option"]: f for f in j["evidence"].get("files", [])}
    expect(files.get("--cafile", {}).get("from", {}).get("profile") == "home", "files[].from", j["evidence"])
    expect(j["evidence"].get("profile", {}).get("name") == "home", "evidence.profile", j["evidence"])
    expect("--no-profile" in j["fix"], "the JSON fix offers --no-profile", j["fix"])
    p = subprocess.run([binpath("smqtt_pub"), "--check", "-h", "localhost", "-p", str(c.m.port("tls"))], env=env,
                       capture_output=True, timeout=TIMEOUT)
    out = p.stdout.decode()
    expect(("--cafile %s (from profile 'home', %s:4): 1 CA certificate" % (c.f("good/ca.crt"), path)) in out
           and ("FAIL  cannot read --cert file %s %s" % (missing, note)) in out, "--check names it too", out)
    if os.path.exists("/usr/lib/locale/zh_CN.utf8") or "zh_CN.utf8" in subprocess.run(
            ["locale", "-a"], capture_output=True, text=True).stdout:
        rc, _, err = c.pub(c.m.port("tls"), [], c.env(SMQTT_PROFILES=path, LC_ALL="zh_CN.UTF-8"), host="localhost")
        expect(rc == 1 and ("（来自配置档案 'home'，%s:5）" % path) in err, "in Chinese too", err)
    rc, _, err = c.pub(c.m.port("tls"), ["--no-profile", "--cafile", c.f("good/ca.crt"), "--cert", missing,
                                         "--key", c.f("good/client.key")], c.env(), host="localhost")
    expect(rc == 1 and "cannot read --cert file %s\n" % missing in err and "(from" not in err
           and "--no-profile" not in err, "from the command line: no source named", err)


def test_local_checks_name_the_options_file(c):
    """--cafile from mosquitto's options file: the finding says so, with
    the line, and offers no --no-profile."""
    missing = os.path.join(c.tmp, "no-such-ca.crt")
    cfg = os.path.join(c.tmp, "optfile-%d" % c.n)
    os.makedirs(cfg)
    with open(os.path.join(cfg, "mosquitto_pub"), "w") as f:
        f.write("# mine\n-q 1\n--cafile %s\n" % missing)
    rc, _, err = c.pub(c.m.port("tls"), [], c.env(XDG_CONFIG_HOME=cfg), host="localhost")
    expect(rc == 1 and ("cannot read --cafile file %s (from the options file %s:3)"
                        % (missing, os.path.join(cfg, "mosquitto_pub"))) in err, "names the options file and line", err)
    expect("--no-profile" not in err, "no --no-profile without a profile", err)


def test_list_profiles_host_and_port(c):
    path = write_profiles(c, 'a: { hosts = ["a.lan"]; port = 8884; };\nb: { hosts = ["b.lan", "*.b.lan"]; };\n')
    p = subprocess.run([binpath("smqtt_pub"), "--list-profiles"], env=c.env(SMQTT_PROFILES=path),
                       capture_output=True, timeout=TIMEOUT)
    out, err = p.stdout.decode(), p.stderr.decode()
    expect(p.returncode == 0 and out == "a\ta.lan\t8884\t%s\nb\tb.lan,*.b.lan\tany\t%s\n" % (path, path),
           "NAME HOSTS PORT FILE, 'any' without a port", out)
    expect("without a port" in err and "port = N" in err, "a note for port-less profiles on stderr", err)
    path = write_profiles(c, 'a: { hosts = ["a.lan"]; port = 8884; };\n')
    p = subprocess.run([binpath("smqtt_pub"), "--list-profiles"], env=c.env(SMQTT_PROFILES=path),
                       capture_output=True, timeout=TIMEOUT)
    expect(p.stderr == b"", "no note when every profile has a port", p.stderr)


def test_portless_profile_applies_on_every_port(c):
    """The documented rule for old profiles without a port: they apply to
    their hosts on any -p, as before."""
    path = write_profiles(c, 'old: { hosts = ["localhost"]; username = "u-old"; };\n')
    rc, _, err = c.pub(c.m.port("plain"), ["--trace"], c.env(SMQTT_PROFILES=path), host="localhost")
    expect(rc == 0 and "profile: 'old'" in err and "-u u-old (profile 'old', line 1)" in err,
           "the port-less profile applies", rc, err)


def test_same_address_hint(c):
    """-h 127.0.0.1 with a profile saved for localhost: no profile, but one
    hint line in the trace and in --check."""
    env = c.env(SMQTT_PROFILES=write_profiles(c, 'home: { hosts = ["localhost"]; username = "u"; };\n'))
    rc, _, err = c.pub(c.m.port("plain"), ["--trace"], env)
    expect(rc == 0, "publishes without a profile", rc, err)
    hint = "no profile is for 127.0.0.1, but profile 'home' is for localhost, the same address"
    expect(err.count(hint) == 1 and '--profile home uses it, or add "127.0.0.1" to its hosts' in err,
           "one hint line in the trace", err)
    p = subprocess.run([binpath("smqtt_pub"), "--check", "-h", HOST, "-p", str(c.m.port("plain"))], env=env,
                       capture_output=True, timeout=TIMEOUT)
    expect(hint in p.stdout.decode(), "and in --check", p.stdout, p.stderr)
    rc, _, err = c.pub(c.m.port("plain"), [], env)
    expect(hint not in err, "nothing without --trace", err)


# ---------------------------------------------------------------------------
# Files (findings 4 and 7)

def test_keylog_refuses_foreign_or_writable_file(c):
    """Another user pre-creates the --tls-keylog path 0666: smqtt writes no
    secret to it, says so naming the file and the fix, and publishes."""
    import pwd
    nobody = pwd.getpwnam("nobody")
    if os.geteuid() != 0:
        from harness import Skip
        raise Skip("needs root to give a file to another user")
    d = os.path.join(c.tmp, "keylog")
    os.makedirs(d, exist_ok=True)
    args = ["--cafile", c.f("good/ca.crt")]
    for name, uid, mode, word in (("foreign", nobody.pw_uid, 0o666, "belongs to another user"),
                                  ("foreign600", nobody.pw_uid, 0o600, "belongs to another user"),
                                  ("mine666", os.geteuid(), 0o666, "group or others can write"),
                                  ("mine620", os.geteuid(), 0o620, "group or others can write")):
        path = os.path.join(d, name)
        open(path, "w").close()
        os.chown(path, uid, -1)
        os.chmod(path, mode)
        rc, _, err = c.pub(c.m.port("tls"), args + ["--tls-keylog", path], c.env(), host="localhost")
        expect(rc == 0, name + ": publishes", rc, err)
        expect(os.path.getsize(path) == 0, name + ": no secret written", os.path.getsize(path))
        expect(("--tls-keylog %s: the key log is not used" % path) in err and word in err and "fix:" in err,
               name + ": says why, naming the file, with a fix", err)
    path = os.path.join(d, "mine600")
    open(path, "w").close()
    os.chmod(path, 0o600)
    rc, _, err = c.pub(c.m.port("tls"), args + ["--tls-keylog", path], c.env(), host="localhost")
    expect(rc == 0 and os.path.getsize(path) > 0 and "key log" not in err, "my own 0600 file is used", rc, err)


PROXY_PW = "prox-sekrit-42"


def test_proxy_password_masked_and_warned(c):
    """A --proxy password: masked in the profile trace, a 0644 profile that
    holds only it gets the permissions warning, and --save-profile warns
    as for -P. Through microsocks, a real SOCKS5 server."""
    import socket
    import time
    from lab_peers import free_port
    exe = shutil.which("microsocks") or "/usr/bin/microsocks"
    if not os.path.exists(exe):
        from harness import Skip
        raise Skip("microsocks (Debian package microsocks) is not installed")
    port = free_port()
    d = subprocess.Popen([exe, "-i", "127.0.0.1", "-p", str(port), "-b", "127.0.0.1", "-u", "bob", "-P", PROXY_PW],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 5
        while True:
            try:
                socket.create_connection((HOST, port), timeout=1).close()
                break
            except OSError:
                expect(time.monotonic() < deadline and d.poll() is None, "microsocks starts", d.poll())
                time.sleep(0.05)
        url = "socks5h://bob:%s@127.0.0.1:%d" % (PROXY_PW, port)
        prof = os.path.join(c.tmp, "proxy-profile.conf")
        with open(prof, "w") as f:
            f.write('px: { hosts = ["127.0.0.1"]; proxy = "%s"; };\n' % url)
        os.chmod(prof, 0o644)
        env = c.env(SMQTT_PROFILES=prof)
        rc, _, err = c.pub(c.m.port("plain"), ["--trace"], env)
        expect(rc == 0, "publishes through the proxy", rc, err)
        expect(PROXY_PW not in err, "the proxy password is never printed", err)
        expect("socks5h://bob:****@127.0.0.1:%d (profile 'px', line 1)" % port in err, "masked in the trace", err)
        expect("holds a password and other users can read this file (mode 0644)" in err,
               "the permissions warning", err)
        cfg = os.path.join(c.tmp, "saveconf")
        rc, _, err = c.pub(c.m.port("plain"), ["--no-profile", "--proxy", url, "--save-profile", "viaproxy"],
                           c.env(XDG_CONFIG_HOME=cfg))
        saved = os.path.join(cfg, "smqtt", "profiles.d", "viaproxy.conf")
        expect(rc == 0 and os.path.exists(saved), "saved", rc, err)
        expect("holds your proxy password; it is mode 0600" in err and PROXY_PW not in err,
               "--save-profile warns as for -P", err)
    finally:
        d.terminate()
        d.wait(timeout=5)


# ---------------------------------------------------------------------------
# The WebSocket relay's directory (findings 5 and 6)

def relay_dirs(tmpdir):
    return sorted(n for n in os.listdir(tmpdir) if n.startswith("smqtt-ws-"))


def test_relay_directory_gone_once_connected_and_after_signals(c):
    """The relay's private directory exists only until libmosquitto has
    connected: none is left while smqtt_sub --ws runs, nor after SIGINT,
    SIGTERM, SIGHUP or SIGKILL; smqtt_pub --ws leaves none either."""
    import signal
    tmpdir = os.path.join(c.tmp, "relay-tmp")
    os.makedirs(tmpdir, exist_ok=True)
    env = c.env(TMPDIR=tmpdir)
    port = c.m.port("ws")
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGKILL):
        cid = "rem-ws-%d-%d" % (os.getpid(), sig)
        mark = c.m.log_mark()
        p = subprocess.Popen([binpath("smqtt_sub"), "--ws", "-h", HOST, "-p", str(port), "-t", "rem/ws", "-i", cid],
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            c.m.wait_for_log(r"Sending SUBACK to %s\b" % cid, 10, since=mark)
            expect(relay_dirs(tmpdir) == [], "no directory while connected", relay_dirs(tmpdir))
            p.send_signal(sig)
            p.wait(timeout=10)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        expect(relay_dirs(tmpdir) == [], "no directory left after signal %d" % sig, relay_dirs(tmpdir))
    rc, _, err = c.pub(port, ["--ws"], env)
    expect(rc == 0 and relay_dirs(tmpdir) == [], "smqtt_pub --ws leaves none", rc, err, relay_dirs(tmpdir))


def test_relay_nothing_left_in_a_non_sticky_tmpdir(c):
    """TMPDIR a fresh world-writable, non-sticky directory: many runs of
    smqtt_pub --ws and smqtt_sub --ws, connecting, refused, or to a port
    that does not speak WebSocket, leave nothing in it."""
    from lab_peers import free_port
    tmpdir = tempfile.mkdtemp(prefix="relay-nonsticky-", dir=c.tmp)
    os.chmod(tmpdir, 0o777)
    env = c.env(TMPDIR=tmpdir)
    ws, plain, closed = c.m.port("ws"), c.m.port("plain"), free_port()
    for i in range(10):
        rc, _, err = c.pub(ws, ["--ws", "-i", "nonsticky-%d" % i], env)
        expect(rc == 0, "run %d publishes" % i, rc, err)
    for port in (plain, closed):
        rc, _, err = c.pub(port, ["--ws"], env)
        expect(rc != 0, "port %d: fails" % port, rc, err)
    p = subprocess.run([binpath("smqtt_sub"), "--ws", "-h", HOST, "-p", str(ws), "-t", "rem/nonsticky", "-W", "1"],
                       env=env, capture_output=True, timeout=TIMEOUT)
    expect(p.returncode in (0, 27), "smqtt_sub --ws -W 1 runs", p.returncode, p.stderr)
    expect(os.listdir(tmpdir) == [], "nothing left in $TMPDIR", os.listdir(tmpdir))


# A signal that arrives between the relay's listen() and its accept():
# listen() of an AF_UNIX socket raises SIGTERM (or SIGINT) right after it
# returns, through an LD_PRELOAD shim.
SIGNAL_SHIM = r'''
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
int listen(int fd, int backlog)
{
	int (*real)(int, int) = (int (*)(int, int))dlsym(RTLD_NEXT, "listen");
	int rc = real(fd, backlog);
	struct sockaddr_storage sa;
	socklen_t len = sizeof(sa);
	const char *sig = getenv("SHIM_SIGNAL");
	if (rc == 0 && sig && getsockname(fd, (struct sockaddr *)&sa, &len) == 0 && sa.ss_family == AF_UNIX)
		kill(getpid(), atoi(sig));
	return rc;
}
'''


def test_relay_signal_between_listen_and_accept(c):
    """SIGTERM, SIGINT or SIGHUP between the relay's listen and accept ends
    smqtt_pub, smqtt_sub and smqtt_rr at once, as the signal ends them
    during the upgrade: by the signal, no CONNECT reaches the broker, and
    nothing is left in $TMPDIR (smqtt_pub's default action used to leave
    the directory)."""
    import signal
    import time
    from harness import Skip
    if os.environ.get("SMQTT_WRAPPER"):
        raise Skip("an LD_PRELOAD shim under a wrapper")
    ldd = subprocess.run(["ldd", binpath("smqtt_pub")], capture_output=True, text=True).stdout
    if "libasan" in ldd or not shutil.which("cc"):
        raise Skip("needs cc, and a build without AddressSanitizer (its runtime must come first)")
    src = os.path.join(c.tmp, "sigshim.c")
    lib = os.path.join(c.tmp, "sigshim.so")
    with open(src, "w") as f:
        f.write(SIGNAL_SHIM)
    subprocess.run(["cc", "-shared", "-fPIC", "-o", lib, src, "-ldl"], check=True, timeout=60)
    tmpdir = tempfile.mkdtemp(prefix="relay-signal-", dir=c.tmp)
    extra = {"smqtt_pub": ["-t", "rem/sig", "-m", "x"], "smqtt_sub": ["-t", "rem/sig"],
             "smqtt_rr": ["-t", "rem/sig", "-e", "rem/sig-r", "-m", "x"]}
    for tool in ("smqtt_pub", "smqtt_sub", "smqtt_rr"):
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            if signal.getsignal(sig) == signal.SIG_IGN:
                continue  # inherited as ignored (nohup): the tools ignore it too
            cid = "rem-sig-%d-%s-%d" % (os.getpid(), tool, sig)
            mark = c.m.log_mark()
            env = c.env(TMPDIR=tmpdir, LD_PRELOAD=lib, SHIM_SIGNAL=str(int(sig)))
            t = time.monotonic()
            p = subprocess.run([binpath(tool), "--ws", "-h", HOST, "-p", str(c.m.port("ws")), "-i", cid] + extra[tool],
                               env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=TIMEOUT)
            took = time.monotonic() - t
            what = "%s, signal %d: " % (tool, sig)
            expect(p.returncode == -sig, what + "ended by the signal", p.returncode, p.stderr)
            expect(took < 3, what + "at once", took)
            time.sleep(0.1)
            expect(cid not in c.m.log_text(since=mark), what + "no CONNECT reached the broker",
                   c.m.log_text(since=mark))
            expect(os.listdir(tmpdir) == [], what + "nothing left in $TMPDIR", os.listdir(tmpdir))
    rc, _, err = c.pub(c.m.port("ws"), ["--ws"], c.env(TMPDIR=tmpdir, LD_PRELOAD=lib))
    expect(rc == 0, "the shim alone changes nothing (control)", rc, err)


# The attacker of test_relay_race_between_two_users, run as user B: it
# watches $TMPDIR for A's smqtt-ws-* directories and, as fast as it can,
# renames each away and puts in its place a symbolic link to a directory of
# its own, a directory of its own, or (renamed over the name while A's is
# still empty) a ready directory, each with a listening socket "s"; it also
# tries to bind and to connect in A's directory. It counts what it managed
# and reads every connection it gets; a JSON report on stdout at the end.
RACE_ATTACKER = r'''
import json, os, socket, sys, time
tmp, own, stop = sys.argv[1:4]
me = os.getuid()
listeners, conns, got = [], [], bytearray()
n = {"seen": 0, "renamed": 0, "replaced": 0, "rename_refused": 0, "bind_in_a": 0, "connect_in_a": 0}
stolen, planted = [], []
def listen(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(8)
    s.setblocking(False)
    listeners.append(s)
def mine_dir(path):
    os.mkdir(path)
    os.chmod(path, 0o777)
    listen(os.path.join(path, "s"))
listen(os.path.join(own, "s"))
seen = set()
deadline = time.time() + 120
while not os.path.exists(stop) and time.time() < deadline:
    for name in os.listdir(tmp):
        if not name.startswith("smqtt-ws-") or name in seen:
            continue
        p = os.path.join(tmp, name)
        try:
            if os.lstat(p).st_uid == me:
                continue
        except OSError:
            continue
        seen.add(name)
        n["seen"] += 1
        k = n["seen"]
        if k % 3 == 0:  # replace at once: a ready directory renamed over A's
            ready = os.path.join(tmp, "b-ready-%d" % k)
            mine_dir(ready)
            try:
                os.rename(ready, p)
                n["replaced"] += 1
                planted.append(p)
                continue
            except OSError:
                os.rename(ready, ready + "-unused")
        away = os.path.join(tmp, "b-stolen-%d" % k)
        try:
            os.rename(p, away)
        except OSError:
            n["rename_refused"] += 1
            continue
        n["renamed"] += 1
        stolen.append(away)
        if k % 3 == 1:
            os.symlink(own, p)
        else:
            mine_dir(p)
        planted.append(p)
        try:
            listen(os.path.join(away, "b"))
            n["bind_in_a"] += 1
        except OSError:
            pass
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(os.path.join(away, "s"))
            n["connect_in_a"] += 1
            s.setblocking(False)
            conns.append(s)
        except OSError:
            pass
    for s in listeners:
        try:
            c, _ = s.accept()
            c.setblocking(False)
            conns.append(c)
        except OSError:
            pass
    for c in conns:
        try:
            got += c.recv(65536)
        except OSError:
            pass
n["accepted_or_connected"] = len(conns)
print(json.dumps({"n": n, "got": got.hex(), "stolen": stolen, "planted": planted}))
'''


def test_relay_race_between_two_users(c):
    """In a world-writable, non-sticky $TMPDIR, user B races user A's
    smqtt_pub --ws for the relay's directory (renames it away, puts a link,
    its own directory or a ready one with a listening socket in its place,
    binds and connects in it): every run of A succeeds or fails with an
    explanation and a fix, B never receives a byte (so never the password
    given with -P), and A leaves no socket and nothing at a name it made."""
    import json
    import pwd
    import stat
    import time
    from harness import Skip
    if os.geteuid() != 0:
        raise Skip("needs root, to create two throwaway users (useradd) and run as each")
    for tool in ("useradd", "userdel", "setpriv"):
        if not shutil.which(tool):
            raise Skip("%s is missing" % tool)
    base = tempfile.mkdtemp(prefix="smqtt-race-", dir="/tmp")
    os.chmod(base, 0o755)
    users = ["smqa%d" % os.getpid(), "smqb%d" % os.getpid()]
    made = []
    attacker = None
    try:
        for u in users:
            subprocess.run(["useradd", "-M", "-U", "-d", os.path.join(base, u), "-s", "/usr/sbin/nologin", u],
                           check=True, timeout=30, capture_output=True)
            made.append(u)
        a, b = (pwd.getpwnam(u) for u in users)
        tmpdir = os.path.join(base, "tmp")
        os.mkdir(tmpdir)
        os.chmod(tmpdir, 0o777)  # world-writable and NOT sticky
        for u, pw in zip(users, (a, b)):
            os.mkdir(os.path.join(base, u), 0o700)
            os.chown(os.path.join(base, u), pw.pw_uid, pw.pw_gid)
        own = os.path.join(base, users[1], "own")
        os.mkdir(own)
        os.chmod(own, 0o777)
        os.chown(own, b.pw_uid, b.pw_gid)
        script = os.path.join(base, "attacker.py")
        with open(script, "w") as f:
            f.write(RACE_ATTACKER)
        os.chmod(script, 0o644)
        stop = os.path.join(base, "stop")

        def as_user(pw):
            return ["setpriv", "--reuid=%d" % pw.pw_uid, "--regid=%d" % pw.pw_gid, "--clear-groups", "--"]
        attacker = subprocess.Popen(as_user(b) + [sys.executable, script, tmpdir, own, stop],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=base)
        time.sleep(0.3)
        expect(attacker.poll() is None, "user B's attacker runs", attacker.poll())
        password = "race-secret-%d" % os.getpid()
        env = c.env(TMPDIR=tmpdir, HOME=os.path.join(base, users[0]),
                    XDG_CACHE_HOME=os.path.join(base, users[0], "cache"),
                    SMQTT_SYSCONFDIR=os.path.join(base, users[0], "sysconf"))
        wrapper = os.environ.get("SMQTT_WRAPPER", "").split()
        port = c.m.port("ws")
        ok = explained = lost = 0
        first_err = ""
        start = time.monotonic()
        for i in range(20):
            if i >= 5 and time.monotonic() - start > 25:
                break
            argv = as_user(a) + wrapper + [binpath("smqtt_pub"), "--ws", "-h", HOST, "-p", str(port), "-u", "a",
                                           "-P", password, "-i", "race-%d" % i, "-t", "rem/race", "-m", "x"]
            p = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=TIMEOUT,
                               cwd=os.path.join(base, users[0]))
            err = p.stderr.decode(errors="replace")
            if p.returncode == 0:
                ok += 1
            else:
                expect("WebSocket relay" in err and "fix:" in err and "Traceback" not in err
                       and p.returncode != 99, "run %d fails with an explanation" % i, p.returncode, err)
                explained += 1
                lost += "was replaced before it could be used" in err
                first_err = first_err or err
        with open(stop, "w"):
            pass
        out, aerr = attacker.communicate(timeout=10)
        expect(attacker.returncode == 0, "user B's attacker ran to the end", attacker.returncode, aerr.decode())
        rep = json.loads(out.decode().strip().splitlines()[-1])
        got = bytes.fromhex(rep["got"])
        expect(got == b"", "user B received nothing", got[:200])
        expect(password.encode() not in got, "the password never reached user B")
        # nothing of A's left: no socket anywhere, nothing at a name A made;
        # a directory B renamed away after A opened it is removed at its new
        # name, found through /proc/self/fd; only one B renamed before A
        # could open it (A then says it was replaced) is left, empty, at
        # B's name: A has no way to tell it from another directory of its
        # user's
        left_a = []
        for root, dirs, files in os.walk(tmpdir):
            for name in dirs + files:
                path = os.path.join(root, name)
                st = os.lstat(path)
                expect(not (stat.S_ISSOCK(st.st_mode) and st.st_uid == a.pw_uid), "no socket of A's left", path)
                if st.st_uid == a.pw_uid:
                    left_a.append(path)
        stolen = set(rep["stolen"])
        expect(all(p in stolen and os.listdir(p) == [] for p in left_a),
               "A left nothing but the empty directories B renamed away", left_a, rep["stolen"])
        expect(len(left_a) <= lost, "and only those B took before A could open them", left_a, lost)
        runs = ok + explained
        print("  race: %d runs of A (%d ok, %d refused with an explanation); B saw %d directories, renamed %d, "
              "replaced %d, refused %d, bound in A's %d, connected in A's %d, connections %d, bytes %d; "
              "A's empty directories at B's names %d" %
              (runs, ok, explained, rep["n"]["seen"], rep["n"]["renamed"], rep["n"]["replaced"],
               rep["n"]["rename_refused"], rep["n"]["bind_in_a"], rep["n"]["connect_in_a"],
               rep["n"]["accepted_or_connected"], len(got), len(left_a)), flush=True)
        if first_err:
            print("  first refusal: " + first_err.strip().replace("\n", "\n  "), flush=True)
        expect(runs >= 5, "A ran at least 5 times", runs)
    finally:
        if attacker is not None and attacker.poll() is None:
            attacker.kill()
            attacker.wait()
        for u in made:
            subprocess.run(["userdel", u], timeout=30, capture_output=True)
            subprocess.run(["groupdel", u], timeout=30, capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def main():
    terminate_on_sigterm()
    tmp = tempfile.mkdtemp(prefix="smqtt-remember-")
    lab = os.path.join(tmp, "lab")
    c = Ctx(tmp, lab)
    peers = []
    try:
        os.makedirs(os.path.join(tmp, "home"))
        subprocess.run(["bash", os.path.join(REPO, "tests", "lib", "scenarios.sh"), lab], check=True, timeout=300)
        m = Mosquitto(os.path.join(tmp, "mosquitto"), "rem")
        peers.append(m)
        m.listener("plain", ["allow_anonymous true"])
        m.listener("ws", ["allow_anonymous true", "protocol websockets"])
        for key, scen in (("tls", "good"), ("otherca", "other-ca"), ("wrongsan", "wrongsan")):
            m.listener(key, ["allow_anonymous true", "cafile " + c.f(scen + "/ca.crt"),
                             "certfile " + c.f(scen + "/server.crt"), "keyfile " + c.f(scen + "/server.key")])
        m.start()
        c.m = m
        s12 = Stunnel(os.path.join(tmp, "stunnel"), "v12", m.port("plain"),
                      ["cert = " + c.f("good/server.crt"), "key = " + c.f("good/server.key"),
                       "sslVersionMax = TLSv1.2"])
        peers.append(s12)
        s12.start()
        c.s12 = s12
        s10 = Stunnel(os.path.join(tmp, "stunnel"), "v10", m.port("plain"),
                      ["cert = " + c.f("good/server.crt"), "key = " + c.f("good/server.key"),
                       "sslVersionMin = TLSv1", "sslVersionMax = TLSv1", "securityLevel = 0",
                       "ciphers = DEFAULT:@SECLEVEL=0"])
        peers.append(s10)
        s10.start()
        c.s10 = s10
        c.relay = Relay((HOST, s12.port)).start()
        peers.append(c.relay)
        return run_tests(globals(), lambda t: t(c))
    finally:
        for p in reversed(peers):
            try:
                p.stop()
            except Exception:  # noqa: BLE001
                pass
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
