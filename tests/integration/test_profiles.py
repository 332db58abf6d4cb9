#!/usr/bin/env python3
"""Integration tests for saved profiles (issue #3) against a real mosquitto
broker with a mutual-TLS listener, using a PKI made by tests/lib/mkpki.sh.

Each test is a function below; run all with no arguments, or a subset with
-k SUBSTRING. The last line is "N passed, N failed".
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "lib"))
from broker import Broker  # noqa: E402

TIMEOUT = 15


def bindir():
    d = os.environ.get("SMQTT_BIN_DIR") or os.path.join(REPO, "build", "bin")
    return d if os.path.isabs(d) else os.path.join(REPO, d)


class Ctx:
    def __init__(self, broker, pki, tmp):
        self.b = broker
        self.pki = pki
        self.tmp = tmp
        self.n = 0

    def env(self, **extra):
        env = dict(os.environ)
        for k in ("SMQTT_PROFILES", "XDG_CONFIG_HOME"):
            env.pop(k, None)
        env["HOME"] = os.path.join(self.tmp, "home")
        env["SMQTT_SYSCONFDIR"] = os.path.join(self.tmp, "sysconf")
        env["LC_ALL"] = "C"
        for k, v in extra.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
        return env

    def write(self, rel, text, mode=0o600):
        path = os.path.join(self.tmp, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def run(self, tool, args, env=None, stdin=None):
        p = subprocess.run([os.path.join(bindir(), tool)] + args, env=env or self.env(),
                           input=stdin, capture_output=True, timeout=TIMEOUT)
        return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")

    def watcher(self, topic):
        """A reference mosquitto_sub on the plain port, subscribed for sure."""
        self.n += 1
        cid = "watch-%d-%d" % (os.getpid(), self.n)
        mark = self.b.log_mark()
        p = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(self.b.port),
                              "-t", topic, "-C", "1", "-v", "-i", cid, "-W", "10"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.b.wait_for_log(r"Sending SUBACK to %s" % re.escape(cid), 5, since=mark)
        return p

    def profile(self, name, hosts, port=None, extra=""):
        lines = ["%s: {" % name, "  hosts = [%s];" % ", ".join('"%s"' % h for h in hosts)]
        if port:
            lines.append("  port = %d;" % port)
        lines += ['  cafile = "%s/ca.crt";' % self.pki, '  cert = "%s/client.crt";' % self.pki,
                  '  key = "%s/client.key";' % self.pki]
        if extra:
            lines.append(extra)
        lines.append("};")
        return "\n".join(lines) + "\n"


def expect(cond, what, *details):
    if not cond:
        raise AssertionError(what + "".join("\n    " + repr(d) for d in details))


def received(w):
    out, _ = w.communicate(timeout=TIMEOUT)
    return out.decode()


# ---------------------------------------------------------------------------

def test_host_alone_picks_profile(c):
    prof = c.write("p1.conf", c.profile("factory", ["localhost"], c.b.tls_req_port))
    w = c.watcher("prof/host")
    rc, out, err = c.run("smqtt_pub", ["-h", "localhost", "-t", "prof/host", "-m", "via-profile"],
                         env=c.env(SMQTT_PROFILES=prof))
    expect(rc == 0, "publish through the matched profile", rc, err)
    expect(received(w) == "prof/host via-profile\n", "message delivered")


def test_default_host_matches_localhost(c):
    prof = c.write("p2.conf", c.profile("local", ["localhost"], c.b.tls_req_port))
    w = c.watcher("prof/default")
    rc, out, err = c.run("smqtt_pub", ["-t", "prof/default", "-m", "x"], env=c.env(SMQTT_PROFILES=prof))
    expect(rc == 0, "no -h: the default host localhost matches", rc, err)
    expect(received(w) == "prof/default x\n", "message delivered")


def test_glob_and_ip(c):
    prof = c.write("p3.conf", c.profile("lan", ["*.nowhere.lan", "127.0.0.*"], c.b.tls_req_port))
    w = c.watcher("prof/glob")
    rc, out, err = c.run("smqtt_pub", ["-h", "127.0.0.1", "-t", "prof/glob", "-m", "g"],
                         env=c.env(SMQTT_PROFILES=prof))
    expect(rc == 0, "glob 127.0.0.* matches 127.0.0.1", rc, err)
    expect(received(w) == "prof/glob g\n", "message delivered")


def test_profile_option_overrides_match(c):
    text = (c.profile("wrong", ["localhost"], 1) +
            c.profile("right", ["elsewhere"], c.b.tls_req_port))
    prof = c.write("p4.conf", text)
    w = c.watcher("prof/byname")
    rc, out, err = c.run("smqtt_pub", ["-h", "localhost", "--profile", "right", "-t", "prof/byname",
                                       "-m", "n"], env=c.env(SMQTT_PROFILES=prof))
    expect(rc == 0, "--profile picks by name over the host match", rc, err)
    expect(received(w) == "prof/byname n\n", "message delivered")


def test_cli_overrides_profile_key(c):
    prof = c.write("p5.conf", c.profile("stale", ["localhost"], 1))
    w = c.watcher("prof/cli")
    # a profile saved for another port applies only when forced (issue 23)
    rc, out, err = c.run("smqtt_pub", ["-h", "localhost", "-p", str(c.b.tls_req_port), "--profile", "stale",
                                       "-t", "prof/cli", "-m", "c"], env=c.env(SMQTT_PROFILES=prof))
    expect(rc == 0, "-p on the command line beats port in the profile", rc, err)
    expect(received(w) == "prof/cli c\n", "message delivered")


def test_cli_id_beats_profile_id_prefix(c):
    prof = c.write("p6.conf", c.profile("idp", ["localhost"], c.b.tls_req_port, '  id-prefix = "pfx-";'))
    rc, out, err = c.run("smqtt_pub", ["-h", "localhost", "-i", "cli-id", "-t", "prof/id", "-m", "i"],
                         env=c.env(SMQTT_PROFILES=prof))
    expect(rc == 0, "-i on the command line replaces the profile's id-prefix", rc, err)
    expect("-i and -I" not in err, "no conflict error", err)


def test_no_profile(c):
    prof = c.write("p7.conf", c.profile("bad", ["localhost"], 1))
    w = c.watcher("prof/none")
    rc, out, err = c.run("smqtt_pub", ["-h", "localhost", "-p", str(c.b.port), "--no-profile",
                                       "-t", "prof/none", "-m", "plain"], env=c.env(SMQTT_PROFILES=prof))
    expect(rc == 0, "--no-profile ignores the matching profile", rc, err)
    expect(received(w) == "prof/none plain\n", "message delivered")


def test_url_host_matches(c):
    prof = c.write("p8.conf", c.profile("url", ["localhost"]))
    w = c.watcher("prof/url")
    rc, out, err = c.run("smqtt_pub", ["-L", "mqtts://localhost:%d/prof/url" % c.b.tls_req_port, "-m", "u"],
                         env=c.env(SMQTT_PROFILES=prof))
    expect(rc == 0, "the -L URL's host selects the profile (cafile/cert/key)", rc, err)
    expect(received(w) == "prof/url u\n", "message delivered")


def test_sub_uses_profile(c):
    prof = c.write("p9.conf", c.profile("subp", ["localhost"], c.b.tls_req_port))
    mark = c.b.log_mark()
    p = subprocess.Popen([os.path.join(bindir(), "smqtt_sub"), "-h", "localhost", "-t", "prof/sub",
                          "-C", "1", "-v", "-i", "prof-sub-1", "-W", "10"], env=c.env(SMQTT_PROFILES=prof),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    c.b.wait_for_log(r"Sending SUBACK to prof-sub-1", 5, since=mark)
    subprocess.run(["mosquitto_pub", "-p", str(c.b.port), "-t", "prof/sub", "-m", "s"], check=True)
    out, err = p.communicate(timeout=TIMEOUT)
    expect(p.returncode == 0 and out == b"prof/sub s\n", "smqtt_sub connects through the profile",
           p.returncode, out, err)


def test_save_profile_then_host_only(c):
    home = os.path.join(c.tmp, "savehome")
    env = c.env(XDG_CONFIG_HOME=os.path.join(home, "xdg"))
    args = ["-h", "localhost", "-p", str(c.b.tls_req_port), "--cafile", c.pki + "/ca.crt",
            "--cert", c.pki + "/client.crt", "--key", c.pki + "/client.key"]
    rc, out, err = c.run("smqtt_pub", args + ["-t", "prof/save", "-m", "1", "--save-profile", "mybroker"], env=env)
    expect(rc == 0, "first run with --save-profile", rc, err)
    path = os.path.join(home, "xdg", "smqtt", "profiles.d", "mybroker.conf")
    expect(os.path.exists(path), "profile file written", err)
    expect(os.stat(path).st_mode & 0o777 == 0o600, "mode 0600", oct(os.stat(path).st_mode))
    text = open(path).read()
    expect('hosts = ["localhost"];' in text, "records the host", text)
    expect("tls-version" not in text, "records no TLS version: the user chose none (issue 23)", text)
    w = c.watcher("prof/save2")
    rc, out, err = c.run("smqtt_pub", ["-h", "localhost", "-t", "prof/save2", "-m", "2"], env=env)
    expect(rc == 0, "second run with only -h uses the saved profile", rc, err)
    expect(received(w) == "prof/save2 2\n", "message delivered")
    # saving again under the same name replaces smqtt's own file
    rc, out, err = c.run("smqtt_pub", args + ["-t", "prof/save", "-m", "3", "--save-profile", "mybroker"], env=env)
    expect(rc == 0, "re-saving smqtt's own profile works", rc, err)


def test_save_profile_never_rewrites_hand_written(c):
    xdg = os.path.join(c.tmp, "handxdg")
    hand = c.write("handxdg/smqtt/profiles.d/mine.conf", "# my notes\nmine: { hosts = [\"x\"]; };\n")
    env = c.env(XDG_CONFIG_HOME=xdg)
    rc, out, err = c.run("smqtt_pub", ["-h", "localhost", "-p", str(c.b.port), "-t", "prof/hand", "-m", "h",
                                       "--save-profile", "mine"], env=env)
    expect(rc == 1, "refused: exit 1", rc, err)
    expect("never rewrites" in err, "says why", err)
    expect(open(hand).read().startswith("# my notes"), "file untouched")


def test_list_profiles_three_places(c):
    xdg = os.path.join(c.tmp, "listxdg")
    a = c.write("listxdg/smqtt/profiles.conf", 'zeta: { hosts = ["z.lan"]; };\n')
    b = c.write("listxdg/smqtt/profiles.d/10-b.conf", 'alpha: { hosts = ["a.lan", "*.a.lan"]; };\n')
    s = c.write("sysconf/profiles.conf", 'mid: { hosts = ["m.lan"]; port = 8883; };\n')
    for tool in ("smqtt_pub", "smqtt_sub"):
        rc, out, err = c.run(tool, ["--list-profiles"], env=c.env(XDG_CONFIG_HOME=xdg))
        expect(rc == 0, tool + " --list-profiles exits 0", rc, err)
        expect(out == "alpha\ta.lan,*.a.lan\tany\t%s\nmid\tm.lan\t8883\t%s\nzeta\tz.lan\tany\t%s\n" % (b, s, a),
               "sorted NAME<TAB>HOSTS<TAB>PORT<TAB>FILE from all three places", out)
    os.remove(s)


def test_missing_profile_lists_existing(c):
    prof = c.write("p10.conf", c.profile("one", ["a"]) + c.profile("two", ["b"]))
    rc, out, err = c.run("smqtt_pub", ["--profile", "three", "-t", "t", "-m", "x"], env=c.env(SMQTT_PROFILES=prof))
    expect(rc == 1, "exit 1", rc)
    expect("three" in err and "one, two" in err, "names the existing profiles", err)


FILE_ERRORS = [
    # (name, file text, expected line, substring)
    ("syntax", 'a: {\n  port = = 1;\n};\n', 2, "syntax error"),
    ("unknown_key", 'a: {\n  hosts = ["x"];\n  colour = "red";\n};\n', 3, "unknown key 'colour'"),
    ("wrong_type_int", 'a: {\n  port = "8883";\n};\n', 2, "'port' must be an integer"),
    ("wrong_type_str", 'a: {\n\n  cafile = 3;\n};\n', 3, "'cafile' must be a string"),
    ("wrong_type_bool", 'a: {\n  insecure = "yes";\n};\n', 2, "'insecure' must be true or false"),
    ("bad_value", 'a: {\n  keepalive = 2;\n};\n', 2, "Invalid keepalive"),
    ("bad_port", 'a: {\n  port = 70000;\n};\n', 2, "Invalid port given: 70000"),
    ("bad_proto", 'a: {\n  protocol-version = "mqttv4";\n};\n', 2, "Invalid protocol version"),
    ("run_scope_key", 'a: {\n  topic = "t";\n};\n', 2, "describes a single run"),
    ("run_scope_qos", 'a: {\n  hosts = ["x"];\n  qos = 1;\n};\n', 3, "describes a single run"),
    ("not_group", 'a = 1;\n', 1, "not a profile"),
    ("bad_hosts", 'a: {\n  hosts = [1, 2];\n};\n', 2, "hosts"),
]


def test_file_errors(c):
    for name, text, line, sub in FILE_ERRORS:
        path = c.write("err-%s.conf" % name, text)
        for tool, args in (("smqtt_pub", ["-t", "t", "-m", "x"]), ("smqtt_sub", ["-t", "t"])):
            rc, out, err = c.run(tool, args, env=c.env(SMQTT_PROFILES=path))
            expect(rc == 1, "%s/%s: exit 1" % (name, tool), rc, err)
            first = err.splitlines()[0] if err else ""
            expect(first.startswith("Error: %s:%d: " % (path, line)), "%s: names file:line" % name, first)
            expect(sub in err, "%s: says what is wrong" % name, err)
            expect(out == "", "%s: nothing on stdout" % name, out)


def test_missing_profiles_file(c):
    rc, out, err = c.run("smqtt_pub", ["-t", "t", "-m", "x"],
                         env=c.env(SMQTT_PROFILES=os.path.join(c.tmp, "nope.conf")))
    expect(rc == 1 and "nope.conf" in err, "an explicit $SMQTT_PROFILES must exist", rc, err)


def test_permission_warnings(c):
    text = c.profile("secret", ["localhost"], c.b.tls_req_port, '  username = "u";\n  pw = "hunter2";')
    loose = c.write("loose.conf", text, mode=0o644)
    rc, out, err = c.run("smqtt_pub", ["-t", "prof/perm", "-m", "x"], env=c.env(SMQTT_PROFILES=loose))
    expect("Warning: " in err and "password" in err and "chmod 600 " + loose in err,
           "a world-readable profile holding a password is flagged", err)
    expect("hunter2" not in err, "the password itself is never printed", err)
    tight = c.write("tight.conf", text, mode=0o600)
    rc, out, err = c.run("smqtt_pub", ["-t", "prof/perm", "-m", "x"], env=c.env(SMQTT_PROFILES=tight))
    expect("password" not in err, "a 0600 profile is not flagged", err)


def test_key_permission_warning(c):
    key = os.path.join(c.tmp, "loose.key")
    shutil.copy(c.pki + "/client.key", key)
    os.chmod(key, 0o644)
    text = c.profile("k", ["localhost"], c.b.tls_req_port).replace(c.pki + "/client.key", key)
    prof = c.write("keyperm.conf", text)
    rc, out, err = c.run("smqtt_pub", ["-t", "prof/key", "-m", "x"], env=c.env(SMQTT_PROFILES=prof))
    expect(rc == 0, "still connects", rc, err)
    expect("Warning: " in err and "private key" in err and key in err, "a readable key is flagged", err)


def test_relative_paths(c):
    d = os.path.join(c.tmp, "rel")
    os.makedirs(os.path.join(d, "certs"), exist_ok=True)
    for f in ("ca.crt", "client.crt", "client.key"):
        shutil.copy(os.path.join(c.pki, f), os.path.join(d, "certs", f))
    prof = c.write("rel/profiles.conf", 'r: {\n  hosts = ["localhost"];\n  port = %d;\n'
                   '  cafile = "certs/ca.crt";\n  cert = "certs/client.crt";\n  key = "certs/client.key";\n};\n'
                   % c.b.tls_req_port)
    w = c.watcher("prof/rel")
    rc, out, err = c.run("smqtt_pub", ["-t", "prof/rel", "-m", "r"], env=c.env(SMQTT_PROFILES=prof))
    expect(rc == 0, "paths are relative to the profile's folder, not the cwd", rc, err)
    expect(received(w) == "prof/rel r\n", "message delivered")


def test_debug_names_profile(c):
    prof = c.write("p11.conf", c.profile("dbg", ["localhost"], c.b.tls_req_port))
    rc, out, err = c.run("smqtt_pub", ["-d", "-t", "prof/dbg", "-m", "x"], env=c.env(SMQTT_PROFILES=prof))
    expect(rc == 0, "ok", rc, err)
    expect(out.splitlines()[0] == "smqtt: using profile 'dbg' from %s:1 (matched by host)" % prof,
           "-d starts with the profile and where it came from", out)


TESTS = [v for k, v in sorted(globals().items()) if k.startswith("test_")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", action="append")
    opts = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="smqtt-prof-")
    pki = os.path.join(tmp, "pki")
    subprocess.run(["bash", os.path.join(REPO, "tests", "lib", "mkpki.sh"), pki], check=True)
    os.makedirs(os.path.join(tmp, "home"), exist_ok=True)
    passed = failed = 0
    try:
        with Broker(pki_dir=pki, tls=False) as b:
            c = Ctx(b, pki, tmp)
            for t in TESTS:
                if opts.k and not any(k in t.__name__ for k in opts.k):
                    continue
                try:
                    t(c)
                    print("ok", t.__name__)
                    passed += 1
                except Exception as e:  # noqa: BLE001
                    print("FAIL %s: %s" % (t.__name__, e))
                    if not isinstance(e, AssertionError):
                        traceback.print_exc()
                    failed += 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
