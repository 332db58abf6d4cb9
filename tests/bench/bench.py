#!/usr/bin/env python3
"""smqtt vs mosquitto clients, side by side (python3 stdlib only).

Started by tests/bench/run, which installs the Debian packages used here:
time, hyperfine, valgrind, mosquitto, mosquitto-clients, openssl, procps.

Method
------
* Two private mosquitto brokers, only on 127.0.0.1 and on free ports, with
  "user root" and DEFAULT listener settings (no set_tcp_nodelay):
    - "oneshot": a plain listener and a mutual-TLS listener
      (require_certificate true), otherwise the default configuration;
    - "flood": a plain listener with "max_queued_messages 0" (see
      FLOOD_BROKER_NOTE below), used for the 200k/1M line floods;
    - "ws" (rows 9-11): mosquitto 2.1.2's broker, built from tests/reference/
      by tests/lib/mosq21.py, with a plain, a websockets and a websockets+TLS
      listener; smqtt is compared with mosquitto 2.1.2's own clients there
      (LD_LIBRARY_PATH for those only). Without it those rows say n/a.
* A fresh PKI from tests/lib/mkpki.sh (RSA-2048) and generated payload files.
* smqtt and mosquitto are run ALTERNATELY (A B B A A B ...: which one goes
  first alternates from pair to pair), --pairs pairs per figure (default 10); one warm-up run of each before every row (smqtt
  remembers the TLS version per broker in $XDG_CACHE_HOME, and --tls-resume
  needs a saved session). Both tools get the same private HOME,
  XDG_CACHE_HOME and XDG_CONFIG_HOME (mosquitto_pub reads
  ~/.config/mosquitto_pub, smqtt reads profiles and caches), and smqtt also
  gets --no-profile.
* Wall and CPU (user+sys) of one-shot runs come from hyperfine (-N, one run
  of each command per pair, so that the pairs stay interleaved); peak RSS and
  CPU of long runs from /usr/bin/time -f; instruction counts from
  valgrind --tool=callgrind. Ratios are smqtt/mosquitto of the medians.
* Row 5 also reports the broker's CPU (/proc/PID/stat) and the counting
  mosquitto_sub's during each flood: the broker is single-threaded, so its
  CPU time is a floor for the publisher's wall time.
* Row 12 (real links): one-shot runs through tests/lib/relay.py with
  delay_ms=25, a relay on 127.0.0.1 that delays every chunk 25 ms each way
  (50 ms RTT; this kernel has no netem). The kernel accepts the TCP
  connection at once, so the TCP handshake costs nothing: on a real link
  add one round trip per connection to both tools. Wall from spawn to exit
  (alternating pairs, one warm-up of each); the relay counts each run's
  round trips (the times the client spoke or closed after an answer had
  reached it, summed over its connections). Two more brokers: "rtt" (2.0.11, plain and
  mutual TLS) and "rtt12" (the same, with MaxProtocol = TLSv1.2 from
  OPENSSL_CONF: mosquitto 2.0's tls_version only sets the lowest version).
  ws and wss run against mosquitto 2.1.2's clients and broker ("ws").
* Row 14: --tls-resume with --capath (the CAs of /etc/ssl/certs and the
  bench CA, hashed with openssl rehash) and with the OS store (the same CAs
  through SSL_CERT_FILE/SSL_CERT_DIR, for both tools), against
  mosquitto_pub with the same trust option: the cost of the digest that
  binds a saved session to the trust settings. A broker "trust" with a TLS
  listener that asks for no client certificate (mosquitto_pub 2.0 sends
  none with --tls-use-os-certs alone); the note compares smqtt's own
  resumed run with --cafile.
* Row 15 (the connection keeper, issue 27): a script's loop of 20 calls
  through the same 50 ms relay to a mutual-TLS 1.3 broker ("keep", 2.0.11),
  smqtt_pub --persist 30 against mosquitto_pub, at QoS 1 and QoS 0; ms per
  call over the whole loop. Every smqtt loop starts without a keeper (its
  first call connects and starts one: counted); a subscriber on the broker
  checks that each loop's messages arrive once and in order.
"""

import argparse
import json
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MKPKI = os.path.join(ROOT, "tests", "lib", "mkpki.sh")

MOSQUITTO = "/usr/sbin/mosquitto"
MOSQ_PUB = "/usr/bin/mosquitto_pub"
MOSQ_SUB = "/usr/bin/mosquitto_sub"
MOSQ_RR = "/usr/bin/mosquitto_rr"
TIME = "/usr/bin/time"
HOST = "127.0.0.1"

FLOOD_BROKER_NOTE = """\
# Flood broker settings (man mosquitto.conf, mosquitto 2.0.11 db__ready_for_flight):
# an outgoing QoS 0 message is DROPPED when the subscriber already has
# max_queued_messages (default 1000) messages beyond max_inflight_messages
# waiting, and a fast publisher easily gets 1000 ahead of the subscriber.
# "max_queued_messages 0" (no maximum; max_queued_bytes and max_inflight_bytes
# stay at their default 0 = no limit) makes the broker keep every message for
# a connected subscriber, so every published line reaches it however far the
# subscriber lags. The subscribers here are QoS 0, so max_inflight_messages
# (QoS 1/2 only, default 20) stays at its default. The same broker serves both
# tools."""


class BenchError(RuntimeError):
    pass


# --------------------------------------------------------------------------
# process bookkeeping: every child gets its own process group, so that a
# timeout or Ctrl-C kills /usr/bin/time or hyperfine AND what they started.
_procs = []


def spawn(cmd, **kw):
    kw.setdefault("start_new_session", True)
    kw.setdefault("stdin", subprocess.DEVNULL)
    p = subprocess.Popen(cmd, **kw)
    _procs.append(p)
    return p


def kill(p, grace=2.0):
    if p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except OSError:
            pass
        try:
            p.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except OSError:
                pass
            p.wait(timeout=5)
    else:
        # the leader is gone; make sure nothing of its group survives
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except OSError:
            pass
    if p in _procs:
        _procs.remove(p)


def cleanup_all():
    for p in list(reversed(_procs)):
        try:
            kill(p)
        except Exception:
            pass


def run(cmd, timeout, what=None, **kw):
    """Run cmd to completion (bounded); return (rc, stdout, stderr) bytes."""
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    p = spawn(cmd, **kw)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill(p)
        raise BenchError("%s: timed out after %ss: %s"
                         % (what or "command", timeout, shlex.join(cmd)))
    if p in _procs:
        _procs.remove(p)
    return p.returncode, out or b"", err or b""


# --------------------------------------------------------------------------
def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Broker:
    """A private mosquitto on 127.0.0.1, logging to a file we can wait on."""

    def __init__(self, workdir, name, pki=None, extra="", binary=MOSQUITTO, ws=False, env=None,
                 require_cert=True):
        self.binary = binary
        self.require_cert = require_cert
        self.ws = ws
        self.env = env
        self.ws_port = self.wss_port = None
        self.dir = os.path.join(workdir, "broker-" + name)
        os.makedirs(self.dir, exist_ok=True)
        self.name = name
        self.pki = pki
        self.extra = extra
        self.conf = os.path.join(self.dir, "mosquitto.conf")
        self.log = os.path.join(self.dir, "mosquitto.log")
        self.proc = None
        self.port = self.tls_port = None

    def _write(self):
        self.port = free_port()
        lines = [
            "# generated by tests/bench/bench.py",
            "user root",
            "persistence false",
            "allow_anonymous true",
            "log_dest file " + self.log,
            # no debug logging (it would log every PUBLISH); "subscribe"
            # logs "<client id> <qos> <topic>" once the subscription exists
            "log_type error", "log_type warning", "log_type notice",
            "log_type information", "log_type subscribe",
            "log_timestamp true",
            "connection_messages true",
        ]
        if self.extra:
            lines += ["", self.extra]
        lines += ["", "listener %d %s" % (self.port, HOST)]
        if self.pki:
            self.tls_port = free_port()
            while self.tls_port == self.port:
                self.tls_port = free_port()
            lines += ["", "listener %d %s" % (self.tls_port, HOST),
                      "cafile " + os.path.join(self.pki, "ca.crt"),
                      "certfile " + os.path.join(self.pki, "server.crt"),
                      "keyfile " + os.path.join(self.pki, "server.key")]
            if self.require_cert:
                lines.append("require_certificate true")
        if self.ws:
            # mosquitto 2.1.2's built-in websockets listeners, plain and TLS
            self.ws_port, self.wss_port = free_port(), free_port()
            while len({self.port, self.tls_port, self.ws_port, self.wss_port}) < 4:
                self.ws_port, self.wss_port = free_port(), free_port()
            lines += ["", "listener %d %s" % (self.ws_port, HOST), "protocol websockets",
                      "", "listener %d %s" % (self.wss_port, HOST), "protocol websockets",
                      "certfile " + os.path.join(self.pki, "server.crt"),
                      "keyfile " + os.path.join(self.pki, "server.key")]
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")

    def start(self):
        for _attempt in range(3):
            if os.path.exists(self.log):
                os.unlink(self.log)
            self._write()
            self.proc = spawn([self.binary, "-c", self.conf],
                              stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                              cwd=self.dir, env=self.env)
            try:
                self.wait_log(r"mosquitto version \S+ running", 0, timeout=10)
                return self
            except BenchError as e:
                err = e
                kill(self.proc)
                if "Address already in use" not in self.text(0):
                    break
        raise err

    def stop(self):
        if self.proc:
            kill(self.proc)
            self.proc = None

    def mark(self):
        try:
            return os.path.getsize(self.log)
        except OSError:
            return 0

    def text(self, since):
        try:
            with open(self.log, "rb") as f:
                f.seek(since)
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def wait_log(self, pattern, since, timeout=10.0):
        rx = re.compile(pattern, re.M)
        deadline = time.monotonic() + timeout
        while True:
            t = self.text(since)
            m = rx.search(t)
            if m:
                return m
            if self.proc.poll() is not None:
                raise BenchError("broker %s exited (%s) waiting for %r:\n%s"
                                 % (self.name, self.proc.returncode, pattern, t[-2000:]))
            if time.monotonic() > deadline:
                raise BenchError("broker %s: no %r in the log after %ss:\n%s"
                                 % (self.name, pattern, timeout, t[-2000:]))
            time.sleep(0.002)


class LineCounter(threading.Thread):
    """Drain a pipe as fast as possible, counting newlines."""

    def __init__(self, f):
        super().__init__(daemon=True)
        self.fd = f.fileno()
        self.f = f
        self.count = 0
        self.last = time.monotonic()

    def run(self):
        try:
            while True:
                b = os.read(self.fd, 1 << 17)
                if not b:
                    break
                self.count += b.count(b"\n")
                self.last = time.monotonic()
        except OSError:
            pass
        finally:
            self.f.close()


# --------------------------------------------------------------------------
def parse_time_file(path):
    """Last line of /usr/bin/time -f '%e %U %S %M' -o path."""
    with open(path) as f:
        lines = [l for l in f.read().splitlines() if l.strip()]
    if not lines:
        raise BenchError("empty /usr/bin/time output")
    e, u, s, m = lines[-1].split()
    return {"wall_time": float(e), "user": float(u), "sys": float(s), "rss_kb": int(m)}


def median_stats(xs):
    if not xs:
        return None
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs),
            "n": len(xs), "samples": xs}


class Bench:
    RTT_NAME = "50 ms RTT one-shot"

    def __init__(self, args):
        self.a = args
        self.smoke = args.smoke
        self.pairs = args.pairs
        self.bindir = os.path.abspath(os.environ.get("SMQTT_BIN_DIR",
                                                     os.path.join(ROOT, "build", "bin")))
        self.spub = os.path.join(self.bindir, "smqtt_pub")
        self.srr = os.path.join(self.bindir, "smqtt_rr")
        self.ssub = os.path.join(self.bindir, "smqtt_sub")
        self.rows = {}
        self.relays = {}
        self.errors = []
        self.seq = 0
        if self.smoke:
            self.n_sub, self.n_l0, self.n_l1, self.n_l1_small = 2000, 2000, 2000, 200
            self.n_ws_sub = 2000
        else:
            self.n_sub, self.n_l0, self.n_l1, self.n_l1_small = 200000, 1000000, 1000000, 10000
            self.n_ws_sub = 100000

    # ---- setup -------------------------------------------------------------
    def setup(self):
        for b in (self.spub, self.ssub):
            if not os.access(b, os.X_OK):
                raise BenchError("%s not found (build first, or set SMQTT_BIN_DIR)" % b)
        for b in (MOSQUITTO, MOSQ_PUB, MOSQ_SUB, TIME, shutil.which("hyperfine") or "hyperfine",
                  shutil.which("valgrind") or "valgrind"):
            if not os.access(b, os.X_OK):
                raise BenchError("%s not found (tests/bench/run installs it)" % b)
        self.hyperfine = shutil.which("hyperfine")
        self.valgrind = shutil.which("valgrind")
        self.work = tempfile.mkdtemp(prefix="smqtt-bench-")
        self.pki = os.path.join(self.work, "pki")
        rc, out, err = run(["bash", MKPKI, self.pki], 120, "mkpki.sh")
        if rc != 0:
            raise BenchError("mkpki.sh failed:\n" + (out + err).decode(errors="replace"))
        self.ca, self.cert, self.key = (os.path.join(self.pki, f)
                                        for f in ("ca.crt", "client.crt", "client.key"))
        self.envs = {}
        for name in ("oneshot", "resume", "flood", "stepdown"):
            home = os.path.join(self.work, "home-" + name)
            for d in (".cache", ".config"):
                os.makedirs(os.path.join(home, d), exist_ok=True)
            env = dict(os.environ)
            for k in list(env):
                if k.startswith("SMQTT_"):
                    del env[k]
            env.update(HOME=home, XDG_CACHE_HOME=os.path.join(home, ".cache"),
                       XDG_CONFIG_HOME=os.path.join(home, ".config"))
            self.envs[name] = env
        self.files = {}
        for n in sorted({self.n_sub, self.n_l0, self.n_l1, self.n_l1_small, self.n_ws_sub}):
            path = os.path.join(self.work, "lines-%d.txt" % n)
            with open(path, "w") as f:
                f.write("".join("%08d smqtt-bench payload\n" % i for i in range(n)))
            self.files[n] = path
        self.b1 = Broker(self.work, "oneshot", pki=self.pki).start()
        self.b2 = Broker(self.work, "flood", extra=FLOOD_BROKER_NOTE
                         + "\nmax_queued_messages 0").start()
        self.m21 = None
        try:
            sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
            import mosq21
            self.m21 = mosq21.ensure()
            self.b3 = Broker(self.work, "ws", pki=self.pki, binary=self.m21.broker, ws=True,
                             extra="max_queued_messages 0\nmax_packet_size 10000000").start()
        except Exception as e:  # mosq21.Unavailable, or the build failed
            self.m21_why = str(e)
            self.m21 = None
        self.resume_supported = False
        rc, out, err = run([self.spub, "--help"], 10, "smqtt_pub --help")
        self.resume_supported = b"--tls-resume" in out + err

    def teardown(self):
        for r in self.relays.values():
            r.stop()
        for b in ("b1", "b2", "b3", "b4", "b5", "b6", "b7"):
            if hasattr(self, b):
                getattr(self, b).stop()
        if hasattr(self, "work"):
            if self.a.keep:
                print("work directory kept: %s" % self.work)
            else:
                shutil.rmtree(self.work, ignore_errors=True)

    # ---- commands ----------------------------------------------------------
    def tls_args(self, topic):
        return ["-h", HOST, "-p", str(self.b1.tls_port), "--cafile", self.ca,
                "--cert", self.cert, "--key", self.key, "-t", topic, "-m", "hello", "-q", "0"]

    def pub_cmds(self, extra_smqtt, args):
        return ([self.spub, "--no-profile"] + extra_smqtt + args, [MOSQ_PUB] + args)

    def uid(self, tag):
        self.seq += 1
        return "bench-%s-%d-%d" % (tag, os.getpid(), self.seq)

    # ---- measurement primitives ----------------------------------------------
    def hyperfine_pair(self, cmd_a, cmd_b, env):
        out = os.path.join(self.work, "hyperfine.json")
        cmd = [self.hyperfine, "-N", "--runs", "1", "--style", "none",
               "--export-json", out, shlex.join(cmd_a), shlex.join(cmd_b)]
        rc, o, e = run(cmd, 120, "hyperfine", env=env)
        if rc != 0:
            raise BenchError("hyperfine failed (rc %d):\n%s%s" % (
                rc, o.decode(errors="replace"), e.decode(errors="replace")))
        with open(out) as f:
            res = json.load(f)["results"]
        return [{"wall": r["times"][0], "cpu": r["user"] + r["system"]} for r in res]

    def time_run(self, cmd, env, timeout, stdin=None, what="run"):
        tf = os.path.join(self.work, "time.out")
        full = [TIME, "-f", "%e %U %S %M", "-o", tf] + cmd
        rc, o, e = run(full, timeout, what, env=env,
                       stdin=stdin if stdin is not None else subprocess.DEVNULL)
        if rc != 0:
            raise BenchError("%s failed (rc %d): %s\n%s" % (what, rc, shlex.join(cmd),
                                                           e.decode(errors="replace")[-2000:]))
        return parse_time_file(tf)

    def callgrind(self, cmd, env):
        out = os.path.join(self.work, "callgrind.%s.out" % self.uid("cg"))
        full = [self.valgrind, "--tool=callgrind", "--callgrind-out-file=" + out] + cmd
        rc, o, e = run(full, 600, "callgrind", env=env)
        if rc != 0:
            raise BenchError("callgrind run failed (rc %d): %s\n%s" % (
                rc, shlex.join(cmd), e.decode(errors="replace")[-2000:]))
        ir = None
        with open(out) as f:
            for line in f:
                m = re.match(r"(?:summary|totals):\s+(\d+)", line)
                if m:
                    ir = int(m.group(1))
        if ir is None:
            raise BenchError("no instruction total in " + out)
        return ir, out

    def start_counter_sub(self, sub_cmd, topic, cid, env, broker=None):
        """Start a subscriber whose stdout is a pipe drained by a LineCounter;
        return once the broker (default: the flood broker) logged the
        subscription."""
        broker = broker or self.b2
        tf = os.path.join(self.work, "time-sub-%s.out" % cid)
        mark = broker.mark()
        p = spawn([TIME, "-f", "%e %U %S %M", "-o", tf] + sub_cmd, env=env,
                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        c = LineCounter(p.stdout)
        c.start()
        try:
            broker.wait_log(r"\b%s \d %s$" % (re.escape(cid), re.escape(topic)), mark, 15)
        except BenchError:
            kill(p)
            raise BenchError("subscriber did not subscribe: %s\n%s" % (
                shlex.join(sub_cmd), p.stderr.read().decode(errors="replace")[-1000:]))
        return p, c, tf

    def finish_sub(self, p, c, n, stall, timeout, what):
        """Wait for a -C n subscriber to exit; if it stops receiving for
        `stall` seconds (lines lost), kill it. Return (count, complete)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                p.wait(timeout=0.25)
                break
            except subprocess.TimeoutExpired:
                pass
            now = time.monotonic()
            if now - c.last > stall or now > deadline:
                kill(p)
                c.join(5)
                if p.stderr:
                    p.stderr.close()
                return c.count, False
        c.join(10)
        if p in _procs:
            _procs.remove(p)
        err = p.stderr.read().decode(errors="replace") if p.stderr else ""
        if p.stderr:
            p.stderr.close()
        if p.returncode != 0:
            raise BenchError("%s exited with %s: %s" % (what, p.returncode, err[-1000:]))
        return c.count, c.count >= n

    # ---- rows ----------------------------------------------------------------
    def add_row(self, rid, name, unit, s, m, goal=None, goal_txt="report", note="",
                commands=None, ratio=True, met=None, extra=None):
        row = {"id": rid, "name": name, "unit": unit,
               "smqtt": median_stats(s) if isinstance(s, list) else s,
               "mosquitto": median_stats(m) if isinstance(m, list) else m,
               "goal": goal_txt, "note": note, "commands": commands or {}}
        if extra:
            row.update(extra)
        r = None
        if ratio and row["smqtt"] and row["mosquitto"] and row["mosquitto"]["median"]:
            r = row["smqtt"]["median"] / row["mosquitto"]["median"]
        row["ratio"] = r
        if met is None and goal is not None and r is not None:
            met = r <= goal
        row["met"] = met
        self.rows[rid] = row

    def na_row(self, rid, name, unit, goal_txt, why):
        self.rows[rid] = {"id": rid, "name": name, "unit": unit, "smqtt": None,
                          "mosquitto": None, "ratio": None, "goal": goal_txt,
                          "met": None, "note": why, "na": True, "commands": {}}

    def progress(self, msg):
        print("[bench %s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)

    def oneshot_hyperfine(self, a, b, env):
        run(a, 60, "warm-up", env=env)          # warm-up: TLS version cache etc.
        run(b, 60, "warm-up", env=env)
        sw, sc, mw, mc = [], [], [], []
        for i in range(self.pairs):
            # Which tool runs first alternates from pair to pair: the first
            # command a fresh hyperfine process runs is measured ~1 ms slower
            # (hyperfine's own start-up leaves the caches cold), whichever
            # tool it is, so a fixed order would favour the second tool.
            if i % 2 == 0:
                ra, rb = self.hyperfine_pair(a, b, env)
            else:
                rb, ra = self.hyperfine_pair(b, a, env)
            sw.append(ra["wall"] * 1e3)
            sc.append(ra["cpu"] * 1e3)
            mw.append(rb["wall"] * 1e3)
            mc.append(rb["cpu"] * 1e3)
        return sw, sc, mw, mc

    def row1(self):
        self.progress("row 1: one-shot mutual-TLS publish (hyperfine)")
        env = self.envs["oneshot"]
        a, b = self.pub_cmds([], self.tls_args("bench/tls"))
        sw, sc, mw, mc = self.oneshot_hyperfine(a, b, env)
        cmds = {"smqtt": shlex.join(a), "mosquitto": shlex.join(b)}
        self.add_row("1a", "TLS one-shot pub: wall", "ms", sw, mw, 0.35, "<= 0.35", commands=cmds)
        self.add_row("1b", "TLS one-shot pub: CPU user+sys", "ms", sc, mc, 1.0, "<= 1.0",
                     commands=cmds)

    def row2(self):
        name_w, name_c = "TLS one-shot pub --tls-resume: wall", "TLS one-shot pub --tls-resume: CPU"
        if not self.resume_supported:
            self.na_row("2a", name_w, "ms", "<= 0.25", "n/a (not implemented)")
            self.na_row("2b", name_c, "ms", "<= 0.6", "n/a (not implemented)")
            return
        self.progress("row 2: one-shot mutual-TLS publish with --tls-resume (hyperfine)")
        env = self.envs["resume"]
        a, b = self.pub_cmds(["--tls-resume"], self.tls_args("bench/tlsr"))
        sw, sc, mw, mc = self.oneshot_hyperfine(a, b, env)
        # did it resume? (informational: look at smqtt's own trace)
        rc, o, e = run(a[:1] + ["--trace"] + a[1:], 60, "trace", env=env)
        tr = re.search(r"session (resumed|new)[^\n]*", e.decode(errors="replace"))
        note = "mosquitto: full handshake (it has no resumption)"
        if tr:
            note += "; smqtt --trace after the runs: " + tr.group(0).strip()[:80]
        cmds = {"smqtt": shlex.join(a), "mosquitto": shlex.join(b)}
        self.add_row("2a", name_w, "ms", sw, mw, 0.25, "<= 0.25", note=note, commands=cmds)
        self.add_row("2b", name_c, "ms", sc, mc, 0.6, "<= 0.6", note=note, commands=cmds)

    def row14(self):
        """--tls-resume binds the saved session to the trust settings
        (common/tlssession.c): with --capath every file of the directory is
        hashed, with the OS store its bundle and directory, on every run.
        Both against mosquitto_pub with the same trust option (a full
        handshake: it has no resumption), TLS with server authentication
        only; the note gives smqtt's own cost of the hashing, against the
        same resumed run with --cafile."""
        names = {"14a": "TLS one-shot pub --tls-resume --capath: wall",
                 "14b": "TLS one-shot pub --tls-resume --capath: CPU",
                 "14c": "TLS one-shot pub --tls-resume, OS store: wall",
                 "14d": "TLS one-shot pub --tls-resume, OS store: CPU"}
        if not self.resume_supported:
            for rid, name in names.items():
                self.na_row(rid, name, "ms", "report", "n/a (not implemented)")
            return
        self.progress("row 14: --tls-resume with --capath / the OS trust store (hyperfine)")
        sysdir = "/etc/ssl/certs"
        capath = os.path.join(self.work, "capath")
        os.makedirs(capath, exist_ok=True)
        system = sorted(n for n in os.listdir(sysdir) if n.endswith(".pem")) if os.path.isdir(sysdir) else []
        for name in system:
            shutil.copy(os.path.join(sysdir, name), os.path.join(capath, name))
        shutil.copy(self.ca, os.path.join(capath, "smqtt-bench-ca.pem"))
        rc, o, e = run(["openssl", "rehash", capath], 60, "openssl rehash")
        if rc != 0:
            raise BenchError("openssl rehash failed: " + e.decode(errors="replace"))
        bundle = os.path.join(self.work, "os-bundle.crt")
        with open(bundle, "w") as out:
            for name in system:
                with open(os.path.join(sysdir, name)) as f:
                    out.write(f.read())
            with open(self.ca) as f:
                out.write(f.read())
        # server authentication only: mosquitto_pub 2.0 sends no client
        # certificate with --tls-use-os-certs alone (no --cafile/--capath)
        if not hasattr(self, "b6"):
            self.b6 = Broker(self.work, "trust", pki=self.pki, require_cert=False).start()
        base = ["-h", HOST, "-p", str(self.b6.tls_port), "-t", "bench/tlsr14", "-m", "hello", "-q", "0"]
        # the same resumed run with --cafile: what the hashing adds
        ref_env = dict(self.envs["resume"])
        ref_env["XDG_CACHE_HOME"] = os.path.join(self.work, "cache-14-ref")
        ref = [self.spub, "--no-profile", "--tls-resume", "--cafile", self.ca] + base
        run(ref, 60, "warm-up", env=ref_env)
        ref_w, ref_c = [], []
        for _ in range(self.pairs):
            r, _ = self.hyperfine_pair(ref, ref, ref_env)
            ref_w.append(r["wall"] * 1e3)
            ref_c.append(r["cpu"] * 1e3)
        rw, rc_ = median_stats(ref_w)["median"], median_stats(ref_c)["median"]
        for rw_id, rc_id, trust, extra in (
                ("14a", "14b", ["--capath", capath], {}),
                ("14c", "14d", ["--tls-use-os-certs"],
                 {"SSL_CERT_FILE": bundle, "SSL_CERT_DIR": capath})):
            env = dict(self.envs["resume"])
            env["XDG_CACHE_HOME"] = os.path.join(self.work, "cache-" + rw_id)
            env.update(extra)
            a = [self.spub, "--no-profile", "--tls-resume"] + trust + base
            b = [MOSQ_PUB] + trust + base
            sw, sc, mw, mc = self.oneshot_hyperfine(a, b, env)
            rc, o, e = run(a[:1] + ["--trace"] + a[1:], 60, "trace", env=env)
            tr = re.search(r"session (resumed|new)[^\n]*", e.decode(errors="replace"))
            note = ("%d CAs (%s from %s and the bench CA)%s; smqtt's own run with --cafile and --tls-resume: "
                    "%.1f ms wall, %.1f ms CPU (median), so the trust digest costs %+.1f ms wall, %+.1f ms CPU"
                    % (len(system) + 1, len(system), sysdir,
                       ", SSL_CERT_FILE/SSL_CERT_DIR for both tools" if extra else "", rw, rc_,
                       median_stats(sw)["median"] - rw, median_stats(sc)["median"] - rc_))
            if tr:
                note += "; smqtt --trace: " + tr.group(0).strip()[:60]
            cmds = {"smqtt": shlex.join(a), "mosquitto": shlex.join(b)}
            self.add_row(rw_id, names[rw_id], "ms", sw, mw, None, "report", note=note, commands=cmds)
            self.add_row(rc_id, names[rc_id], "ms", sc, mc, None, "report", note=note, commands=cmds)

    def row3(self):
        self.progress("row 3: one-shot plain publish (hyperfine)")
        env = self.envs["oneshot"]
        a, b = self.pub_cmds([], ["-h", HOST, "-p", str(self.b1.port), "-t", "bench/plain",
                                  "-m", "hello", "-q", "0"])
        sw, sc, mw, mc = self.oneshot_hyperfine(a, b, env)
        self.add_row("3", "plain one-shot pub: wall", "ms", sw, mw, 1.0, "<= 1.0",
                     commands={"smqtt": shlex.join(a), "mosquitto": shlex.join(b)})

    def row13(self):
        """One-shot request/response over plain MQTT: a real responder
        (mosquitto_sub | mosquitto_pub -l, Debian's clients) answers every
        request on the response topic; both tools run the same exchange."""
        self.progress("row 13: one-shot request/response, smqtt_rr vs mosquitto_rr (hyperfine)")
        env = self.envs["oneshot"]
        port = str(self.b1.port)
        cid = self.uid("rr-responder")
        mark = self.b1.mark()
        sub = spawn([MOSQ_SUB, "-h", HOST, "-p", port, "-i", cid, "-t", "bench/rr/req", "-F", "%p", "--nodelay"],
                    env=env, stdout=subprocess.PIPE)
        pub = spawn([MOSQ_PUB, "-h", HOST, "-p", port, "-t", "bench/rr/resp", "-l", "--nodelay"], env=env,
                    stdin=sub.stdout)
        sub.stdout.close()
        try:
            self.b1.wait_log(r"\b%s \d bench/rr/req$" % re.escape(cid), mark, 15)
            args = ["-h", HOST, "-p", port, "-t", "bench/rr/req", "-e", "bench/rr/resp", "-m", "ping",
                    "-W", "10"]
            a, b = [self.srr, "--no-profile"] + args, [MOSQ_RR] + args
            sw, sc, mw, mc = self.oneshot_hyperfine(a, b, env)
        finally:
            kill(pub)
            kill(sub)
        self.add_row("13", "plain one-shot request/response (rr): wall", "ms", sw, mw, 1.0, "<= 1.0",
                     commands={"smqtt": shlex.join(a), "mosquitto": shlex.join(b)})

    def row7(self):
        self.progress("row 7: one-shot TLS publish peak RSS (/usr/bin/time)")
        env = self.envs["oneshot"]
        a, b = self.pub_cmds([], self.tls_args("bench/tls"))
        s, m = [], []
        for i in range(self.pairs):      # alternate the order, as in rows 1-3
            for tool in (("smqtt", "mosquitto") if i % 2 == 0 else ("mosquitto", "smqtt")):
                if tool == "smqtt":
                    s.append(self.time_run(a, env, 60, what="smqtt_pub")["rss_kb"] / 1024)
                else:
                    m.append(self.time_run(b, env, 60, what="mosquitto_pub")["rss_kb"] / 1024)
        self.add_row("7", "TLS one-shot pub: peak RSS", "MB", s, m, 1.1, "<= 1.1",
                     commands={"smqtt": shlex.join(a), "mosquitto": shlex.join(b)})

    def row8(self):
        self.progress("row 8: one-shot TLS publish instruction count (callgrind)")
        env = self.envs["oneshot"]
        a, b = self.pub_cmds([], self.tls_args("bench/tls"))
        s, m = [], []
        for i in range(self.pairs):      # instruction counts: the order does not matter
            ir, self.cg_smqtt = self.callgrind(a, env)
            s.append(ir / 1e6)
            ir, self.cg_mosq = self.callgrind(b, env)
            m.append(ir / 1e6)
        note = "stable proxy for 1b"
        if self.a.keep:
            note += "; last profiles: %s %s" % (self.cg_smqtt, self.cg_mosq)
        self.add_row("8", "TLS one-shot pub: callgrind Ir", "M", s, m, None, "report",
                     note=note, commands={"smqtt": "valgrind --tool=callgrind " + shlex.join(a),
                                          "mosquitto": "valgrind --tool=callgrind " + shlex.join(b)})

    def sub_cpu_runs(self, n, sub_cmd_for, broker, what):
        """CPU per message (us) of each tool's subscriber receiving n QoS 0
        messages that mosquitto_pub -l publishes over plain MQTT to broker:
        one warm-up run of each, then --pairs alternating pairs.
        sub_cmd_for(tool, topic, cid) gives (argv, env). Returns (cpu, shown)."""
        feed = self.files[n]
        cpu = {"smqtt": [], "mosquitto": []}
        shown = {}
        timeout = 60 + n / 1000

        def one(tool, warm=False):
            topic = "bench/sub/" + self.uid("t")
            cid = self.uid("sub")
            cmd, env = sub_cmd_for(tool, topic, cid)
            shown[tool] = shlex.join(cmd) + " | (pipe)"
            p, c, tf = self.start_counter_sub(cmd, topic, cid, env, broker=broker)
            pubcmd = [MOSQ_PUB, "-h", HOST, "-p", str(broker.port), "-t", topic, "-l", "-q", "0"]
            with open(feed, "rb") as fin:
                rc, o, e = run(pubcmd, timeout, "flood publisher", env=self.envs["flood"], stdin=fin)
            if rc != 0:
                kill(p)
                raise BenchError("flood publisher failed: " + e.decode(errors="replace"))
            cnt, ok = self.finish_sub(p, c, n, 20, timeout, tool + " " + what)
            if not ok:
                raise BenchError("%s %s received only %d of %d messages" % (tool, what, cnt, n))
            t = parse_time_file(tf)
            if not warm:
                cpu[tool].append((t["user"] + t["sys"]) / n * 1e6)

        one("smqtt", True)
        one("mosquitto", True)
        for i in range(self.pairs):
            for tool in (("smqtt", "mosquitto") if i % 2 == 0 else ("mosquitto", "smqtt")):
                one(tool)
        return cpu, shown

    def row4(self):
        n = self.n_sub
        self.progress("row 4: sub CPU per message, %d QoS 0 messages into a pipe" % n)

        def sub_cmd(tool, topic, cid):
            args = ["-h", HOST, "-p", str(self.b2.port), "-t", topic, "-C", str(n), "-v", "-i", cid]
            return ([self.ssub, "--no-profile"] if tool == "smqtt" else [MOSQ_SUB]) + args, self.envs["flood"]
        cpu, shown = self.sub_cpu_runs(n, sub_cmd, self.b2, "sub")
        self.add_row("4", "sub -C %d -v into a pipe: CPU/msg" % n, "us", cpu["smqtt"],
                     cpu["mosquitto"], 0.5, "<= 0.5",
                     note="publisher: mosquitto_pub -l -q 0 < %d-line file (both)" % n,
                     commands=shown)

    def pub_flood(self, tool, n, qos):
        env = self.envs["flood"]
        topic = "bench/l%d/%s" % (qos, self.uid("t"))
        cid = self.uid("count")
        sub_cmd = [MOSQ_SUB, "-h", HOST, "-p", str(self.b2.port), "-t", topic, "-C", str(n),
                   "-i", cid]
        args = ["-h", HOST, "-p", str(self.b2.port), "-t", topic, "-l", "-q", str(qos)]
        cmd = ([self.spub, "--no-profile"] if tool == "smqtt" else [MOSQ_PUB]) + args
        timeout = 60 + n / 1000
        p, c, tf = self.start_counter_sub(sub_cmd, topic, cid, env)
        b0 = self.proc_cpu(self.b2.proc.pid)
        t0 = time.monotonic()
        try:
            with open(self.files[n], "rb") as fin:
                t = self.time_run(cmd, env, timeout, stdin=fin, what=tool + " pub -l")
        except BenchError:
            kill(p)
            raise
        wall = time.monotonic() - t0
        cnt, _ok = self.finish_sub(p, c, n, 3 if self.smoke else 10, timeout, "counting sub")
        broker = self.proc_cpu(self.b2.proc.pid) - b0
        wall_all = time.monotonic() - t0    # until the counter had everything
        try:
            ct = parse_time_file(tf)
            counter = ct["user"] + ct["sys"]
        except (OSError, ValueError, BenchError):
            counter = None                  # killed after a stall: no figure
        return {"wall": wall, "cpu": t["user"] + t["sys"], "rss_mb": t["rss_kb"] / 1024,
                "delivered": cnt, "cmd": shlex.join(cmd) + " < %d-line file" % n,
                "broker_cpu": broker, "counter_cpu": counter, "wall_all": wall_all}

    @staticmethod
    def proc_cpu(pid):
        """user+system CPU seconds of a running process, from /proc/PID/stat."""
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def row5(self):
        n = self.n_l0
        self.progress("row 5: pub -l, %d lines, QoS 0" % n)
        self.pub_flood("smqtt", self.n_l1_small, 0)      # warm-up
        self.pub_flood("mosquitto", self.n_l1_small, 0)
        r = {"smqtt": [], "mosquitto": []}
        for i in range(self.pairs):
            for tool in (("smqtt", "mosquitto") if i % 2 == 0 else ("mosquitto", "smqtt")):
                r[tool].append(self.pub_flood(tool, n, 0))
        cmds = {k: v[0]["cmd"] for k, v in r.items()}
        dl = {k: [x["delivered"] for x in v] for k, v in r.items()}
        all_s = all(d == n for d in dl["smqtt"])
        wall = {k: [x["wall"] for x in v] for k, v in r.items()}
        rs = statistics.median(wall["smqtt"]) / statistics.median(wall["mosquitto"])
        self.add_row("5a", "pub -l %d lines QoS 0: wall" % n, "s", wall["smqtt"],
                     wall["mosquitto"], None, "<= 0.8 and all delivered",
                     met=(rs <= 0.8 and all_s), commands=cmds,
                     note="counted by mosquitto_sub -C %d on the broker" % n)
        self.add_row("5b", "pub -l %d lines QoS 0: delivered" % n, "lines", dl["smqtt"],
                     dl["mosquitto"], None, "= %d (smqtt, every run)" % n, met=all_s,
                     note="mosquitto delivered %d/%d runs complete" % (
                         sum(d == n for d in dl["mosquitto"]), len(dl["mosquitto"])))
        cpu = {k: [x["cpu"] for x in v] for k, v in r.items()}
        self.add_row("5c", "pub -l %d lines QoS 0: CPU user+sys" % n, "s", cpu["smqtt"],
                     cpu["mosquitto"], None, "report",
                     note="the publisher's own CPU; 5a also waits for the broker (TCP backpressure)")
        # What bounds 5a: the broker and the counting subscriber share the
        # machine's cores with the publisher.
        bcpu = {k: [x["broker_cpu"] for x in v] for k, v in r.items()}
        ccpu = {k: [x["counter_cpu"] for x in v if x["counter_cpu"] is not None] for k, v in r.items()}
        self.add_row("5d", "pub -l %d lines QoS 0: broker CPU" % n, "s", bcpu["smqtt"],
                     bcpu["mosquitto"], None, "report", note="the mosquitto broker, /proc/PID/stat")
        self.add_row("5e", "pub -l %d lines QoS 0: counting sub CPU" % n, "s", ccpu["smqtt"],
                     ccpu["mosquitto"], None, "report", note="mosquitto_sub -C %d (the same for both)" % n)
        ncpu = os.cpu_count() or 1
        busy = {k: [(x["cpu"] + x["broker_cpu"] + (x["counter_cpu"] or 0)) / (ncpu * x["wall_all"])
                    for x in v] for k, v in r.items()}
        self.add_row("5f", "pub -l %d lines QoS 0: cores busy, start to last line counted" % n, "",
                     busy["smqtt"], busy["mosquitto"], None, "report", ratio=False,
                     note="(pub + broker + counting sub CPU) / (%d cores x time until the counter had "
                          "every line); near 1 the machine is saturated and the broker and counter alone "
                          "set the pace" % ncpu)

    def row6(self):
        n, small = self.n_l1, self.n_l1_small
        self.progress("row 6: pub -l, %d and %d lines, QoS 1" % (n, small))
        self.pub_flood("smqtt", small, 1)                # warm-up
        self.pub_flood("mosquitto", small, 1)
        big = {"smqtt": [], "mosquitto": []}
        sm = {"smqtt": [], "mosquitto": []}
        for i in range(self.pairs):
            order = ("smqtt", "mosquitto") if i % 2 == 0 else ("mosquitto", "smqtt")
            for tool in order:
                big[tool].append(self.pub_flood(tool, n, 1))
            for tool in order:
                sm[tool].append(self.pub_flood(tool, small, 1))
        cmds = {k: v[0]["cmd"] for k, v in big.items()}
        # lines/s counts DELIVERED lines: mosquitto_pub 2.0.11 -l -q 1 exits 0
        # early once message ids wrap (it disconnects on the PUBACK of an
        # earlier message that had the last line's mid), so lines read/s
        # would flatter it.
        rate = {k: [x["delivered"] / x["wall"] for x in v] for k, v in big.items()}
        dl = {k: [x["delivered"] for x in v] for k, v in big.items()}
        self.add_row("6a", "pub -l %d lines QoS 1: delivered lines/s" % n, "lines/s",
                     rate["smqtt"], rate["mosquitto"], None, "report", commands=cmds,
                     extra={"delivered": dl, "wall_s": {k: [x["wall"] for x in v]
                                                        for k, v in big.items()}},
                     note="higher is better; delivered: smqtt %d..%d, mosquitto %d..%d of %d" % (
                         min(dl["smqtt"]), max(dl["smqtt"]), min(dl["mosquitto"]),
                         max(dl["mosquitto"]), n))
        rss_s = {k: [x["rss_mb"] for x in v] for k, v in sm.items()}
        rss_b = {k: [x["rss_mb"] for x in v] for k, v in big.items()}
        self.add_row("6b", "pub -l QoS 1 peak RSS, %d lines" % small, "MB", rss_s["smqtt"],
                     rss_s["mosquitto"], None, "report")
        self.add_row("6c", "pub -l QoS 1 peak RSS, %d lines" % n, "MB", rss_b["smqtt"],
                     rss_b["mosquitto"], None, "report")
        grow = {k: statistics.median(rss_b[k]) - statistics.median(rss_s[k]) for k in rss_b}
        self.add_row("6d", "pub -l QoS 1 RSS growth %d -> %d lines" % (small, n), "MB",
                     {"median": grow["smqtt"]}, {"median": grow["mosquitto"]}, None,
                     "< 8 MB (smqtt)", ratio=False, met=grow["smqtt"] < 8,
                     note="median(6c) - median(6b)")

    # ---- WebSockets, against mosquitto 2.1.2's clients and broker -------------
    def ws_env(self):
        return self.m21.env(self.envs["flood"])

    def need_m21(self, rows):
        if self.m21:
            return True
        for rid, name, unit, goal in rows:
            self.na_row(rid, name, unit, goal, "n/a: mosquitto 2.1.2 unavailable (%s)" % self.m21_why)
        return False

    def row9(self):
        n = self.n_ws_sub
        name = "sub --ws -C %d -v into a pipe: CPU/msg" % n
        if not self.need_m21([("9", name, "us", "<= 0.5")]):
            return
        self.progress("row 9: sub CPU per message over ws, %d QoS 0 messages" % n)

        def sub_cmd(tool, topic, cid):
            args = ["-h", HOST, "-p", str(self.b3.ws_port), "--ws", "-t", topic, "-C", str(n), "-v", "-i", cid]
            if tool == "smqtt":
                return [self.ssub, "--no-profile"] + args, self.envs["flood"]
            return [self.m21.sub] + args, self.ws_env()
        # published over plain MQTT: the 2.1.2 broker's websockets listener
        # loses floods published over ws (mosquitto-2.1.md)
        cpu, shown = self.sub_cpu_runs(n, sub_cmd, self.b3, "sub --ws")
        self.add_row("9", name, "us", cpu["smqtt"], cpu["mosquitto"], 0.5, "<= 0.5",
                     note="mosquitto_sub 2.1.2 --ws; publisher: mosquitto_pub -l -q 0 over plain MQTT (both)",
                     commands=shown)

    def row10(self):
        name = "wss one-shot pub: wall"
        if not self.need_m21([("10", name, "ms", "<= 0.5")]):
            return
        self.progress("row 10: one-shot publish over wss")
        args = ["-L", "wss://localhost:%d/bench/wss" % self.b3.wss_port, "--cafile", self.ca, "-m", "hello"]
        a = [self.spub, "--no-profile"] + args
        b = [self.m21.pub] + args
        envs = {"smqtt": self.envs["oneshot"], "mosquitto": self.m21.env(self.envs["oneshot"])}
        cmds = {"smqtt": a, "mosquitto": b}
        for tool in ("smqtt", "mosquitto"):   # warm-up
            run(cmds[tool], 60, "warm-up", env=envs[tool])
        wall = {"smqtt": [], "mosquitto": []}
        for i in range(max(self.pairs, 5)):
            for tool in (("smqtt", "mosquitto") if i % 2 == 0 else ("mosquitto", "smqtt")):
                t0 = time.monotonic()
                rc, o, e = run(cmds[tool], 60, tool + " pub wss", env=envs[tool])
                wall[tool].append((time.monotonic() - t0) * 1e3)
                if rc != 0:
                    raise BenchError("%s failed (rc %d): %s" % (tool, rc, e.decode(errors="replace")[-500:]))
        self.add_row("10", name, "ms", wall["smqtt"], wall["mosquitto"], 0.5, "<= 0.5",
                     note="mosquitto_pub 2.1.2 -L wss://; wall from spawn to exit, alternating order",
                     commands={k: shlex.join(v) for k, v in cmds.items()})

    def ws_pub_flood(self, tool, n):
        topic = "bench/wsl/" + self.uid("t")
        cid = self.uid("wcount")
        sub_cmd = [MOSQ_SUB, "-h", HOST, "-p", str(self.b3.port), "-t", topic, "-C", str(n), "-i", cid]
        args = ["-h", HOST, "-p", str(self.b3.ws_port), "--ws", "-t", topic, "-l", "-q", "1"]
        cmd = ([self.spub, "--no-profile"] if tool == "smqtt" else [self.m21.pub]) + args
        env = self.envs["flood"] if tool == "smqtt" else self.ws_env()
        timeout = 120 + n / 500
        p, c, tf = self.start_counter_sub(sub_cmd, topic, cid, self.envs["flood"], broker=self.b3)
        try:
            with open(self.files[n], "rb") as fin:
                t = self.time_run(cmd, env, timeout, stdin=fin, what=tool + " pub --ws -l")
        except BenchError:
            kill(p)
            raise
        cnt, _ok = self.finish_sub(p, c, n, 3 if self.smoke else 10, timeout, "counting sub")
        return {"rss_mb": t["rss_kb"] / 1024, "delivered": cnt, "cmd": shlex.join(cmd) + " < %d-line file" % n}

    def row11(self):
        n, small = self.n_l1, self.n_l1_small
        names = [("11a", "pub --ws -l QoS 1 peak RSS, %d lines" % small, "MB", "report"),
                 ("11b", "pub --ws -l QoS 1 peak RSS, %d lines" % n, "MB", "report"),
                 ("11c", "pub --ws -l QoS 1 RSS growth %d -> %d lines" % (small, n), "MB", "< 8 MB (smqtt)")]
        if not self.need_m21(names):
            return
        self.progress("row 11: pub --ws -l, %d and %d lines, QoS 1: memory" % (small, n))
        sm = {"smqtt": [], "mosquitto": []}
        big = {"smqtt": [], "mosquitto": []}
        for i in range(self.pairs):
            for tool in (("smqtt", "mosquitto") if i % 2 == 0 else ("mosquitto", "smqtt")):
                sm[tool].append(self.ws_pub_flood(tool, small))
                big[tool].append(self.ws_pub_flood(tool, n))
        rs = {k: [x["rss_mb"] for x in v] for k, v in sm.items()}
        rb = {k: [x["rss_mb"] for x in v] for k, v in big.items()}
        dl = {k: [x["delivered"] for x in v] for k, v in big.items()}
        cmds = {k: v[0]["cmd"] for k, v in big.items()}
        self.add_row("11a", names[0][1], "MB", rs["smqtt"], rs["mosquitto"], None, "report", commands=cmds)
        self.add_row("11b", names[1][1], "MB", rb["smqtt"], rb["mosquitto"], None, "report",
                     note="delivered: smqtt %d..%d, mosquitto 2.1.2 %d..%d of %d" % (
                         min(dl["smqtt"]), max(dl["smqtt"]), min(dl["mosquitto"]), max(dl["mosquitto"]), n))
        grow = {k: statistics.median(rb[k]) - statistics.median(rs[k]) for k in rb}
        self.add_row("11c", names[2][1], "MB", {"median": grow["smqtt"]}, {"median": grow["mosquitto"]}, None,
                     "< 8 MB (smqtt)", ratio=False, met=grow["smqtt"] < 8 and all(d == n for d in dl["smqtt"]),
                     note="median(11b) - median(11a); met also needs every smqtt line delivered")

    # ---- real links: 50 ms RTT through a delay relay ---------------------------
    RTT_DELAY_MS = 25          # each way, so a round trip costs 50 ms

    def rtt_relay(self, port, policy="pass"):
        """A relay (tests/lib/relay.py) on 127.0.0.1 that delays every chunk
        RTT_DELAY_MS each way in front of port; one per (port, policy)."""
        key = (port, policy)
        if key not in self.relays:
            from relay import Relay
            self.relays[key] = Relay((HOST, port), policy=policy, delay_ms=self.RTT_DELAY_MS).start()
        return self.relays[key]

    def rtt_run(self, cmd, env, relay, what, before=None):
        """One run through relay: (wall ms from spawn to exit, round trips
        the relay counted, connections)."""
        from relay import round_trips
        if before:
            before()
        mark = relay.mark()
        t0 = time.monotonic()
        rc, o, e = run(cmd, 60, what, env=env)
        wall = (time.monotonic() - t0) * 1e3
        if rc != 0:
            raise BenchError("%s failed (rc %d): %s\n%s" % (what, rc, shlex.join(cmd),
                                                           e.decode(errors="replace")[-1500:]))
        evs = relay.settle()[mark:]
        return wall, sum(round_trips(ev["chunks"], relay.delay) for ev in evs), len(evs)

    def rtt_row(self, rid, name, relay, cmds, envs, note="", before=None):
        """--pairs alternating pairs of one-shot runs through relay, after a
        warm-up of each; the ratio is of the median walls."""
        for tool in ("smqtt", "mosquitto"):
            self.rtt_run(cmds[tool], envs[tool], relay, tool + " warm-up", before if tool == "smqtt" else None)
        wall = {"smqtt": [], "mosquitto": []}
        rts = {"smqtt": [], "mosquitto": []}
        conns = {"smqtt": [], "mosquitto": []}
        for i in range(self.pairs):
            for tool in (("smqtt", "mosquitto") if i % 2 == 0 else ("mosquitto", "smqtt")):
                w, r, c = self.rtt_run(cmds[tool], envs[tool], relay, tool,
                                       before if tool == "smqtt" else None)
                wall[tool].append(w)
                rts[tool].append(r)
                conns[tool].append(c)
        rt = {k: statistics.median(v) for k, v in rts.items()}
        cn = {k: statistics.median(v) for k, v in conns.items()}
        text = "round trips smqtt %g, mosquitto %g; min/min %.2f" % (
            rt["smqtt"], rt["mosquitto"], min(wall["smqtt"]) / min(wall["mosquitto"]))
        if cn["smqtt"] != 1 or cn["mosquitto"] != 1:
            text += " (connections %g / %g)" % (cn["smqtt"], cn["mosquitto"])
        self.add_row(rid, name, "ms", wall["smqtt"], wall["mosquitto"], 1.0, "<= 1.0",
                     note=text + ("; " + note if note else ""),
                     commands={k: shlex.join(v) for k, v in cmds.items()},
                     extra={"round_trips": rts, "connections": conns})

    def row12(self):
        self.progress("row 12: one-shot runs at %d ms RTT (delay relay)" % (2 * self.RTT_DELAY_MS))
        sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
        # MaxProtocol = TLSv1.2 in OPENSSL_CONF: what OpenSSL may negotiate
        # at most (mosquitto 2.0's tls_version only sets the lowest version)
        conf = os.path.join(self.work, "openssl-max-tls12.cnf")
        with open(conf, "w") as f:
            f.write("openssl_conf = openssl_init\n[openssl_init]\nssl_conf = ssl_sect\n"
                    "[ssl_sect]\nsystem_default = system_default_sect\n"
                    "[system_default_sect]\nMaxProtocol = TLSv1.2\n")
        self.b4 = Broker(self.work, "rtt", pki=self.pki).start()
        self.b5 = Broker(self.work, "rtt12", pki=self.pki, env=dict(os.environ, OPENSSL_CONF=conf)).start()
        env = self.envs["oneshot"]
        both = {"smqtt": env, "mosquitto": env}
        tls = ["--cafile", self.ca, "--cert", self.cert, "--key", self.key]

        def pub(port, qos, extra_smqtt=(), more=()):
            args = ["-h", HOST, "-p", str(port), "-t", "bench/rtt/q%d" % qos, "-m", "hello",
                    "-q", str(qos)] + list(more)
            a, b = self.pub_cmds(list(extra_smqtt), args)
            return {"smqtt": a, "mosquitto": b}

        plain = self.rtt_relay(self.b4.port)
        for rid, qos in (("12a", 0), ("12b", 1), ("12c", 2)):
            self.rtt_row(rid, "%s pub QoS %d, plain" % (self.RTT_NAME, qos), plain, pub(plain.port, qos), both)

        topic = "bench/rtt/retained"
        rc, o, e = run([MOSQ_PUB, "-h", HOST, "-p", str(self.b4.port), "-t", topic, "-m", "kept", "-r"],
                       30, "retained message", env=env)
        if rc != 0:
            raise BenchError("could not publish the retained message: " + e.decode(errors="replace"))
        args = ["-h", HOST, "-p", str(plain.port), "-t", topic, "-C", "1"]
        self.rtt_row("12d", "%s sub until the first message (retained), plain" % self.RTT_NAME, plain,
                     {"smqtt": [self.ssub, "--no-profile"] + args, "mosquitto": [MOSQ_SUB] + args}, both)

        m13 = self.rtt_relay(self.b4.tls_port)
        self.rtt_row("12e", "%s pub QoS 0, mutual TLS 1.3" % self.RTT_NAME, m13, pub(m13.port, 0, more=tls), both)
        self.rtt_row("12f", "%s pub QoS 1, mutual TLS 1.3" % self.RTT_NAME, m13, pub(m13.port, 1, more=tls), both)
        m12 = self.rtt_relay(self.b5.tls_port)
        self.rtt_row("12g", "%s pub QoS 1, mutual TLS 1.2" % self.RTT_NAME, m12, pub(m12.port, 1, more=tls), both)
        if self.resume_supported:
            envr = self.envs["resume"]
            self.rtt_row("12h", "%s pub QoS 1, mutual TLS 1.3 --tls-resume" % self.RTT_NAME, m13,
                         pub(m13.port, 1, ["--tls-resume"], tls), {"smqtt": envr, "mosquitto": envr},
                         note="mosquitto: full handshake (it has no resumption)")
        else:
            self.na_row("12h", "%s pub QoS 1, mutual TLS 1.3 --tls-resume" % self.RTT_NAME, "ms", "<= 1.0",
                        "n/a (not implemented)")

        # the version step-down: a TLS 1.3-intolerant middlebox (it hangs up
        # on a ClientHello offering TLS 1.3) in front of the TLS 1.2 broker
        # (in front of a TLS 1.3 broker the step-down's fallback SCSV rightly
        # draws inappropriate_fallback). mosquitto_pub 2.0.11 has no way past
        # it but OpenSSL's configuration (--tls-version only sets the lowest
        # version): MaxProtocol = TLSv1.2 from OPENSSL_CONF, told in advance.
        mid = self.rtt_relay(self.b5.tls_port, "drop-tls13")
        envs = {"smqtt": self.envs["stepdown"], "mosquitto": dict(self.envs["stepdown"], OPENSSL_CONF=conf)}
        cache = os.path.join(self.envs["stepdown"]["XDG_CACHE_HOME"], "smqtt", "tls-versions")

        def forget():
            if os.path.exists(cache):
                os.unlink(cache)
        self.rtt_row("12i", "%s pub QoS 1, mutual TLS, version step-down (first contact)" % self.RTT_NAME, mid,
                     pub(mid.port, 1, more=tls), envs, before=forget,
                     note="smqtt steps down from TLS 1.3 (its tls-versions cache emptied before every run); "
                          "mosquitto_pub: MaxProtocol = TLSv1.2 in OPENSSL_CONF")
        self.rtt_row("12j", "%s pub QoS 1, mutual TLS, version step-down (remembered)" % self.RTT_NAME, mid,
                     pub(mid.port, 1, more=tls), envs,
                     note="smqtt starts at the TLS 1.2 it remembered; mosquitto_pub: MaxProtocol = TLSv1.2 "
                          "in OPENSSL_CONF")

        names = [("12k", "%s pub QoS 1, ws" % self.RTT_NAME, "ms", "<= 1.0"),
                 ("12l", "%s pub QoS 1, wss" % self.RTT_NAME, "ms", "<= 1.0")]
        if not self.need_m21(names):
            return
        envs = {"smqtt": env, "mosquitto": self.m21.env(env)}
        ws = self.rtt_relay(self.b3.ws_port)
        args = ["-h", HOST, "-p", str(ws.port), "--ws", "-t", "bench/rtt/ws", "-m", "hello", "-q", "1"]
        self.rtt_row("12k", names[0][1], ws, {"smqtt": [self.spub, "--no-profile"] + args,
                                              "mosquitto": [self.m21.pub] + args}, envs,
                     note="mosquitto_pub and broker 2.1.2")
        wss = self.rtt_relay(self.b3.wss_port)
        args = ["-L", "wss://localhost:%d/bench/rtt/wss" % wss.port, "--cafile", self.ca, "-m", "hello", "-q", "1"]
        self.rtt_row("12l", names[1][1], wss, {"smqtt": [self.spub, "--no-profile"] + args,
                                               "mosquitto": [self.m21.pub] + args}, envs,
                     note="mosquitto_pub and broker 2.1.2")

    # ---- the connection keeper: a script publishing in a loop at 50 ms RTT ----
    KEEP_LOOP = 20

    def row15(self):
        n = 5 if self.smoke else self.KEEP_LOOP
        names = {1: ("15a", "50 ms RTT, %d-call loop: pub --persist 30 QoS 1, mutual TLS 1.3" % n, "<= 0.40", 0.40),
                 0: ("15b", "50 ms RTT, %d-call loop: pub --persist 30 QoS 0, mutual TLS 1.3" % n, "<= 0.10", 0.10)}
        self.progress("row 15: %d-call loops at %d ms RTT, smqtt_pub --persist 30 vs mosquitto_pub"
                      % (n, 2 * self.RTT_DELAY_MS))
        sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
        self.b7 = Broker(self.work, "keep", pki=self.pki).start()
        relay = self.rtt_relay(self.b7.tls_port)
        run_dir = os.path.join(self.work, "run-keeper")
        os.makedirs(run_dir, exist_ok=True)
        os.chmod(run_dir, 0o700)
        env = dict(self.envs["oneshot"], XDG_RUNTIME_DIR=run_dir)
        tls = ["--cafile", self.ca, "--cert", self.cert, "--key", self.key]
        for qos in (1, 0):
            rid, name, goal_txt, goal = names[qos]
            topic = "bench/keep/q%d" % qos
            args = ["-h", HOST, "-p", str(relay.port), "-t", topic, "-q", str(qos)] + tls
            cmds = {"smqtt": [self.spub, "--no-profile", "--persist", "30"] + args, "mosquitto": [MOSQ_PUB] + args}
            stop = [self.spub, "--no-profile", "--persist-stop"] + args

            def loop(tool, tag):
                """One loop of n calls: ms per call; a subscriber on the broker
                itself checks that every message arrives once and in order."""
                if tool == "smqtt":
                    run(stop, 30, "persist-stop", env=env)  # every loop starts without a keeper
                mark = self.b7.mark()
                cid = self.uid("keepsub")
                sub = spawn([MOSQ_SUB, "-h", HOST, "-p", str(self.b7.port), "-t", topic, "-q", "1", "-i", cid,
                             "-C", str(n), "-W", "120"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
                self.b7.wait_log(r"%s \d %s$" % (re.escape(cid), re.escape(topic)), mark)
                t0 = time.monotonic()
                calls = []
                for i in range(n):
                    t1 = time.monotonic()
                    rc, o, e = run(cmds[tool] + ["-m", "%s-%d" % (tag, i)], 60, tool, env=env)
                    calls.append((time.monotonic() - t1) * 1e3)
                    if rc != 0:
                        raise BenchError("%s failed (rc %d): %s" % (tool, rc, e.decode(errors="replace")[-1500:]))
                per_call = (time.monotonic() - t0) * 1e3 / n
                later[tool].extend(calls[1:])
                try:
                    out, _ = sub.communicate(timeout=60)
                except subprocess.TimeoutExpired:
                    kill(sub)
                    raise BenchError("%s loop: the subscriber did not get %d messages" % (tool, n))
                if sub in _procs:
                    _procs.remove(sub)
                want = "".join("%s-%d\n" % (tag, i) for i in range(n)).encode()
                if out != want:
                    raise BenchError("%s loop: messages not once and in order: %r" % (tool, out[:400]))
                return per_call
            later = {"smqtt": [], "mosquitto": []}  # calls 2..n of every loop
            loop("smqtt", "warm-s")
            loop("mosquitto", "warm-m")
            later = {"smqtt": [], "mosquitto": []}
            wall = {"smqtt": [], "mosquitto": []}
            for i in range(self.pairs):
                for tool in (("smqtt", "mosquitto") if i % 2 == 0 else ("mosquitto", "smqtt")):
                    wall[tool].append(loop(tool, "%s%d" % (tool[0], i)))
            run(stop, 30, "persist-stop", env=env)
            self.add_row(rid, name, "ms/call", wall["smqtt"], wall["mosquitto"], goal, goal_txt,
                         note="each smqtt loop starts with no keeper (its first call connects and starts it); "
                              "every message checked once and in order by a subscriber on the broker; "
                              "calls 2..%d alone (a keeper running): median %.1f ms / %.1f ms = %.2f" % (
                                  n, statistics.median(later["smqtt"]), statistics.median(later["mosquitto"]),
                                  statistics.median(later["smqtt"]) / statistics.median(later["mosquitto"])),
                         commands={k: shlex.join(v) for k, v in cmds.items()})

    # ---- driver --------------------------------------------------------------
    ORDER = [("1", "row1"), ("2", "row2"), ("3", "row3"), ("7", "row7"), ("8", "row8"),
             ("4", "row4"), ("5", "row5"), ("6", "row6"), ("9", "row9"), ("10", "row10"), ("11", "row11"),
             ("12", "row12"), ("13", "row13"), ("14", "row14"), ("15", "row15")]
    NAMES = {"1a": "TLS one-shot pub: wall", "1b": "TLS one-shot pub: CPU user+sys",
             "2a": "TLS one-shot pub --tls-resume: wall", "2b": "TLS one-shot pub --tls-resume: CPU",
             "3": "plain one-shot pub: wall", "4": "sub into a pipe: CPU/msg",
             "5a": "pub -l QoS 0: wall", "5b": "pub -l QoS 0: delivered",
             "5c": "pub -l QoS 0: CPU user+sys", "5d": "pub -l QoS 0: broker CPU",
             "5e": "pub -l QoS 0: counting sub CPU", "5f": "pub -l QoS 0: cores busy",
             "6a": "pub -l QoS 1: lines/s", "6b": "pub -l QoS 1 peak RSS, small",
             "6c": "pub -l QoS 1 peak RSS, big", "6d": "pub -l QoS 1 RSS growth",
             "7": "TLS one-shot pub: peak RSS", "8": "TLS one-shot pub: callgrind Ir",
             "9": "sub --ws into a pipe: CPU/msg", "10": "wss one-shot pub: wall",
             "11a": "pub --ws -l QoS 1 peak RSS, small", "11b": "pub --ws -l QoS 1 peak RSS, big",
             "11c": "pub --ws -l QoS 1 RSS growth",
             "13": "plain one-shot request/response (rr): wall",
             "14a": "pub --tls-resume --capath: wall", "14b": "pub --tls-resume --capath: CPU",
             "14c": "pub --tls-resume, OS store: wall", "14d": "pub --tls-resume, OS store: CPU",

             "15a": "50 ms RTT, 20-call loop: pub --persist 30 QoS 1", "15b": "50 ms RTT, 20-call loop: pub --persist 30 QoS 0"}
    NAMES.update({"12" + k: "50 ms RTT one-shot: " + v for k, v in (
        ("a", "pub QoS 0, plain"), ("b", "pub QoS 1, plain"), ("c", "pub QoS 2, plain"),
        ("d", "sub until the first message"), ("e", "pub QoS 0, mutual TLS 1.3"),
        ("f", "pub QoS 1, mutual TLS 1.3"), ("g", "pub QoS 1, mutual TLS 1.2"),
        ("h", "pub QoS 1, --tls-resume"), ("i", "step-down (first contact)"),
        ("j", "step-down (remembered)"), ("k", "pub QoS 1, ws"), ("l", "pub QoS 1, wss"))})

    def run_rows(self):
        only = set(self.a.only.split(",")) if self.a.only else None
        for key, meth in self.ORDER:
            if only and key not in only:
                continue
            try:
                getattr(self, meth)()
            except BenchError as e:
                self.progress("row %s FAILED: %s" % (key, one_line(e, 2000)))
                self.errors.append("row %s: %s" % (key, e))
                for rid, name in self.NAMES.items():
                    if re.match(key + r"[a-z]?$", rid) and rid not in self.rows:
                        self.rows[rid] = {"id": rid, "name": name, "unit": "", "smqtt": None,
                                          "mosquitto": None, "ratio": None, "goal": "",
                                          "met": False, "note": "ERROR: %s" % one_line(e),
                                          "error_text": str(e),
                                          "error": True, "commands": {}}


# --------------------------------------------------------------------------
def one_line(e, limit=400):
    """A failure in one line: valgrind's ==pid== chatter dropped."""
    lines = [l.strip() for l in str(e).splitlines()
             if l.strip() and not re.match(r"==\d+==", l.strip())]
    return " | ".join(lines)[:limit]


def fmt_num(x, unit):
    if x is None:
        return "-"
    if abs(x) < 0.005:
        x = 0.0
    if unit in ("lines", "lines/s"):
        return "%d" % round(x)
    if abs(x) >= 100:
        return "%.0f" % x
    if abs(x) >= 10:
        return "%.1f" % x
    return "%.2f" % x if unit != "us" else "%.3f" % x


def fmt_stats(st, unit):
    if not st:
        return "-"
    if "min" not in st:
        return "%s %s" % (fmt_num(st["median"], unit), unit)
    return "%s [%s..%s] %s" % (fmt_num(st["median"], unit), fmt_num(st["min"], unit),
                               fmt_num(st["max"], unit), unit)


def sh(cmd):
    try:
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, timeout=20)
        return r.stdout.decode(errors="replace")
    except (OSError, subprocess.TimeoutExpired):
        return ""


def machine_info(bench):
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mosq = next((l.strip() for l in sh([MOSQUITTO, "-h"]).splitlines() if "version" in l), "")
    mpub = next((l.strip() for l in sh([MOSQ_PUB, "--help"]).splitlines() if "version" in l), "")
    spub = next((l.strip() for l in sh([bench.spub, "--help"]).splitlines() if "version" in l), "")
    return {
        "nproc": (sh(["nproc"]).strip() or str(os.cpu_count())),
        "kernel": platform.release(),
        "cpu": cpu or platform.processor(),
        "openssl": sh(["openssl", "version"]).strip(),
        "mosquitto": mosq,
        "mosquitto_pub": mpub,
        "smqtt_pub": spub,
        "smqtt_bin_dir": bench.bindir,
        "hyperfine": sh([shutil.which("hyperfine") or "hyperfine", "--version"]).strip(),
        "valgrind": sh([shutil.which("valgrind") or "valgrind", "--version"]).strip(),
        "python": platform.python_version(),
    }


def print_report(bench, info, cmdline):
    print()
    print("smqtt benchmark: smqtt / mosquitto, medians of %d alternating pairs%s"
          % (bench.pairs, " (SMOKE: tiny counts, figures not meaningful)" if bench.smoke else ""))
    print("command line: %s" % cmdline)
    print("machine: nproc=%s kernel=%s cpu=%s" % (info["nproc"], info["kernel"], info["cpu"]))
    print("         %s; %s; %s" % (info["openssl"], info["mosquitto"], info["mosquitto_pub"]))
    print("         %s (%s)" % (info["smqtt_pub"], info["smqtt_bin_dir"]))
    print()
    hdr = ["row", "what", "smqtt median [min..max]", "mosquitto median [min..max]",
           "ratio", "goal", "met?"]
    table = []
    order = ["1a", "1b", "2a", "2b", "3", "4", "5a", "5b", "5c", "5d", "5e", "5f",
             "6a", "6b", "6c", "6d", "7", "8", "9", "10", "11a", "11b", "11c"] + \
        ["12" + k for k in "abcdefghijkl"] + ["13", "14a", "14b", "14c", "14d", "15a", "15b"]
    for rid in order:
        r = bench.rows.get(rid)
        if not r:
            continue
        if r.get("na"):
            table.append([rid, r["name"], r["note"], "", "n/a", r["goal"], "n/a"])
            continue
        if r.get("error"):
            table.append([rid, r["name"], "ERROR", "", "-", r["goal"], "no"])
            continue
        met = "-" if r["met"] is None else ("yes" if r["met"] else "NO")
        table.append([rid, r["name"], fmt_stats(r["smqtt"], r["unit"]),
                      fmt_stats(r["mosquitto"], r["unit"]),
                      "-" if r["ratio"] is None else "%.2f" % r["ratio"], r["goal"], met])
    w = [max(len(str(x[i])) for x in table + [hdr]) for i in range(len(hdr))]
    line = "  ".join(h.ljust(w[i]) for i, h in enumerate(hdr))
    print(line)
    print("-" * len(line))
    for row in table:
        print("  ".join(str(c).ljust(w[i]) for i, c in enumerate(row)).rstrip())
    print()
    notes = [(rid, bench.rows[rid]["note"]) for rid in order
             if rid in bench.rows and bench.rows[rid].get("note") and not bench.rows[rid].get("na")]
    if notes:
        print("notes:")
        for rid, n in notes:
            print("  %-3s %s" % (rid, n))
    print("commands (both tools with HOME/XDG_CACHE_HOME/XDG_CONFIG_HOME in a private temp dir):")
    seen = set()
    for rid in order:
        r = bench.rows.get(rid)
        if not r or not r.get("commands"):
            continue
        for tool in ("smqtt", "mosquitto"):
            c = r["commands"].get(tool)
            if c and (tool, c) not in seen:
                seen.add((tool, c))
                print("  %-3s %s" % (rid, c))
    if bench.errors:
        print()
        print("ERRORS:")
        for e in bench.errors:
            print("  " + e)


def main():
    ap = argparse.ArgumentParser(
        prog="tests/bench/run",
        description="Benchmark smqtt_pub/smqtt_sub against mosquitto_pub/mosquitto_sub "
                    "side by side (alternating runs) and report smqtt/mosquitto ratios.")
    ap.add_argument("--pairs", type=int, default=None,
                    help="alternating smqtt/mosquitto pairs per figure (default 10; 2 with --smoke)")
    ap.add_argument("--smoke", action="store_true",
                    help="tiny message counts and 2 pairs: checks that the bench works (< ~60 s)")
    ap.add_argument("--json", default=os.path.join(HERE, "results.json"),
                    help="where to write the results as JSON (default: tests/bench/results.json)")
    ap.add_argument("--only", default="",
                    help="comma-separated row numbers to run (1..15), e.g. --only 1,4")
    ap.add_argument("--keep", action="store_true", help="keep the temporary work directory")
    args = ap.parse_args()
    if args.pairs is None:
        args.pairs = 2 if args.smoke else 10
    if args.pairs < 1:
        ap.error("--pairs must be >= 1")
    cmdline = " ".join(shlex.quote(x) for x in
                       [os.environ.get("SMQTT_BENCH_ARGV0", "tests/bench/run")] + sys.argv[1:])

    def on_signal(signum, frame):
        raise KeyboardInterrupt("signal %d" % signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    bench = Bench(args)
    t0 = time.monotonic()
    rc = 0
    try:
        bench.setup()
        bench.run_rows()
    except BenchError as e:
        print("bench: %s" % e, file=sys.stderr)
        bench.errors.append(str(e))
        rc = 2
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        cleanup_all()
        bench.teardown()
        return 130
    finally:
        cleanup_all()
    try:
        info = machine_info(bench)
        print_report(bench, info, cmdline)
        res = {"command_line": cmdline, "machine": info, "pairs": bench.pairs,
               "smoke": bench.smoke, "elapsed_s": round(time.monotonic() - t0, 1),
               "counts": {"sub_messages": bench.n_sub, "pub_l_qos0_lines": bench.n_l0,
                          "pub_l_qos1_lines": bench.n_l1,
                          "pub_l_qos1_small_lines": bench.n_l1_small},
               "tls_resume_supported": bench.resume_supported if hasattr(bench, "b1") else None,
               "broker_flood_config": FLOOD_BROKER_NOTE + "\nmax_queued_messages 0",
               "rows": [bench.rows[k] for k in sorted(bench.rows, key=lambda x: (int(re.match(r"\d+", x).group()), x))],
               "errors": bench.errors}
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
            f.write("\n")
        print("\nresults written to %s (%.0f s)" % (args.json, time.monotonic() - t0))
    finally:
        bench.teardown()
    if bench.errors:
        rc = rc or 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
