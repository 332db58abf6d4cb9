"""mosquitto 2.1.2 for the tests (stdlib only): the broker (with its
built-in websockets listener) and the mosquitto_pub / mosquitto_sub clients,
built once from the unmodified upstream source tarball into a cache folder.

    from mosq21 import ensure, Unavailable
    m = ensure()          # builds on first use (about a minute on 2 cores)
    m.broker, m.pub, m.sub, m.rr, m.env()   # env(): LD_LIBRARY_PATH for the clients

The tarball is tests/reference/mosquitto-2.1.2.tar.gz (EPL-2.0 / EDL-1.0),
else ../shared/reference/ beside the repository. The build goes to
$SMQTT_M21_DIR, default build-m21/ in the repository; a lock file lets
suites that run at the same time share one build. Never give smqtt the
clients' LD_LIBRARY_PATH: both libraries are libmosquitto.so.1.
"""

import fcntl
import os
import shutil
import subprocess
import tarfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VERSION = "2.1.2"
TARBALLS = [
    os.path.join(REPO, "tests", "reference", "mosquitto-%s.tar.gz" % VERSION),
    os.path.join(os.path.dirname(REPO), "shared", "reference", "mosquitto-%s.tar.gz" % VERSION),
]


class Unavailable(RuntimeError):
    """mosquitto 2.1.2 cannot be had on this machine (the reason says why)."""


class Mosq21:
    def __init__(self, build):
        self.build = build
        self.broker = os.path.join(build, "src", "mosquitto")
        self.pub = os.path.join(build, "client", "mosquitto_pub")
        self.sub = os.path.join(build, "client", "mosquitto_sub")
        self.rr = os.path.join(build, "client", "mosquitto_rr")
        self.lib = os.path.join(build, "lib")

    def ready(self):
        return all(os.access(p, os.X_OK) for p in (self.broker, self.pub, self.sub))

    def env(self, base=None):
        e = dict(os.environ if base is None else base)
        e["LD_LIBRARY_PATH"] = self.lib
        return e


def build_dir():
    d = os.environ.get("SMQTT_M21_DIR") or os.path.join(REPO, "build-m21")
    return os.path.abspath(d)


def ensure():
    """The built mosquitto 2.1.2, building it first if needed."""
    root = build_dir()
    m = Mosq21(os.path.join(root, "build"))
    if m.ready():
        return m
    tarball = next((t for t in TARBALLS if os.path.exists(t)), None)
    if not tarball:
        raise Unavailable("no mosquitto-%s.tar.gz in %s" % (VERSION, " or ".join(TARBALLS)))
    if not shutil.which("cmake"):
        raise Unavailable("cmake is not installed")
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if m.ready():  # built by another suite while we waited
            return m
        src = os.path.join(root, "mosquitto-%s" % VERSION)
        shutil.rmtree(src, ignore_errors=True)
        shutil.rmtree(m.build, ignore_errors=True)
        with tarfile.open(tarball) as t:
            t.extractall(root, filter="data") if hasattr(tarfile, "data_filter") else t.extractall(root)
        log = os.path.join(root, "build.log")
        with open(log, "w") as out:
            for argv in (["cmake", "-S", src, "-B", m.build, "-DWITH_APPS=OFF", "-DWITH_PLUGINS=OFF",
                          "-DWITH_DOCS=OFF", "-DWITH_TESTS=OFF", "-DWITH_CTRL_SHELL=OFF",
                          "-DCMAKE_BUILD_TYPE=Release"],
                         ["cmake", "--build", m.build, "-j%d" % (os.cpu_count() or 2)]):
                r = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
                if r.returncode:
                    raise Unavailable("building mosquitto %s failed (%s); see %s" % (VERSION, " ".join(argv[:2]), log))
        if not m.ready():
            raise Unavailable("the mosquitto %s build made no broker or clients; see %s" % (VERSION, log))
    return m
