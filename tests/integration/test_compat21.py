#!/usr/bin/env python3
"""mosquitto 2.1 mode and options (issue 15): what the differential suite
(test_differential.py --compat 2.1) cannot compare because it is smqtt's
own: choosing the mode (--compat, SMQTT_COMPAT, the profile key compat) and
its bad values, -o with a file only root could read, --tls-keylog never
through a symbolic link and created 0600, and --no-tls in the trace. Against
a real mosquitto broker (Debian's) with a TLS listener.

Run all with no arguments, or those whose name contains a word given. The
last line is "N passed, N failed".
"""
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(REPO, "tests", "lib"))
from broker import Broker  # noqa: E402
from harness import binpath, expect, run_tests  # noqa: E402

TIMEOUT = 15
B = None
TMP = None
PKI = None


def env(**extra):
    e = dict(os.environ)
    for k in ("SMQTT_PROFILES", "XDG_CONFIG_HOME", "SMQTT_COMPAT"):
        e.pop(k, None)
    e["HOME"] = os.path.join(TMP, "home")
    e["SMQTT_SYSCONFDIR"] = os.path.join(TMP, "sysconf")
    e["LC_ALL"] = "C"
    e.update(extra)
    return e


def run(tool, args, e=None, prefix=()):
    p = subprocess.run(list(prefix) + [binpath(tool)] + args, env=e or env(), capture_output=True,
                       timeout=TIMEOUT, stdin=subprocess.DEVNULL, cwd=TMP)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def plain():
    return ["-h", "127.0.0.1", "-p", str(B.port)]


def tls():
    return ["-h", "127.0.0.1", "-p", str(B.tls_port), "--cafile", os.path.join(PKI, "ca.crt")]


def write(rel, text, mode=0o600):
    path = os.path.join(TMP, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


U_ONLY = ["-U", "compat/u", "-W", "1"]   # 2.1: runs until -W; 2.0: needs -t


def test_compat_selection():
    rc, _, err = run("smqtt_sub", plain() + U_ONLY)
    expect(rc == 1 and err.startswith("Error: You must specify a topic to subscribe to.\n"), "2.0 by default", rc, err)
    rc, _, err = run("smqtt_sub", plain() + U_ONLY + ["--compat", "2.1"])
    expect(rc == 27 and err == "Timed out\n", "--compat 2.1: -U alone runs until -W", rc, err)
    rc, _, err = run("smqtt_sub", plain() + U_ONLY, e=env(SMQTT_COMPAT="2.1"))
    expect(rc == 27, "SMQTT_COMPAT=2.1", rc, err)
    rc, _, err = run("smqtt_sub", plain() + U_ONLY + ["--compat", "2.0"], e=env(SMQTT_COMPAT="2.1"))
    expect(rc == 1, "--compat 2.0 overrides SMQTT_COMPAT=2.1", rc, err)
    rc, _, err = run("smqtt_sub", ["--compat", "2.1"] + plain() + ["-U", "compat/u", "-W", "1", "--compat", "2.0"])
    expect(rc == 1, "the last --compat wins", rc, err)
    prof = write("prof/p.conf", 'lab: { hosts = ["127.0.0.1"]; compat = "2.1"; };\n')
    rc, _, err = run("smqtt_sub", plain() + U_ONLY, e=env(SMQTT_PROFILES=prof))
    expect(rc == 27, "the profile key compat = \"2.1\"", rc, err)
    rc, _, err = run("smqtt_sub", plain() + U_ONLY + ["--compat", "2.0"], e=env(SMQTT_PROFILES=prof))
    expect(rc == 1, "--compat on the command line overrides the profile", rc, err)
    rc, _, err = run("smqtt_pub", plain() + ["-t", "compat/t", "-m", "x", "--trace", "--compat", "2.1"])
    expect(rc == 0 and "compat: mosquitto 2.1 behaviour" in err, "the trace names the mode", err)


def test_compat_bad_values():
    for bad in ("3", "2.2", "", "two"):
        rc, out, err = run("smqtt_pub", plain() + ["-t", "compat/t", "-m", "x", "--compat", bad])
        expect(rc == 1 and out == "", "--compat %r: exit 1" % bad, rc, err)
        expect(err.startswith("Error: Invalid --compat '%s': give 2.0 (mosquitto 2.0, the default) or 2.1." % bad),
               "--compat %r: the message names the value" % bad, err)
    rc, _, err = run("smqtt_pub", plain() + ["-t", "compat/t", "-m", "x", "--compat"])
    expect(rc == 1 and err.startswith("Error: --compat argument given but no version specified."), "--compat alone",
           rc, err)
    rc, out, err = run("smqtt_sub", plain() + ["-t", "compat/t"], e=env(SMQTT_COMPAT="3"))
    expect(rc == 1 and out == "", "SMQTT_COMPAT=3: exit 1", rc, err)
    expect(re.match(r"Error: SMQTT_COMPAT=3: not a mosquitto version smqtt mimics\n  why: .*\n  fix: set SMQTT_COMPAT "
                    r"to 2\.0 or 2\.1, or unset it\n$", err), "SMQTT_COMPAT=3 is named and explained", err)
    rc, _, err = run("smqtt_sub", plain() + ["-t", "compat/t", "-W", "1"], e=env(SMQTT_COMPAT=""))
    expect(rc == 27, "an empty SMQTT_COMPAT is unset", rc, err)
    prof = write("prof/bad.conf", 'lab: { hosts = ["127.0.0.1"]; compat = "1.6"; };\n')
    rc, _, err = run("smqtt_pub", plain() + ["-t", "compat/t", "-m", "x"], e=env(SMQTT_PROFILES=prof))
    expect(rc == 1 and "1.6" in err, "a bad profile compat is named", rc, err)


def test_o_unreadable_file_as_user():
    """Root reads any file: read it as nobody, as a user would meet it."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        print("  (skipped: needs root and setpriv)")
        return
    locked = write("o/locked", "-t compat/o\n", mode=0o000)
    os.chmod(TMP, 0o755)
    os.chmod(os.path.dirname(locked), 0o755)
    prefix = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")
    rc, out, err = run("smqtt_pub", ["-o", locked] + plain() + ["-t", "compat/t", "-m", "x"], prefix=prefix,
                       e=env(HOME="/nonexistent"))
    expect(rc == 0, "an unreadable -o file is skipped, as mosquitto 2.1 does", rc, err)
    expect(re.search(r"^Warning: -o %s: the options file cannot be read \(Permission denied\)" % re.escape(locked),
                     err, re.M), "a warning names the file and why", err)
    rc, _, err = run("smqtt_pub", ["-o", locked] + plain() + ["-t", "compat/t", "-m", "x", "--quiet"],
                     prefix=prefix, e=env(HOME="/nonexistent"))
    expect(rc == 0 and err == "", "--quiet silences it", rc, err)


def test_keylog_file_safety():
    kl = os.path.join(TMP, "kl")
    os.makedirs(kl, exist_ok=True)
    new = os.path.join(kl, "new.log")
    old = os.umask(0o022)
    try:
        rc, _, err = run("smqtt_pub", tls() + ["-t", "compat/k", "-m", "x", "--tls-keylog", new])
    finally:
        os.umask(old)
    expect(rc == 0, "published with a key log", rc, err)
    expect(stat.S_IMODE(os.stat(new).st_mode) == 0o600, "created 0600 whatever the umask", oct(os.stat(new).st_mode))
    with open(new) as f:
        labels = [line.split(" ")[0] for line in f.read().splitlines()]
    expect(sorted(labels) == sorted(["SERVER_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
                                     "EXPORTER_SECRET", "SERVER_TRAFFIC_SECRET_0", "CLIENT_TRAFFIC_SECRET_0"]),
           "the five TLS 1.3 labels", labels)
    # appended, never truncated
    run("smqtt_sub", tls() + ["-t", "compat/k", "-E", "--tls-keylog", new])
    with open(new) as f:
        expect(len(f.read().splitlines()) == 10, "a second run appends its five lines", new)
    # a symbolic link is not followed: the target is not created or written
    target = os.path.join(kl, "target.log")
    link = os.path.join(kl, "link.log")
    os.symlink(target, link)
    rc, _, err = run("smqtt_pub", tls() + ["-t", "compat/k", "-m", "x", "--tls-keylog", link])
    expect(rc == 0, "the run goes on without a key log", rc, err)
    expect(not os.path.exists(target), "the link's target was not created", target)
    expect(re.search(r"^Warning: --tls-keylog %s: the key log cannot be written: it is a symbolic link, which smqtt "
                     r"does not follow" % re.escape(link), err, re.M), "a warning names the link", err)
    # a directory, and a path whose folder does not exist
    for bad, why in ((kl, "not a regular file|Is a directory"), (os.path.join(kl, "no", "x.log"),
                                                                  "No such file or directory")):
        rc, _, err = run("smqtt_pub", tls() + ["-t", "compat/k", "-m", "x", "--tls-keylog", bad])
        expect(rc == 0 and re.search(r"^Warning: --tls-keylog %s: the key log cannot be written: (%s)"
                                     % (re.escape(bad), why), err, re.M), "unwritable %s: warned" % bad, rc, err)
    # the trace says a key log is written
    rc, _, err = run("smqtt_pub", tls() + ["-t", "compat/k", "-m", "x", "--tls-keylog", new, "--trace"])
    expect("appending the TLS key log (NSS format) to %s" % new in err, "the trace notes the key log", err)


def test_no_tls_trace_and_no_preflight():
    prof = write("prof/tls.conf", 'lab: { hosts = ["127.0.0.1"]; cafile = "%s"; };\n' % os.path.join(PKI, "ca.crt"))
    rc, _, err = run("smqtt_pub", plain() + ["-t", "compat/n", "-m", "x", "--no-tls", "--insecure", "--trace"],
                     e=env(SMQTT_PROFILES=prof))
    expect(rc == 0, "--no-tls drops a profile's cafile and connects in plain MQTT", rc, err)
    expect("tls: off (--no-tls); ignored: --cafile, --insecure" in err, "the trace names what was ignored", err)
    expect("preflight:" not in err, "no TLS checks run", err)
    # a broken cafile given with --no-tls is never read
    bad = write("bad.pem", "not a certificate\n")
    rc, _, err = run("smqtt_pub", plain() + ["-t", "compat/n", "-m", "x", "--cafile", bad, "--no-tls"])
    expect(rc == 0 and err == "", "a bad --cafile is ignored with --no-tls", rc, err)


def main():
    global B, TMP, PKI
    TMP = tempfile.mkdtemp(prefix="smqtt-compat21-")
    os.makedirs(os.path.join(TMP, "home"))
    PKI = os.path.join(TMP, "pki")
    subprocess.run(["bash", os.path.join(REPO, "tests", "lib", "mkpki.sh"), PKI], check=True,
                   capture_output=True)
    try:
        with Broker(pki_dir=PKI, tls_require_certificate=False) as b:
            B = b
            return run_tests(globals(), lambda t: t())
    finally:
        shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
