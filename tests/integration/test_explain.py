#!/usr/bin/env python3
"""The scenario lab: every way a connection fails, against real peers.

For each scenario the right peer is running (mosquitto listeners with the
scenario PKIs of tests/lib/scenarios.sh, stunnel in front of a plain port for
TLS 1.2-only behaviour, a TCP server that never answers, ...). The scenario
is run with

  * mosquitto_pub (the Debian reference, 2.0.11): it must really fail, and
    its first stderr line is kept for the table;
  * smqtt_pub and smqtt_sub, in the text form: the expected exit status,
    "Error: ..." followed by "\\n  why: " and "\\n  fix: ", and never the bare
    "A TLS error occurred" / "The connection was lost";
  * smqtt_pub and smqtt_sub with --diag-format json: the last stderr line is
    a JSON object whose cause is the expected one (never tls-unclassified),
    with the stage of that cause, the host and port, and the text form's
    summary; why/fix mention what the scenario says they must.

Failures that depend on timing (a TLS 1.3 broker rejects the client
certificate after the client has finished its handshake) are run several
times: each run must be explained the same way.

At the end a markdown table: scenario | mosquitto_pub | smqtt_pub | cause,
then "N passed, N failed" as the last line (exit status 1 on any failure).

Usage: test_explain.py [-k SUBSTRING]... [--list] [--repeat N]
Only 127.0.0.0/8 is contacted. Python 3 standard library only; needs
mosquitto, mosquitto_pub, mosquitto_passwd, stunnel4 and openssl; the TLS
terminator scenarios need haproxy, and nginx with libnginx-mod-stream (each
missing one is reported and its scenarios skipped).
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.dont_write_bytecode = True   # keep tests/lib free of __pycache__
sys.path.insert(0, os.path.join(REPO, "tests", "lib"))
from lab_peers import (Mosquitto, Stunnel, HAProxy, Nginx, SilentServer, ClosingServer, PlainWebServer,  # noqa: E402
                       make_revoked,
                       free_port, popen, terminate_on_sigterm)
from harness import binpath, expect, first_line, last_json  # noqa: E402

TIMEOUT = 20          # seconds for any client process
REF_PUB = "/usr/bin/mosquitto_pub"
REF_SUB = "/usr/bin/mosquitto_sub"
MOSQUITTO_PASSWD = "/usr/bin/mosquitto_passwd"
TOOLS = ("smqtt_pub", "smqtt_sub")
BARE = ("A TLS error occurred", "The connection was lost")
SMQTT_ONLY = ("--connect-timeout",)   # options (with a value) mosquitto_pub 2.0.11 lacks
SMQTT_FLAGS = ("--ws",)                # options (without a value) mosquitto_pub 2.0.11 lacks
PSK_KEY = "00112233445566778899aabbccddeeff"
# the stage each cause belongs to (explain.c)
STAGE = {
    "cafile-not-ca": "preflight", "ca-subject-equals-leaf": "preflight",
    "dns-failure": "resolve", "connection-refused": "tcp",
    "broker-closed": "mqtt", "mqtt-auth-failed": "mqtt", "mqtt-to-http-port": "mqtt",
    "ws-path-not-found": "websocket",
}


def norm(text):
    return re.sub(r"it is now \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", "it is now <now>", text or "")


class Scenario:
    def __init__(self, name, args, cause, status, host="127.0.0.1", port=None, why_has=(), fix_has=(),
                 summary_has=(), repeat=1, ref_timeout=None, max_seconds=None, causes=None, stage=None, note="",
                 needs=None, problems_has=(), err_lacks=(), sub_status=None, sub_wait=15, one_error=False,
                 evidence_has=None):
        self.name = name
        self.args = args          # callable(ctx) -> argv after -h/-p, or a list
        self.cause = cause        # the expected cause
        self.causes = causes or (cause,)
        self.status = status      # the expected exit status
        self.host = host
        self.port = port          # callable(ctx) -> port, or None (no -p)
        self.why_has = why_has
        self.fix_has = fix_has
        self.summary_has = summary_has
        self.repeat = repeat
        self.ref_timeout = ref_timeout
        self.max_seconds = max_seconds
        self.stage = stage        # the JSON stage, when not the catalogue's stage of the cause
        self.note = note
        self.needs = needs        # a peer that may be missing: "haproxy" or "nginx"
        self.problems_has = problems_has  # (cause, severity) pairs the JSON problems hold
        self.err_lacks = err_lacks        # text the explanation must not say (the run disproves it)
        self.one_error = one_error        # exactly one "Error:" block, one fatal problem in the JSON
        self.evidence_has = evidence_has or {}  # key: value the JSON evidence holds
        # smqtt_sub's status when it differs: 255 where mosquitto_sub retries
        # until -W (sub_wait seconds) ends it; then mosquitto_sub is run too
        # and must exit the same way
        self.sub_status = status if sub_status is None else sub_status
        self.sub_wait = sub_wait


class Lab:
    def __init__(self, tmp, repeat):
        self.tmp = tmp
        self.lab = os.path.join(tmp, "lab")
        self.repeat = repeat
        self.rows = []
        self.ncache = 0

    def f(self, rel):
        return os.path.join(self.lab, rel)

    def env(self):
        env = dict(os.environ)
        for k in ("SMQTT_PROFILES", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
            env.pop(k, None)
        env["HOME"] = os.path.join(self.tmp, "home")
        env["SMQTT_SYSCONFDIR"] = os.path.join(self.tmp, "sysconf")
        # a fresh TLS version cache for every run: runs do not influence each other
        self.ncache += 1
        env["XDG_CACHE_HOME"] = os.path.join(self.tmp, "cache", str(self.ncache))
        env["LC_ALL"] = "C"
        return env

    def run(self, argv, timeout=TIMEOUT):
        """(rc, stdout, stderr, seconds); rc None when it had to be killed."""
        wrapper = os.environ.get("SMQTT_WRAPPER")
        if wrapper and os.path.basename(argv[0]).startswith("smqtt_"):
            argv = wrapper.split() + argv
        t0 = time.monotonic()
        p = subprocess.Popen(argv, env=self.env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, cwd=self.tmp)
        try:
            out, err = p.communicate(timeout=timeout)
            rc = p.returncode
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            rc = None
        return rc, out.decode(errors="replace"), err.decode(errors="replace"), time.monotonic() - t0

    def argv(self, tool, sc):
        a = [tool, "-h", sc.host]
        if sc.port:
            a += ["-p", str(sc.port(self))]
        args = list(sc.args(self) if callable(sc.args) else sc.args)
        if tool == REF_PUB:
            # smqtt's own options: the reference does not have them
            for opt in SMQTT_ONLY:
                while opt in args:
                    i = args.index(opt)
                    del args[i:i + 2]
            args = [a for a in args if a not in SMQTT_FLAGS]
        a += args
        if tool == REF_PUB or tool.endswith("smqtt_pub"):
            a += ["-t", "lab/explain", "-m", "x"]
        else:
            if tool == REF_SUB:
                for opt in SMQTT_ONLY:
                    while opt in a:
                        i = a.index(opt)
                        del a[i:i + 2]
                a = [x for x in a if x not in SMQTT_FLAGS]
            a += ["-t", "lab/explain", "-C", "1", "-W", str(sc.sub_wait)]
        return a


# ---------------------------------------------------------------------------
# the peers

def start_peers(lab, stack):
    L = lab.f
    tmp = lab.tmp
    crt, key, crl = make_revoked(L("good"), os.path.join(tmp, "revoked"))
    lab.revoked = (crt, key)
    psk = os.path.join(tmp, "psk.txt")
    with open(psk, "w") as f:
        f.write("alice:%s\n" % PSK_KEY)
    pw = os.path.join(tmp, "passwd")
    subprocess.run([MOSQUITTO_PASSWD, "-c", "-b", pw, "bob", "secret"], check=True, capture_output=True,
                   stdin=subprocess.DEVNULL, timeout=10)

    def tls(d, cert="server.crt", ca="ca.crt"):
        return ["allow_anonymous true", "cafile " + L(d + "/" + ca), "certfile " + L(d + "/" + cert),
                "keyfile " + L(d + "/server.key")]

    m = stack(Mosquitto(os.path.join(tmp, "mosquitto"), "lab"))
    m.listener("plain", ["allow_anonymous true"])
    m.listener("good", tls("good"))
    m.listener("good_req", tls("good") + ["require_certificate true"])
    m.listener("crl_req", tls("good") + ["require_certificate true", "crlfile " + crl])
    m.listener("samecn", tls("samecn"))
    m.listener("samecn_nokeyid_req", tls("samecn-nokeyid") + ["require_certificate true"])
    # same-CN: the CA and both leaves CN=127.0.0.1; only one leaf a v1 certificate
    m.listener("samecn_keyid_req", tls("samecn-keyid") + ["require_certificate true"])
    m.listener("samecn_v1server_req", ["allow_anonymous true", "cafile " + L("samecn-keyid/ca.crt"),
                                       "certfile " + L("samecn-keyid/server-v1.crt"),
                                       "keyfile " + L("samecn-keyid/server-v1.key"), "require_certificate true"])
    m.listener("ws", ["protocol websockets", "allow_anonymous true"])
    m.listener("wss", ["protocol websockets"] + tls("good"))
    m.listener("leaf_only", tls("intermediate", ca="root.crt"))
    m.listener("wrongsan", tls("wrongsan"))
    m.listener("good_127_0_0_2", tls("good"), host="127.0.0.2")
    m.listener("expired", tls("expired"))
    m.listener("notyet", tls("notyet"))
    # OpenSSL refuses to load a 1024-bit or SHA-1 certificate at security
    # level 2; mosquitto applies "ciphers" before loading it
    m.listener("weak", tls("weak") + ["ciphers DEFAULT:@SECLEVEL=0"])
    m.listener("sha1", tls("sha1") + ["ciphers DEFAULT:@SECLEVEL=0"])
    m.listener("psk", ["allow_anonymous true", "psk_hint smqtt-lab", "psk_file " + psk,
                       "use_identity_as_username true"])
    m.listener("auth", ["allow_anonymous false", "password_file " + pw])
    m.listener("maxconn", ["allow_anonymous true", "max_connections 1"])
    m.start()
    lab.m = m

    # TLS 1.2 at most, a client certificate required (CRL checked)
    st = stack(Stunnel(os.path.join(tmp, "stunnel"), "req12", m.port("plain"),
                       ["cert = " + L("good/server.crt"), "key = " + L("good/server.key"),
                        "sslVersionMax = TLSv1.2", "verifyChain = yes", "CAfile = " + L("good/ca.crt"),
                        "CRLfile = " + crl]))
    st.start()
    lab.req12 = st
    # TLS 1.2 at most, one cipher suite
    sc = stack(Stunnel(os.path.join(tmp, "stunnel"), "cipher12", m.port("plain"),
                       ["cert = " + L("good/server.crt"), "key = " + L("good/server.key"),
                        "sslVersionMax = TLSv1.2", "ciphers = ECDHE-RSA-AES128-GCM-SHA256"]))
    sc.start()
    lab.cipher12 = sc
    lab.silent = stack(SilentServer()).start()
    lab.web = stack(PlainWebServer(os.path.join(tmp, "www"))).start()

    # max_connections 1: one client holds the only slot
    mark = m.log_mark()
    lab.holder = popen(["/usr/bin/mosquitto_sub", "-h", "127.0.0.1", "-p", str(m.port("maxconn")),
                        "-t", "lab/hold", "-i", "lab-holder"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    m.wait_for_log(r"New client connected from \S+ as lab-holder ", 5, since=mark)
    lab.closed_port = free_port()
    start_terminators(lab, stack)


def start_terminators(lab, stack):
    """HAProxy and nginx (stream) terminating TLS in front of the lab's
    mosquitto, or of a port where nothing listens (the broker is down).
    A terminator that is not installed leaves lab.missing[name] set: its
    scenarios are skipped, saying so."""
    L = lab.f
    tmp = lab.tmp
    lab.missing = {}
    lab.down_port = free_port()
    pem = os.path.join(tmp, "terminators", "server.pem")
    os.makedirs(os.path.dirname(pem), exist_ok=True)
    with open(pem, "w") as f:
        for part in ("good/server.crt", "good/server.key"):
            with open(L(part)) as g:
                f.write(g.read())
    if not HAProxy.available():
        lab.missing["haproxy"] = "haproxy is not installed (Debian package haproxy)"
    else:
        wd = os.path.join(tmp, "terminators")
        lab.hap_down = stack(HAProxy(wd, "hap-down", lab.down_port, pem)).start()
    if "haproxy" not in lab.missing:
        # the broker is up but slow: a port that accepts and never answers
        lab.hap_slow = stack(HAProxy(wd, "hap-slow", lab.silent.port, pem)).start()
        # a client certificate required (verify required): TLS 1.3 alert certificate_required
        lab.hap_req = stack(HAProxy(wd, "hap-req", lab.m.port("plain"), pem,
                                    bind_opts="verify required ca-file " + L("good/ca.crt"))).start()
        # only the leaf of a certificate issued by an intermediate CA
        leaf_pem = os.path.join(wd, "leaf-only.pem")
        with open(leaf_pem, "w") as f:
            for part in ("intermediate/server.crt", "intermediate/server.key"):
                with open(L(part)) as g:
                    f.write(g.read())
        lab.hap_leaf = stack(HAProxy(wd, "hap-leaf", lab.m.port("plain"), leaf_pem)).start()
        # SNI: only "localhost" is served (strict-sni): any other name is refused
        lab.hap_sni = stack(HAProxy(wd, "hap-sni", lab.m.port("plain"), pem, bind_opts="strict-sni")).start()
    if not Nginx.available():
        lab.missing["nginx"] = "nginx's stream module is not installed (Debian packages nginx, libnginx-mod-stream)"
    else:
        wd = os.path.join(tmp, "terminators")
        lab.ngx_down = stack(Nginx(wd, "ngx-down", lab.down_port, L("good/server.crt"), L("good/server.key"))).start()
        lab.ngx_slow = stack(Nginx(wd, "ngx-slow", lab.silent.port, L("good/server.crt"), L("good/server.key"))).start()
        lab.ngx_req = stack(Nginx(wd, "ngx-req", lab.m.port("plain"), L("good/server.crt"), L("good/server.key"),
                                  server=["ssl_verify_client on;",
                                          "ssl_client_certificate %s;" % L("good/ca.crt")])).start()
        lab.ngx_leaf = stack(Nginx(wd, "ngx-leaf", lab.m.port("plain"), L("intermediate/server.crt"),
                                   L("intermediate/server.key"))).start()


# ---------------------------------------------------------------------------
# the scenarios

def P(key):
    return lambda lab: lab.m.port(key)


def ca(rel):
    return lambda lab: ["--cafile", lab.f(rel)]


SCENARIOS = [
    Scenario("wrong cafile (another CA)", ca("other-ca/ca.crt"), "server-cert-untrusted", 8, port=P("good"),
             why_has=["CN=smqtt lab other CA", "CN=smqtt lab CA (good)"], fix_has=["CN=smqtt lab CA (good)"]),
    Scenario("wrong cafile, broker sends only its leaf (stunnel)", ca("other-ca/ca.crt"), "server-cert-untrusted", 8,
             port=lambda lab: lab.cipher12.port, causes=("server-cert-untrusted", "server-chain-incomplete"),
             why_has=["CN=smqtt lab other CA"], fix_has=["CN=smqtt lab CA (good)"],
             note="the leaf was issued by a root CA; nothing is missing from the chain, --cafile is wrong"),
    Scenario("same-CN CA, no client cert", ca("samecn/ca.crt"), "server-cert-self-signed", 8, port=P("samecn"),
             why_has=["CN=127.0.0.1", "same name"], fix_has=["distinct Common Name"],
             note="the broker's v1 leaf CN=127.0.0.1 is issued by a CA also named CN=127.0.0.1"),
    # issue 26: the same-CN story with v1 certificates (openssl x509 -req without -extfile)
    Scenario("same-CN v1 certificates: client and CA, one report naming both files",
             lambda lab: ["--cafile", lab.f("samecn/ca.crt"), "--cert", lab.f("samecn/client.crt"),
                          "--key", lab.f("samecn/client.key")],
             "ca-subject-equals-leaf", 1, port=P("samecn"), one_error=True,
             summary_has=["samecn/client.crt and ", "samecn/ca.crt", "CN=127.0.0.1"],
             why_has=["not self-signed", "no authority key identifier", "OpenSSL 3.2", "3.5 on Debian 13", "OpenSSL 3.0"],
             fix_has=["distinct Common Name", "subjectKeyIdentifier"],
             err_lacks=["tlsv1 alert", "unknown ca", "logs"]),
    Scenario("same-CN: only the client certificate is v1 (the broker's has key identifiers)",
             lambda lab: ["--cafile", lab.f("samecn-keyid/ca.crt"), "--cert", lab.f("samecn-keyid/client-v1.crt"),
                          "--key", lab.f("samecn-keyid/client-v1.key")],
             "ca-subject-equals-leaf", 1, port=P("samecn_keyid_req"), one_error=True,
             summary_has=["client-v1.crt and ", "samecn-keyid/ca.crt"], why_has=["client-v1.crt", "key identifier"],
             err_lacks=["tlsv1 alert", "unknown ca", "logs"],
             note="mosquitto 2.0.11 logs 'certificate verify failed' here, not 'unknown ca': smqtt names no log line"),
    Scenario("same-CN: only the broker's certificate is v1",
             lambda lab: ["--cafile", lab.f("samecn-keyid/ca.crt"), "--cert", lab.f("samecn-keyid/client.crt"),
                          "--key", lab.f("samecn-keyid/client.key")],
             "server-cert-self-signed", 8, port=P("samecn_v1server_req"),
             summary_has=["named like its issuer, which OpenSSL takes for self-signed"],
             why_has=["is not self-signed", "--cafile holds that CA", "3.5 on Debian 13",
                      "alert unknown_ca (48), which mosquitto logs as 'tlsv1 alert unknown ca'"],
             err_lacks=["presented a self-signed certificate"], evidence_has={"alert_sent": "unknown_ca"}),
    Scenario("server.crt given as cafile", ca("good/server.crt"), "cafile-not-ca", 1, port=P("good"),
             why_has=["CN=localhost", "not a CA"], fix_has=["CN=smqtt lab CA (good)"]),
    # the broker's own same-name certificate as --cafile: OpenSSL trusts it
    # (self-signed-looking), so that is a warning; what stops the run is
    # the broker rejecting the same-name client certificate
    Scenario("broker's same-name certificate as cafile, same-name client cert",
             lambda lab: ["--cafile", lab.f("samecn-nokeyid/server.crt"), "--cert", lab.f("samecn-nokeyid/client.crt"),
                          "--key", lab.f("samecn-nokeyid/client.key")],
             "ca-subject-equals-leaf", 1, port=P("samecn_nokeyid_req"), why_has=["client.crt", "takes it for self-signed"],
             fix_has=["distinct Common Name"], problems_has=[("cafile-not-ca", "warning")],
             err_lacks=["cannot be verified", "unknown ca", "logs"]),
    Scenario("broker's same-name certificate as cafile, no client cert (the handshake verifies)",
             ca("samecn-nokeyid/server.crt"), "client-cert-required", 7, port=P("samecn_nokeyid_req"),
             why_has=["certificate_required"], err_lacks=["cannot be verified", "cafile-not-ca"], repeat=3),
    Scenario("missing intermediate", ca("intermediate/root.crt"), "server-chain-incomplete", 8,
             port=P("leaf_only"), why_has=["CN=smqtt lab intermediate CA"], fix_has=["intermediate"]),
    Scenario("hostname mismatch (DNS)", ca("wrongsan/ca.crt"), "hostname-mismatch", 8, host="localhost",
             port=P("wrongsan"), why_has=["DNS:other.example", "localhost"], fix_has=["DNS:localhost"]),
    Scenario("hostname mismatch (IP 127.0.0.2)", ca("good/ca.crt"), "hostname-mismatch", 8, host="127.0.0.2",
             port=P("good_127_0_0_2"), why_has=["IP:127.0.0.1", "127.0.0.2"], fix_has=["IP:127.0.0.2"]),
    Scenario("broker cert expired", ca("expired/ca.crt"), "server-cert-expired", 8, port=P("expired"),
             why_has=["2020-01-02"], fix_has=["renew"]),
    Scenario("broker cert not yet valid", ca("notyet/ca.crt"), "server-cert-not-yet-valid", 8, port=P("notyet"),
             why_has=["valid from"], fix_has=["clock"]),
    Scenario("client cert required, TLS 1.2 (stunnel)", ca("good/ca.crt"), "client-cert-required", 8,
             port=lambda lab: lab.req12.port, why_has=["handshake_failure"], fix_has=["--cert", "--key"]),
    Scenario("client cert required, TLS 1.3", ca("good/ca.crt"), "client-cert-required", 7, port=P("good_req"),
             why_has=["certificate_required"], fix_has=["--cert", "--key"], repeat=6),
    Scenario("client cert from another CA, TLS 1.3",
             lambda lab: ["--cafile", lab.f("good/ca.crt"), "--cert", lab.f("other-ca/client.crt"),
                          "--key", lab.f("other-ca/client.key")],
             "client-cert-unknown-ca", 7, port=P("good_req"), why_has=["unknown_ca", "CN=smqtt lab other CA"],
             repeat=6),
    Scenario("client cert from another CA, TLS 1.2 (stunnel)",
             lambda lab: ["--cafile", lab.f("good/ca.crt"), "--cert", lab.f("other-ca/client.crt"),
                          "--key", lab.f("other-ca/client.key")],
             "client-cert-unknown-ca", 8, port=lambda lab: lab.req12.port,
             why_has=["unknown_ca", "CN=smqtt lab other CA"]),
    Scenario("client cert revoked, TLS 1.3 (crlfile)",
             lambda lab: ["--cafile", lab.f("good/ca.crt"), "--cert", lab.revoked[0], "--key", lab.revoked[1]],
             "client-cert-rejected", 7, port=P("crl_req"), why_has=["certificate_revoked", "revocation"],
             fix_has=["new client certificate"], repeat=6),
    Scenario("client cert revoked, TLS 1.2 (stunnel CRLfile)",
             lambda lab: ["--cafile", lab.f("good/ca.crt"), "--cert", lab.revoked[0], "--key", lab.revoked[1]],
             "client-cert-rejected", 8, port=lambda lab: lab.req12.port,
             why_has=["certificate_revoked", "revocation"], fix_has=["new client certificate"]),
    Scenario("TLS to a plain port", ca("good/ca.crt"), "tls-to-plain-port", 8, port=P("plain"),
             fix_has=["TLS port"]),
    Scenario("plain to a TLS port", [], "plain-to-tls-port", 7, port=P("good"), fix_has=["--cafile"],
             sub_status=255, sub_wait=3, stage="mqtt", evidence_has={"tls": False}),
    Scenario("connection refused", [], "connection-refused", 1, port=lambda lab: lab.closed_port,
             why_has=["refused"]),
    Scenario("DNS failure", [], "dns-failure", 1, host="smqtt-lab.invalid", why_has=["resolver"]),
    Scenario("handshake timeout (TLS)", lambda lab: ["--cafile", lab.f("good/ca.crt"), "--connect-timeout", "2"],
             "handshake-timeout", 27, port=lambda lab: lab.silent.port, why_has=["ServerHello"],
             fix_has=["--connect-timeout"], ref_timeout=3, max_seconds=5),
    Scenario("no CONNACK (plain)", ["--connect-timeout", "2"], "handshake-timeout", 27,
             port=lambda lab: lab.silent.port, why_has=["CONNACK"], ref_timeout=3, max_seconds=6, stage="mqtt",
             evidence_has={"tls": False, "stage": "mqtt"}),
    # issue 26: MQTT sent to an HTTP port, TLS to a websockets port, --ws to a plain web server
    Scenario("MQTT to a plain web server (silent until --connect-timeout)", ["--connect-timeout", "2"],
             "mqtt-to-http-port", 27, port=lambda lab: lab.web.port, summary_has=["speaks HTTP"],
             why_has=["no CONNACK came back within --connect-timeout", "\"HTTP/1.0 404 File not found\""],
             fix_has=["this port speaks HTTP/WebSocket: use --ws"], ref_timeout=3, max_seconds=6,
             evidence_has={"tls": False, "probe_http": "HTTP/1.0 404 File not found"}),
    Scenario("MQTT to mosquitto's websockets port", [], "mqtt-to-http-port", 2, port=P("ws"),
             why_has=["the text \"HTTP/1."], fix_has=["this port speaks HTTP/WebSocket: use --ws"]),
    Scenario("TLS to mosquitto's websockets port", ca("good/ca.crt"), "tls-to-plain-port", 8, port=P("ws"),
             why_has=["got \"HTTP/1.1 101 Switching Protocols\"", "websockets"], fix_has=["ws://"],
             err_lacks=["a plain MQTT listener behaves like this", "drop --cafile"]),
    Scenario("MQTT over TLS to mosquitto's websockets port with TLS", ca("good/ca.crt"), "mqtt-to-http-port", 2,
             port=P("wss"), why_has=["the text \"HTTP/1."],
             fix_has=["-L wss://127.0.0.1:", "(often 8883)"], evidence_has={"tls": True}),
    Scenario("--ws to a plain web server (404 at /mqtt)", ["--ws", "--connect-timeout", "2"], "ws-path-not-found", 13,
             port=lambda lab: lab.web.port, ref_timeout=3,
             why_has=["GET /mqtt", "404 File not found (Server: SimpleHTTP/", "plain web server"],
             fix_has=["websockets port"], err_lacks=["--ws-path /mqtt", "e.g. --ws-path"],
             evidence_has={"tls": False}),
    Scenario("wrong password, MQTT v3.1.1", ["-u", "bob", "-P", "wrong"], "mqtt-auth-failed", 5, port=P("auth"),
             summary_has=["not authorised"], why_has=["bob"], fix_has=["password"]),
    Scenario("wrong password, MQTT v5", ["-u", "bob", "-P", "wrong", "-V", "mqttv5"], "mqtt-auth-failed", 135,
             port=P("auth"), summary_has=["Not authorized"], why_has=["bob"], fix_has=["password"]),
    Scenario("PSK: wrong key", ["--psk", "00112233445566778899aabbccddee00", "--psk-identity", "alice"],
             "psk-mismatch", 8, port=P("psk"), summary_has=["alice"], fix_has=["psk_file"]),
    Scenario("PSK: unknown identity", ["--psk", PSK_KEY, "--psk-identity", "mallory"], "psk-mismatch", 8,
             port=P("psk"), summary_has=["mallory"], fix_has=["psk_file"]),
    Scenario("no shared cipher (TLS 1.2, stunnel)",
             lambda lab: ["--cafile", lab.f("good/ca.crt"), "--ciphers", "ECDHE-RSA-AES256-GCM-SHA384"],
             "no-shared-cipher", 8, port=lambda lab: lab.cipher12.port, why_has=["ECDHE-RSA-AES256-GCM-SHA384"],
             fix_has=["--ciphers"]),
    Scenario("broker cert with an RSA-1024 key", ca("weak/ca.crt"), "weak-crypto", 8, port=P("weak"),
             causes=("weak-crypto", "server-cert-untrusted"), why_has=["key too weak"], fix_has=["2048"], stage="tls"),
    Scenario("broker cert signed with SHA-1", ca("sha1/ca.crt"), "weak-crypto", 8, port=P("sha1"),
             causes=("weak-crypto", "server-cert-untrusted"), why_has=["digest"], fix_has=["SHA-256"], stage="tls"),
    Scenario("max_connections reached", [], "broker-closed", 7, port=P("maxconn"), fix_has=["max_connections"],
             sub_status=255, sub_wait=3),

    # TLS terminators in front of mosquitto
    Scenario("HAProxy, backend down", ca("good/ca.crt"), "broker-closed", 7, port=lambda lab: lab.hap_down.port,
             why_has=["close_notify", "TLS terminator"], fix_has=["behind the TLS terminator"], needs="haproxy",
             sub_status=255, sub_wait=5),
    Scenario("HAProxy, backend slow to answer", lambda lab: ["--cafile", lab.f("good/ca.crt"), "--connect-timeout", "2"],
             "handshake-timeout", 27, port=lambda lab: lab.hap_slow.port, why_has=["no CONNACK"],
             fix_has=["--connect-timeout"], ref_timeout=3, max_seconds=6, needs="haproxy"),
    Scenario("HAProxy requires a client certificate", ca("good/ca.crt"), "client-cert-required", 7,
             port=lambda lab: lab.hap_req.port, why_has=["certificate_required"], fix_has=["--cert", "--key"],
             needs="haproxy", repeat=3),
    Scenario("HAProxy sends only its leaf certificate", ca("intermediate/root.crt"), "server-chain-incomplete", 8,
             port=lambda lab: lab.hap_leaf.port, why_has=["CN=smqtt lab intermediate CA"], fix_has=["intermediate"],
             needs="haproxy"),
    Scenario("HAProxy SNI routing rejects an unknown name", ca("good/ca.crt"), "sni-rejected", 8,
             port=lambda lab: lab.hap_sni.port, why_has=["unrecognized_name", "127.0.0.1"], fix_has=["-h"],
             needs="haproxy"),
    Scenario("nginx stream, backend slow to answer", lambda lab: ["--cafile", lab.f("good/ca.crt"), "--connect-timeout", "2"],
             "handshake-timeout", 27, port=lambda lab: lab.ngx_slow.port, why_has=["no CONNACK"],
             fix_has=["--connect-timeout"], ref_timeout=3, max_seconds=6, needs="nginx"),
    Scenario("nginx stream requires a client certificate", ca("good/ca.crt"), "client-cert-required", 7,
             port=lambda lab: lab.ngx_req.port, why_has=["ssl_verify_client", "sent none"], fix_has=["--cert", "--key"],
             needs="nginx", sub_status=255, sub_wait=3),
    Scenario("nginx stream sends only its leaf certificate", ca("intermediate/root.crt"), "server-chain-incomplete", 8,
             port=lambda lab: lab.ngx_leaf.port, why_has=["CN=smqtt lab intermediate CA"], fix_has=["intermediate"],
             needs="nginx"),
    Scenario("nginx stream, backend down", ca("good/ca.crt"), "broker-closed", 7, port=lambda lab: lab.ngx_down.port,
             why_has=["close_notify", "TLS terminator"], fix_has=["behind the TLS terminator"], needs="nginx",
             sub_status=255, sub_wait=3),
]


# ---------------------------------------------------------------------------

def check_scenario(lab, sc):
    row = {"name": sc.name, "ref": "", "smqtt": "", "cause": ""}
    lab.rows.append(row)
    # the reference: it must really fail
    rc, out, err, secs = lab.run(lab.argv(REF_PUB, sc), timeout=sc.ref_timeout or TIMEOUT)
    if rc is None:
        row["ref"] = "(nothing; still waiting after %d s, killed)" % sc.ref_timeout
    else:
        row["ref"] = "%s (exit %d)" % (first_line(err) or "(nothing)", rc)
    expect(rc != 0, "mosquitto_pub really fails", rc, out, err)

    if sc.sub_status != sc.status:
        # mosquitto_sub retries: -W ends it, and smqtt_sub must end the same way
        rc, out, err, secs = lab.run(lab.argv(REF_SUB, sc), timeout=sc.sub_wait + 10)
        expect(rc == sc.sub_status and out == "", "mosquitto_sub exits %d after -W %d" % (sc.sub_status, sc.sub_wait),
               rc, out, err)
    for tool in TOOLS:
        exe = binpath(tool)
        label = "%s [%s]" % (tool, sc.name)
        status = sc.status if tool == "smqtt_pub" else sc.sub_status
        # text form
        rc, out, err, secs = lab.run(lab.argv(exe, sc))
        if tool == "smqtt_pub":
            row["smqtt"] = "%s (exit %s)" % (first_line(err), rc)
        expect(rc == status, label + ": exit status %d" % status, rc, err)
        expect(out == "", label + ": nothing on stdout", out)
        expect(err.count(err.split("\n")[0] + "\n") == 1, label + ": explained once (a retry adds no line)", err)
        expect(err.startswith("Error: "), label + ": stderr starts with 'Error: '", err)
        expect("\n  why: " in err and "\n  fix: " in err, label + ": why and fix lines", err)
        for bare in BARE:
            expect(bare not in err, label + ": not the bare %r" % bare, err)
        expect(not err.rstrip("\n").split("\n")[-1].startswith("{"), label + ": no JSON without --diag-format", err)
        if sc.max_seconds and not os.environ.get("SMQTT_WRAPPER"):
            expect(secs < sc.max_seconds, label + ": gave up in under %d s" % sc.max_seconds, secs)
        t_summary = err.split("\n")[0][len("Error: "):]
        for s in sc.err_lacks:
            expect(s not in err, label + ": does not say %r" % s, err)
        if sc.one_error:
            expect(err.count("Error: ") == 1, label + ": one Error: block for one cause", err)
        # JSON form, several times when the outcome depends on timing
        for i in range(sc.repeat * lab.repeat if sc.repeat > 1 else 1):
            rc, out, jerr, secs = lab.run(lab.argv(exe, sc) + ["--diag-format", "json"])
            lbl = label + " json" + (" (run %d)" % (i + 1) if sc.repeat > 1 else "")
            expect(rc == status, lbl + ": exit status %d" % status, rc, jerr)
            j = last_json(jerr)
            cause = j.get("cause")
            if tool == "smqtt_pub" and i == 0:
                row["cause"] = cause
            expect(cause != "tls-unclassified", lbl + ": not tls-unclassified", j)
            expect(cause in sc.causes, lbl + ": cause %s" % " or ".join(sc.causes), cause, jerr)
            want_stage = sc.stage or STAGE.get(cause, "tls")
            expect(j.get("stage") == want_stage, lbl + ": stage " + want_stage, j.get("stage"), j)
            for k in ("summary", "why", "fix"):
                expect(isinstance(j.get(k), str) and j[k].strip(), lbl + ": non-empty " + k, j)
            expect(j.get("host") == sc.host, lbl + ": host", j.get("host"))
            if sc.port:
                expect(j.get("port") == sc.port(lab), lbl + ": port", j.get("port"))
            expect(isinstance(j.get("evidence"), dict), lbl + ": evidence object", j)
            expect(isinstance(j.get("problems"), list) and j["problems"], lbl + ": problems", j)
            if i == 0:
                expect(norm(j["summary"]) == norm(t_summary), lbl + ": same summary as the text run (they differ "
                       "when the explanation depends on timing)", t_summary, j["summary"])
            for s in sc.why_has:
                expect(s in j["why"], lbl + ": why mentions %r" % s, j["why"])
            for s in sc.fix_has:
                expect(s in j["fix"], lbl + ": fix mentions %r" % s, j["fix"])
            for s in sc.summary_has:
                expect(s in j["summary"], lbl + ": summary mentions %r" % s, j["summary"])
            probs = [(p.get("cause"), p.get("severity")) for p in j["problems"]]
            if sc.one_error:
                expect([p for p in probs if p[1] == "fatal"] == [(cause, "fatal")], lbl + ": one fatal problem", probs)
            for k, v in sc.evidence_has.items():
                expect(j["evidence"].get(k) == v, lbl + ": evidence %s is %r" % (k, v), j["evidence"])
            for s in sc.err_lacks:
                expect(s not in j["why"] and s not in j["fix"] and s not in j["summary"], lbl + ": does not say %r" % s, j)
            for pc in sc.problems_has:
                expect(tuple(pc) in probs, lbl + ": problems hold %s" % (pc,), probs)
            if sc.max_seconds and not os.environ.get("SMQTT_WRAPPER"):
                expect(secs < sc.max_seconds, lbl + ": gave up in under %d s" % sc.max_seconds, secs)


def sub_side_by_side(lab, port, wait, extra=(), topic="lab/retry"):
    """smqtt_sub and mosquitto_sub started together against port; returns
    the two Popen objects (stdout and stderr piped)."""
    procs = []
    for exe in (binpath("smqtt_sub"), REF_SUB):
        argv = [exe, "-h", "127.0.0.1", "-p", str(port), "-t", topic, "-C", "1", "-W", str(wait)] + list(extra)
        wrapper = os.environ.get("SMQTT_WRAPPER")
        if wrapper and exe != REF_SUB:
            argv = wrapper.split() + argv
        procs.append(subprocess.Popen(argv, env=lab.env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, cwd=lab.tmp))
    return procs


def check_sub_retry_until_up(lab, stack):
    """HAProxy whose broker is down, then comes up: smqtt_sub and
    mosquitto_sub both keep retrying, then both receive the message; the
    same exit code and stdout. smqtt_sub explained the failure once and said
    once that it connected."""
    backend = free_port()
    wd = os.path.join(lab.tmp, "terminators")
    hap = stack(HAProxy(wd, "hap-retry", backend, os.path.join(wd, "server.pem"))).start()
    procs = sub_side_by_side(lab, hap.port, 40, ["--cafile", lab.f("good/ca.crt")])
    broker = None
    try:
        time.sleep(5)   # HAProxy closes after its connect retries (~3 s): at least one failed attempt each
        for p in procs:
            expect(p.poll() is None, "both subscribers still retrying after 5 s", p.args, p.poll())
        broker = stack(Mosquitto(os.path.join(lab.tmp, "backend"), "backend"))
        broker.listener("plain", ["allow_anonymous true"])
        broker.ports = {}
        # the port HAProxy forwards to
        broker._write_conf = _fixed_port_conf(broker, backend)
        broker.start()
        broker.wait_for_log(r"(?s)New client connected.*New client connected", 20)
        subprocess.run([REF_PUB, "-h", "127.0.0.1", "-p", str(backend), "-t", "lab/retry", "-m", "hello"],
                       check=True, timeout=10, capture_output=True)
        res = [p.communicate(timeout=20) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    (s_out, s_err), (r_out, r_err) = [(o.decode(errors="replace"), e.decode(errors="replace")) for o, e in res]
    expect(procs[0].returncode == procs[1].returncode == 0, "both exit 0", procs[0].returncode,
           procs[1].returncode, s_err, r_err)
    expect(s_out == r_out == "hello\n", "the same stdout", s_out, r_out)
    lines = s_err.splitlines()
    expect(s_err.count("\n  why: ") == 1 and lines[0].startswith("Error: "), "explained once", s_err)
    expect(len(lines) == 4 and re.match(r"smqtt_sub: connected to 127\.0\.0\.1:%d at attempt [2-9]" % hap.port, lines[3]),
           "then one line when connected", s_err)


def _fixed_port_conf(m, port):
    def write():
        out = ["user root", "persistence false", "log_dest file %s" % m.log_path, "log_type all",
               "connection_messages true", "listener %d 127.0.0.1" % port, "allow_anonymous true", ""]
        m.ports = {"plain": port}
        with open(m.conf_path, "w") as f:
            f.write("\n".join(out))
    return write


def check_sub_retry_timing(lab):
    """Against a peer that accepts and closes at once (as a broker at
    max_connections): both subscribers reconnect once a second until -W 5
    ends them with 255, printing nothing on stdout; the same number of
    connections, the same intervals."""
    lab.retry_counts = []
    for i, exe in enumerate((binpath("smqtt_sub"), REF_SUB)):
        with ClosingServer() as peer:
            argv = [exe, "-h", "127.0.0.1", "-p", str(peer.port), "-t", "lab/retry", "-W", "5"]
            rc, out, err, secs = lab.run(argv, timeout=20)
            accepts = list(peer.accepts)
        expect(rc == 255 and out == "", "%s: exit 255 and no stdout after -W 5" % exe, rc, out, err)
        expect(4.5 < secs < 7 or os.environ.get("SMQTT_WRAPPER"), "%s: -W 5 ends it after 5 s" % exe, secs)
        if i == 0:
            expect(err.count("\n  why: ") == 1 and "connected to" not in err, "smqtt_sub: one explanation", err)
        if i == 0 and len(accepts) > 1 and accepts[1] - accepts[0] < 0.5:
            del accepts[1]   # smqtt's post-mortem probe of the first failure (a TLS ClientHello), not a retry
        gaps = [b - a for a, b in zip(accepts, accepts[1:])]
        lab.retry_counts.append((len(accepts), gaps))
    (n_s, g_s), (n_r, g_r) = lab.retry_counts
    expect(n_r >= 4 and abs(n_s - n_r) <= 1, "as many connections (smqtt_sub, mosquitto_sub)", n_s, n_r)
    expect(all(0.9 < g < 1.6 for g in g_s), "smqtt_sub reconnects a second after each close", g_s, g_r)


def md(s):
    return (s or "").replace("|", "\\|")


def print_table(rows):
    print()
    print("| scenario | mosquitto_pub (first stderr line, exit) | smqtt_pub (first stderr line, exit) | cause |")
    print("|---|---|---|---|")
    for r in rows:
        print("| %s | %s | %s | %s |" % (md(r["name"]), md(r["ref"]), md(r["smqtt"]), md(r["cause"])))
    print()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", action="append", help="only scenarios whose name contains this")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--repeat", type=int, default=1, help="multiply the runs of timing-dependent scenarios")
    opts = ap.parse_args()
    scenarios = [s for s in SCENARIOS if not opts.k or any(k in s.name for k in opts.k)]
    if opts.list:
        for s in scenarios:
            print(s.name)
        return 0
    for exe in [binpath(t) for t in TOOLS] + [REF_PUB, MOSQUITTO_PASSWD]:
        if not os.access(exe, os.X_OK):
            print("FAIL setup: %s not found" % exe)
            print("0 passed, 1 failed")
            return 1
    terminate_on_sigterm()
    tmp = tempfile.mkdtemp(prefix="smqtt-explain-")
    lab = Lab(tmp, opts.repeat)
    peers = []
    passed = failed = 0

    def stack(p):
        peers.append(p)
        return p

    try:
        os.makedirs(os.path.join(tmp, "home"), exist_ok=True)
        subprocess.run(["bash", os.path.join(REPO, "tests", "lib", "scenarios.sh"), lab.lab],
                       check=True, timeout=300)
        start_peers(lab, stack)
        for sc in scenarios:
            if sc.needs and sc.needs in lab.missing:
                print("skip %s: %s" % (sc.name, lab.missing[sc.needs]))
                continue
            try:
                check_scenario(lab, sc)
                print("ok", sc.name)
                passed += 1
            except Exception as e:  # noqa: BLE001
                print("FAIL %s: %s" % (sc.name, e))
                if not isinstance(e, AssertionError):
                    traceback.print_exc()
                failed += 1
            sys.stdout.flush()
        extra = [("smqtt_sub retries once a second until -W, as mosquitto_sub", lambda: check_sub_retry_timing(lab))]
        if "haproxy" not in lab.missing:
            extra.append(("smqtt_sub retries until the broker behind HAProxy is up, as mosquitto_sub",
                          lambda: check_sub_retry_until_up(lab, stack)))
        else:
            print("skip smqtt_sub retries behind HAProxy: %s" % lab.missing["haproxy"])
        for name, fn in extra:
            if opts.k and not any(k in name for k in opts.k):
                continue
            try:
                fn()
                print("ok", name)
                passed += 1
            except Exception as e:  # noqa: BLE001
                print("FAIL %s: %s" % (name, e))
                if not isinstance(e, AssertionError):
                    traceback.print_exc()
                failed += 1
            sys.stdout.flush()
        if getattr(lab, "retry_counts", None) and len(lab.retry_counts) == 2:
            print("connections in -W 5 to a peer that closes at once: smqtt_sub %d (gaps %s), mosquitto_sub %d (gaps %s)"
                  % (lab.retry_counts[0][0], " ".join("%.2f" % g for g in lab.retry_counts[0][1]),
                     lab.retry_counts[1][0], " ".join("%.2f" % g for g in lab.retry_counts[1][1])))
        # the lab itself must have stayed up
        if not lab.m.alive() or not lab.req12.alive() or not lab.cipher12.alive():
            print("FAIL peers: a peer died during the run")
            failed += 1
        print_table(lab.rows)
    except Exception as e:  # noqa: BLE001
        print("FAIL setup: %s" % e)
        traceback.print_exc()
        failed += 1
    finally:
        h = getattr(lab, "holder", None)
        if h is not None:
            h.terminate()
            try:
                h.wait(timeout=5)
            except subprocess.TimeoutExpired:
                h.kill()
                h.wait(timeout=5)
        for p in reversed(peers):
            try:
                p.stop()
            except Exception:  # noqa: BLE001
                traceback.print_exc()
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
