#!/usr/bin/env python3
"""smqtt_sub's bulk reads (common/bulkread.c) against mosquitto_sub: both
subscribe to the same real broker at once, the same messages are published
with mosquitto_pub, and their stdout must be byte-identical. The cases push
the fast path across its edges: floods, payloads around and far beyond the
256 KB peek buffer, binary payloads, empty ones, retained messages, MQTT v5
messages with and without properties in one stream, -C ending mid-burst, and
keepalive pings answered while messages flow. Every case runs twice: with
the subscribers on plain MQTT, then over TLS (OpenSSL reads ahead and the
loop drains what it holds).
Last line: "N passed, N failed".
"""
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "lib"))
from broker import Broker  # noqa: E402
from harness import binpath, expect, run_tests  # noqa: E402

MOSQ_PUB = "/usr/bin/mosquitto_pub"
MOSQ_SUB = "/usr/bin/mosquitto_sub"


def wrapper():
    w = os.environ.get("SMQTT_WRAPPER", "")
    return w.split() if w else []


# How the subscribers connect: plain MQTT (the bulk reader), then TLS (what
# OpenSSL reads ahead, drained by the loop); the publishers always use the
# plain port.
CONN = {"args": None}


class Pair:
    """smqtt_sub and mosquitto_sub with the same arguments, both subscribed."""

    def __init__(self, b, tmp, name, args, topic):
        self.procs = []
        self.outs = []
        mark = b.log_mark()
        for tool, argv0 in (("smqtt", wrapper() + [binpath("smqtt_sub")]), ("mosquitto", [MOSQ_SUB])):
            cid = "bulk-%s-%s" % (name, tool)
            out = open(os.path.join(tmp, "%s.%s.out" % (name, tool)), "wb")
            conn = CONN["args"] or ["-p", str(b.port)]
            p = subprocess.Popen(argv0 + ["-h", "127.0.0.1"] + conn + ["-t", topic, "-i", cid] + args,
                                 stdout=out, stderr=subprocess.PIPE)
            self.procs.append(p)
            self.outs.append(out)
            b.wait_for_log(r"Sending SUBACK to %s\b" % cid, timeout=30, since=mark)

    def finish(self, timeout=60):
        errs = []
        for p, out in zip(self.procs, self.outs):
            try:
                _, e = p.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                _, e = p.communicate()
            out.close()
            errs.append((p.returncode, e.decode(errors="replace")))
        data = [open(o.name, "rb").read() for o in self.outs]
        return data, errs

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        return self.finish(10)


def same(data, errs, what):
    (a, b) = data
    expect(errs[0][0] == errs[1][0], what + ": same exit status", errs)
    expect(a == b, what + ": byte-identical stdout (%d vs %d bytes)" % (len(a), len(b)),
           a[:300], b[:300])
    return a


def pub(b, *args, stdin=None):
    r = subprocess.run([MOSQ_PUB, "-h", "127.0.0.1", "-p", str(b.port)] + list(args),
                       input=stdin, capture_output=True, timeout=120)
    expect(r.returncode == 0, "mosquitto_pub %s" % " ".join(args[:6]), r.stderr)


def test_flood(b, tmp):
    n = 100000
    pr = Pair(b, tmp, "flood", ["-v", "-C", str(n)], "bulk/flood")
    pub(b, "-t", "bulk/flood", "-l", stdin="".join("%d\n" % i for i in range(n)).encode())
    out = same(*pr.finish(), "100k lines")
    expect(out.count(b"\n") == n, "every line", out.count(b"\n"))


def test_sizes_and_binary(b, tmp):
    rnd = random.Random(7)
    sizes = [1, 1000, 65535, 70000, 200000, 262144 - 7, 262144 + 100, 600000, 3 * 1024 * 1024]
    count = 0
    steps = []
    for i, size in enumerate(sizes):
        path = os.path.join(tmp, "payload-%d" % i)
        with open(path, "wb") as f:
            f.write(bytes(rnd.getrandbits(8) for _ in range(min(size, 4096))) * (size // 4096)
                    + bytes(rnd.getrandbits(8) for _ in range(size % 4096)))
        steps.append(("file", path))
        steps.append(("lines", 300))
        count += 1 + 300
    steps.append(("empty", None))
    count += 1
    pr = Pair(b, tmp, "sizes", ["-F", "%t %l %r %m|%p|", "-C", str(count)], "bulk/sizes")
    for kind, arg in steps:
        if kind == "file":
            pub(b, "-t", "bulk/sizes", "-f", arg)
        elif kind == "lines":
            pub(b, "-t", "bulk/sizes", "-l", stdin=b"".join(b"x y %d\n" % i for i in range(arg)))
        else:
            pub(b, "-t", "bulk/sizes", "-n")
    out = same(*pr.finish(120), "payloads from 0 B to 3 MB, binary, mixed with bursts")
    expect(len(out) > 3 * 1024 * 1024, "the big payloads arrived", len(out))


def test_retained(b, tmp):
    for i in range(50):
        pub(b, "-t", "bulk/ret/%d" % i, "-r", "-m", "kept %d" % i)
    pr = Pair(b, tmp, "ret", ["-F", "%r %t %p", "-C", "150"], "bulk/ret/#")
    pub(b, "-t", "bulk/ret/live", "-l", stdin="".join("live %d\n" % i for i in range(100)).encode())
    same(*pr.finish(), "50 retained then 100 live")
    pr = Pair(b, tmp, "noret", ["-F", "%r %t %p", "-R", "-C", "100"], "bulk/ret/#")
    pub(b, "-t", "bulk/ret/live", "-l", stdin="".join("live %d\n" % i for i in range(100)).encode())
    same(*pr.finish(), "-R drops the retained ones")
    for i in range(50):
        pub(b, "-t", "bulk/ret/%d" % i, "-r", "-n")


def test_v5_properties_mixed(b, tmp):
    pr = Pair(b, tmp, "v5", ["-V", "mqttv5", "-F", "%t %P %p", "-C", "2003"], "bulk/v5")
    pub(b, "-V", "mqttv5", "-t", "bulk/v5", "-l", stdin="".join("plain %d\n" % i for i in range(1000)).encode())
    pub(b, "-V", "mqttv5", "-t", "bulk/v5", "-D", "publish", "user-property", "k", "v", "-m", "with a user property")
    pub(b, "-V", "mqttv5", "-t", "bulk/v5", "-D", "publish", "content-type", "text/plain", "-m", "typed")
    pub(b, "-V", "mqttv5", "-t", "bulk/v5", "-l", stdin="".join("again %d\n" % i for i in range(1000)).encode())
    pub(b, "-V", "mqttv5", "-t", "bulk/v5", "-D", "publish", "user-property", "a", "b", "-m", "last")
    same(*pr.finish(), "v5: properties and none in one stream")


def test_count_mid_burst(b, tmp):
    pr = Pair(b, tmp, "count", ["-v", "-C", "777"], "bulk/count")
    pub(b, "-t", "bulk/count", "-l", stdin="".join("%d\n" % i for i in range(20000)).encode())
    out = same(*pr.finish(), "-C 777 during a 20000-message burst")
    expect(out.count(b"\n") == 777, "exactly 777 lines", out.count(b"\n"))


def test_keepalive_while_flowing(b, tmp):
    """Pings go through libmosquitto while messages come in bulk: a 5 s
    keepalive (the least allowed) over 7 s of traffic must not drop the
    connection."""
    mark = b.log_mark()
    pr = Pair(b, tmp, "ka", ["-v", "-k", "5"], "bulk/ka")
    p = subprocess.Popen([MOSQ_PUB, "-h", "127.0.0.1", "-p", str(b.port), "-t", "bulk/ka", "-l"],
                         stdin=subprocess.PIPE)
    end = time.monotonic() + 7
    i = 0
    while time.monotonic() < end:
        p.stdin.write(b"".join(b"%d\n" % (i + k) for k in range(50)))
        p.stdin.flush()
        i += 50
        time.sleep(0.05)
    p.stdin.close()
    p.wait(10)
    time.sleep(0.5)
    data, errs = pr.stop()
    expect(data[0] == data[1], "identical output", len(data[0]), len(data[1]))
    expect(data[0].count(b"\n") == i, "every message", data[0].count(b"\n"), i)
    log = b.log_text(since=mark)
    expect("Received PINGREQ from bulk-ka-smqtt" in log, "smqtt_sub pinged", log[-2000:])
    expect("bulk-ka-smqtt has exceeded timeout" not in log, "and was never timed out", log[-2000:])


def main():
    tmp = tempfile.mkdtemp(prefix="smqtt-bulk-")
    pki = os.path.join(tmp, "pki")
    subprocess.run(["bash", os.path.join(REPO, "tests", "lib", "mkpki.sh"), pki], check=True)
    try:
        with Broker(pki_dir=pki, tls_require_certificate=False, extra_conf="max_queued_messages 0\n") as b:
            print("-- subscribers on plain MQTT", flush=True)
            status = run_tests(globals(), lambda t: t(b, tmp))
            print("-- subscribers over TLS", flush=True)
            CONN["args"] = ["-p", str(b.tls_port), "--cafile", os.path.join(pki, "ca.crt")]
            return run_tests(globals(), lambda t: t(b, tmp)) or status
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
