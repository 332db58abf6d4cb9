#!/usr/bin/env python3
"""Hostile and broken peers, signals, restarts, closed stdout (issue #9).

Every peer is real and listens on 127.0.0.1 on a free port. For the hostile
cases the peer IS a small hostile server written here (socket / ssl module,
certificates made with the openssl CLI): random bytes, a single TLS record
then close, a TLS record header then silence, a 200-certificate chain, a
1 MB certificate, a broker that closes during the CONNACK, a CONNACK with an
unknown return code (v3.1.1 and v5), a remaining length of 268435455, a
malformed remaining-length varint, a huge length then a trickle, a server
that accepts and never answers (plain and TLS) and a listening socket whose
backlog is full (the TCP connect itself hangs).

Each hostile case runs smqtt_pub (-m) and smqtt_sub with --connect-timeout
3 --diag-format json, and Debian's mosquitto_pub (killed if it is still
waiting after the limit); smqtt must exit non-zero, within the limit plus
slack, with "Error: ..." naming host:port, a why: and a fix: line, the
expected cause in the JSON line, nothing on stdout, and a peak RSS (wait4)
within a small constant of its RSS on a refused connection.

With a real mosquitto broker (persistence on): smqtt_sub reconnects and
resubscribes after a broker restart; with -c -i ID -q 1 it loses no message
the broker kept (while it was connected and stopped, and while it was not
running); SIGINT / SIGTERM give mosquitto_sub's / mosquitto_pub's exit
status and stdout and the same kind of disconnect in the broker log; a
closed stdout ends smqtt_sub like mosquitto_sub; a signal while it is
reconnecting stops it like mosquitto_sub. A broker that turns hostile after
the SUBACK (garbage, malformed or truncated PUBLISH packets) is handled as
mosquitto_sub handles it, without a crash or a memory error. Each is run
side by side with the mosquitto client.

At the end a markdown table of the hostile cases (tool, exit, first stderr
line, seconds, peak RSS), then "N passed, N failed" (exit status 1 on any
failure). Usage: test_hostile.py [-k SUBSTRING]... [--list]
SMQTT_WRAPPER (e.g. valgrind ...) wraps every smqtt run: time limits get
more slack and the RSS check is skipped. Python standard library only.
"""
import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.dont_write_bytecode = True   # keep tests/lib free of __pycache__
sys.path.insert(0, os.path.join(REPO, "tests", "lib"))
from harness import binpath, expect, first_line  # noqa: E402
from lab_peers import free_port, popen, stop_process, terminate_on_sigterm  # noqa: E402

MOSQUITTO = os.environ.get("SMQTT_TEST_MOSQUITTO", "/usr/sbin/mosquitto")
REF_PUB = "/usr/bin/mosquitto_pub"
REF_SUB = "/usr/bin/mosquitto_sub"
CT = 3                    # --connect-timeout for the hostile cases
WRAPPER = os.environ.get("SMQTT_WRAPPER", "")
SLACK = 1.5 + (6.0 if WRAPPER else 0.0)   # seconds over CT allowed
RSS_MARGIN_KB = 40 * 1024                 # over the refused-connection baseline
REF_WAIT = CT + 2         # mosquitto_pub has no --connect-timeout: killed after this
GNU_TIME = "/usr/bin/time"


# ---------------------------------------------------------------------------
# running a client: exit status, output, seconds and peak RSS (wait4)

class Result:
    def __init__(self, rc, out, err, secs, rss_kb, killed):
        self.rc, self.out, self.err, self.secs, self.rss_kb, self.killed = rc, out, err, secs, rss_kb, killed

    def brief(self):
        rc = "killed after %.0f s (still waiting)" % self.secs if self.killed else \
            ("signal %d" % -self.rc if self.rc < 0 else "exit %d" % self.rc)
        return rc


class Env:
    def __init__(self, tmp):
        self.tmp = tmp
        self.n = 0

    def env(self):
        e = dict(os.environ)
        for k in ("SMQTT_PROFILES", "XDG_CONFIG_HOME", "SMQTT_WRAPPER"):
            e.pop(k, None)
        self.n += 1
        e["HOME"] = os.path.join(self.tmp, "home")
        e["XDG_CACHE_HOME"] = os.path.join(self.tmp, "cache", str(self.n))
        e["SMQTT_SYSCONFDIR"] = os.path.join(self.tmp, "sysconf")
        e["LC_ALL"] = "C"
        return e

    def argv(self, argv):
        if WRAPPER and os.path.basename(argv[0]).startswith("smqtt_"):
            return WRAPPER.split() + argv
        return list(argv)

    def popen(self, argv, **kw):
        kw.setdefault("stdin", subprocess.DEVNULL)
        kw.setdefault("cwd", self.tmp)
        return popen(self.argv(argv), env=self.env(), **kw)

    def run(self, argv, timeout):
        """Run to completion (killed after timeout s): a Result. The peak
        RSS comes from GNU time when it is installed (a child's ru_maxrss
        from wait4 would include the RSS of this Python process at fork
        time), else from wait4."""
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
                tempfile.NamedTemporaryFile(dir=self.tmp) as rss:
            timed = os.access(GNU_TIME, os.X_OK)
            argv = self.argv(argv)
            if timed:
                argv = [GNU_TIME, "-f", "%M", "-o", rss.name] + argv
            t0 = time.monotonic()
            p = popen(argv, env=self.env(), stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=self.tmp,
                      start_new_session=True)
            killed = False
            while True:
                pid, status, ru = os.wait4(p.pid, os.WNOHANG)
                if pid:
                    break
                if not killed and time.monotonic() - t0 > timeout:
                    os.killpg(p.pid, signal.SIGKILL)
                    killed = True
                time.sleep(0.005)
            secs = time.monotonic() - t0
            p.returncode = os.waitstatus_to_exitcode(status)
            try:
                os.killpg(p.pid, signal.SIGKILL)   # nothing of it may outlive the run
            except OSError:
                pass
            rss_kb = ru.ru_maxrss
            if timed and not killed:
                lines = open(rss.name).read().split()
                rss_kb = int(lines[-1]) if lines and lines[-1].isdigit() else 0
            out.seek(0)
            err.seek(0)
            return Result(p.returncode, out.read().decode(errors="replace"), err.read().decode(errors="replace"),
                          secs, rss_kb, killed)


def run_parallel(jobs):
    """jobs: {key: callable}; runs them in threads, returns {key: result}."""
    res, threads = {}, []

    def one(k, f):
        try:
            res[k] = f()
        except Exception as e:  # noqa: BLE001
            res[k] = e
    for k, f in jobs.items():
        t = threading.Thread(target=one, args=(k, f))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    for k, v in res.items():
        if isinstance(v, Exception):
            raise v
    return res


# ---------------------------------------------------------------------------
# the hostile servers

class Hostile:
    """A TCP server on 127.0.0.1 running behaviour(server, conn) in a thread
    per connection; with ssl_ctx the connection is TLS (handshake first)."""

    def __init__(self, behaviour, ssl_ctx=None, backlog=16, accept=True):
        self.behaviour = behaviour
        self.ssl_ctx = ssl_ctx
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(backlog)
        self.port = self.sock.getsockname()[1]
        self.stopping = threading.Event()
        self.accept = accept
        self.conns = []
        self.lock = threading.Lock()
        self.thread = None

    def start(self):
        if self.accept:
            self.thread = threading.Thread(target=self._loop, daemon=True)
            self.thread.start()
        return self

    def _loop(self):
        while not self.stopping.is_set():
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.conns.append(c)
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        try:
            c.settimeout(30)
            if self.ssl_ctx:
                c = self.ssl_ctx.wrap_socket(c, server_side=True)
            self.behaviour(self, c)
        except (OSError, ssl.SSLError, ValueError):
            pass
        finally:
            try:
                c.close()
            except OSError:
                pass

    def hold(self, seconds=30):
        """Keep the connection open (silently) until stopped."""
        self.stopping.wait(seconds)

    def stop(self):
        self.stopping.set()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        if self.thread:
            self.thread.join(5)
        with self.lock:
            for c in self.conns:
                try:
                    c.close()
                except OSError:
                    pass


def read_packet(conn, limit=65536):
    """Read one MQTT packet (the CONNECT) or whatever comes within 2 s."""
    data = b""
    conn.settimeout(2)
    try:
        while len(data) < limit:
            if len(data) >= 2:
                n, mult, i = 0, 1, 1
                while i < len(data) and i <= 4:
                    n += (data[i] & 0x7f) * mult
                    mult *= 128
                    if not data[i] & 0x80:
                        if len(data) >= i + 1 + n:
                            return data
                        break
                    i += 1
            chunk = conn.recv(4096)
            if not chunk:
                break
            data += chunk
    except (socket.timeout, OSError):
        pass
    finally:
        conn.settimeout(30)
    return data


def b_random(srv, conn):
    # deterministic "random" bytes: the same run every time
    conn.sendall(random.Random(9).randbytes(65536))
    srv.hold()


def b_random_close(srv, conn):
    conn.sendall(random.Random(10).randbytes(65536))


def b_tls_alert_close(srv, conn):
    read_packet(conn)
    conn.sendall(bytes([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28]))   # fatal handshake_failure


def b_tls_garbage_record_close(srv, conn):
    read_packet(conn)
    conn.sendall(bytes([0x16, 0x03, 0x03, 0x00, 0x40]) + random.Random(11).randbytes(64))


def b_tls_header_silence(srv, conn):
    read_packet(conn)
    conn.sendall(bytes([0x16, 0x03, 0x03, 0x40, 0x00]))   # a 16 KB handshake record... that never comes
    srv.hold()


def b_silent(srv, conn):
    srv.hold()


def b_tls_handshake_then_hold(srv, conn):
    # the TLS handshake was done by Hostile (ssl_ctx): the server never reads
    srv.hold()


def mqtt_after_connect(reply, close=True):
    def b(srv, conn):
        read_packet(conn)
        conn.sendall(reply)
        if not close:
            srv.hold()
    return b


def b_trickle(srv, conn):
    """A CONNACK header announcing 900000 bytes (under smqtt's limit), then
    1 KB every 20 ms: never complete within the timeout."""
    read_packet(conn)
    conn.sendall(bytes([0x20, 0xa0, 0xf7, 0x36]))   # 900000
    chunk = b"\0" * 1024
    while not srv.stopping.wait(0.02):
        conn.sendall(chunk)


def b_flood(srv, conn):
    """A CONNACK header announcing 268435455 bytes, then as many as fast as
    possible (300 MB at most)."""
    read_packet(conn)
    conn.sendall(bytes([0x20, 0xff, 0xff, 0xff, 0x7f]))
    chunk = b"\0" * 262144
    for _ in range(1200):
        if srv.stopping.is_set():
            break
        conn.sendall(chunk)
    srv.hold()


def b_http(srv, conn):
    read_packet(conn)
    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nServer: nginx\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


# ---------------------------------------------------------------------------
# certificates

def sh(argv, cwd):
    r = subprocess.run(argv, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
    if r.returncode:
        raise RuntimeError("%s failed:\n%s%s" % (" ".join(argv), r.stdout.decode(errors="replace"),
                                                 r.stderr.decode(errors="replace")))


CA_CNF = """[req]
distinguished_name = dn
prompt = no
[dn]
CN = x
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
[big]
basicConstraints = critical, CA:FALSE
extendedKeyUsage = serverAuth
subjectAltName = @alt
[alt]
IP.1 = 127.0.0.1
"""


def make_certs(d):
    """d/pki (mkpki.sh), d/chain (a 200-certificate chain: leaf + 199 CAs,
    one RSA key for all), d/big (a self-signed ~1 MB certificate)."""
    pki = os.path.join(d, "pki")
    sh(["bash", os.path.join(REPO, "tests", "lib", "mkpki.sh"), pki], d)
    ch = os.path.join(d, "chain")
    os.makedirs(ch)
    key = os.path.join(ch, "key.pem")
    sh(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", key], ch)
    cnf = os.path.join(ch, "ca.cnf")
    with open(cnf, "w") as f:
        f.write(CA_CNF)
    bigcnf = os.path.join(ch, "big.cnf")
    with open(bigcnf, "w") as f:
        f.write(CA_CNF)
        for i in range(20000):   # ~1 MB of subjectAltName
            f.write("DNS.%d = host-%05d.a-rather-long-name.hostile.example\n" % (i + 2, i))
    base = ["openssl", "req", "-x509", "-new", "-key", key, "-config", cnf, "-days", "2"]
    sh(base + ["-subj", "/CN=hostile root CA", "-extensions", "ca", "-out", "c0.pem"], ch)
    for i in range(1, 200):
        sh(base + ["-subj", "/CN=hostile intermediate CA %d" % i, "-extensions", "ca", "-CA", "c%d.pem" % (i - 1),
                   "-CAkey", key, "-out", "c%d.pem" % i], ch)
    sh(base + ["-subj", "/CN=hostile leaf", "-extensions", "leaf", "-CA", "c199.pem", "-CAkey", key,
               "-out", "leaf.pem"], ch)
    with open(os.path.join(ch, "chain.pem"), "w") as out:
        for name in ["leaf.pem"] + ["c%d.pem" % i for i in range(199, 0, -1)]:
            with open(os.path.join(ch, name)) as f:
                out.write(f.read())
    sh(["openssl", "req", "-x509", "-new", "-key", key, "-config", bigcnf, "-days", "2", "-subj",
        "/CN=hostile big certificate", "-extensions", "big", "-out", "big.pem"], ch)
    return {"cafile": os.path.join(pki, "ca.crt"), "pki": pki, "chain": os.path.join(ch, "chain.pem"),
            "chain_root": os.path.join(ch, "c0.pem"), "key": key, "big": os.path.join(ch, "big.pem")}


def server_ctx(certfile, keyfile):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certfile, keyfile)
    return ctx


def der_size(pem_path):
    total = 0
    with open(pem_path) as f:
        for block in re.findall(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", f.read(), re.S):
            total += len(ssl.PEM_cert_to_DER_cert("-----BEGIN CERTIFICATE-----" + block
                                                  + "-----END CERTIFICATE-----\n"))
    return total


# ---------------------------------------------------------------------------
# the hostile cases

class Case:
    def __init__(self, name, server, tls, causes, status, args=(), timeout_case=False, note="", ref_may_pass=False):
        self.name = name
        self.server = server        # callable(lab) -> Hostile (started)
        self.tls = tls              # False: plain; else TLS with --cafile lab.certs[tls]
        self.causes = causes        # acceptable JSON causes
        self.status = status        # the expected exit status of smqtt (both tools)
        self.args = list(args)
        self.timeout_case = timeout_case   # must take about CT seconds
        self.note = note
        self.ref_may_pass = ref_may_pass   # the reference can be fooled into success


def S(behaviour, **kw):
    return lambda lab: Hostile(behaviour, **kw).start()


def tls_server(certkey, behaviour=b_tls_handshake_then_hold):
    return lambda lab: Hostile(behaviour, ssl_ctx=server_ctx(*certkey(lab))).start()


def full_backlog(lab):
    """listen(0), never accept, the queue filled: a new connect() hangs."""
    h = Hostile(None, backlog=0, accept=False)
    h.fillers = []
    for _ in range(3):
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex(("127.0.0.1", h.port))
        h.fillers.append(c)
    time.sleep(0.2)
    orig = h.stop

    def stop():
        for c in h.fillers:
            c.close()
        orig()
    h.stop = stop
    return h


V3_UNKNOWN = bytes([0x20, 0x02, 0x00, 0x07])
V5_UNKNOWN = bytes([0x20, 0x03, 0x00, 0xa5, 0x00])
HUGE = bytes([0x20, 0xff, 0xff, 0xff, 0x7f])
VARINT5 = bytes([0x20, 0xff, 0xff, 0xff, 0xff, 0x01])

CASES = [
    Case("random bytes, plain", S(b_random), False, ["mqtt-protocol-error"], 2),
    Case("random bytes then close, plain", S(b_random_close), False, ["mqtt-protocol-error"], 2),
    Case("random bytes, TLS", S(b_random), "cafile", ["tls-to-plain-port"], 8),
    Case("an HTTP server", S(b_http), False, ["mqtt-to-http-port"], 2,
         note="an HTTP status line in answer to CONNECT: the port speaks HTTP, use --ws (issue 26)"),
    Case("one TLS alert record then close, TLS", S(b_tls_alert_close), "cafile", ["no-shared-cipher"], 8,
         note="a handshake_failure alert in answer to the ClientHello is what a server without a shared cipher sends"),
    Case("one TLS record of garbage then close, TLS", S(b_tls_garbage_record_close), "cafile", ["tls-protocol-error"], 8),
    Case("one TLS record then close, plain client", S(b_tls_alert_close), False, ["plain-to-tls-port"], 2),
    Case("a TLS record header then silence, TLS", S(b_tls_header_silence), "cafile", ["handshake-timeout"], 27,
         timeout_case=True),
    Case("TLS server with a 200-certificate chain", tls_server(lambda lab: (lab.certs["chain"], lab.certs["key"])),
         "chain_root", ["tls-message-too-large"], 8),
    Case("TLS server with a 1 MB certificate", tls_server(lambda lab: (lab.certs["big"], lab.certs["key"])),
         "big", ["tls-message-too-large"], 8),
    Case("broker closes during the CONNACK", S(mqtt_after_connect(b"\x20")), False, ["mqtt-protocol-error"], 7),
    Case("CONNACK with unknown return code 7 (v3.1.1)", S(mqtt_after_connect(V3_UNKNOWN, close=False)), False,
         ["mqtt-refused"], 7),
    Case("CONNACK with unknown reason code 0xA5 (v5)", S(mqtt_after_connect(V5_UNKNOWN, close=False)), False,
         ["mqtt-refused"], 165, args=["-V", "mqttv5"]),
    Case("remaining length 268435455 then silence", S(mqtt_after_connect(HUGE, close=False)), False,
         ["mqtt-protocol-error"], 2),
    Case("remaining length 268435455 then close", S(mqtt_after_connect(HUGE)), False, ["mqtt-protocol-error"], 2),
    # mosquitto_pub reads the whole 256 MB "CONNACK"; its first bytes are zeros
    # (accepted), so when it keeps up before REF_WAIT it publishes and exits 0
    Case("remaining length 268435455 then 300 MB as fast as possible", S(b_flood), False, ["mqtt-protocol-error"], 2,
         ref_may_pass=True),
    Case("malformed remaining length (5 bytes)", S(mqtt_after_connect(VARINT5, close=False)), False,
         ["mqtt-protocol-error"], 2),
    Case("a CONNACK announcing 900000 bytes, then a trickle", S(b_trickle), False, ["mqtt-protocol-error"], 27,
         timeout_case=True),
    Case("silent server (accepts, never answers), plain", S(b_silent), False, ["handshake-timeout"], 27,
         timeout_case=True),
    Case("silent server (accepts, never answers), TLS", S(b_silent), "cafile", ["handshake-timeout"], 27,
         timeout_case=True),
    Case("TLS handshake done, then silence (no CONNACK)",
         tls_server(lambda lab: (os.path.join(lab.certs["pki"], "server.crt"),
                                 os.path.join(lab.certs["pki"], "server.key"))),
         "cafile", ["handshake-timeout"], 27, timeout_case=True),
    Case("full listen backlog: the TCP connect hangs", full_backlog, False, ["connect-timeout"], 27,
         timeout_case=True),
]


class Lab:
    def __init__(self, tmp):
        self.tmp = tmp
        self.e = Env(tmp)
        self.rows = []
        self.baseline = {}
        self.certs = None


def client_argv(lab, tool, case, port, ref=False):
    a = [tool, "-h", "127.0.0.1", "-p", str(port), "-t", "hostile/t"] + case.args
    if case.tls:
        a += ["--cafile", lab.certs[case.tls]]
    if "pub" in os.path.basename(tool):
        a += ["-m", "x"]
    else:
        a += ["-C", "1"]
    if not ref:
        a += ["--connect-timeout", str(CT), "--diag-format", "json"]
    return a


def measure_baseline(lab):
    port = free_port()
    for tool in ("smqtt_pub", "smqtt_sub"):
        r = lab.e.run([binpath(tool), "-h", "127.0.0.1", "-p", str(port), "-t", "t"]
                      + (["-m", "x"] if tool == "smqtt_pub" else []), 30)
        expect(r.rc == 1, tool + ": a refused connection exits 1", r.rc, r.err)
        lab.baseline[tool] = r.rss_kb


def check_smqtt(lab, case, tool, r, port):
    label = "%s [%s]" % (tool, case.name)
    expect(not r.killed, label + ": exits by itself (killed after %.1f s)" % r.secs, r.err)
    expect(r.rc == case.status, label + ": exit status %d" % case.status, r.rc, r.err)
    expect(r.out == "", label + ": nothing on stdout", r.out)
    for bad in ("AddressSanitizer", "runtime error:", "LeakSanitizer", "Broken pipe"):
        expect(bad not in r.err, label + ": no %r on stderr" % bad, r.err)
    expect(r.err.startswith("Error: "), label + ": stderr starts with 'Error: '", r.err)
    expect("127.0.0.1:%d" % port in r.err.split("\n")[0], label + ": the Error: line names host:port", r.err)
    expect("\n  why: " in r.err and "\n  fix: " in r.err, label + ": why: and fix: lines", r.err)
    try:
        j = json.loads(r.err.rstrip("\n").split("\n")[-1])
    except ValueError:
        raise AssertionError(label + ": the last stderr line is JSON\n    " + repr(r.err))
    expect(j.get("cause") in case.causes, label + ": cause %s" % " or ".join(case.causes), j.get("cause"), j)
    expect(j.get("host") == "127.0.0.1" and j.get("port") == port, label + ": host and port in JSON", j)
    limit = CT + SLACK
    expect(r.secs < limit, label + ": done within --connect-timeout %d + %.1f s" % (CT, SLACK), r.secs)
    if case.timeout_case and not WRAPPER:
        expect(r.secs >= CT - 0.3, label + ": waited for the limit (%d s)" % CT, r.secs)
    if not WRAPPER:
        base = lab.baseline.get(tool, 0)
        expect(r.rss_kb < base + RSS_MARGIN_KB, label + ": peak RSS %d kB within %d kB of the refused-connection "
               "baseline %d kB" % (r.rss_kb, RSS_MARGIN_KB, base), r.rss_kb)
    return j


def check_case(lab, case):
    srv = case.server(lab)
    try:
        port = srv.port
        res = run_parallel({
            "ref": lambda: lab.e.run(client_argv(lab, REF_PUB, case, port, ref=True), REF_WAIT),
            "smqtt_pub": lambda: lab.e.run(client_argv(lab, binpath("smqtt_pub"), case, port), 60),
            "smqtt_sub": lambda: lab.e.run(client_argv(lab, binpath("smqtt_sub"), case, port), 60),
        })
    finally:
        srv.stop()
    ref = res["ref"]
    causes = {}
    for tool in ("ref", "smqtt_pub", "smqtt_sub"):
        r = res[tool]
        causes[tool] = None
        if tool != "ref":
            try:
                causes[tool] = json.loads(r.err.rstrip("\n").split("\n")[-1]).get("cause")
            except ValueError:
                pass
        lab.rows.append((case.name, "mosquitto_pub" if tool == "ref" else tool, r.brief(),
                         first_line(r.err) or "(nothing)", "%.2f" % r.secs,
                         "-" if r.killed else "%.1f" % (r.rss_kb / 1024.0), causes[tool] or ""))
    # the reference must really fail (or still wait): these peers are broken
    expect(ref.killed or ref.rc != 0 or case.ref_may_pass, "mosquitto_pub fails too", ref.rc, ref.err)
    for tool in ("smqtt_pub", "smqtt_sub"):
        check_smqtt(lab, case, tool, res[tool], port)
        # not worse than mosquitto: where it gives up, smqtt gives up at least as fast (+ slack)
        if not ref.killed:
            expect(res[tool].secs < max(ref.secs, CT) + SLACK, tool + ": not slower than mosquitto_pub",
                   res[tool].secs, ref.secs)


# ---------------------------------------------------------------------------
# a real broker: persistence, restarts, signals, closed stdout

class Broker:
    """mosquitto with persistence on a fixed port, restartable."""

    def __init__(self, tmp, name):
        self.dir = os.path.join(tmp, name)
        os.makedirs(self.dir)
        self.port = free_port()
        self.log = os.path.join(self.dir, "log")
        self.conf = os.path.join(self.dir, "m.conf")
        with open(self.conf, "w") as f:
            f.write("user root\nlistener %d 127.0.0.1\nallow_anonymous true\npersistence true\n"
                    "persistence_location %s/\nmax_queued_messages 0\nautosave_interval 0\n"
                    "log_dest file %s\nlog_type all\nconnection_messages true\n" % (self.port, self.dir, self.log))
        self.proc = None

    def start(self):
        self.proc = popen([MOSQUITTO, "-c", self.conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return self
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("broker did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(10)

    def mark(self):
        try:
            return os.path.getsize(self.log)
        except OSError:
            return 0

    def text(self, since=0):
        try:
            with open(self.log, "rb") as f:
                f.seek(since)
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def wait_log(self, pattern, timeout=10, since=0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(pattern, self.text(since))
            if m:
                return m
            time.sleep(0.01)
        raise AssertionError("not in the broker log after %d s: %s\n%s" % (timeout, pattern,
                                                                            self.text(since)[-3000:]))


def publish(b, topic, lines, qos=1):
    r = subprocess.run([REF_PUB, "-p", str(b.port), "-t", topic, "-q", str(qos), "-l"],
                       input="".join("%s\n" % x for x in lines).encode(), capture_output=True, timeout=60)
    expect(r.returncode == 0, "mosquitto_pub -l publishes", r.returncode, r.stderr)


class Reader:
    """Collects a subscriber's stdout lines in a thread."""

    def __init__(self, proc):
        self.proc = proc
        self.lines = []
        self.cond = threading.Condition()
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        for line in self.proc.stdout:
            with self.cond:
                self.lines.append(line.decode(errors="replace").rstrip("\n"))
                self.cond.notify_all()

    def wait_for(self, line, timeout=20):
        deadline = time.monotonic() + timeout
        with self.cond:
            while line not in self.lines:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(left)
        return True


def sub_pair(lab, b, extra, ids, topic):
    """Start smqtt_sub and mosquitto_sub with the same options (own ids)."""
    procs = {}
    for tool, cid in zip((binpath("smqtt_sub"), REF_SUB), ids):
        mark = b.mark()
        p = lab.e.popen([tool, "-p", str(b.port), "-t", topic, "-i", cid] + extra, stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE)
        b.wait_log(r"Sending SUBACK to %s\b" % re.escape(cid), since=mark)
        procs[tool] = (p, Reader(p), cid)
    return procs


def end_subs(procs):
    for p, _, _ in procs.values():
        stop_process(p)
        for f in (p.stdout, p.stderr):
            if f:
                try:
                    f.close()
                except OSError:
                    pass


def test_restart_resubscribes(lab):
    """clean session: after the broker restarts (it forgets the session),
    the subscriber reconnects and subscribes again."""
    b = Broker(lab.tmp, "restart-clean").start()
    procs = {}
    try:
        procs = sub_pair(lab, b, ["-q", "1"], ("rs-smqtt", "rs-mosq"), "rs/clean")
        publish(b, "rs/clean", ["before"])
        for tool, (p, rd, cid) in procs.items():
            expect(rd.wait_for("before", 10), tool + ": got the message before the restart", rd.lines)
        b.stop()
        mark = b.mark()
        time.sleep(0.5)
        b.start()
        for tool, (p, rd, cid) in procs.items():
            b.wait_log(r"Sending SUBACK to %s\b" % cid, timeout=15, since=mark)
        publish(b, "rs/clean", ["after"])
        for tool, (p, rd, cid) in procs.items():
            expect(rd.wait_for("after", 10), tool + ": got the message after the restart (resubscribed)", rd.lines)
            expect(p.poll() is None, tool + ": still running", p.poll())
        s, m = procs[binpath("smqtt_sub")][1].lines, procs[REF_SUB][1].lines
        expect(s == m, "smqtt_sub printed what mosquitto_sub printed", s, m)
    finally:
        end_subs(procs)
        b.stop()


def test_restart_persistent_no_loss(lab):
    """-c -i ID -q 1: messages queued in the broker for a stalled subscriber
    (SIGSTOP) survive a broker restart (persistence) and all arrive."""
    b = Broker(lab.tmp, "restart-persist").start()
    procs = {}
    n = 300
    try:
        procs = sub_pair(lab, b, ["-q", "1", "-c"], ("rp-smqtt", "rp-mosq"), "rp/t")
        publish(b, "rp/t", ["m%d" % i for i in range(1, 51)])
        for tool, (p, rd, cid) in procs.items():
            expect(rd.wait_for("m50", 10), tool + ": the first 50 arrive", len(rd.lines))
        for p, _, _ in procs.values():
            os.kill(p.pid, signal.SIGSTOP)
        publish(b, "rp/t", ["m%d" % i for i in range(51, n + 1)])
        b.stop()                      # persistence: the queues are saved
        mark = b.mark()
        for p, _, _ in procs.values():
            os.kill(p.pid, signal.SIGCONT)
        time.sleep(0.5)
        b.start()
        for tool, (p, rd, cid) in procs.items():
            b.wait_log(r"New client connected from \S+ as %s\b" % cid, timeout=15, since=mark)
        publish(b, "rp/t", ["m%d" % i for i in range(n + 1, n + 51)] + ["END"])
        want = set("m%d" % i for i in range(1, n + 51))
        for tool, (p, rd, cid) in procs.items():
            expect(rd.wait_for("END", 20), tool + ": got END", len(rd.lines))
            got = set(rd.lines)
            lab.notes.append("restart with -c -q 1, %s: %d lines, %d distinct of %d, %d duplicate(s)"
                             % (os.path.basename(tool), len(rd.lines), len(got & want), len(want),
                                len(rd.lines) - len(set(rd.lines))))
            if tool == REF_SUB:
                continue
            expect(want <= got, tool + ": no message lost across the restart", sorted(want - got)[:20])
    finally:
        end_subs(procs)
        b.stop()


def test_offline_queue_survives_restart(lab):
    """-c -i ID -q 1, the subscriber not running: what the broker queued for
    it (and saved across a restart) is delivered when it comes back."""
    b = Broker(lab.tmp, "restart-offline").start()
    procs = {}
    try:
        procs = sub_pair(lab, b, ["-q", "1", "-c"], ("ro-smqtt", "ro-mosq"), "ro/t")
        for tool, (p, rd, cid) in procs.items():
            mark = b.mark()
            p.send_signal(signal.SIGTERM)
            p.wait(10)
            b.wait_log(r"Client %s (disconnected|closed its connection)" % cid, since=mark)
        end_subs(procs)
        publish(b, "ro/t", ["q%d" % i for i in range(1, 101)])
        b.stop()
        time.sleep(0.3)
        b.start()
        procs = sub_pair(lab, b, ["-q", "1", "-c"], ("ro-smqtt", "ro-mosq"), "ro/t")
        publish(b, "ro/t", ["END"])
        for tool, (p, rd, cid) in procs.items():
            expect(rd.wait_for("END", 20), tool + ": got END", rd.lines[-5:])
            missing = set("q%d" % i for i in range(1, 101)) - set(rd.lines)
            expect(not missing, tool + ": every queued message arrives after the restart", sorted(missing)[:20])
    finally:
        end_subs(procs)
        b.stop()


DISCONNECT_KIND = (("disconnected", r"Client %s disconnected\."),
                   ("closed its connection", r"Client %s closed its connection\."),
                   ("exceeded timeout", r"Client %s has exceeded timeout"))


def disconnect_kind(b, cid, since, timeout=5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        t = b.text(since)
        for kind, rx in DISCONNECT_KIND:
            if re.search(rx % re.escape(cid), t):
                return kind
        time.sleep(0.02)
    return "nothing logged"


def signal_run(lab, b, argv, cid, sig, ready, stdin=None):
    mark = b.mark()
    p = lab.e.popen(argv + ["-i", cid], stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if stdin:
        p.stdin.write(stdin)
        p.stdin.flush()
    b.wait_log(ready % re.escape(cid), since=mark)
    time.sleep(0.2)
    mark = b.mark()
    t0 = time.monotonic()
    p.send_signal(sig)
    try:
        out, err = p.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        return None, out, err, 10.0, "hung"
    secs = time.monotonic() - t0
    return p.returncode, out, err, secs, disconnect_kind(b, cid, mark)


def test_signals(lab):
    b = Broker(lab.tmp, "signals").start()
    failures = []
    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            name = signal.Signals(sig).name
            for kind, argv, ready, stdin in (
                    ("sub", ["-p", str(b.port), "-t", "sig/t", "-q", "1"], r"Sending SUBACK to %s\b", None),
                    ("sub -v -c", ["-p", str(b.port), "-t", "sig/t", "-v", "-c"], r"Sending SUBACK to %s\b", None),
                    ("pub -l", ["-p", str(b.port), "-t", "sig/t", "-l", "-q", "1"], r"Received PUBLISH from %s\b",
                     b"one\n")):
                tool = "sub" if kind.startswith("sub") else "pub"
                ref = run_parallel({
                    "smqtt": lambda: signal_run(lab, b, [binpath("smqtt_" + tool)] + argv,
                                                "sg-s-%s-%s" % (name, kind.replace(" ", "")), sig, ready, stdin),
                    "mosq": lambda: signal_run(lab, b, ["/usr/bin/mosquitto_" + tool] + argv,
                                               "sg-m-%s-%s" % (name, kind.replace(" ", "")), sig, ready, stdin),
                })
                s, m = ref["smqtt"], ref["mosq"]
                lab.notes.append("%s to %s: smqtt exit %s, log '%s' (%.2f s); mosquitto exit %s, log '%s'"
                                 % (name, kind, s[0], s[4], s[3], m[0], m[4]))
                if s[0] is None:
                    failures.append("%s %s: smqtt hung after the signal" % (name, kind))
                    continue
                if s[0] != m[0]:
                    failures.append("%s %s: exit %s, mosquitto %s (stderr %r)" % (name, kind, s[0], m[0], s[2]))
                if s[1] != m[1]:
                    failures.append("%s %s: stdout %r, mosquitto %r" % (name, kind, s[1], m[1]))
                if s[4] != m[4]:
                    failures.append("%s %s: broker log '%s', mosquitto '%s'" % (name, kind, s[4], m[4]))
                if s[2].strip():
                    failures.append("%s %s: stderr %r" % (name, kind, s[2]))
    finally:
        b.stop()
    expect(not failures, "signals as mosquitto's clients: " + "; ".join(failures))


def test_signal_while_reconnecting(lab):
    """SIGINT / SIGTERM while the broker is down and smqtt_sub is retrying:
    it stops promptly, with mosquitto_sub's status and output."""
    failures = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        b = Broker(lab.tmp, "sigdown-%d" % sig).start()
        procs = {}
        try:
            procs = sub_pair(lab, b, ["-q", "1"], ("sd-smqtt-%d" % sig, "sd-mosq-%d" % sig), "sd/t")
            b.stop()
            time.sleep(1.5)   # both are in their reconnect loops now
            res = {}
            for tool, (p, rd, cid) in procs.items():
                p.send_signal(sig)
            for tool, (p, rd, cid) in procs.items():
                t0 = time.monotonic()
                try:
                    p.wait(10)
                    res[tool] = (p.returncode, p.stderr.read().decode(errors="replace"), time.monotonic() - t0)
                except subprocess.TimeoutExpired:
                    res[tool] = (None, "", 10.0)
            s, m = res[binpath("smqtt_sub")], res[REF_SUB]
            name = signal.Signals(sig).name
            lab.notes.append("%s while reconnecting: smqtt_sub exit %s (%.2f s) stderr %r; mosquitto_sub exit %s "
                             "(%.2f s) stderr %r" % (name, s[0], s[2], s[1][:120], m[0], m[2], m[1][:120]))
            if s[0] is None:
                failures.append("%s: smqtt_sub did not stop" % name)
            elif s[0] != m[0]:
                failures.append("%s: exit %s, mosquitto_sub %s" % (name, s[0], m[0]))
            elif s[2] > 2.5:
                failures.append("%s: took %.1f s" % (name, s[2]))
        finally:
            end_subs(procs)
            b.stop()
    expect(not failures, "; ".join(failures))


def suback_then(payload, close=False):
    """A broker that accepts (CONNACK 0), grants the subscription, then sends
    payload: what smqtt_sub reads after the CONNACK."""
    def b(srv, conn):
        read_packet(conn)
        conn.sendall(b"\x20\x02\x00\x00")
        sub = read_packet(conn)
        i = 1
        while i < len(sub) and sub[i] & 0x80:
            i += 1
        conn.sendall(b"\x90\x03" + sub[i + 1:i + 3] + b"\x00")
        conn.sendall(payload)
        if not close:
            srv.hold()
    return b


def publish_packet(topic, payload):
    body = len(topic).to_bytes(2, "big") + topic + payload
    return bytes([0x30, len(body)]) + body


AFTER_SUBACK = [
    ("64 KB of random bytes", random.Random(12).randbytes(65536), False, None),
    ("a PUBLISH with a malformed remaining length", bytes([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]), False, None),
    ("a PUBLISH whose topic is longer than the packet", bytes([0x30, 0x05, 0x00, 0xff, 0x61, 0x62, 0x63]), False,
     None),
    ("a PUBLISH cut short, then close", bytes([0x30, 0x80, 0x08]) + b"\x00\x01t" + b"x" * 10, True, None),
    ("a message, then random bytes", publish_packet(b"hostile/t", b"hello") + random.Random(13).randbytes(4096),
     False, "hello"),
]


def run_then_signal(lab, argv, after, sig=signal.SIGTERM):
    """Start argv, send sig after `after` s: (alive at signal time, Result)."""
    with tempfile.NamedTemporaryFile(dir=lab.tmp) as rss, tempfile.TemporaryFile() as out, \
            tempfile.TemporaryFile() as err:
        timed = os.access(GNU_TIME, os.X_OK)
        argv = lab.e.argv(argv)
        if timed:
            argv = [GNU_TIME, "-f", "%M", "-o", rss.name] + argv
        t0 = time.monotonic()
        p = popen(argv, env=lab.e.env(), stdout=out, stderr=err, cwd=lab.tmp, start_new_session=True)
        time.sleep(after)
        alive = p.poll() is None
        if alive:
            target = p.pid
            if timed:
                try:
                    with open("/proc/%d/task/%d/children" % (p.pid, p.pid)) as f:
                        target = int(f.read().split()[0])
                except (OSError, ValueError, IndexError):
                    pass
            os.kill(target, sig)
        killed = False
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            killed = True
        secs = time.monotonic() - t0
        lines = open(rss.name).read().split() if timed else []
        rss_kb = int(lines[-1]) if lines and lines[-1].isdigit() else 0
        out.seek(0)
        err.seek(0)
        return alive, Result(p.returncode, out.read().decode(errors="replace"), err.read().decode(errors="replace"),
                             secs, rss_kb, killed)


def test_hostile_after_suback(lab):
    """After the CONNACK and SUBACK the broker turns hostile: smqtt_sub does
    what mosquitto_sub does (the connection is lost: reconnect, again and
    again), never crashes, keeps its memory, and stops on SIGTERM with
    mosquitto_sub's status."""
    if not lab.baseline:
        measure_baseline(lab)
    failures = []
    for name, payload, close, want in AFTER_SUBACK:
        srv = Hostile(suback_then(payload, close)).start()
        try:
            argv = ["-h", "127.0.0.1", "-p", str(srv.port), "-t", "hostile/t"]
            res = run_parallel({"smqtt": lambda: run_then_signal(lab, [binpath("smqtt_sub")] + argv, 3.0),
                                "mosq": lambda: run_then_signal(lab, [REF_SUB] + argv, 3.0)})
        finally:
            srv.stop()
        (s_alive, s), (m_alive, m) = res["smqtt"], res["mosq"]
        lab.notes.append("after SUBACK, %s: smqtt_sub %s, %s, %d line(s), stderr %r, %.1f MB; mosquitto_sub %s, "
                         "%s, %d line(s), stderr %r, %.1f MB"
                         % (name, "running" if s_alive else "had exited", s.brief(), len(s.out.splitlines()),
                            first_line(s.err), s.rss_kb / 1024.0, "running" if m_alive else "had exited", m.brief(),
                            len(m.out.splitlines()), first_line(m.err), m.rss_kb / 1024.0))
        if s.killed:
            failures.append("%s: smqtt_sub did not stop on SIGTERM" % name)
            continue
        if s_alive != m_alive or s.rc != m.rc:
            failures.append("%s: smqtt_sub %s with %s, mosquitto_sub %s with %s"
                            % (name, "running" if s_alive else "exited", s.brief(),
                               "running" if m_alive else "exited", m.brief()))
        for bad in ("AddressSanitizer", "runtime error:", "LeakSanitizer"):
            if bad in s.err:
                failures.append("%s: %s on stderr: %r" % (name, bad, s.err[:500]))
        if want and (not s.out or set(s.out.splitlines()) != {want}):
            failures.append("%s: stdout %r, want lines %r" % (name, s.out[:200], want))
        if not WRAPPER and s.rss_kb > lab.baseline["smqtt_sub"] + RSS_MARGIN_KB:
            failures.append("%s: peak RSS %d kB" % (name, s.rss_kb))
    expect(not failures, "; ".join(failures))


def closed_stdout_run(lab, b, tool, cid):
    mark = b.mark()
    p = lab.e.popen([tool, "-p", str(b.port), "-t", "pipe/t", "-i", cid], stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE)
    b.wait_log(r"Sending SUBACK to %s\b" % cid, since=mark)
    first = p.stdout.readline()
    p.stdout.close()      # as head -n 1 does
    t0 = time.monotonic()
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        return None, first, p.stderr.read(), 10.0
    err = p.stderr.read()
    p.stderr.close()
    return p.returncode, first, err, time.monotonic() - t0


def test_closed_stdout(lab):
    b = Broker(lab.tmp, "pipe").start()
    stop = threading.Event()

    def flow():
        while not stop.is_set():
            subprocess.run([REF_PUB, "-p", str(b.port), "-t", "pipe/t", "-l"],
                           input=b"".join(b"line %d\n" % i for i in range(2000)), capture_output=True, timeout=30)
    t = threading.Thread(target=flow, daemon=True)
    t.start()
    try:
        res = run_parallel({"smqtt": lambda: closed_stdout_run(lab, b, binpath("smqtt_sub"), "pipe-smqtt"),
                            "mosq": lambda: closed_stdout_run(lab, b, REF_SUB, "pipe-mosq")})
    finally:
        stop.set()
        t.join(30)
        b.stop()
    s, m = res["smqtt"], res["mosq"]
    lab.notes.append("closed stdout: smqtt_sub exit %s in %.2f s, stderr %r; mosquitto_sub exit %s, stderr %r"
                     % (s[0], s[3], s[2][:200], m[0], m[2][:200]))
    expect(s[0] is not None, "smqtt_sub ends once stdout is closed", s)
    expect(s[1].startswith(b"line "), "smqtt_sub printed a line first", s[1])
    expect(s[3] < 3, "it ends promptly", s[3])
    expect(s[0] == m[0], "exit status as mosquitto_sub's", s[0], m[0])
    expect(s[2].count(b"\n") <= 1 and b"Broken pipe" not in s[2], "no error spam on stderr", s[2])


# ---------------------------------------------------------------------------

def md(s):
    return str(s).replace("|", "\\|")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", action="append", help="only cases/tests whose name contains this")
    ap.add_argument("--list", action="store_true")
    opts = ap.parse_args()
    tests = [("hostile: " + c.name, c) for c in CASES] + \
        [(k, v) for k, v in sorted(globals().items()) if k.startswith("test_")]
    tests = [(n, t) for n, t in tests if not opts.k or any(k in n for k in opts.k)]
    if opts.list:
        for n, _ in tests:
            print(n)
        return 0
    for exe in [binpath("smqtt_pub"), binpath("smqtt_sub"), REF_PUB, REF_SUB, MOSQUITTO]:
        if not os.access(exe, os.X_OK):
            print("FAIL setup: %s not found" % exe)
            print("0 passed, 1 failed")
            return 1
    terminate_on_sigterm()
    tmp = tempfile.mkdtemp(prefix="smqtt-hostile-")
    os.makedirs(os.path.join(tmp, "home"))
    lab = Lab(tmp)
    lab.notes = []
    passed = failed = 0
    t_start = time.monotonic()
    try:
        if any(isinstance(t, Case) for _, t in tests):
            t0 = time.monotonic()
            lab.certs = make_certs(tmp)
            print("certificates made in %.1f s: the chain is %d bytes (DER), the big certificate %d bytes"
                  % (time.monotonic() - t0, der_size(lab.certs["chain"]), der_size(lab.certs["big"])))
            measure_baseline(lab)
        for name, t in tests:
            t0 = time.monotonic()
            try:
                if isinstance(t, Case):
                    check_case(lab, t)
                else:
                    t(lab)
                print("ok %s (%.1f s)" % (name, time.monotonic() - t0))
                passed += 1
            except Exception as e:  # noqa: BLE001
                print("FAIL %s: %s" % (name, e))
                if not isinstance(e, AssertionError):
                    traceback.print_exc()
                failed += 1
            sys.stdout.flush()
    except Exception as e:  # noqa: BLE001
        print("FAIL setup: %s" % e)
        traceback.print_exc()
        failed += 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if lab.rows:
        print()
        print("| case | client | exit | first stderr line | s | peak RSS MB | cause |")
        print("|---|---|---|---|---|---|---|")
        for r in lab.rows:
            print("| " + " | ".join(md(x) for x in r) + " |")
        print()
        print("refused-connection baseline RSS: " + ", ".join("%s %.1f MB" % (k, v / 1024.0)
                                                           for k, v in sorted(lab.baseline.items())))
    for n in lab.notes:
        print("note: " + n)
    print("total %.1f s" % (time.monotonic() - t_start))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
