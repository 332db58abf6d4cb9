#!/usr/bin/env python3
"""smqtt_pub --persist (issue 27 part 2): the connection keeper. Against
real mosquitto brokers (Debian's 2.0.11 and 2.1.2 built from
tests/reference/), over plain MQTT and mutual TLS, with a subscriber
checking that every message arrives once and in order:

- runs after the first hand their message to the keeper (trace says so);
- a broker restart, a keeper stopped or killed with SIGKILL while a run
  waits for it: the run falls back to a direct publish, nothing lost or
  doubled; a stale socket is replaced;
- two scripts publishing at once are both served;
- another user cannot use the keeper (SO_PEERCRED), nor its directory;
- the keeper ends after SECONDS idle, with --persist-stop, on SIGTERM;
  --check reports it;
- another CA file, user name or password does not share a keeper (a wrong
  password is refused by the broker, not served by the keeper);
- a will message, -c, -l, --repeat: no keeper, the trace says why;
- bad --persist values and profile keys are explained; the profile key
  alone turns the keeper on, and smqtt_sub ignores it;
- a failure with a keeper configured is the failure without it.

Run all with no arguments, or those whose name contains a word given.
Under $SMQTT_WRAPPER=valgrind... each process (the forked keeper too) logs
to a file of its own, checked at the end. Last line: "N passed, N failed".
"""
import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(REPO, "tests", "lib"))
from broker import Broker  # noqa: E402
from harness import Skip, binpath, expect, run_tests  # noqa: E402
import mosq21  # noqa: E402

TIMEOUT = 60
SLOW = 8 if os.environ.get("SMQTT_WRAPPER") else 1  # valgrind: everything takes longer
S = {}
KEEPERS = set()  # pids seen, ended at teardown


def wrapper():
    w = os.environ.get("SMQTT_WRAPPER", "").split()
    if w and "valgrind" in os.path.basename(w[0]):
        w = w[:1] + ["--log-file=%s/vg.%%p" % S["vgdir"]] + w[1:]
    return w


def env(run_dir, **extra):
    e = dict(os.environ)
    for k in ("SMQTT_PROFILES", "XDG_CONFIG_HOME", "SMQTT_COMPAT", "TMPDIR"):
        e.pop(k, None)
    e["HOME"] = S["home"]
    e["XDG_CACHE_HOME"] = os.path.join(S["tmp"], "cache")
    e["SMQTT_SYSCONFDIR"] = os.path.join(S["tmp"], "sysconf")
    e["XDG_RUNTIME_DIR"] = run_dir
    e["LC_ALL"] = "C"
    e.update(extra)
    return e


def new_run_dir():
    d = tempfile.mkdtemp(prefix="run-", dir=S["tmp"])
    os.chmod(d, 0o700)
    return d


def pub(run_dir, args, e=None, prefix=(), timeout=TIMEOUT, stdin=None):
    p = subprocess.run(list(prefix) + wrapper() + [binpath("smqtt_pub")] + args, env=e or env(run_dir),
                       capture_output=True, timeout=timeout, input=stdin,
                       stdin=None if stdin is not None else subprocess.DEVNULL, cwd=S["tmp"])
    err = p.stderr.decode(errors="replace")
    for m in re.finditer(r"keeper: pid (\d+) now holds", err):
        KEEPERS.add(int(m.group(1)))
    return p.returncode, p.stdout.decode(errors="replace"), err


def sockets(run_dir):
    d = os.path.join(run_dir, "smqtt")
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def keeper_pid(err):
    m = re.search(r"keeper: (?:pid (\d+) now holds|handed to keeper pid (\d+))", err)
    return int(m.group(1) or m.group(2)) if m else None


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (nobody reaps it here) is gone
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def wait_gone(pid, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False


class Sub:
    """mosquitto_sub -v on a topic, collecting lines until stop()."""

    def __init__(self, b, topic, args=(), sub_bin="mosquitto_sub", sub_env=None, cid=None):
        self.cid = cid or "ksub%d" % (int(time.monotonic() * 1000) % 1000000)
        mark = b.log_mark()
        self.proc = subprocess.Popen([sub_bin, "-h", "127.0.0.1", "-p", str(b.port), "-v", "-q", "2", "-t", topic,
                                      "-i", self.cid] + list(args),
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=sub_env)
        b.wait_for_log(r"Sending SUBACK to %s" % re.escape(self.cid), since=mark, timeout=10)
        self.lines = []
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.decode(errors="replace").rstrip("\n"))

    def wait_for(self, n, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.lines) < n:
            time.sleep(0.02)
        time.sleep(0.3)  # anything more (a duplicate) would come now
        return list(self.lines)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def brokers():
    """(name, Broker kwargs, subscriber binary, subscriber env) for 2.0.11 and 2.1.2."""
    out = [("2.0.11", {}, "mosquitto_sub", None)]
    m = S.get("m21")
    if m:
        out.append(("2.1.2", {"binary": m.broker}, m.sub, m.env()))
    return out


def tls_args(b):
    pki = S["pki"]
    return ["-h", "localhost", "-p", str(b.tls_req_port), "--cafile", os.path.join(pki, "ca.crt"),
            "--cert", os.path.join(pki, "client.crt"), "--key", os.path.join(pki, "client.key")]


def plain_args(b):
    return ["-h", "127.0.0.1", "-p", str(b.port)]


def restart(b):
    """Stop the broker and start it again on the same ports."""
    b.stop()
    out = open(b.stdout_path, "ab")
    b.proc = subprocess.Popen([b.binary, "-c", b.conf_path], stdin=subprocess.DEVNULL, stdout=out,
                              stderr=subprocess.STDOUT, cwd=b.workdir)
    out.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not b._all_ready():
        time.sleep(0.02)
    expect(b._all_ready(), "the broker is back")


# ---- messages arrive once and in order ------------------------------------

def check_loop(name, kw, sub_bin, sub_env, conn, qos):
    run_dir = new_run_dir()
    with Broker(pki_dir=S["pki"], tls=False, **kw) as b:
        args = conn(b)
        sub = Sub(b, "keep/loop", sub_bin=sub_bin, sub_env=sub_env)
        try:
            pids = set()
            for i in range(8):
                rc, out, err = pub(run_dir, args + ["-t", "keep/loop", "-m", "m%d" % i, "-q", str(qos),
                                                     "--persist", "30", "--trace"])
                expect(rc == 0 and out == "", "%s q%d run %d: exit 0, nothing on stdout" % (name, qos, i), rc, out, err)
                if i == 0:
                    expect("keeper: none runs for these settings yet" in err and "now holds the connection" in err,
                           "the first run connects and starts a keeper", err)
                else:
                    expect(re.search(r"keeper: handed to keeper pid \d+, connected since \d{4}-\d\d-\d\d", err),
                           "run %d is handed to the keeper" % i, err)
                    expect("connect: TCP" not in err, "run %d makes no connection of its own" % i, err)
                pids.add(keeper_pid(err))
            expect(len(pids) == 1, "one keeper served them all", pids)
            got = sub.wait_for(8)
            expect(got == ["keep/loop m%d" % i for i in range(8)], "%s: each message once, in order" % name, got)
            rc, out, err = pub(run_dir, args + ["-t", "keep/loop", "-m", "quiet", "-q", str(qos), "--persist", "30"])
            expect(rc == 0 and out == "" and err == "", "without the trace a served run prints nothing", rc, out, err)
            rc, out, err = pub(run_dir, args + ["--persist-stop"])
            expect(rc == 0 and "stopped keeper pid %d" % pids.pop() in err, "--persist-stop ends it", rc, err)
        finally:
            sub.stop()


def test_loop_plain(_):
    for name, kw, sub_bin, sub_env in brokers():
        for qos in (0, 1, 2):
            check_loop(name, kw, sub_bin, sub_env, plain_args, qos)


def test_loop_mutual_tls(_):
    for name, kw, sub_bin, sub_env in brokers():
        check_loop(name, kw, sub_bin, sub_env, tls_args, 1)


def test_payload_kinds(_):
    """-n, -f (binary), -s, an empty -m and -r go through the keeper as they are."""
    run_dir = new_run_dir()
    data = bytes(range(256)) * 4
    path = os.path.join(S["tmp"], "payload.bin")
    with open(path, "wb") as f:
        f.write(data)
    with Broker() as b:
        args = plain_args(b) + ["--persist", "30"]
        rc, _, err = pub(run_dir, args + ["-t", "keep/kinds/start", "-m", "x"])
        expect(rc == 0, "a keeper starts", rc, err)
        out = subprocess.Popen(["mosquitto_sub", "-p", str(b.port), "-t", "keep/kinds/#", "-C", "5", "-F", "%t %l %r %x",
                                "-W", "20"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        for a, stdin in ((["-t", "keep/kinds/f", "-f", path], None), (["-t", "keep/kinds/s", "-s"], b"from stdin"),
                         (["-t", "keep/kinds/e", "-m", ""], None), (["-t", "keep/kinds/n", "-n"], None),
                         (["-t", "keep/kinds/r", "-m", "kept", "-r"], None)):
            rc, _, err = pub(run_dir, args + a + ["--trace"], stdin=stdin)
            expect(rc == 0 and "handed to keeper" in err, "%s handed over" % a, rc, err)
        lines = out.communicate(timeout=30)[0].decode().splitlines()
        expect(lines == ["keep/kinds/f 1024 0 %s" % data.hex(), "keep/kinds/s 10 0 %s" % b"from stdin".hex(),
                         "keep/kinds/e 0 0 ", "keep/kinds/n 0 0 ", "keep/kinds/r 4 0 6b657074"],
               "payloads as given", [line[-80:] for line in lines])
        r = subprocess.run(["mosquitto_sub", "-p", str(b.port), "-t", "keep/kinds/r", "-C", "1", "-F", "%r %p", "-W", "5"],
                           capture_output=True, timeout=30)
        expect(r.stdout == b"1 kept\n", "-r: retained", r.stdout)
        pub(run_dir, plain_args(b) + ["--persist-stop"])


# ---- failures: fall back, nothing lost or doubled -------------------------

def test_broker_restart(_):
    for name, kw, sub_bin, sub_env in brokers():
        run_dir = new_run_dir()
        with Broker(**kw) as b:
            args = plain_args(b) + ["-t", "keep/restart", "-q", "1", "--persist", "30", "--trace"]
            # one subscriber before the restart and a new one after it: the
            # reference client's own reconnect is not what is tested (2.1.2's
            # mosquitto_sub once closed its connection right after the
            # CONNACK of its reconnect)
            sub = Sub(b, "keep/restart", sub_bin=sub_bin, sub_env=sub_env, cid="ksubr")
            try:
                for i in range(3):
                    rc, _, err = pub(run_dir, args + ["-m", "a%d" % i])
                    expect(rc == 0, "before the restart", rc, err)
                first = keeper_pid(err)
                got = sub.wait_for(3)
                expect(got == ["keep/restart %s" % m for m in ("a0", "a1", "a2")],
                       "%s: once and in order before the restart" % name, got)
                sub.stop()
                restart(b)
                sub = Sub(b, "keep/restart", sub_bin=sub_bin, sub_env=sub_env, cid="ksubr2")
                expect(wait_gone(first), "%s: the keeper ends with its connection" % name)
                for i in range(3):
                    rc, _, err = pub(run_dir, args + ["-m", "b%d" % i])
                    expect(rc == 0, "after the restart", rc, err)
                    if i == 0:
                        expect("connect: TCP" in err, "the first run after the restart connects directly", err)
                got = sub.wait_for(3)
                expect(got == ["keep/restart %s" % m for m in ("b0", "b1", "b2")],
                       "%s: nothing lost or doubled across the restart" % name, got)
            finally:
                sub.stop()
                pub(run_dir, plain_args(b) + ["--persist-stop"])


def test_restart_while_keeper_stopped(_):
    """The keeper has not yet seen its connection end when a run comes:
    it must not report the message as published on a dead connection."""
    run_dir = new_run_dir()
    with Broker() as b:
        args = plain_args(b) + ["-t", "keep/stale-conn", "-q", "1", "--persist", "30", "--trace"]
        sub = Sub(b, "keep/stale-conn", cid="ksubs")
        try:
            rc, _, err = pub(run_dir, args + ["-m", "one"])
            k = keeper_pid(err)
            os.kill(k, signal.SIGSTOP)
            mark = b.log_mark()
            restart(b)
            b.wait_for_log(r"Sending SUBACK to ksubs", since=mark, timeout=15)
            p = subprocess.Popen(wrapper() + [binpath("smqtt_pub")] + args + ["-m", "two"], env=env(run_dir),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
            time.sleep(0.5 * SLOW)
            os.kill(k, signal.SIGCONT)
            out, err = p.communicate(timeout=TIMEOUT)
            err = err.decode()
            expect(p.returncode == 0, "exit 0", p.returncode, err)
            expect("connecting directly" in err and "connect: TCP" in err, "the run fell back to a direct publish", err)
            for m in re.finditer(r"keeper: pid (\d+) now holds", err):
                KEEPERS.add(int(m.group(1)))
            got = sub.wait_for(2)
            expect(got == ["keep/stale-conn one", "keep/stale-conn two"], "each message once", got)
        finally:
            sub.stop()
            pub(run_dir, plain_args(b) + ["--persist-stop"])


def test_keeper_sigkill(_):
    for name, kw, sub_bin, sub_env in brokers():
        run_dir = new_run_dir()
        with Broker(**kw) as b:
            args = plain_args(b) + ["-t", "keep/kill", "-q", "1", "--persist", "30", "--trace"]
            sub = Sub(b, "keep/kill", sub_bin=sub_bin, sub_env=sub_env)
            try:
                rc, _, err = pub(run_dir, args + ["-m", "1"])
                k = keeper_pid(err)
                os.kill(k, signal.SIGKILL)
                expect(wait_gone(k), "killed")
                expect(len(sockets(run_dir)) == 1, "its socket is left behind", sockets(run_dir))
                rc, _, err = pub(run_dir, args + ["-m", "2"])
                expect(rc == 0 and "its socket is left from one that ended; connecting directly" in err,
                       "%s: a stale socket: the run connects directly" % name, rc, err)
                k2 = keeper_pid(err)
                expect(k2 and k2 != k, "and starts a new keeper", err)
                rc, _, err = pub(run_dir, args + ["-m", "3"])
                expect(rc == 0 and "handed to keeper pid %d" % k2 in err, "which serves the next run", rc, err)
                # killed while a run waits for its answer
                os.kill(k2, signal.SIGSTOP)
                p = subprocess.Popen(wrapper() + [binpath("smqtt_pub")] + args + ["-m", "4"], env=env(run_dir),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
                time.sleep(1.0 * SLOW)  # the run is connected and waits for the answer
                os.kill(k2, signal.SIGKILL)
                os.kill(k2, signal.SIGCONT)
                _, err = p.communicate(timeout=TIMEOUT)
                err = err.decode()
                for m in re.finditer(r"keeper: pid (\d+) now holds", err):
                    KEEPERS.add(int(m.group(1)))
                expect(p.returncode == 0 and "it ended without an answer; connecting directly" in err,
                       "a keeper killed mid-request: the run publishes directly", p.returncode, err)
                got = sub.wait_for(4)
                expect(got == ["keep/kill %d" % i for i in range(1, 5)], "%s: each message once, in order" % name, got)
            finally:
                sub.stop()
                pub(run_dir, plain_args(b) + ["--persist-stop"])


def test_two_publishers_at_once(_):
    run_dir = new_run_dir()
    with Broker() as b:
        args = plain_args(b) + ["-t", "keep/two", "-q", "1", "--persist", "30"]
        sub = Sub(b, "keep/two")
        try:
            rc, _, err = pub(run_dir, args + ["-m", "start"])
            expect(rc == 0, "a keeper starts", rc, err)
            fails = []

            def loop(tag):
                for i in range(15):
                    rc, _, err = pub(run_dir, args + ["-m", "%s%d" % (tag, i)])
                    if rc:
                        fails.append((tag, i, rc, err))
            ts = [threading.Thread(target=loop, args=(t,)) for t in "AB"]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            expect(not fails, "every run exits 0", fails)
            got = sub.wait_for(31)
            expect(len(got) == 31 and len(set(got)) == 31, "31 messages, none twice", got)
            for tag in "AB":
                mine = [g for g in got if g.startswith("keep/two " + tag)]
                expect(mine == ["keep/two %s%d" % (tag, i) for i in range(15)], "publisher %s's in its order" % tag, mine)
        finally:
            sub.stop()
            pub(run_dir, plain_args(b) + ["--persist-stop"])


def test_failure_is_the_direct_failure(_):
    """A keeper configured changes no failure: a broker that is gone, a
    refused password, a bad CA file."""
    run_dir = new_run_dir()
    with Broker(users={"alice": "right"}) as b:
        port = b.port
        cases = [
            ["-h", "127.0.0.1", "-p", str(b.auth_port), "-u", "alice", "-P", "wrong", "-t", "k/f", "-m", "x"],
            ["-h", "localhost", "-p", str(b.port), "--cafile", "/nonexistent/ca.crt", "-t", "k/f", "-m", "x"],
        ]
        for a in cases:
            r1 = pub(run_dir, a)
            r2 = pub(run_dir, a + ["--persist", "30"])
            expect(r1 == r2 and r1[0] != 0, "%s: the same failure with --persist" % a, r1, r2)
            expect(sockets(run_dir) == [], "no keeper after a failure", sockets(run_dir))
    a = ["-h", "127.0.0.1", "-p", str(port), "-t", "k/f", "-m", "x"]
    r1 = pub(run_dir, a)
    r2 = pub(run_dir, a + ["--persist", "30"])
    expect(r1 == r2 and r1[0] != 0, "broker gone: the same failure with --persist", r1, r2)
    m = subprocess.run(["mosquitto_pub"] + a, capture_output=True, timeout=TIMEOUT)
    expect(m.returncode == r2[0], "and mosquitto_pub's exit status", m.returncode, r2)


def test_broker_gone_after_keeper(_):
    """The broker goes away for good while a keeper holds a connection: the
    next run's failure is a direct run's (exit status and stderr)."""
    run_dir = new_run_dir()
    b = Broker()
    b.start()
    a = plain_args(b) + ["-t", "k/gone", "-m", "x", "-q", "1"]
    rc, _, err = pub(run_dir, a + ["--persist", "30", "--trace"])
    k = keeper_pid(err)
    b.stop()
    expect(wait_gone(k), "the keeper ends with its connection")
    r1 = pub(run_dir, a)
    r2 = pub(run_dir, a + ["--persist", "30"])
    expect(r1 == r2 and r1[0] != 0, "the failure of a run without --persist", r1, r2)
    shutil.rmtree(b.workdir, ignore_errors=True)


# ---- security ---------------------------------------------------------------

def test_other_user_refused(_):
    if os.geteuid() != 0:
        raise Skip("needs root to run as nobody")
    if not shutil.which("setpriv"):
        raise Skip("setpriv is missing")
    nobody = pwd.getpwnam("nobody")
    as_nobody = ["setpriv", "--reuid=%d" % nobody.pw_uid, "--regid=%d" % nobody.pw_gid, "--clear-groups", "--"]
    run_dir = new_run_dir()
    with Broker() as b:
        args = plain_args(b) + ["-t", "keep/uid", "-q", "1", "--persist", "30"]
        sub = Sub(b, "keep/uid")
        try:
            rc, _, err = pub(run_dir, args + ["-m", "mine", "--trace"])
            k = keeper_pid(err)
            sock = os.path.join(run_dir, "smqtt", sockets(run_dir)[0])
            # nobody, with the same settings and the same XDG_RUNTIME_DIR: the
            # directory is not nobody's, so no keeper; a direct publish
            rc, _, err = pub(run_dir, args + ["-m", "theirs", "--trace"], prefix=as_nobody,
                             e=env(run_dir, HOME="/nonexistent", XDG_CACHE_HOME="/nonexistent",
                                     SMQTT_SYSCONFDIR="/nonexistent"))
            expect(rc == 0 and "keeper: not used: no private directory" in err and "connect: TCP" in err,
                   "another user's run does not use this user's directory", rc, err)
            # the socket opened to everyone: the keeper still serves only its uid
            tmp_mode = os.stat(S["tmp"]).st_mode & 0o7777
            os.chmod(S["tmp"], 0o755)
            os.chmod(run_dir, 0o755)
            os.chmod(os.path.join(run_dir, "smqtt"), 0o755)
            os.chmod(sock, 0o777)
            probe = ("import socket,struct,sys\n"
                     "s=socket.socket(socket.AF_UNIX);s.settimeout(5);s.connect(sys.argv[1])\n"
                     "try:\n"
                     "    s.sendall(struct.pack('<IBBBBII',0x4b514d53,1,2,0,0,0,0))\n"
                     "    print(len(s.recv(64)))\n"
                     "except (ConnectionResetError, BrokenPipeError):\n"
                     "    print(0)\n")
            p = subprocess.run(as_nobody + [sys.executable, "-c", probe, sock], capture_output=True, timeout=30)
            expect(p.returncode == 0 and p.stdout.strip() == b"0", "nobody gets no answer (closed at once)",
                   p.returncode, p.stdout, p.stderr)
            expect(alive(k), "and cannot stop the keeper")
            os.chmod(os.path.join(run_dir, "smqtt"), 0o700)
            os.chmod(run_dir, 0o700)
            os.chmod(S["tmp"], tmp_mode)
            rc, _, err = pub(run_dir, args + ["-m", "mine2", "--trace"])
            expect(rc == 0 and "handed to keeper pid %d" % k in err, "its own user is still served", rc, err)
            got = sub.wait_for(3)
            expect(sorted(got) == ["keep/uid mine", "keep/uid mine2", "keep/uid theirs"], "three messages", got)
        finally:
            sub.stop()
            pub(run_dir, plain_args(b) + ["--persist-stop"])


def test_directory_not_private(_):
    run_dir = new_run_dir()
    os.makedirs(os.path.join(run_dir, "smqtt"), 0o755)
    os.chmod(os.path.join(run_dir, "smqtt"), 0o755)
    with Broker() as b:
        rc, _, err = pub(run_dir, plain_args(b) + ["-t", "k/d", "-m", "x", "--persist", "30", "--trace"])
        expect(rc == 0 and "keeper: not used: no private directory" in err, "a directory others can read: no keeper",
               rc, err)
        expect(sockets(run_dir) == [], "no socket in it", sockets(run_dir))
    run_dir = new_run_dir()
    os.symlink("/tmp", os.path.join(run_dir, "smqtt"))
    with Broker() as b:
        rc, _, err = pub(run_dir, plain_args(b) + ["-t", "k/d", "-m", "x", "--persist", "30", "--trace"])
        expect(rc == 0 and "keeper: not used: no private directory" in err, "a symbolic link: no keeper", rc, err)


def test_settings_key_the_keeper(_):
    """Another CA file (same content, another name), user name or password
    never reaches the same keeper."""
    run_dir = new_run_dir()
    pki = S["pki"]
    ca2 = os.path.join(S["tmp"], "ca-copy.crt")
    shutil.copy(os.path.join(pki, "ca.crt"), ca2)
    with Broker(pki_dir=pki, tls_require_certificate=False, users={"alice": "pa", "bob": "pb"}) as b:
        tls = ["-h", "localhost", "-p", str(b.tls_port), "-t", "k/key", "-m", "x", "--persist", "30", "--trace"]
        rc, _, err = pub(run_dir, tls + ["--cafile", os.path.join(pki, "ca.crt")])
        expect(rc == 0 and "now holds" in err, "a TLS keeper", rc, err)
        rc, _, err = pub(run_dir, tls + ["--cafile", ca2])
        expect(rc == 0 and "none runs for these settings" in err and "now holds" in err,
               "another CA file: its own keeper", rc, err)
        auth = ["-h", "127.0.0.1", "-p", str(b.auth_port), "-t", "k/key", "-m", "x", "--persist", "30", "--trace"]
        rc, _, err = pub(run_dir, auth + ["-u", "alice", "-P", "pa"])
        expect(rc == 0 and "now holds" in err, "alice's keeper", rc, err)
        rc, _, err = pub(run_dir, auth + ["-u", "bob", "-P", "pb"])
        expect(rc == 0 and "none runs for these settings" in err, "bob's is another", rc, err)
        rc, _, err = pub(run_dir, auth + ["-u", "alice", "-P", "wrong"])
        expect(rc == 5 and "handed to keeper" not in err and "none runs for these settings" in err,
               "alice with a wrong password is refused by the broker, not served by alice's keeper", rc, err)
        expect(len(sockets(run_dir)) == 4, "four keepers", sockets(run_dir))
        # the CA file's content changes: a new key
        with open(ca2, "a") as f:
            f.write("\n")
        rc, _, err = pub(run_dir, tls + ["--cafile", ca2])
        expect(rc == 0 and "none runs for these settings" in err, "a CA file whose content changed: a new keeper", rc, err)
        for a in (tls[:4] + ["--cafile", os.path.join(pki, "ca.crt")], tls[:4] + ["--cafile", ca2],
                  auth[:4] + ["-u", "alice", "-P", "pa"], auth[:4] + ["-u", "bob", "-P", "pb"]):
            pub(run_dir, a + ["--persist-stop"])


def test_secret_not_on_disk(_):
    run_dir = new_run_dir()
    with Broker(users={"alice": "s3cr3t-pw-keeper"}) as b:
        a = ["-h", "127.0.0.1", "-p", str(b.auth_port), "-u", "alice", "-P", "s3cr3t-pw-keeper", "-t", "k/s", "-m", "x"]
        rc, _, err = pub(run_dir, a + ["--persist", "30"])
        expect(rc == 0, "a keeper", rc, err)
        for root, _, files in os.walk(run_dir):
            for n in files + [root]:
                expect("s3cr3t" not in n, "no secret in a name", n)
        pub(run_dir, a[:6] + ["--persist-stop"])


# ---- lifetime ---------------------------------------------------------------

def test_idle_timeout(_):
    run_dir = new_run_dir()
    with Broker() as b:
        mark = b.log_mark()
        idle = 2 * SLOW
        a = plain_args(b) + ["-t", "k/idle", "--persist", str(idle), "--trace"]
        rc, _, err = pub(run_dir, a + ["-m", "x"])
        k = keeper_pid(err)
        expect(rc == 0 and k and alive(k), "a keeper for %d s" % idle, rc, err)
        time.sleep(0.6 * idle)
        rc, _, err = pub(run_dir, a + ["-m", "y"])
        expect("handed to keeper pid %d" % k in err, "used within its time", err)
        time.sleep(0.6 * idle)
        expect(alive(k), "each use starts its time again")
        expect(wait_gone(k, 3 * idle), "it ends %d s after its last use" % idle)
        expect(sockets(run_dir) == [], "and removes its socket", sockets(run_dir))
        b.wait_for_log(r"Received DISCONNECT from", since=mark, timeout=5)


def test_sigterm_and_check(_):
    run_dir = new_run_dir()
    with Broker() as b:
        a = plain_args(b) + ["-t", "k/term", "-m", "x"]
        rc, out, _ = pub(run_dir, plain_args(b) + ["--check", "--persist", "30"])
        expect(rc == 0 and "keeper" not in out, "--check: no keeper yet", rc, out)
        rc, _, err = pub(run_dir, a + ["--persist", "30", "--trace"])
        k = keeper_pid(err)
        rc, out, _ = pub(run_dir, plain_args(b) + ["--check"])
        expect(rc == 0 and re.search(r"note  a keeper \(pid %d, connected since [^)]+\) holds a connection" % k, out),
               "--check reports the keeper", rc, out)
        mark = b.log_mark()
        os.kill(k, signal.SIGTERM)
        expect(wait_gone(k), "SIGTERM ends it")
        b.wait_for_log(r"Received DISCONNECT from", since=mark, timeout=5)
        expect(sockets(run_dir) == [], "and removes its socket", sockets(run_dir))


def test_persist_stop(_):
    run_dir = new_run_dir()
    with Broker() as b:
        a = plain_args(b)
        rc, _, err = pub(run_dir, a + ["--persist-stop"])
        expect(rc == 1 and "Error: --persist-stop: no keeper holds a connection with these settings" in err,
               "none runs: exit 1, explained", rc, err)
        rc, _, err = pub(run_dir, a + ["-t", "k/stop", "-m", "x", "--persist", "30", "--trace"])
        k = keeper_pid(err)
        rc, _, err = pub(run_dir, a + ["-i", "other", "--persist-stop"])
        expect(rc == 1 and alive(k), "other settings do not stop it", rc, err)
        mark = b.log_mark()
        rc, out, err = pub(run_dir, a + ["--persist-stop"])
        expect(rc == 0 and out == "" and re.search(r"stopped keeper pid %d \(connected since" % k, err),
               "the same settings do", rc, out, err)
        expect(wait_gone(k), "it ends")
        b.wait_for_log(r"Received DISCONNECT from", since=mark, timeout=5)


# ---- when a keeper is not used ----------------------------------------------

def test_not_shared(_):
    run_dir = new_run_dir()
    with Broker() as b:
        a = plain_args(b) + ["-t", "k/no", "-m", "x", "--persist", "30", "--trace"]
        for extra, why, stdin in (
                (["--will-topic", "k/will"], "a will message belongs to the end of one connection", None),
                (["-c", "-i", "sess"], "-c keeps a session that belongs to one client", None),
                (["--repeat", "2"], "--repeat publishes over time", None),
                (["-d"], "-d prints the connection's own packets", None)):
            rc, out, err = pub(run_dir, a + extra, stdin=stdin)
            expect(rc == 0 and "keeper: not used: " + why in err, "%s: no keeper, said why" % extra, rc, err)
            expect(sockets(run_dir) == [], "%s: no socket" % extra, sockets(run_dir))
        rc, _, err = pub(run_dir, plain_args(b) + ["-t", "k/no", "-l", "--persist", "30", "--trace"], stdin=b"a\nb\n")
        expect(rc == 0 and "-l publishes lines as they come" in err and sockets(run_dir) == [], "-l: no keeper", rc, err)


# ---- options and profiles ---------------------------------------------------

def test_bad_values(_):
    run_dir = new_run_dir()
    for v, msg in (("0", "Error: Invalid --persist '0': give whole seconds from 1 to 86400."),
                   ("86401", "Error: Invalid --persist '86401': give whole seconds from 1 to 86400."),
                   ("5m", "Error: Invalid --persist '5m': give whole seconds from 1 to 86400."),
                   ("-3", "Error: Invalid --persist '-3': give whole seconds from 1 to 86400.")):
        rc, out, err = pub(run_dir, ["-t", "t", "-m", "x", "--persist", v])
        expect(rc == 1 and err.startswith(msg), "--persist %s" % v, rc, err)
    rc, out, err = pub(run_dir, ["-t", "t", "-m", "x", "--persist"])
    expect(rc == 1 and err.startswith("Error: --persist argument given but no time specified."), "--persist missing",
           rc, err)
    rc, out, err = subprocess.run(wrapper() + [binpath("smqtt_sub"), "-t", "t", "--persist", "5"], env=env(run_dir),
                                  capture_output=True, timeout=TIMEOUT).returncode, "", ""
    expect(rc == 1, "smqtt_sub has no --persist", rc)


def write_profile(text):
    d = os.path.join(S["tmp"], "xdg", "smqtt")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "profiles.conf"), "w") as f:
        f.write(text)


def test_profile_key(_):
    run_dir = new_run_dir()
    xdg = os.path.join(S["tmp"], "xdg")
    with Broker() as b:
        e = env(run_dir, XDG_CONFIG_HOME=xdg)
        write_profile('lab: { hosts = ["127.0.0.1"]; port = %d; persist = 30; };\n' % b.port)
        a = ["-h", "127.0.0.1", "-p", str(b.port), "-t", "k/prof", "-m", "x", "--trace"]
        rc, _, err = pub(run_dir, a, e=e)
        expect(rc == 0 and "profile:   --persist 30" in err and "now holds the connection" in err,
               "the profile's persist starts a keeper", rc, err)
        rc, _, err = pub(run_dir, a, e=e)
        expect(rc == 0 and "handed to keeper" in err, "the same argv is served by it", rc, err)
        s = subprocess.run(wrapper() + [binpath("smqtt_sub"), "-h", "127.0.0.1", "-p", str(b.port), "-t", "k/prof",
                                         "-W", "1"], env=e, capture_output=True, timeout=TIMEOUT)
        expect(s.returncode in (0, 27) and b"persist" not in s.stderr, "smqtt_sub ignores the key", s.returncode,
               s.stderr)
        pub(run_dir, ["-h", "127.0.0.1", "-p", str(b.port), "--persist-stop"], e=e)
        for bad, why in (('persist = "x";', "'persist' must be an integer"), ("persist = 0;", "--persist")):
            write_profile('lab: { hosts = ["127.0.0.1"]; port = %d; %s };\n' % (b.port, bad))
            rc, _, err = pub(run_dir, a, e=e)
            expect(rc != 0 and why in err, "profile %s explained" % bad, rc, err)
        os.remove(os.path.join(xdg, "smqtt", "profiles.conf"))


# ---- the suite ----------------------------------------------------------------

def teardown():
    for pid in KEEPERS:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
    if S.get("vgdir"):
        bad = []
        for path in glob.glob(os.path.join(S["vgdir"], "vg.*")):
            text = open(path, errors="replace").read()
            if text.strip():  # valgrind -q writes only errors and leaks
                bad.append((path, text[:2000]))
        print("valgrind: %d process logs checked" % len(glob.glob(os.path.join(S["vgdir"], "vg.*"))), flush=True)
        expect(not bad, "valgrind: no error in any process, the keepers included", bad)


def main():
    tmp = tempfile.mkdtemp(prefix="smqtt-keeper-")
    S["tmp"] = tmp
    S["home"] = os.path.join(tmp, "home")
    os.makedirs(S["home"])
    S["pki"] = os.path.join(tmp, "pki")
    subprocess.run(["bash", os.path.join(REPO, "tests", "lib", "mkpki.sh"), S["pki"]], capture_output=True, check=True)
    if os.environ.get("SMQTT_WRAPPER"):
        S["vgdir"] = os.path.join(tmp, "vg")
        os.makedirs(S["vgdir"])
        os.chmod(tmp, 0o711)  # the runs as nobody log there too
        os.chmod(S["vgdir"], 0o1777)
    try:
        S["m21"] = mosq21.ensure()
    except mosq21.Unavailable as e:
        print("note: mosquitto 2.1.2 unavailable (%s): 2.0.11 only" % e, flush=True)
    try:
        return run_tests(globals(), lambda t: t(None), teardown=teardown)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
