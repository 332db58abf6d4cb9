#!/usr/bin/env python3
"""Reliability of smqtt_pub -l (issue #9): no silent loss. Against a real
mosquitto broker on 127.0.0.1: 200k lines at QoS 1 all arrive; a broker
restart mid-stream (persistence on, a persistent subscriber) loses nothing and
exits 0; a broker that does not come back gives a non-zero exit with the
confirmed/unconfirmed counts and the first unconfirmed line; QoS 0 exits
non-zero when the connection drops. Last line: "N passed, N failed".
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "lib"))
from harness import binpath, expect, run_tests  # noqa: E402


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Broker:
    """A restartable mosquitto with persistence on a fixed port."""

    def __init__(self, tmp):
        self.dir = tempfile.mkdtemp(dir=tmp)
        self.port = free_port()
        self.log = os.path.join(self.dir, "log")
        self.conf = os.path.join(self.dir, "m.conf")
        with open(self.conf, "w") as f:
            f.write("user root\nlistener %d 127.0.0.1\nallow_anonymous true\npersistence true\n"
                    "persistence_location %s/\nmax_queued_messages 0\nlog_dest file %s\nlog_type all\n"
                    % (self.port, self.dir, self.log))
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(["mosquitto", "-c", self.conf], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("broker did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(10)

    def wait_log(self, pattern, timeout=5):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if re.search(pattern, open(self.log, errors="replace").read()):
                    return
            except OSError:
                pass
            time.sleep(0.01)
        raise RuntimeError("not in the broker log: " + pattern)


def env(tmp):
    e = dict(os.environ)
    e["HOME"] = os.path.join(tmp, "home")
    e["XDG_CACHE_HOME"] = os.path.join(tmp, "cache")
    e["SMQTT_SYSCONFDIR"] = os.path.join(tmp, "sysconf")
    e.pop("XDG_CONFIG_HOME", None)
    e.pop("SMQTT_PROFILES", None)
    return e


def subscriber(b, topic, cid, wait_s):
    p = subprocess.Popen(["mosquitto_sub", "-p", str(b.port), "-t", topic, "-q", "1", "-c", "-i", cid,
                          "-W", str(wait_s)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    b.wait_log(r"Sending SUBACK to %s" % cid)
    return p


def test_200k_lines_qos1_all_arrive(tmp):
    b = Broker(tmp)
    b.start()
    try:
        sub = subscriber(b, "rel/200k", "rel-200k", 60)
        lines = "".join("%d\n" % i for i in range(1, 200001)).encode()
        p = subprocess.run([binpath("smqtt_pub"), "-p", str(b.port), "-t", "rel/200k", "-l", "-q", "1"],
                           input=lines, capture_output=True, timeout=120, env=env(tmp))
        expect(p.returncode == 0, "exit 0", p.returncode, p.stderr)
        b.wait_log(r"Received DISCONNECT from", 10)
        subprocess.run(["mosquitto_pub", "-p", str(b.port), "-t", "rel/200k", "-m", "END", "-q", "1"], check=True)
        got = set()
        for line in sub.stdout:
            if line == b"END\n":
                break
            got.add(line)
        sub.kill()
        expect(len(got) == 200000, "every one of the 200000 lines arrives", len(got))
    finally:
        b.stop()


def test_broker_restart_mid_stream(tmp):
    b = Broker(tmp)
    b.start()
    try:
        sub = subscriber(b, "rel/restart", "rel-restart", 60)
        lines = "".join("%d\n" % i for i in range(1, 50001)).encode()
        pub = subprocess.Popen([binpath("smqtt_pub"), "-p", str(b.port), "-t", "rel/restart", "-l", "-q", "1"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env(tmp))
        pub.stdin.write(lines)
        pub.stdin.close()
        time.sleep(0.5)
        b.stop()
        time.sleep(0.5)
        b.start()
        rc = pub.wait(60)
        err = pub.stderr.read()
        expect(rc == 0, "exit 0 once everything is confirmed", rc, err)
        subprocess.run(["mosquitto_pub", "-p", str(b.port), "-t", "rel/restart", "-m", "END", "-q", "1"], check=True)
        got = set()
        for line in sub.stdout:
            if line == b"END\n":
                break
            got.add(line)
        sub.kill()
        expect(len(got) == 50000, "no line lost across the restart", len(got))
    finally:
        b.stop()


def test_broker_gone_reports_counts(tmp):
    b = Broker(tmp)
    b.start()
    lines = "".join("%d\n" % i for i in range(1, 200001)).encode()
    pub = subprocess.Popen([binpath("smqtt_pub"), "-p", str(b.port), "-t", "rel/gone", "-l", "-q", "1",
                            "--connect-timeout", "2"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=env(tmp))
    try:
        pub.stdin.write(lines)
    except BrokenPipeError:
        pass
    time.sleep(0.3)
    b.stop()
    try:
        pub.stdin.close()
    except BrokenPipeError:
        pass
    t0 = time.monotonic()
    rc = pub.wait(30)
    err = pub.stderr.read().decode()
    expect(rc != 0, "non-zero exit", rc, err)
    expect(time.monotonic() - t0 < 10, "gives up within the connect timeout", time.monotonic() - t0)
    m = re.search(r"(\d+) line\(s\) were confirmed by the broker and (\d+) were not; the first line not "
                  r"confirmed is line (\d+)", err)
    expect(m, "states the counts and the first unconfirmed line", err)
    confirmed, first = int(m.group(1)), int(m.group(3))
    expect(first <= confirmed + 1000, "the first unconfirmed line is near the confirmed count", confirmed, first)
    expect("\n  fix: " in err, "says how to resume", err)


def test_qos0_drop_is_nonzero(tmp):
    b = Broker(tmp)
    b.start()
    pub = subprocess.Popen([binpath("smqtt_pub"), "-p", str(b.port), "-t", "rel/q0", "-l", "-q", "0"],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env(tmp))
    pub.stdin.write(b"one\n")
    pub.stdin.flush()
    b.wait_log(r"Received PUBLISH from")
    b.stop()
    time.sleep(0.2)
    try:
        pub.stdin.write(b"two\n" * 1000)
        pub.stdin.close()
    except BrokenPipeError:
        pass
    rc = pub.wait(30)
    expect(rc != 0, "QoS 0 still exits non-zero when the connection dropped before all input was written", rc,
           pub.stderr.read())


def main():
    tmp = tempfile.mkdtemp(prefix="smqtt-rel-")
    os.makedirs(os.path.join(tmp, "home"))
    try:
        return run_tests(globals(), lambda t: t(tmp))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
