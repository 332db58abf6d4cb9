#!/usr/bin/env python3
"""Secrets off the process list (issue 19) against a real mosquitto broker
with a password listener: --password-file (and its profile key), the
command line scrubbed in /proc/PID/cmdline, and no password, PSK or key
password in any trace, --check report, explanation or JSON line.

Run all with no arguments, or those whose name contains a word given. The
last line is "N passed, N failed".
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(REPO, "tests", "lib"))
from broker import Broker  # noqa: E402
from harness import binpath, expect, last_json, run_tests  # noqa: E402

USER = "alice"
PW = "Pa55-w0rd!secret"
TIMEOUT = 15
B = None      # the broker
TMP = None    # scratch folder


def env(**extra):
    e = dict(os.environ)
    for k in ("SMQTT_PROFILES", "XDG_CONFIG_HOME", "SMQTT_COMPAT"):
        e.pop(k, None)
    e["HOME"] = os.path.join(TMP, "home")
    e["LC_ALL"] = "C"
    e.update(extra)
    return e


def write(name, data, mode=0o600):
    path = os.path.join(TMP, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    os.chmod(path, mode)
    return path


def run(tool, args, e=None, prefix=()):
    p = subprocess.run(list(prefix) + [binpath(tool)] + args, env=e or env(), capture_output=True,
                       timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def conn(port=None):
    return ["-h", "127.0.0.1", "-p", str(port or B.auth_port), "-u", USER]


def watch(topic):
    """A reference mosquitto_sub on the plain port, subscribed for sure."""
    cid = "w%d" % time.monotonic_ns()
    mark = B.log_mark()
    p = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(B.port), "-t", topic,
                          "-C", "1", "-v", "-i", cid, "-W", "10"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    B.wait_for_log(r"Sending SUBACK to %s" % cid, 5, since=mark)
    return p


def no_secret(text, *secrets):
    for s in secrets:
        expect(s not in text, "the output holds the secret %r" % s, text)


def cmdline(pid):
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        return f.read()


def wait_cmdline(pid, needle, timeout=5):
    """The process's cmdline once it holds needle (scrubbing is done right
    after parsing; the first read may come before it)."""
    deadline = time.monotonic() + timeout
    while True:
        c = cmdline(pid)
        if needle in c or time.monotonic() > deadline:
            return c
        time.sleep(0.01)


# ---- /proc/PID/cmdline ------------------------------------------------------

def test_cmdline_sub_pw_scrubbed():
    mark = B.log_mark()
    p = subprocess.Popen([binpath("smqtt_sub")] + conn() + ["-P", PW, "-t", "sec/cmd", "-i", "scrub1",
                         "-C", "1"], env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        B.wait_for_log(r"Sending SUBACK to scrub1", 5, since=mark)
        c = cmdline(p.pid)
        expect(PW.encode() not in c, "the password is in /proc/PID/cmdline", c)
        words = c.rstrip(b"\0").split(b"\0")
        expect(words[words.index(b"-P") + 1] == b"*", "-P shows '*'", words)
        expect(words[-4:] == [b"-i", b"scrub1", b"-C", b"1"], "the words after it are intact", words)
        ps = subprocess.run(["ps", "-o", "args=", "-p", str(p.pid)], capture_output=True, text=True).stdout
        expect(PW not in ps and "-P * -t sec/cmd" in ps, "ps shows the scrubbed command", ps)
        subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(B.port), "-t", "sec/cmd", "-m", "x"],
                       check=True, timeout=5)
        out, err = p.communicate(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    expect(p.returncode == 0 and out == b"x\n", "the subscriber got the message", p.returncode, out, err)


def silent_server():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    return s


def test_cmdline_psk_url_proxy_long_forms_scrubbed():
    """--pw, --psk, a -L URL's password and a --proxy URL's password, in a
    run that waits on a silent server."""
    srv = silent_server()
    port = srv.getsockname()[1]
    cases = [
        (["--pw", PW, "-h", "127.0.0.1", "-p", str(port), "-u", USER, "-t", "t"], b"--pw\0*\0"),
        (["--psk", "deadbeef" + PW.encode().hex(), "--psk-identity", "me", "-h", "127.0.0.1", "-p", str(port),
          "-t", "t"], b"--psk\0*\0"),
        (["-L", "mqtt://%s:%s@127.0.0.1:%d/t" % (USER, PW, port)], b"mqtt://alice:*@127.0.0.1:%d/t" % port),
        (["--proxy", "socks5h://bob:%s@127.0.0.1:%d" % (PW, port), "-h", "127.0.0.1", "-t", "t"],
         b"socks5h://bob:*@127.0.0.1:%d" % port),
    ]
    try:
        for args, shown in cases:
            p = subprocess.Popen([binpath("smqtt_sub"), "--connect-timeout", "3"] + args, env=env(),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            try:
                c = wait_cmdline(p.pid, shown)
                expect(shown in c, "cmdline shows %r" % shown, c)
                expect(PW.encode() not in c and PW.encode().hex().encode() not in c,
                       "the secret is gone from cmdline", c)
            finally:
                p.kill()
                _, err = p.communicate()
            no_secret(err.decode(errors="replace"), PW, PW.encode().hex())
    finally:
        srv.close()


def test_cmdline_pub_line_mode_scrubbed():
    """smqtt_pub -l reading a pipe for a long time: scrubbed too."""
    p = subprocess.Popen([binpath("smqtt_pub")] + conn() + ["-P", PW, "-t", "sec/l", "-l"], env=env(),
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        c = wait_cmdline(p.pid, b"-P\0*\0")
        expect(PW.encode() not in c and b"-P\0*\0" in c, "pub -l cmdline scrubbed", c)
        out, err = p.communicate(b"one\ntwo\n", timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    expect(p.returncode == 0, "pub -l exits 0", p.returncode, err)


# ---- --password-file --------------------------------------------------------

def test_password_file_pub_and_sub():
    f = write("pw/ok", PW + "\n")
    w = watch("sec/pf")
    rc, out, err = run("smqtt_pub", conn() + ["--password-file", f, "-t", "sec/pf", "-m", "via-file"])
    expect(rc == 0 and err == "", "pub with --password-file", rc, err)
    wout, _ = w.communicate(timeout=10)
    expect(wout == b"sec/pf via-file\n", "the message arrived", wout)

    mark = B.log_mark()
    s = subprocess.Popen([binpath("smqtt_sub")] + conn() + ["--password-file", f, "-t", "sec/pf2",
                         "-i", "pfsub", "-C", "1"], env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    B.wait_for_log(r"Sending SUBACK to pfsub", 5, since=mark)
    subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(B.port), "-t", "sec/pf2", "-m", "y"],
                   check=True, timeout=5)
    out, err = s.communicate(timeout=10)
    expect(s.returncode == 0 and out == b"y\n", "sub with --password-file", s.returncode, out, err)


def test_password_file_without_username_explained():
    """--password-file without -u: what is wrong and the fix, not only
    mosquitto's bare line (issue 26); -P without -u keeps mosquitto's."""
    f = write("pw/nouser", PW + "\n")
    args = ["-h", "127.0.0.1", "-p", str(B.auth_port), "-t", "sec/x", "-m", "x"]
    rc, out, err = run("smqtt_pub", args + ["--password-file", f])
    expect(rc == 1 and out == "", "exit 1, nothing on stdout", rc, out, err)
    expect(err.startswith("Error: --password-file gives a password, but there is no username to send it with\n  why: ")
           and "\n  fix: add -u <username>" in err, "explained, with the fix", err)
    expect(PW not in err, "the password is not shown", err)
    ref = subprocess.run(["mosquitto_pub"] + args + ["-P", PW], capture_output=True, timeout=10)
    rc, out, err = run("smqtt_pub", args + ["-P", PW])
    expect((rc, err) == (ref.returncode, ref.stderr.decode()), "-P without -u: mosquitto_pub's exit and line", rc, err,
           ref.returncode, ref.stderr)


def test_password_file_crlf_pipe_and_exact_content():
    crlf = write("pw/crlf", PW + "\r\n")
    rc, _, err = run("smqtt_pub", conn() + ["--password-file", crlf, "-t", "sec/x", "-m", "x"])
    expect(rc == 0, "CRLF is stripped", rc, err)
    nonl = write("pw/nonl", PW)
    rc, _, err = run("smqtt_pub", conn() + ["--password-file", nonl, "-t", "sec/x", "-m", "x"])
    expect(rc == 0, "no trailing newline", rc, err)
    # only one newline is stripped: "PW\n\n" is the password "PW\n"
    two = write("pw/two", PW + "\n\n")
    rc, _, err = run("smqtt_pub", conn() + ["--password-file", two, "-t", "sec/x", "-m", "x"])
    expect(rc == 5, "a second newline is part of the password", rc, err)
    # process substitution: a pipe
    script = '"$0" -h 127.0.0.1 -p %d -u %s --password-file <(printf %%s "$1") -t sec/x -m x' % (B.auth_port, USER)
    p = subprocess.run(["bash", "-c", script, binpath("smqtt_pub"), PW], env=env(), capture_output=True,
                       timeout=TIMEOUT)
    expect(p.returncode == 0, "--password-file <(...) works", p.returncode, p.stderr)


def test_password_file_wrong_same_as_pw():
    bad = write("pw/bad", "nope\n")
    r1 = run("smqtt_pub", conn() + ["--password-file", bad, "-t", "sec/x", "-m", "x", "--diag-format", "json"])
    r2 = run("smqtt_pub", conn() + ["-P", "nope", "-t", "sec/x", "-m", "x", "--diag-format", "json"])
    ref = subprocess.run(["mosquitto_pub"] + conn() + ["-P", "nope", "-t", "sec/x", "-m", "x"],
                         capture_output=True, timeout=TIMEOUT)
    expect(r1[0] == r2[0] == ref.returncode == 5, "exit 5 like -P and mosquitto_pub", r1[0], r2[0], ref.returncode)
    j1, j2 = last_json(r1[2]), last_json(r2[2])
    expect(j1["cause"] == j2["cause"] == "mqtt-auth-failed", "same cause", j1, j2)
    expect(j1["why"] == j2["why"], "same why", j1["why"], j2["why"])
    expect("--password-file" in j1["fix"] and "-P" not in j1["fix"].replace("--password-file", ""),
           "the fix names --password-file, not -P", j1["fix"])
    no_secret(r1[2], "nope")
    # the same through smqtt_sub
    r3 = run("smqtt_sub", conn() + ["--password-file", bad, "-t", "sec/x", "-C", "1"])
    ref = subprocess.run(["mosquitto_sub"] + conn() + ["-P", "nope", "-t", "sec/x", "-C", "1"],
                         capture_output=True, timeout=TIMEOUT)
    expect(r3[0] == ref.returncode, "sub: same exit code as mosquitto_sub -P", r3[0], ref.returncode, r3[2])


def test_password_file_permissions_warning():
    f = write("pw/loose", PW + "\n", mode=0o644)
    rc, _, err = run("smqtt_pub", conn() + ["--password-file", f, "-t", "sec/x", "-m", "x"])
    expect(rc == 0, "a loose file is still used", rc, err)
    expect(re.search(r"^Warning: .*pw/loose: the password file can be read by other users; fix: chmod 600 ",
                     err, re.M), "a warning names the file and the fix", err)
    rc, _, err = run("smqtt_pub", conn() + ["--password-file", f, "-t", "sec/x", "-m", "x", "--quiet"])
    expect(rc == 0 and err == "", "--quiet silences the warning", rc, err)


def bad_input(args, pattern, tool="smqtt_pub", prefix=()):
    mark = B.log_mark()
    rc, out, err = run(tool, conn() + args + ["-t", "sec/x"] + (["-m", "x"] if tool == "smqtt_pub" else []),
                       prefix=prefix)
    expect(rc == 1, "exit 1", rc, err)
    expect(out == "", "nothing on stdout", out)
    expect(re.search(pattern, err), "the message matches %r" % pattern, err)
    time.sleep(0.1)
    expect(not re.search(r"New client connected|Sending CONNACK|New connection from .* on port %d" % B.auth_port,
                         B.log_text(mark)), "nothing was sent to the broker", B.log_text(mark))
    return err


def test_bad_password_files():
    missing = os.path.join(TMP, "pw", "missing")
    bad_input(["--password-file", missing],
              r"^Error: --password-file %s: the file cannot be opened: No such file or directory\n"
              r"  why: .*nothing was sent\n  fix: " % re.escape(missing))
    bad_input(["--password-file", TMP], r"^Error: --password-file %s: is a directory" % re.escape(TMP))
    empty = write("pw/empty", "")
    bad_input(["--password-file", empty], r"the file is empty")
    nl = write("pw/nl-only", "\n")
    bad_input(["--password-file", nl], r"the file is empty")
    big = write("pw/big", "a" * 65536)
    bad_input(["--password-file", big], r"longer than 65535 bytes")
    big2 = write("pw/big2", "a" * 70000)
    bad_input(["--password-file", big2], r"the file has 70000 bytes; an MQTT password is at most 65535 bytes")
    nul = write("pw/nul", b"ab\0cd\n")
    bad_input(["--password-file", nul], r"holds a NUL byte")
    ok = write("pw/ok2", PW)
    for extra in (["-P", "x"], ["--pw", "x"]):
        for order in (extra + ["--password-file", ok], ["--password-file", ok] + extra):
            bad_input(order, r"^Error: Use either -P \(or a password in the -L URL\) or --password-file, not both\.")
    rc, _, err = run("smqtt_pub", conn() + ["-t", "sec/x", "-m", "x", "--password-file"])
    expect(rc == 1 and err.startswith("Error: --password-file argument given but no file specified."),
           "--password-file without its argument", rc, err)
    bad_input(["-P", "x", "--password-file", ok], r"Use either -P", tool="smqtt_sub")
    bad_input(["--password-file", empty], r"the file is empty", tool="smqtt_sub")
    # unreadable: mode 000 read as an unprivileged user (root reads anything)
    locked = write("pw/locked", PW, mode=0o000)
    if os.geteuid() == 0 and shutil.which("setpriv"):
        os.chmod(TMP, 0o755)
        err = bad_input(["--password-file", locked], r"the file cannot be opened: Permission denied",
                        prefix=("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"))
        expect(locked in err, "names the file", err)
    # boundary: exactly 65535 bytes (plus a newline) is read and sent (the broker refuses it)
    edge = write("pw/edge", "b" * 65535 + "\n")
    rc, _, err = run("smqtt_pub", conn() + ["--password-file", edge, "-t", "sec/x", "-m", "x"])
    expect(rc == 5, "a 65535-byte password is sent", rc, err[:300])


def test_url_password_with_password_file_conflicts():
    ok = write("pw/ok3", PW)
    rc, _, err = run("smqtt_pub", ["-L", "mqtt://%s:x@127.0.0.1:%d/t" % (USER, B.auth_port), "-m", "x",
                                   "--password-file", ok])
    expect(rc == 1 and "not both" in err, "-L with a password and --password-file", rc, err)
    rc, _, err = run("smqtt_pub", ["-L", "mqtt://%s@127.0.0.1:%d/sec/x" % (USER, B.auth_port), "-m", "x",
                                   "--password-file", ok])
    expect(rc == 0, "-L without a password and --password-file", rc, err)


def test_precedence_across_sources():
    """A password-file on the command line replaces -P from the options file
    and the other way round; a profile's password-file gives way to -P."""
    ok = write("pw/ok4", PW)
    home = os.path.join(TMP, "home")
    cfgdir = os.path.join(home, ".config")
    os.makedirs(cfgdir, exist_ok=True)
    optfile = os.path.join(cfgdir, "mosquitto_pub")
    with open(optfile, "w") as f:
        f.write("-P wrong\n")
    try:
        rc, _, err = run("smqtt_pub", conn() + ["--password-file", ok, "-t", "sec/x", "-m", "x"])
        expect(rc == 0, "the command line's --password-file wins over the options file's -P", rc, err)
        with open(optfile, "w") as f:
            f.write("--password-file %s\n" % write("pw/wrong", "wrong"))
        rc, _, err = run("smqtt_pub", conn() + ["-P", PW, "-t", "sec/x", "-m", "x"])
        expect(rc == 0, "the command line's -P wins over the options file's --password-file", rc, err)
    finally:
        os.unlink(optfile)


def test_profile_password_file_and_save():
    write("prof/secret.txt", PW + "\n")
    prof = write("prof/profiles.conf", 'lab: { hosts = ["127.0.0.1"]; port = %d; username = "%s";'
                 ' password-file = "secret.txt"; };\n' % (B.auth_port, USER))
    e = env(SMQTT_PROFILES=prof)
    rc, out, err = run("smqtt_pub", ["-h", "127.0.0.1", "-t", "sec/x", "-m", "x", "--trace"], e=e)
    expect(rc == 0, "a profile's password-file (relative to the profile) authenticates", rc, err)
    expect("--password-file %s (profile 'lab', line 1)" % os.path.join(TMP, "prof", "secret.txt") in err,
           "the trace shows the file and its source", err)
    no_secret(err, PW)
    rc, _, err = run("smqtt_pub", ["-h", "127.0.0.1", "-t", "sec/x", "-m", "x", "-P", "wrong"], e=e)
    expect(rc == 5, "-P on the command line replaces the profile's password-file", rc, err)
    # --save-profile keeps the file's name, never the password
    f = write("pw/save", PW)
    xdg = os.path.join(TMP, "xdg")
    e = env(XDG_CONFIG_HOME=xdg)
    rc, _, err = run("smqtt_pub", conn() + ["--password-file", f, "-t", "sec/x", "-m", "x",
                                            "--save-profile", "saved"], e=e)
    expect(rc == 0, "saved", rc, err)
    with open(os.path.join(xdg, "smqtt", "profiles.d", "saved.conf")) as fh:
        text = fh.read()
    expect('password-file = "%s"' % f in text and PW not in text and "pw =" not in text,
           "the saved profile names the file and holds no password", text)
    expect("holds your password" not in err, "no warning about a stored password", err)
    rc, _, err = run("smqtt_pub", ["-h", "127.0.0.1", "-t", "sec/x", "-m", "x"], e=e)
    expect(rc == 0, "the saved profile works", rc, err)
    # with -P the profile holds the password: the warning says so and how to avoid it (issue 26)
    rc, _, err = run("smqtt_pub", conn() + ["-P", PW, "-t", "sec/x", "-m", "x", "--save-profile", "withpw"], e=e)
    expect(rc == 0 and "holds your password as it is (pw = ...)" in err and 'password-file = "FILE"' in err,
           "-P with --save-profile: the warning names the password-file alternative", rc, err)
    no_secret(err, PW)


# ---- no secret in any output ------------------------------------------------

def test_traces_and_reports_hold_no_secret():
    f = write("pw/ok5", PW)
    bad = write("pw/bad5", "Wr0ngPassw0rdXyz")
    runs = [
        ("smqtt_pub", conn() + ["-P", PW, "-t", "sec/x", "-m", "x", "-v"], 0),
        ("smqtt_pub", conn() + ["--password-file", f, "-t", "sec/x", "-m", "x", "--trace",
                                "--diag-format", "json"], 0),
        ("smqtt_pub", conn() + ["-P", "Wr0ngPassw0rdXyz", "-t", "sec/x", "-m", "x", "-v", "--diag-format", "json"], 5),
        ("smqtt_pub", conn() + ["--password-file", bad, "-t", "sec/x", "-m", "x", "-v", "--diag-format", "json"], 5),
        ("smqtt_sub", conn() + ["--password-file", bad, "-t", "sec/x", "--trace", "--diag-format", "json"], 5),
        ("smqtt_pub", conn() + ["-P", PW, "--check", "-t", "sec/x", "--diag-format", "json"], 0),
        ("smqtt_pub", conn() + ["-P", "Wr0ngPassw0rdXyz", "--check", "-t", "sec/x", "--diag-format", "json"], None),
        ("smqtt_pub", ["-L", "mqtt://%s:%s@127.0.0.1:%d/sec/x" % (USER, PW, B.auth_port), "-m", "x", "-v"], 0),
    ]
    for tool, args, want in runs:
        rc, out, err = run(tool, args)
        if want is not None:
            expect(rc == want, "%s %s: exit %s" % (tool, " ".join(args[4:]), want), rc, err)
        else:
            expect(rc != 0, "a rejected --check fails", rc, out, err)
        no_secret(out + err, PW, "Wr0ngPassw0rdXyz")
    # a PSK in a trace and an explanation (a silent peer: handshake timeout)
    srv = silent_server()
    try:
        key = "00112233445566778899aabbccddeeff"
        rc, out, err = run("smqtt_pub", ["-h", "127.0.0.1", "-p", str(srv.getsockname()[1]), "--psk", key,
                                         "--psk-identity", "me", "-t", "t", "-m", "x", "--connect-timeout", "1",
                                         "-v", "--diag-format", "json"])
        expect(rc != 0, "the silent peer fails", rc, err)
        no_secret(out + err, key)
    finally:
        srv.close()


def main():
    global B, TMP
    TMP = tempfile.mkdtemp(prefix="smqtt-secrets-")
    os.makedirs(os.path.join(TMP, "home"), exist_ok=True)
    try:
        with Broker(users={USER: PW}) as b:
            B = b
            time.sleep(0.2)  # the broker's readiness probes are logged late
            return run_tests(globals(), lambda t: t())
    finally:
        shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
