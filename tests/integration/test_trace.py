#!/usr/bin/env python3
"""Integration tests for the -v / --trace connection trace (issue #7), with a
real mosquitto broker and a mutual-TLS listener: the steps appear in order,
no secret appears, smqtt_sub -v stays quiet when stderr is not a terminal and
traces when it is (run under a pseudo-terminal with script(1)).
Last line: "N passed, N failed".
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "lib"))
from broker import Broker  # noqa: E402
from harness import binpath, expect, run_tests  # noqa: E402
from relay import Relay, round_trips  # noqa: E402

TIMEOUT = 15
SECRET = "hunter2-very-secret"


def env(tmp, **extra):
    e = dict(os.environ)
    e.pop("XDG_CONFIG_HOME", None)
    e["HOME"] = os.path.join(tmp, "home")
    e["XDG_CACHE_HOME"] = os.path.join(tmp, "cache")
    e["SMQTT_SYSCONFDIR"] = os.path.join(tmp, "sysconf")
    e.pop("NO_COLOR", None)
    e.update(extra)
    return e


def steps_in_order(err, prog, wanted):
    lines = [l for l in err.splitlines() if l.startswith(prog + ": [")]
    pos = 0
    for w in wanted:
        for i in range(pos, len(lines)):
            if re.search(w, lines[i]):
                pos = i + 1
                break
        else:
            raise AssertionError("trace step %r missing or out of order in:\n%s" % (w, "\n".join(lines)))
    return lines


def test_pub_trace(b, pki, tmp):
    prof = os.path.join(tmp, "profiles.conf")
    with open(prof, "w") as f:
        f.write('t: {\n  hosts = ["localhost"];\n  port = %d;\n  cafile = "%s/ca.crt";\n  cert = "%s/client.crt";\n'
                '  key = "%s/client.key";\n  username = "u";\n  pw = "%s";\n};\n'
                % (b.tls_req_port, pki, pki, pki, SECRET))
    os.chmod(prof, 0o600)
    p = subprocess.run([binpath("smqtt_pub"), "-v", "-t", "trace/t", "-m", "hello"], capture_output=True,
                       timeout=TIMEOUT, env=env(tmp, SMQTT_PROFILES=prof))
    err = p.stderr.decode()
    expect(p.returncode == 0, "smqtt_pub -v publishes", p.returncode, err)
    expect(p.stdout == b"", "nothing on stdout", p.stdout)
    # localhost is 127.0.0.1, or ::1 and 127.0.0.1 where /etc/hosts names both
    # (Debian's default, as in a fresh Debian 13 root)
    steps_in_order(err, "smqtt_pub", [
        r"profile: 't' from .*profiles\.conf:1", r"profile:   -p %d \(profile 't', line 3\)" % b.tls_req_port,
        r"profile:   -P \*\*\*\* \(profile 't', line 8\)",
        r"preflight: pass --cafile", r"preflight: pass --key .* matches --cert",
        r"resolve: localhost -> (::1, )?127\.0\.0\.1", r"tls: attempt 1 offers tlsv1\.[23]\.\.tlsv1\.3",
        r"connect: TCP \+ TLS to localhost:%d up in" % b.tls_req_port,
        r"tls: negotiated TLSv1\.[23], cipher ", r"tls:   broker chain 0: /CN=localhost -> ",
        r"tls: host name localhost matches the certificate \(DNS:localhost",
        r"mqtt: CONNACK 0 ", r"mqtt: publish mid \d+ to 'trace/t' written \(QoS 0\)",
        r"mqtt: disconnected \(clean\)"])
    expect(SECRET not in err and SECRET not in p.stdout.decode(), "the password never appears", err)
    expect("character" not in err, "nor its length (issue 26)", err)


def test_trace_option_in_sub(b, pki, tmp):
    mark = b.log_mark()
    p = subprocess.Popen([binpath("smqtt_sub"), "--no-profile", "--trace", "-h", "127.0.0.1", "-p", str(b.port),
                          "-t", "trace/s", "-C", "1", "-i", "trace-sub"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env(tmp))
    b.wait_for_log(r"Sending SUBACK to trace-sub", 5, since=mark)
    subprocess.run(["mosquitto_pub", "-p", str(b.port), "-t", "trace/s", "-m", "m"], check=True)
    out, err = p.communicate(timeout=TIMEOUT)
    err = err.decode()
    expect(p.returncode == 0 and out == b"m\n", "stdout unchanged by --trace", out, err)
    steps_in_order(err, "smqtt_sub", [r"profile: none applies \(--no-profile\)", r"resolve: 127\.0\.0\.1",
                                      r"connect: TCP to 127\.0\.0\.1:%d up" % b.port, r"mqtt: CONNACK 0",
                                      r"mqtt: subscribed to 'trace/s', granted QoS 0"])


def test_sub_v_piped_is_quiet(b, pki, tmp):
    subprocess.run(["mosquitto_pub", "-p", str(b.port), "-t", "trace/r", "-m", "kept", "-r"], check=True)
    res = []
    for tool in ("mosquitto_sub", binpath("smqtt_sub")):
        p = subprocess.run([tool, "-h", "127.0.0.1", "-p", str(b.port), "-t", "trace/r", "-C", "1", "-v"],
                           capture_output=True, timeout=TIMEOUT, env=env(tmp))
        res.append((p.returncode, p.stdout, p.stderr))
    expect(res[0] == res[1], "smqtt_sub -v with stderr not a terminal is byte-identical to mosquitto_sub", res)
    subprocess.run(["mosquitto_pub", "-p", str(b.port), "-t", "trace/r", "-n", "-r"], check=True)


def test_sub_v_on_a_terminal_traces(b, pki, tmp):
    if not shutil.which("script"):
        raise AssertionError("script(1) (bsdutils) is needed for the pseudo-terminal test")
    subprocess.run(["mosquitto_pub", "-p", str(b.port), "-t", "trace/tty", "-m", "tty", "-r"], check=True)
    cmd = "%s -h 127.0.0.1 -p %d -t trace/tty -C 1 -v" % (binpath("smqtt_sub"), b.port)
    p = subprocess.run(["script", "-q", "-e", "-c", cmd, "/dev/null"], capture_output=True, timeout=TIMEOUT,
                       env=env(tmp), stdin=subprocess.DEVNULL)
    out = p.stdout.decode(errors="replace")
    expect(p.returncode == 0, "exit 0 under a pty", p.returncode, out)
    expect("trace/tty tty" in out, "the message is printed", out)
    expect("smqtt_sub: [" in out and "mqtt: CONNACK 0" in out, "the trace appears on a terminal", out)
    expect("\x1b[" in out, "coloured on a terminal", out)
    p = subprocess.run(["script", "-q", "-e", "-c", cmd, "/dev/null"], capture_output=True, timeout=TIMEOUT,
                       env=env(tmp, NO_COLOR="1"), stdin=subprocess.DEVNULL)
    expect("\x1b[" not in p.stdout.decode(errors="replace"), "NO_COLOR turns colour off", p.stdout)
    # the opt-out (issue 26): the message, no trace
    p = subprocess.run(["script", "-q", "-e", "-c", cmd, "/dev/null"], capture_output=True, timeout=TIMEOUT,
                       env=env(tmp, SMQTT_SUB_TRACE="0"), stdin=subprocess.DEVNULL)
    out = p.stdout.decode(errors="replace")
    expect(p.returncode == 0 and "trace/tty tty" in out and "smqtt_sub: [" not in out,
           "SMQTT_SUB_TRACE=0: the message without the trace", p.returncode, out)
    subprocess.run(["mosquitto_pub", "-p", str(b.port), "-t", "trace/tty", "-n", "-r"], check=True)


def test_failure_trace_shows_attempt(b, pki, tmp):
    p = subprocess.run([binpath("smqtt_pub"), "--no-profile", "-v", "-h", "localhost", "-p", str(b.tls_req_port),
                        "--cafile", pki + "/ca.crt", "-t", "trace/f", "-m", "x"], capture_output=True,
                       timeout=TIMEOUT, env=env(tmp))
    err = p.stderr.decode()
    expect(p.returncode != 0, "fails without a client certificate", p.returncode, err)
    steps_in_order(err, "smqtt_pub", [r"tls: attempt 1 offers",
                                      r"tls: handshake done, then the broker answered alert certificate_required"])
    expect("Error: the broker localhost:%d requires a client certificate" % b.tls_req_port in err,
           "the explanation follows the trace", err)


def test_mutual_tls_round_trips(b, pki, tmp):
    """At 50 ms RTT (tests/lib/relay.py's delay relay) a mutual-TLS 1.3
    publish costs smqtt_pub no round trip more than mosquitto_pub: CONNECT
    follows the client's Finished, without waiting for the broker's verdict
    on the certificate; a client without a certificate is still told why,
    over the same slow link."""
    tls = ["--cafile", pki + "/ca.crt", "--cert", pki + "/client.crt", "--key", pki + "/client.key"]
    with Relay(("127.0.0.1", b.tls_req_port), delay_ms=25) as r:
        rts = {}
        for tool in ("mosquitto_pub", "smqtt_pub"):
            cmd = ["mosquitto_pub"] if tool == "mosquitto_pub" else [binpath("smqtt_pub"), "--no-profile"]
            mark = r.mark()
            p = subprocess.run(cmd + ["-h", "127.0.0.1", "-p", str(r.port), "-t", "trace/rtt", "-m", "x", "-q", "1"]
                               + tls, capture_output=True, timeout=TIMEOUT, env=env(tmp))
            expect(p.returncode == 0, tool + " publishes through the slow relay", p.returncode, p.stderr)
            rts[tool] = [round_trips(e["chunks"], r.delay) for e in r.settle()[mark:]]
        expect(rts["mosquitto_pub"] == [3], "mosquitto_pub: TLS 1.3, CONNECT, PUBLISH: 3 round trips", rts)
        expect(rts["smqtt_pub"] == rts["mosquitto_pub"], "smqtt_pub: the same round trips", rts)
        p = subprocess.run([binpath("smqtt_pub"), "--no-profile", "-v", "-h", "127.0.0.1", "-p", str(r.port),
                            "--cafile", pki + "/ca.crt", "-t", "trace/rtt", "-m", "x"], capture_output=True,
                           timeout=TIMEOUT, env=env(tmp))
        err = p.stderr.decode()
        expect(p.returncode == 7, "without a certificate: exit 7, as mosquitto_pub", p.returncode, err)
        expect("Error: the broker 127.0.0.1:%d requires a client certificate" % r.port in err
               and "then the broker answered alert certificate_required" in err,
               "the broker's verdict is read and explained over the slow link too", err)


def test_tls_resume(b, pki, tmp):
    cache = os.path.join(tmp, "resume-cache")
    args = [binpath("smqtt_pub"), "--no-profile", "--tls-resume", "-v", "-h", "localhost", "-p", str(b.tls_req_port),
            "--cafile", pki + "/ca.crt", "--cert", pki + "/client.crt", "--key", pki + "/client.key",
            "-t", "trace/resume", "-m", "x"]
    def run():
        p = subprocess.run(args, capture_output=True, timeout=TIMEOUT, env=env(tmp, XDG_CACHE_HOME=cache))
        expect(p.returncode == 0, "publishes", p.returncode, p.stderr)
        return p.stderr.decode()
    err = run()
    expect("session new (full handshake)" in err, "first run: full handshake", err)
    sdir = os.path.join(cache, "smqtt", "sessions")
    files = os.listdir(sdir)
    expect(len(files) == 1, "one session saved", files)
    path = os.path.join(sdir, files[0])
    expect(os.stat(path).st_mode & 0o777 == 0o600, "mode 0600", oct(os.stat(path).st_mode))
    expect(os.stat(sdir).st_mode & 0o777 == 0o700, "its folder is 0700", oct(os.stat(sdir).st_mode))
    der = subprocess.run(["openssl", "asn1parse", "-in", path], capture_output=True, text=True)
    expect(der.returncode == 0 and "SEQUENCE" in der.stdout, "the saved session is PEM/DER OpenSSL reads",
           der.stdout, der.stderr)
    expect(not re.search(r"d=1 .*cont \[ 3 \]", der.stdout),
           "the broker's certificate (element [3]) is not saved with the session", der.stdout)
    err = run()
    expect("session resumed (--tls-resume)" in err, "second run resumes", err)
    expect("preflight: deferred" in err, "a resumed run leaves the file checks for a failure", err)
    err = run()
    expect("session resumed (--tls-resume)" in err, "the session a resumed run saved resumes too", err)
    # --check never offers or saves a session: it verifies the chain now
    before = open(path).read()
    p = subprocess.run(args[:1] + ["--check"] + args[1:], capture_output=True, timeout=TIMEOUT,
                       env=env(tmp, XDG_CACHE_HOME=cache))
    out = p.stdout.decode()
    expect(p.returncode == 0, "--check --tls-resume passes", p.returncode, out, p.stderr)
    expect("-> " in out and "broker chain" in out and "CN" in out.split("broker chain", 1)[1],
           "--check shows the broker chain (a full handshake)", out)
    expect(open(path).read() == before and os.listdir(sdir) == files, "--check left the session alone")
    with open(path, "w") as f:
        f.write("-----BEGIN SSL SESSION PARAMETERS-----\ngarbage\n-----END SSL SESSION PARAMETERS-----\n")
    err = run()
    expect("session new (full handshake)" in err, "a session that cannot be used gives a full handshake", err)
    err = run()
    expect("session resumed" in err, "and a new session is saved and resumed next time", err)


def test_tls_resume_broken_file_explained(b, pki, tmp):
    """With a saved session the file checks are deferred; when the session
    does not resume and the full handshake fails, they run and explain."""
    cache = os.path.join(tmp, "resume-cache-2")
    mine = os.path.join(tmp, "resume-pki")
    shutil.copytree(pki, mine)
    args = [binpath("smqtt_pub"), "--no-profile", "--tls-resume", "-h", "localhost", "-p", str(b.tls_req_port),
            "--cafile", mine + "/ca.crt", "--cert", mine + "/client.crt", "--key", mine + "/client.key",
            "-t", "trace/resume", "-m", "x"]
    e = env(tmp, XDG_CACHE_HOME=cache)
    p = subprocess.run(args, capture_output=True, timeout=TIMEOUT, env=e)
    expect(p.returncode == 0, "publishes and saves a session", p.returncode, p.stderr)
    sdir = os.path.join(cache, "smqtt", "sessions")
    path = os.path.join(sdir, os.listdir(sdir)[0])
    with open(path, "w") as f:  # it will not resume
        f.write("-----BEGIN SSL SESSION PARAMETERS-----\ngarbage\n-----END SSL SESSION PARAMETERS-----\n")
    with open(mine + "/ca.crt", "w") as f:
        f.write("not a certificate\n")
    p = subprocess.run(args, capture_output=True, timeout=TIMEOUT, env=e)
    err = p.stderr.decode()
    expect(p.returncode == 1, "fails as preflight fails: exit 1", p.returncode, err)
    expect(mine + "/ca.crt" in err and "--cafile" in err, "names the broken --cafile", err)
    expect("fix:" in err, "with a fix line", err)


def test_days_left_shown(b, pki, tmp):
    """-v and --check show the days left of every certificate involved; the
    --check JSON carries the dates (issue 17, finding 6)."""
    args = ["-h", "localhost", "-p", str(b.tls_req_port), "--cafile", os.path.join(pki, "ca.crt"),
            "--cert", os.path.join(pki, "client.crt"), "--key", os.path.join(pki, "client.key"), "-t", "trace/d"]
    p = subprocess.run([binpath("smqtt_pub"), "-v", "-m", "x"] + args, capture_output=True, timeout=TIMEOUT,
                       env=env(tmp))
    err = p.stderr.decode()
    expect(p.returncode == 0, "published", p.returncode, err)
    steps_in_order(err, "smqtt_pub", [
        r"preflight: pass CA certificate .*ca\.crt \(CN=smqtt test CA\) is valid until \d{4}-\d\d-\d\d .*: 36[45] days left",
        r"preflight: pass client certificate .*client\.crt \(CN=smqtt-client\) is valid until .*: 36[45] days left",
        r"tls:   broker chain 0: /CN=localhost -> /CN=smqtt test CA \(valid \S+ to \S+, 36[45] days left\)"])
    p = subprocess.run([binpath("smqtt_sub"), "--check", "--diag-format", "json"] + args, capture_output=True,
                       timeout=TIMEOUT, env=env(tmp))
    out, err = p.stdout.decode(), p.stderr.decode()
    expect(p.returncode == 0 and "result: all checks passed" in out, "--check passes", p.returncode, out, err)
    expect(re.search(r"0: /CN=localhost -> /CN=smqtt test CA \(valid until \d{4}-\d\d-\d\d, 36[45] days left\)", out),
           "--check shows the broker chain's days left", out)
    j = json.loads(err.strip().splitlines()[-1])
    certs = [c for f in j["evidence"]["files"] for c in f.get("certs", [])]
    expect(len(certs) == 2 and all(c["days_left"] in (364, 365) and c["not_after"] for c in certs),
           "the JSON carries the CA's and the client certificate's dates", certs)
    chain = j["evidence"]["broker_chain"]
    expect(len(chain) >= 1 and chain[0]["subject"] == "CN=localhost" and chain[0]["days_left"] in (364, 365)
           and chain[0]["not_before"] and chain[0]["not_after"], "and the broker chain's", chain)
    expect(j["cause"] == "none" and j["problems"] == [], "nothing wrong", j)


def test_expiring_certificates_warn(b, pki, tmp):
    """Certificates ending within 30 days: --check warns for each, client and
    broker, and still exits 0; a normal run goes on quietly."""
    soon = os.path.join(tmp, "pki-soon")
    subprocess.run(["bash", os.path.join(REPO, "tests", "lib", "mkpki.sh"), soon], check=True,
                   env=dict(os.environ, MKPKI_LEAF_DAYS="10"))
    with Broker(plain=False, pki_dir=soon, tls=False) as b2:
        args = ["-h", "localhost", "-p", str(b2.tls_req_port), "--cafile", os.path.join(soon, "ca.crt"),
                "--cert", os.path.join(soon, "client.crt"), "--key", os.path.join(soon, "client.key"), "-t", "trace/e"]
        p = subprocess.run([binpath("smqtt_pub"), "--check", "--diag-format", "json"] + args, capture_output=True,
                           timeout=TIMEOUT, env=env(tmp))
        out, err = p.stdout.decode(), p.stderr.decode()
        expect(p.returncode == 0 and "result: all checks passed" in out, "--check still exits 0", p.returncode, out, err)
        expect(re.search(r"^  warn  client certificate .*client\.crt expires in (9|10) days, on ", out, re.M),
               "a warn line for the client certificate", out)
        expect(re.search(r"^  warn  broker certificate sent by localhost:%d expires in (9|10) days, on " % b2.tls_req_port,
                         out, re.M), "a warn line for the broker's certificate", out)
        expect("fix: the broker's certificates must be renewed before" in out, "the broker's fix", out)
        j = json.loads(err.strip().splitlines()[-1])
        probs = [(x["cause"], x["severity"]) for x in j["problems"]]
        expect(probs == [("cert-expiring", "warning")] * 2, "two cert-expiring warnings in the JSON", j["problems"])
        expect(j["evidence"]["broker_chain"][0]["days_left"] in (9, 10), "days_left in the JSON", j["evidence"])
        p = subprocess.run([binpath("smqtt_pub"), "-m", "x"] + args, capture_output=True, timeout=TIMEOUT, env=env(tmp))
        expect(p.returncode == 0 and p.stderr == b"", "a normal run publishes without a word", p.returncode, p.stderr)


def main():
    tmp = tempfile.mkdtemp(prefix="smqtt-trace-")
    pki = os.path.join(tmp, "pki")
    os.makedirs(os.path.join(tmp, "home"))
    subprocess.run(["bash", os.path.join(REPO, "tests", "lib", "mkpki.sh"), pki], check=True)
    try:
        with Broker(pki_dir=pki, tls=False) as b:
            return run_tests(globals(), lambda t: t(b, pki, tmp))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
