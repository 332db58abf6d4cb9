"""Real peers for the scenario lab (stdlib only): a mosquitto broker with
hand-written listeners (any address in 127.0.0.0/8), stunnel, HAProxy and
nginx's stream module terminating TLS in front of a plain port, a TCP server
that accepts and never answers, and a revoked client certificate with its
CRL.

    from lab_peers import Mosquitto, Stunnel, SilentServer, make_revoked
    with Mosquitto(workdir) as m:
        plain = m.listener("plain", ["allow_anonymous true"])
        tls = m.listener("tls", ["allow_anonymous true", "cafile ...", ...],
                         host="127.0.0.2")
        m.start()
        m.port("tls")  ->  the port chosen for it

Every process is started in the foreground, watched through its log file,
and terminated (then killed) on stop(). Nothing listens outside 127.0.0.0/8.
"""

import ctypes
import os
import re
import signal
import socket
import subprocess
import threading
import time

MOSQUITTO = os.environ.get("SMQTT_TEST_MOSQUITTO", "/usr/sbin/mosquitto")
STUNNEL = os.environ.get("SMQTT_TEST_STUNNEL", "/usr/bin/stunnel4")
HAPROXY = os.environ.get("SMQTT_TEST_HAPROXY", "/usr/sbin/haproxy")
NGINX = os.environ.get("SMQTT_TEST_NGINX", "/usr/sbin/nginx")
NGINX_STREAM = os.environ.get("SMQTT_TEST_NGINX_STREAM", "/usr/lib/nginx/modules/ngx_stream_module.so")


class PeerError(RuntimeError):
    pass


def _die_with_parent():
    """preexec_fn: the child gets SIGTERM when the test process dies (even
    by SIGKILL, e.g. a ctest timeout), so no peer outlives its test."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def popen(argv, **kw):
    """subprocess.Popen for a peer: stdin closed, dies with its parent."""
    kw.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.Popen(argv, preexec_fn=_die_with_parent, **kw)


def terminate_on_sigterm():
    """Turn SIGTERM into SystemExit so that finally: blocks stop the peers."""
    def handler(signum, frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, handler)


def loopback(host):
    if not host.startswith("127."):
        raise ValueError("only 127.0.0.0/8 is allowed: %r" % host)
    return host


def free_port(host="127.0.0.1"):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((loopback(host), 0))
        return s.getsockname()[1]


def read_text(path, since=0):
    try:
        with open(path, "rb") as f:
            f.seek(since)
            return f.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


def size_of(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def stop_process(proc):
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


class _Logged:
    """A foreground process with a log file that tells when it is ready."""

    proc = None
    log_path = None
    name = "peer"

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_mark(self):
        return size_of(self.log_path)

    def log_text(self, since=0):
        return read_text(self.log_path, since)

    def wait_for_log(self, pattern, timeout=5.0, since=0):
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.log_text(since))
            if m:
                return m
            if not self.alive():
                raise PeerError("%s died while waiting for %r:\n%s" % (self.name, pattern, self.describe()))
            if time.monotonic() >= deadline:
                raise PeerError("%s: no %r in its log after %.1f s:\n%s"
                                % (self.name, pattern, timeout, self.describe()))
            time.sleep(0.01)

    def describe(self):
        parts = []
        if self.proc is not None and self.proc.poll() is not None:
            parts.append("exited with status %s" % self.proc.returncode)
        for p in (self.log_path, getattr(self, "stdout_path", None)):
            if p:
                parts.append("--- %s ---\n%s" % (os.path.basename(p), "\n".join(read_text(p).splitlines()[-25:])))
        return "\n".join(parts)

    def stop(self):
        stop_process(self.proc)

    def _start_retrying(self, what, write_conf, argv, host="127.0.0.1", timeout=10.0, ready_log=None,
                        busy=("Address already in use",)):
        """Start the peer, once more (three tries in all) when another process
        took a port it was given meanwhile: write_conf() picks free ports
        (self.port for a peer with one) and writes the configuration; the
        peer is ready when ready_log is in its log, or else when self.port
        on host accepts. Output goes to self.stdout_path if the peer has
        one, else to its log."""
        last = ""
        out_path = getattr(self, "stdout_path", None) or self.log_path
        for _ in range(3):
            for p in {self.log_path, out_path}:
                if os.path.exists(p):
                    os.unlink(p)
            write_conf()
            with open(out_path, "wb") as out:
                self.proc = popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=self.workdir)
            try:
                if ready_log:
                    self.wait_for_log(ready_log, timeout)
                    return self
                if wait_listening(self.alive, host, self.port, timeout):
                    return self
                last = self.describe()
            except PeerError as e:
                last = str(e)
            self.stop()
            if not any(b in last for b in busy):
                break
        raise PeerError("%s did not start:\n%s" % (what, last))
        self.proc = None

    def __exit__(self, *exc):
        self.stop()
        return False


class Mosquitto(_Logged):
    """mosquitto 2.0 with listeners given as config lines."""

    def __init__(self, workdir, name="mosquitto"):
        self.workdir = workdir
        self.name = name
        os.makedirs(workdir, exist_ok=True)
        self.conf_path = os.path.join(workdir, name + ".conf")
        self.log_path = os.path.join(workdir, name + ".log")
        self.stdout_path = os.path.join(workdir, name + ".stdout")
        self.listeners = []   # (key, host, lines)
        self.ports = {}

    def listener(self, key, lines, host="127.0.0.1"):
        self.listeners.append((key, loopback(host), list(lines)))
        return key

    def port(self, key):
        return self.ports[key]

    def host(self, key):
        return [h for k, h, _ in self.listeners if k == key][0]

    def _write_conf(self):
        out = ["user root", "per_listener_settings true", "persistence false",
               "log_dest file %s" % self.log_path, "log_type all", "log_timestamp true",
               "connection_messages true", ""]
        self.ports = {}
        for key, host, lines in self.listeners:
            port = free_port(host)
            self.ports[key] = port
            out.append("# %s" % key)
            out.append("listener %d %s" % (port, host))
            out += lines
            out.append("")
        with open(self.conf_path, "w") as f:
            f.write("\n".join(out))

    def start(self, timeout=10.0):
        # "running" is logged once every listener is open
        return self._start_retrying("mosquitto", self._write_conf, [MOSQUITTO, "-c", self.conf_path],
                                    timeout=timeout, ready_log=r"mosquitto version \S+ running")

    def __enter__(self):
        return self


class Stunnel(_Logged):
    """stunnel4 terminating TLS on accept_host:port for a plain port."""

    def __init__(self, workdir, name, connect_port, options, accept_host="127.0.0.1"):
        self.workdir = workdir
        self.name = name
        os.makedirs(workdir, exist_ok=True)
        self.conf_path = os.path.join(workdir, name + ".conf")
        self.log_path = os.path.join(workdir, name + ".log")
        self.stdout_path = os.path.join(workdir, name + ".stdout")
        self.connect_port = connect_port
        self.options = list(options)
        self.accept_host = loopback(accept_host)
        self.port = None

    def start(self, timeout=10.0):
        def write_conf():
            self.port = free_port(self.accept_host)
            lines = ["foreground = yes", "pid =", "debug = 7", "output = %s" % self.log_path, "",
                     "[mqtt]", "accept = %s:%d" % (self.accept_host, self.port),
                     "connect = 127.0.0.1:%d" % self.connect_port] + self.options
            with open(self.conf_path, "w") as f:
                f.write("\n".join(lines) + "\n")
        return self._start_retrying("stunnel", write_conf, [STUNNEL, self.conf_path], timeout=timeout,
                                    ready_log=r"Accepting new connections")

    def accepted(self, since=0):
        """The 'accepted connection from' lines since a log mark."""
        return re.findall(r"accepted connection from (\S+)", self.log_text(since))

    def __enter__(self):
        return self


def wait_listening(proc_alive, host, port, timeout):
    """True once host:port accepts a TCP connection (closed at once)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc_alive():
            return False
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.02)
    return False


class HAProxy(_Logged):
    """HAProxy in mode tcp terminating TLS on 127.0.0.1:port in front of
    connect_port (which may have nothing listening: a broker that is down).
    bind_opts are added to the bind line (e.g. "verify required ca-file F",
    "crt-list F"); frontend/backend are extra lines for those sections. In
    the foreground (-db), its pid file and log in workdir."""

    def __init__(self, workdir, name, connect_port, crt, bind_opts="", frontend=(), backend=(),
                 defaults=()):
        self.workdir = workdir
        self.name = name
        os.makedirs(workdir, exist_ok=True)
        self.conf_path = os.path.join(workdir, name + ".cfg")
        self.log_path = os.path.join(workdir, name + ".log")
        self.pid_path = os.path.join(workdir, name + ".pid")
        self.connect_port = connect_port
        self.crt = crt
        self.bind_opts = bind_opts
        self.frontend = list(frontend)
        self.backend = list(backend)
        self.defaults = list(defaults)
        self.port = None

    @staticmethod
    def available():
        return os.access(HAPROXY, os.X_OK)

    def start(self, timeout=10.0):
        def write_conf():
            self.port = free_port()
            lines = ["global", "    log stdout format raw local0 info", "    pidfile " + self.pid_path,
                     "defaults", "    mode tcp", "    log global", "    option tcplog",
                     "    timeout connect 2s", "    timeout client 30s", "    timeout server 30s"]
            lines += ["    " + x for x in self.defaults]
            lines += ["frontend fe", "    bind 127.0.0.1:%d ssl crt %s %s" % (self.port, self.crt, self.bind_opts)]
            lines += ["    " + x for x in self.frontend]
            lines += ["    default_backend be", "backend be",
                      "    server broker 127.0.0.1:%d" % self.connect_port]
            lines += ["    " + x for x in self.backend]
            with open(self.conf_path, "w") as f:
                f.write("\n".join(lines) + "\n")
        return self._start_retrying("haproxy", write_conf, [HAPROXY, "-db", "-f", self.conf_path],
                                    timeout=timeout, busy=("Address already in use", "cannot bind"))

    def __enter__(self):
        return self


class Nginx(_Logged):
    """nginx with only its stream module: TLS terminated on 127.0.0.1:port
    and proxied to connect_port. server is extra lines for the server
    block (ssl_verify_client, ...); stream extra lines for the stream
    block (map, ...); listen_opts extra words for the listen line. In the
    foreground (daemon off), prefix, pid and logs in workdir."""

    def __init__(self, workdir, name, connect_port, cert, key, server=(), stream=(), listen_opts="",
                 proxy_pass=None):
        self.workdir = workdir
        self.name = name
        os.makedirs(workdir, exist_ok=True)
        self.conf_path = os.path.join(workdir, name + ".conf")
        self.log_path = os.path.join(workdir, name + ".log")
        self.stdout_path = os.path.join(workdir, name + ".stdout")
        self.connect_port = connect_port
        self.cert = cert
        self.key = key
        self.server = list(server)
        self.stream = list(stream)
        self.listen_opts = listen_opts
        self.proxy_pass = proxy_pass
        self.port = None

    @staticmethod
    def available():
        return os.access(NGINX, os.X_OK) and os.path.exists(NGINX_STREAM)

    def start(self, timeout=10.0):
        def write_conf():
            self.port = free_port()
            lines = ["load_module %s;" % NGINX_STREAM, "daemon off;", "master_process off;", "worker_processes 1;",
                     "pid %s;" % os.path.join(self.workdir, self.name + ".pid"),
                     "error_log %s info;" % self.log_path, "events { worker_connections 64; }", "stream {"]
            lines += ["    " + x for x in self.stream]
            lines += ["    server {", "        listen 127.0.0.1:%d ssl %s;" % (self.port, self.listen_opts),
                      "        ssl_certificate %s;" % self.cert, "        ssl_certificate_key %s;" % self.key,
                      "        proxy_connect_timeout 2s;",
                      "        proxy_pass %s;" % (self.proxy_pass or "127.0.0.1:%d" % self.connect_port)]
            lines += ["        " + x for x in self.server]
            lines += ["    }", "}"]
            with open(self.conf_path, "w") as f:
                f.write("\n".join(lines) + "\n")
        return self._start_retrying("nginx", write_conf,
                                    [NGINX, "-p", self.workdir, "-e", self.log_path, "-c", self.conf_path],
                                    timeout=timeout)

    def __enter__(self):
        return self


class ClosingServer:
    """Accepts TCP connections and closes each at once (in-process), as a
    broker at max_connections does; keeps the time of every accept."""

    def __init__(self, host="127.0.0.1"):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((loopback(host), 0))
        self.sock.listen(16)
        self.host = host
        self.port = self.sock.getsockname()[1]
        self.accepts = []
        self.stopping = False
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.accepts.append(time.monotonic())
            c.close()

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.stopping = True
        try:
            socket.create_connection((self.host, self.port), timeout=1).close()
        except OSError:
            pass
        self.thread.join(5)
        self.sock.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


class SilentServer:
    """Accepts TCP connections and never sends a byte (in-process)."""

    def __init__(self, host="127.0.0.1"):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((loopback(host), 0))
        self.sock.listen(16)
        self.host = host
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.lock = threading.Lock()
        self.stopping = False
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                if self.stopping:
                    c.close()
                    return
                self.conns.append(c)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        with self.lock:
            self.stopping = True
            conns, self.conns = self.conns, []
        try:
            socket.create_connection((self.host, self.port), timeout=1).close()
        except OSError:
            pass
        self.thread.join(5)
        self.sock.close()
        for c in conns:
            c.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


class PlainWebServer:
    """Python's own http.server (a plain web server, Server: SimpleHTTP/...)
    serving an empty directory, in-process. It answers HTTP requests (404 for
    /mqtt, no WebSocket upgrade) and waits for ever for the end of a request
    line that MQTT bytes never send."""

    def __init__(self, root, host="127.0.0.1"):
        import functools
        import http.server
        os.makedirs(root, exist_ok=True)

        class Quiet(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args):
                pass

        class Server(http.server.ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                pass   # a client that hangs up mid-answer is expected here

        handler = functools.partial(Quiet, directory=root)
        self.httpd = Server((loopback(host), 0), handler)
        self.httpd.daemon_threads = True
        self.host = host
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


def _run(argv, cwd):
    r = subprocess.run(argv, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    if r.returncode != 0:
        raise PeerError("command failed: %s\n%s%s" % (" ".join(argv), r.stdout.decode(errors="replace"),
                                                    r.stderr.decode(errors="replace")))


def make_revoked(cadir, outdir, cn="smqtt-revoked-client"):
    """A client certificate signed by cadir/ca.crt + ca.key, then revoked,
    and the CA's CRL: outdir/revoked.crt, revoked.key, crl.pem."""
    os.makedirs(outdir, exist_ok=True)
    db = os.path.join(outdir, "db")
    os.makedirs(db, exist_ok=True)
    open(os.path.join(db, "index.txt"), "w").close()
    with open(os.path.join(db, "serial"), "w") as f:
        f.write("%016x\n" % (int.from_bytes(os.urandom(7), "big") | 1))
    with open(os.path.join(db, "crlnumber"), "w") as f:
        f.write("01\n")
    cnf = os.path.join(outdir, "ca.cnf")
    with open(cnf, "w") as f:
        f.write("""[ca]
default_ca = lab
[lab]
database = %(db)s/index.txt
new_certs_dir = %(db)s
serial = %(db)s/serial
crlnumber = %(db)s/crlnumber
default_md = sha256
default_days = 30
default_crl_days = 30
policy = anything
unique_subject = no
copy_extensions = none
[anything]
commonName = supplied
[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
""" % {"db": db})
    key = os.path.join(outdir, "revoked.key")
    csr = os.path.join(outdir, "revoked.csr")
    crt = os.path.join(outdir, "revoked.crt")
    crl = os.path.join(outdir, "crl.pem")
    ca = ["-cert", os.path.join(cadir, "ca.crt"), "-keyfile", os.path.join(cadir, "ca.key")]
    _run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", key], outdir)
    os.chmod(key, 0o600)
    _run(["openssl", "req", "-new", "-sha256", "-key", key, "-subj", "/CN=" + cn, "-out", csr], outdir)
    _run(["openssl", "ca", "-batch", "-notext", "-config", cnf] + ca + ["-extensions", "client", "-in", csr,
                                                                         "-out", crt], outdir)
    _run(["openssl", "ca", "-batch", "-config", cnf] + ca + ["-revoke", crt], outdir)
    _run(["openssl", "ca", "-batch", "-config", cnf] + ca + ["-gencrl", "-out", crl], outdir)
    os.unlink(csr)
    return crt, key, crl
