"""Reusable mosquitto broker fixture for the smqtt tests (stdlib only).

Usage::

    from broker import Broker
    with Broker(users={"alice": "secret"}, pki_dir=pki, unix=True) as b:
        b.port          # plain anonymous listener on 127.0.0.1
        b.auth_port     # password-protected listener (allow_anonymous false)
        b.tls_port      # TLS listener (server cert only)
        b.tls_req_port  # TLS listener with require_certificate true
        b.unix_path     # unix socket listener
        mark = b.log_mark()
        ...start a client with -i sub1...
        b.wait_for_log(r"Sending SUBACK to sub1\\b", since=mark)

Listeners can also be added one at a time before start() with add_plain(),
add_password(), add_tls() and add_unix().

Only 127.0.0.1 (and ::1 if asked for explicitly) are ever used.
The broker runs in the foreground (never -d) and is terminated, then killed,
on stop(). The configuration contains ``user root`` so that mosquitto does
not try to drop privileges when the tests run as root.
"""

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time

MOSQUITTO = os.environ.get("SMQTT_TEST_MOSQUITTO", "/usr/sbin/mosquitto")
MOSQUITTO_PASSWD = os.environ.get("SMQTT_TEST_MOSQUITTO_PASSWD",
                                  "/usr/bin/mosquitto_passwd")

LOOPBACK_ADDRS = ("127.0.0.1", "::1")


class BrokerError(RuntimeError):
    pass


def free_port(host="127.0.0.1"):
    """Return a TCP port that was free on host a moment ago."""
    if host not in LOOPBACK_ADDRS:
        raise ValueError("only loopback addresses are allowed: %r" % host)
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_accepts(host, port, timeout=0.2):
    if host not in LOOPBACK_ADDRS:
        raise ValueError("only loopback addresses are allowed: %r" % host)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def unix_accepts(path, timeout=0.2):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


class _Listener:
    def __init__(self, kind, host="127.0.0.1", users=None, pki_dir=None,
                 require_certificate=False, path=None):
        if host not in LOOPBACK_ADDRS:
            raise ValueError("only loopback addresses are allowed: %r" % host)
        self.kind = kind          # "plain", "password", "tls", "unix"
        self.host = host
        self.users = users or {}
        self.pki_dir = pki_dir
        self.require_certificate = require_certificate
        self.path = path
        self.port = None


class Broker:
    """A mosquitto broker in a temporary directory; a context manager."""

    def __init__(self, plain=True, users=None, pki_dir=None, tls=None,
                 tls_require_certificate=None, unix=False, workdir=None,
                 extra_conf="", start_timeout=5.0, binary=None):
        """
        plain      -- add an anonymous listener on 127.0.0.1 (self.port)
        users      -- dict user->password: add a password listener (auth_port)
        pki_dir    -- directory from mkpki.sh; with tls (default True when
                      pki_dir is given) adds a TLS listener (tls_port) and
                      with tls_require_certificate (default True when pki_dir
                      is given) one with require_certificate (tls_req_port)
        unix       -- add a unix socket listener (unix_path)
        workdir    -- directory for config/log/socket; a temp dir by default
        extra_conf -- text appended to the generated mosquitto.conf
        binary     -- the broker to run (default $SMQTT_TEST_MOSQUITTO or
                      Debian's /usr/sbin/mosquitto)
        """
        self.binary = binary or MOSQUITTO
        self._own_workdir = workdir is None
        self.workdir = workdir or tempfile.mkdtemp(prefix="smqtt-broker-")
        os.makedirs(self.workdir, exist_ok=True)
        self.conf_path = os.path.join(self.workdir, "mosquitto.conf")
        self.log_path = os.path.join(self.workdir, "broker.log")
        self.stdout_path = os.path.join(self.workdir, "broker.stdout")
        self.extra_conf = extra_conf
        self.start_timeout = start_timeout
        self.listeners = []
        self.proc = None
        self.port = None
        self.auth_port = None
        self.tls_port = None
        self.tls_req_port = None
        self.unix_path = None
        if plain:
            self.add_plain()
        if users:
            self.add_password(users)
        if pki_dir:
            if tls is None or tls:
                self.add_tls(pki_dir, require_certificate=False)
            if tls_require_certificate is None or tls_require_certificate:
                self.add_tls(pki_dir, require_certificate=True)
        if unix:
            self.add_unix()

    # ----- listener configuration (before start) -------------------------
    def add_plain(self, host="127.0.0.1"):
        self.listeners.append(_Listener("plain", host=host))

    def add_password(self, users, host="127.0.0.1"):
        self.listeners.append(_Listener("password", host=host, users=users))

    def add_tls(self, pki_dir, require_certificate=False, host="127.0.0.1"):
        self.listeners.append(_Listener("tls", host=host, pki_dir=pki_dir,
                                        require_certificate=require_certificate))

    def add_unix(self, path=None):
        if path is None:
            path = os.path.join(self.workdir, "mosquitto.sock")
        if len(path.encode()) >= 100:
            raise BrokerError("unix socket path too long: %s" % path)
        self.listeners.append(_Listener("unix", path=path))

    # ----- config ----------------------------------------------------------
    def _write_passwd(self, listener, idx):
        path = os.path.join(self.workdir, "passwd.%d" % idx)
        if os.path.exists(path):
            os.unlink(path)
        first = True
        for user, pw in listener.users.items():
            cmd = [MOSQUITTO_PASSWD, "-b"]
            if first:
                cmd.append("-c")
            cmd += [path, user, pw]
            r = subprocess.run(cmd, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               timeout=10)
            if r.returncode != 0:
                raise BrokerError("mosquitto_passwd failed: %s"
                                  % r.stdout.decode(errors="replace"))
            first = False
        return path

    def _write_conf(self):
        lines = [
            "# generated by tests/lib/broker.py",
            "user root",
            "per_listener_settings true",
            "persistence false",
            "log_dest file %s" % self.log_path,
            "log_type all",
            "log_timestamp true",
            "connection_messages true",
            "",
        ]
        for idx, lst in enumerate(self.listeners):
            if lst.kind == "unix":
                lines.append("listener 0 %s" % lst.path)
                lines.append("allow_anonymous true")
            else:
                lst.port = free_port(lst.host)
                lines.append("listener %d %s" % (lst.port, lst.host))
                if lst.kind == "password":
                    lines.append("allow_anonymous false")
                    lines.append("password_file %s" % self._write_passwd(lst, idx))
                else:
                    lines.append("allow_anonymous true")
                if lst.kind == "tls":
                    d = lst.pki_dir
                    lines.append("cafile %s" % os.path.join(d, "ca.crt"))
                    lines.append("certfile %s" % os.path.join(d, "server.crt"))
                    lines.append("keyfile %s" % os.path.join(d, "server.key"))
                    if lst.require_certificate:
                        lines.append("require_certificate true")
            lines.append("")
        if self.extra_conf:
            lines.append(self.extra_conf)
        with open(self.conf_path, "w") as f:
            f.write("\n".join(lines) + "\n")
        # publish the addresses
        self.port = self.auth_port = self.tls_port = self.tls_req_port = None
        self.unix_path = None
        for lst in self.listeners:
            if lst.kind == "plain" and self.port is None:
                self.port = lst.port
            elif lst.kind == "password" and self.auth_port is None:
                self.auth_port = lst.port
            elif lst.kind == "tls" and not lst.require_certificate and self.tls_port is None:
                self.tls_port = lst.port
            elif lst.kind == "tls" and lst.require_certificate and self.tls_req_port is None:
                self.tls_req_port = lst.port
            elif lst.kind == "unix" and self.unix_path is None:
                self.unix_path = lst.path

    # ----- lifecycle -------------------------------------------------------
    def _all_ready(self):
        for lst in self.listeners:
            if lst.kind == "unix":
                if not unix_accepts(lst.path):
                    return False
            elif not port_accepts(lst.host, lst.port):
                return False
        return True

    def start(self):
        if not os.path.exists(self.binary):
            raise BrokerError("mosquitto broker not found at %s" % self.binary)
        if not self.listeners:
            raise BrokerError("no listeners configured")
        last_err = None
        for _attempt in range(3):   # retry if a chosen port got taken
            for lst in self.listeners:
                if lst.kind == "unix" and os.path.exists(lst.path):
                    os.unlink(lst.path)
            for p in (self.log_path, self.stdout_path):
                if os.path.exists(p):
                    os.unlink(p)
            self._write_conf()
            out = open(self.stdout_path, "wb")
            try:
                self.proc = subprocess.Popen(
                    [self.binary, "-c", self.conf_path],
                    stdin=subprocess.DEVNULL, stdout=out,
                    stderr=subprocess.STDOUT, cwd=self.workdir)
            finally:
                out.close()
            deadline = time.monotonic() + self.start_timeout
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                if self._all_ready():
                    return self
                time.sleep(0.02)
            last_err = self._describe_failure()
            self._kill()
            if "Address already in use" not in last_err:
                break
        raise BrokerError("broker failed to start:\n" + last_err)

    def _describe_failure(self):
        parts = []
        if self.proc is not None and self.proc.poll() is not None:
            parts.append("broker exited with status %s" % self.proc.returncode)
        else:
            parts.append("broker did not accept connections within %.1fs"
                         % self.start_timeout)
        for p in (self.stdout_path, self.log_path):
            try:
                with open(p, "rb") as f:
                    parts.append("--- %s ---\n%s" % (
                        os.path.basename(p), f.read().decode(errors="replace")))
            except OSError:
                pass
        return "\n".join(parts)

    def _kill(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None

    def stop(self):
        self._kill()

    def cleanup(self):
        self.stop()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()
        return False

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    # ----- log helpers -------------------------------------------------------
    def log_mark(self):
        """Current size of the broker log: pass as since= to wait_for_log."""
        try:
            return os.path.getsize(self.log_path)
        except OSError:
            return 0

    def log_text(self, since=0):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(since)
                return f.read().decode("utf-8", errors="replace")
        except OSError:
            return ""

    def wait_for_log(self, pattern, timeout=5.0, since=0):
        """Wait until regex pattern appears in the log after byte offset since.

        Returns the match object; raises BrokerError with the log tail on
        timeout or if the broker died.
        """
        rx = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        while True:
            text = self.log_text(since)
            m = rx.search(text)
            if m:
                return m
            if not self.alive():
                raise BrokerError("broker died while waiting for %r\n%s"
                                  % (rx.pattern, self._describe_failure()))
            if time.monotonic() >= deadline:
                tail = "\n".join(text.splitlines()[-20:])
                raise BrokerError("timed out after %.1fs waiting for %r in the "
                                  "broker log; last lines:\n%s"
                                  % (timeout, rx.pattern, tail))
            time.sleep(0.005)


if __name__ == "__main__":
    # tiny smoke test: python3 tests/lib/broker.py
    with Broker(users={"alice": "secret"}, unix=True) as b:
        print("plain", b.port, "auth", b.auth_port, "unix", b.unix_path)
        print(b.log_text())
