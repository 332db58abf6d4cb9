#!/usr/bin/env python3
"""Differential integration tests: smqtt_pub/smqtt_sub vs mosquitto 2.0.11.

Every case in CASES is run twice against the same mosquitto broker: once
with the reference client (/usr/bin/mosquitto_pub or /usr/bin/mosquitto_sub)
and once with smqtt ($SMQTT_BIN_DIR/smqtt_pub or smqtt_sub, default
build/bin relative to the repository root). Exit code, stdout bytes and
stderr bytes must match, after "mosquitto_pub"/"mosquitto_sub" in the
reference's output is replaced by "smqtt_pub"/"smqtt_sub". Where a case
has helpers (retained messages set up first, a watching subscriber, live
messages published once the client under test has subscribed, a probe of
the retained messages left behind), what the helpers saw must match too.
The helpers are always the reference clients.

With --compat 2.1 the reference is mosquitto 2.1.2 (broker and clients,
built from tests/reference/ by tests/lib/mosq21.py), smqtt runs with
SMQTT_COMPAT=2.1, and the cases are CASES21: every 2.1 option and every row
of the table where 2.1 contradicts 2.0. The helpers stay Debian's 2.0.11
clients in both modes (2.1.2's mosquitto_pub -q 1 may exit before its
DISCONNECT). A case with log=True also compares what the broker logged of
the client (CONNECT flags, packets received), and files_out compares files
the client wrote, through a normaliser.

With --smqtt-locale zh_CN.UTF-8 (ctest differential_zh_CN) smqtt runs with
LANG=zh_CN.UTF-8 and LC_ALL unset, the references and helpers stay in the C
locale, and every comparison stays as it is: exit codes, stdout and every
message mosquitto words the same way must still match byte for byte. The
cases where smqtt explains a failure instead (expect_explained) then want
a translated "Error:" line; the markers "Error:", "  why: " and "  fix: "
are English in every locale, so they are checked as they are.

Usage:
  test_differential.py [-k SUBSTRING] [--list] [--self-check] [--compat 2.1]
                       [--smqtt-locale LOCALE] [-v]

  -k SUBSTRING   only run cases whose name contains SUBSTRING (repeatable)
  --list         list the case names and exit
  --self-check   run the reference client on both sides; must pass fully and
                 proves the harness is deterministic
  -v             print both sides' full results for failures

Output: one line per case, "ok NAME" or "FAIL NAME: ...", then
"N passed, N failed" (", N skipped" if any). Exit status 1 on any failure.

Python 3 standard library only.
"""

import argparse
import os
import re
import shlex
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.dont_write_bytecode = True   # keep tests/lib free of __pycache__
sys.path.insert(0, os.path.join(REPO, "tests", "lib"))

from broker import Broker, BrokerError, free_port  # noqa: E402
import mosq21  # noqa: E402

REF_BIN = {"pub": "/usr/bin/mosquitto_pub", "sub": "/usr/bin/mosquitto_sub"}
HELPER_BIN = dict(REF_BIN)   # the helpers: always Debian's 2.0.11 clients
REF_ENV = {}                 # extra environment of the reference side
SMQTT_ENV = {}               # extra environment of the smqtt side
SMQTT_LOCALE = None          # --smqtt-locale: LANG of the smqtt side (LC_ALL unset)
COMPAT = "2.0"
SMQTT_NAME = {"pub": "smqtt_pub", "sub": "smqtt_sub"}
PROC_TIMEOUT = 10.0        # seconds for any single client process
HELPER_TIMEOUT = 5.0       # seconds to wait for helpers / log lines
HOST = "127.0.0.1"
USER, PASSWORD = "alice", "secret"

BINARY_PAYLOAD = b"\x00\x01bin\xff\xfe\x00\n\x7f end"


def smqtt_bin(tool):
    d = os.environ.get("SMQTT_BIN_DIR") or "build/bin"
    if not os.path.isabs(d):
        d = os.path.join(REPO, d)
    return os.path.join(d, SMQTT_NAME[tool])


# ---------------------------------------------------------------------------
# Case table
# ---------------------------------------------------------------------------
#
# Fields of a case (see case() for defaults):
#   name         unique; {topic} is diff/<name>, {cid} is sq-<name>
#   tool         "pub" or "sub"
#   args         argv after the program name; str or bytes items; {key}
#                placeholders are replaced (see Runner.context)
#   stdin        bytes for the client's stdin (None: /dev/null)
#   env          extra environment; value None removes the variable. The
#                base environment has HOME={tmp}/home, no XDG_CONFIG_HOME,
#                LC_ALL=C and TZ=UTC.
#   files        {relative path under {tmp}: bytes} written before each side
#   retained     list of reference mosquitto_pub argvs run before each side
#                (host/port/-i added; "-r" is NOT added automatically)
#   watch        list of reference mosquitto_sub argvs started before the
#                client (host/port/-i added); their exit code and stdout are
#                compared too. Use -C so they terminate.
#   live         list of reference mosquitto_pub argvs run once the client
#                under test has subscribed (its args must contain -i {cid});
#                waits for live_wait in the broker log first
#   live_wait    regex, default "Sending SUBACK to {cid}$"
#   post_retained  topics whose retained messages are probed afterwards
#   clear        extra topics whose retained message is removed before each
#                side ({topic}, retained and post_retained topics always are)
#   mask         list of (regex, replacement) bytes applied to stdout and
#                stderr of both sides before comparing
#   known_difference  None, or why mosquitto 2.0.11 is wrong and what smqtt
#                does instead. Then only `expect` is checked (default: same
#                exit code as the reference and non-empty stderr). In
#                --self-check mode such cases are compared fully.
#   expect       callable(ref_result, test_result) -> list of problems
#   nondeterministic  None, or why the reference itself varies; then
#                `check` is applied to each side separately, in both modes
#   check        callable(result) -> list of problems
#   mode         "run" (default) or "closed_stdout"
#   selfcheck_skip  reason to skip the case in --self-check mode
#   timeout      per-process timeout (default PROC_TIMEOUT)
#   log          compare the broker's log of the client ({cid}): CONNECT
#                flags and the packets it received (needs -i {cid})
#   files_out    list of (relative path, normaliser(bytes) -> bytes): files
#                the client wrote, compared after the normaliser
#   pty          run the client with a pseudo-terminal as stdout

def case(name, tool, args, **kw):
    c = {
        "name": name, "tool": tool, "args": list(args),
        "stdin": None, "env": {}, "files": {}, "retained": [], "watch": [],
        "live": [], "live_wait": r"Sending SUBACK to {cid}$",
        "post_retained": [], "clear": [], "mask": [],
        "known_difference": None, "expect": None,
        "nondeterministic": None, "check": None,
        "mode": "run", "selfcheck_skip": None, "timeout": PROC_TIMEOUT,
        "log": False, "files_out": [], "pty": False,
    }
    for k in kw:
        if k not in c:
            raise KeyError("case %s: unknown field %s" % (name, k))
    c.update(kw)
    return c


CONN = ["-h", "{host}", "-p", "{port}"]          # plain listener
PUBC = CONN + ["-t", "{topic}", "-m", "hello"]      # a complete pub
SUBC = CONN + ["-t", "{topic}"]                     # a complete sub
W1 = ["-C", "1", "-v", "-t", "{topic}"]             # watcher: 1 message
TST_MASK = [(rb'("tst":\s*")[^"]*(")', rb"\1TST\2")]


def expect_help(ref, test):
    """--help/--version: smqtt prints its own text; exit 1, stdout set."""
    probs = []
    if test["rc"] != 1:
        probs.append("exit code %r, expected 1" % test["rc"])
    if not test["stdout"]:
        probs.append("stdout is empty")
    return probs


def expect_usage_error(ref, test):
    """pub without topic/message: same stderr, usage text on stdout."""
    probs = []
    if test["rc"] != ref["rc"]:
        probs.append("exit code %r, expected %r" % (test["rc"], ref["rc"]))
    if test["stderr"] != ref["stderr"]:
        probs.append("stderr %r, expected %r" % (test["stderr"], ref["stderr"]))
    if not test["stdout"]:
        probs.append("stdout (usage) is empty")
    return probs


def expect_exit(code, stdout=None, stderr=b"", helpers=True):
    def f(ref, test):
        probs = []
        if test["rc"] != code:
            probs.append("exit code %r, expected %r" % (test["rc"], code))
        if stdout is not None and test["stdout"] != stdout:
            probs.append("stdout %r, expected %r" % (test["stdout"], stdout))
        if stderr is not None and test["stderr"] != stderr:
            probs.append("stderr %r, expected %r" % (test["stderr"], stderr))
        if helpers:
            for k in ("watch", "post"):
                if test[k] != ref[k]:
                    probs.append("%s %r, expected %r" % (k, test[k], ref[k]))
        return probs
    return f


def expect_explained(code, first, ref_check=None):
    """smqtt explains a TLS failure: exit code, first line, why: and fix:."""
    def f(ref, test):
        probs = ["reference: " + p for p in (ref_check(ref) if ref_check else [])]
        want = ref["rc"] if code is None else code
        if test["rc"] != want:
            probs.append("exit code %r, expected %r" % (test["rc"], want))
        if SMQTT_LOCALE:
            # the explanation is translated; its markers are not
            line = test["stderr"].split(b"\n", 1)[0]
            if not line.startswith(b"Error: ") or line.isascii():
                probs.append("stderr %r does not start with a translated \"Error: \" line" % test["stderr"])
        elif not test["stderr"].startswith(first):
            probs.append("stderr %r does not start with %r" % (test["stderr"], first))
        for part in (b"\n  why: ", b"\n  fix: "):
            if part not in test["stderr"]:
                probs.append("stderr has no %r" % part)
        if test["stdout"] != ref["stdout"]:
            probs.append("stdout %r, expected %r" % (test["stdout"], ref["stdout"]))
        return probs
    return f


def check_tls_fail(res):
    """Failed TLS handshake: mosquitto reports it from connect() or later;
    mosquitto 2.0.21 (Debian 13) also as a protocol error (exit 14)."""
    probs = []
    ok = {(1, b"Unable to connect (A TLS error occurred.).\n"), (1, b"Error: A TLS error occurred.\n"),
          (8, b"Unable to connect (A TLS error occurred.).\n"), (8, b"Error: A TLS error occurred.\n"),
          (14, b"Error: Protocol error\n")}
    if (res["rc"], res["stderr"]) not in ok:
        probs.append("unexpected exit code/stderr %r %r" % (res["rc"], res["stderr"]))
    if res["stdout"]:
        probs.append("unexpected stdout %r" % res["stdout"])
    return probs


def check_tls_no_cert(res):
    """TLS listener requiring a client certificate, none given."""
    probs = []
    ok = {(1, b"Error: Protocol error\n"),
          (7, b"Error: The connection was lost.\n"),
          # mosquitto 2.0.21 (Debian 13), when connect() sees the alert
          (1, b"Unable to connect (A TLS error occurred.).\n")}
    if (res["rc"], res["stderr"]) not in ok:
        probs.append("unexpected exit code/stderr %r %r"
                     % (res["rc"], res["stderr"]))
    if res["stdout"]:
        probs.append("unexpected stdout %r" % res["stdout"])
    return probs


def build_cases():
    C = []
    add = C.append

    # ---- missing argument for every option that takes one -----------------
    common_opts = ["-A", "--cafile", "--capath", "--cert", "--ciphers", "-D",
                   "-h", "-i", "-I", "-k", "--key", "--keyform", "-L", "-M",
                   "-p", "-P", "--proxy", "--psk", "--psk-identity", "-q",
                   "-t", "--tls-alpn", "--tls-engine",
                   "--tls-engine-kpass-sha1", "--tls-version", "-u",
                   "--unix", "-V", "--will-payload", "--will-qos",
                   "--will-topic", "-x"]
    pub_opts = ["-f", "-m", "--repeat", "--repeat-delay"]
    sub_opts = ["-C", "-F", "-T", "-U", "-W", "--random-filter"]
    slug = lambda o: o.lstrip("-").replace("-", "_") or "dash"
    for o in common_opts + pub_opts:
        if o == "-t":
            pre = ["-m", "x"]
        elif o in ("-m", "-f"):
            pre = ["-t", "{topic}"]
        else:
            pre = ["-t", "{topic}", "-m", "x"]
        add(case("pub_noarg_" + slug(o), "pub", CONN + pre + [o]))
    for o in common_opts + sub_opts:
        pre = ["-t", "{topic}"] if o != "-t" else []
        add(case("sub_noarg_" + slug(o), "sub", CONN + pre + [o]))

    # ---- out-of-range / malformed numbers ----------------------------------
    bad_values = [
        ("q3", ["-q", "3"]), ("qneg", ["-q", "-1"]), ("k2", ["-k", "2"]),
        ("k70000", ["-k", "70000"]), ("kabc", ["-k", "abc"]),
        ("p70000", ["-p", "70000"]), ("pneg", ["-p", "-1"]),
        ("M0", ["-M", "0"]), ("will_qos5", ["--will-qos", "5"]),
        ("V4", ["-V", "4"]), ("Vmqttv4", ["-V", "mqttv4"]),
        ("x_abc", ["-x", "abc"]), ("x_12abc", ["-x", "12abc"]),
        ("x_empty", ["-x", ""]), ("x_2pow32", ["-x", "4294967296"]),
        ("x_neg2", ["-x", "-2"]), ("x_float", ["-x", "1.5"]),
    ]
    for n, a in bad_values:
        add(case("pub_badval_" + n, "pub", PUBC + a))
    for n, a in [("q3", ["-q", "3"]), ("k70000", ["-k", "70000"]),
                 ("C0", ["-C", "0"]), ("Cneg", ["-C", "-5"]),
                 ("W0", ["-W", "0"]),
                 ("random_filter0", ["--random-filter", "0"]),
                 ("random_filter_tiny", ["--random-filter", "0.05"]),
                 ("random_filter_2000", ["--random-filter", "2000"]),
                 ("V4", ["-V", "4"]), ("x_abc", ["-x", "abc"])]:
        add(case("sub_badval_" + n, "sub", SUBC + a))
    add(case("sub_badval_Wabc", "sub", SUBC + ["-W", "abc"],
             known_difference="mosquitto 2.0.11 parses numbers with atoi() and "
             "so reports 'Invalid timeout \"0\"' for -W abc; smqtt parses "
             "numbers strictly and names the value that was given",
             expect=expect_exit(1, stdout=b"", stderr=b'Error: Invalid timeout "abc".\n\n'
                                b"\nUse 'smqtt_sub --help' to see usage.\n")))
    add(case("pub_badval_repeat0", "pub", PUBC + ["--repeat", "0"]))
    add(case("pub_badval_repeat_delay_neg", "pub",
             PUBC + ["--repeat-delay", "-1"]))
    add(case("pub_badval_quiet_still_reports", "pub",
             PUBC + ["--quiet", "-q", "3"]))

    # ---- unknown options, options of the other tool -------------------------
    add(case("pub_v_is_trace", "pub", PUBC + ["-v"],
             known_difference="mosquitto_pub has no -v and rejects it; smqtt_pub -v "
             "prints the connection trace on stderr (issue #7) and publishes",
             expect=lambda ref, test: [] if (test["rc"] == 0 and test["stdout"] == b""
                 and b"smqtt_pub: " in test["stderr"]) else
                 ["expected exit 0, empty stdout and a trace on stderr, got %r" % (test,)]))
    for n, a in [("bogus", ["--bogus"]), ("C", ["-C", "3"]),
                 ("F", ["-F", "%p"]), ("N", ["-N"]), ("R", ["-R"]),
                 ("E", ["-E"]), ("T", ["-T", "a"]), ("U", ["-U", "a"]),
                 ("W", ["-W", "1"]), ("retained_only", ["--retained-only"]),
                 ("pretty", ["--pretty"]), ("e_rr_only", ["-e", "resp"]),
                 ("single_dash", ["-"]), ("positional", ["extra"])]:
        add(case("pub_unknown_" + n, "pub", PUBC + a))
    for n, a in [("bogus", ["--bogus"]), ("m", ["-m", "x"]), ("n", ["-n"]),
                 ("f", ["-f", "x"]), ("l", ["-l"]), ("s", ["-s"]),
                 ("r", ["-r"]), ("repeat", ["--repeat", "2"]),
                 ("repeat_delay", ["--repeat-delay", "1"]),
                 ("positional", ["extra"])]:
        add(case("sub_unknown_" + n, "sub", SUBC + a))

    # ---- option combinations ------------------------------------------------
    add(case("pub_i_then_I", "pub", PUBC + ["-i", "a", "-I", "b"]))
    add(case("pub_I_then_i", "pub", PUBC + ["-I", "b", "-i", "a"]))
    add(case("sub_i_then_I", "sub", SUBC + ["-i", "a", "-I", "b"]))
    for n, a in [("m_n", ["-m", "x", "-n"]), ("n_l", ["-n", "-l"]),
                 ("s_m", ["-s", "-m", "x"]), ("f_m", ["-f", "/x", "-m", "x"]),
                 ("l_s", ["-l", "-s"]), ("m_m", ["-m", "a", "-m", "b"])]:
        add(case("pub_two_sources_" + n, "pub", CONN + ["-t", "{topic}"] + a))
    add(case("pub_will_payload_no_topic", "pub",
             PUBC + ["--will-payload", "bye"]))
    add(case("pub_will_retain_no_topic", "pub", PUBC + ["--will-retain"]))
    add(case("sub_will_payload_no_topic", "sub",
             SUBC + ["--will-payload", "bye"]))
    add(case("pub_cert_no_key", "pub",
             PUBC + ["--cafile", "{cafile}", "--cert", "{certfile}"]))
    add(case("pub_key_no_cert", "pub",
             PUBC + ["--cafile", "{cafile}", "--key", "{keyfile}"]))
    add(case("pub_keyform_no_key", "pub", PUBC + ["--keyform", "pem"]))
    add(case("pub_psk_no_identity", "pub", PUBC + ["--psk", "deadbeef"]))
    add(case("pub_psk_and_cafile", "pub",
             PUBC + ["--psk", "deadbeef", "--psk-identity", "me",
                     "--cafile", "{cafile}"]))
    add(case("pub_c_without_i", "pub", PUBC + ["-c"]))
    add(case("pub_c_with_I", "pub", PUBC + ["-c", "-I", "pfx"]))
    add(case("sub_c_without_i", "sub", SUBC + ["-c"]))
    add(case("pub_x_infinite_no_id_v5", "pub",
             PUBC + ["-V", "mqttv5", "-x", "∞".encode()]))
    add(case("pub_x_minus1_no_id_v5", "pub",
             PUBC + ["-V", "5", "-x", "-1"]))
    add(case("pub_c_no_id_v5", "pub", PUBC + ["-V", "5", "-c"]))
    add(case("sub_no_topic", "sub", CONN + ["-v"]))
    add(case("sub_no_args", "sub", []))
    add(case("pub_no_topic", "pub", CONN + ["-m", "x"],
             known_difference="usage text is generated from smqtt's option "
             "table; only stderr and exit code must match, stdout must "
             "carry the usage text", expect=expect_usage_error))
    add(case("pub_no_message", "pub", CONN + ["-t", "{topic}"],
             known_difference="usage text differs (see pub_no_topic)",
             expect=expect_usage_error))
    add(case("sub_R_and_retained_only", "sub",
             SUBC + ["-R", "--retained-only"]))

    # ---- topic validation ---------------------------------------------------
    add(case("pub_topic_plus", "pub", CONN + ["-t", "a/+", "-m", "x"]))
    add(case("pub_topic_hash", "pub", CONN + ["-t", "a/#", "-m", "x"]))
    add(case("sub_topic_bad_hash", "sub", CONN + ["-t", "a/#/b"]))
    add(case("sub_topic_bad_plus", "sub", CONN + ["-t", "a+/b"]))
    add(case("pub_topic_bad_utf8", "pub",
             CONN + ["-t", b"diff/\xff", "-m", "x"]))
    add(case("pub_topic_overlong_utf8", "pub",
             CONN + ["-t", b"diff/\xc0\xaf", "-m", "x"]))
    add(case("sub_topic_bad_utf8", "sub", CONN + ["-t", b"a/\xfe"]))
    add(case("sub_T_bad", "sub", SUBC + ["-T", "a/#/b"]))
    add(case("sub_T_bad_utf8", "sub", SUBC + ["-T", b"\xff"]))
    add(case("sub_U_bad", "sub", SUBC + ["-U", "a/#/b"]))
    add(case("sub_U_bad_utf8", "sub", SUBC + ["-U", b"\xc3"]))
    add(case("pub_will_topic_bad", "pub", PUBC + ["--will-topic", "w/#"]))
    add(case("pub_will_topic_bad_utf8", "pub",
             PUBC + ["--will-topic", b"w/\xc3("]))

    # ---- -F format errors ---------------------------------------------------
    for n, f in [("pct", "%"), ("pct_z", "%z"), ("backslash", "\\"),
                 ("esc_q", r"\q"), ("pct_dash", "%-"), ("pct_5", "%5"),
                 ("pct_dot", "%."), ("pct_0", "%0"), ("pct_dot3", "%.3"),
                 ("at_end", "x@"), ("pct_y_mid", "a %y b")]:
        add(case("sub_F_err_" + n, "sub", SUBC + ["-F", f]))

    # ---- -D / --property errors ----------------------------------------------
    for n, a in [
            ("bad_command", ["-D", "foo", "content-type", "x"]),
            ("bad_property", ["-D", "publish", "foo", "x"]),
            ("not_allowed", ["-D", "connect", "content-type", "x"]),
            ("not_enough_1", ["-D", "publish"]),
            ("not_enough_2", ["-D", "publish", "content-type"]),
            ("user_prop_not_enough", ["-D", "publish", "user-property", "k"]),
            ("int32_neg", ["-D", "publish", "message-expiry-interval", "-1"]),
            ("int32_big", ["-D", "publish", "message-expiry-interval",
                           "4294967296"]),
            ("byte_range", ["-D", "publish", "payload-format-indicator", "256"]),
            ("int16_range", ["-D", "publish", "topic-alias", "70000"]),
            ("sub_id_on_publish", ["-D", "publish", "subscription-identifier",
                                   "1"]),
            ("auth", ["-D", "auth", "authentication-method", "x"]),
            ("puback", ["-D", "puback", "reason-string", "x"]),
            ("subscribe_content_type", ["-D", "subscribe", "content-type", "x"]),
            ("connect_recv_max_0", ["-D", "connect", "receive-maximum", "0"]),
            ("duplicate", ["-D", "publish", "content-type", "a",
                           "--property", "publish", "content-type", "b"]),
            ("topic_alias_0", ["-D", "publish", "topic-alias", "0"])]:
        add(case("pub_D_err_" + n, "pub", PUBC + a))
    add(case("sub_D_err_subscribe_prop", "sub",
             SUBC + ["-D", "subscribe", "user-property"]))
    add(case("sub_D_err_will_range", "sub",
             SUBC + ["-D", "will", "payload-format-indicator", "300"]))

    # ---- -L URL parsing -------------------------------------------------------
    add(case("pub_L_bad_scheme", "pub",
             ["-L", "http://{host}:{port}/{topic}", "-m", "x"]))
    add(case("pub_L_no_topic", "pub", ["-L", "mqtt://{host}:{port}", "-m", "x"]))
    add(case("pub_L_bad_topic", "pub",
             ["-L", "mqtt://{host}:{port}/a/+", "-m", "x"]))
    add(case("sub_L_bad_topic", "sub", ["-L", "mqtt://{host}:{port}/a/#/b"]))
    add(case("pub_L_userpass", "pub",
             ["-L", "mqtt://alice:secret@{host}:{auth_port}/{topic}",
              "-m", "via url"], watch=[W1]))
    add(case("pub_L_user_no_password", "pub",
             ["-L", "mqtt://alice@{host}:{auth_port}/{topic}", "-m", "x"]))
    add(case("pub_L_port_overridden", "pub",
             ["-L", "MQTT://{host}/{topic}", "-p", "{port}", "-m", "url2"],
             watch=[W1]))
    add(case("sub_L_retained", "sub",
             ["-L", "mqtt://{host}:{port}/{topic}", "-C", "1", "-v"],
             retained=[["-t", "{topic}", "-m", "kept", "-r"]]))

    # ---- pub message sources, verified by a watcher ---------------------------
    add(case("pub_m", "pub", PUBC[:-1] + ["hello world"], watch=[W1]))
    add(case("pub_m_empty", "pub", CONN + ["-t", "{topic}", "-m", ""],
             watch=[W1]))
    add(case("pub_n", "pub", CONN + ["-t", "{topic}", "-n"], watch=[W1]))
    add(case("pub_f_text", "pub", CONN + ["-t", "{topic}", "-f", "{tmp}/msg"],
             files={"msg": b"file payload\nline2\n"}, watch=[W1]))
    add(case("pub_f_empty", "pub", CONN + ["-t", "{topic}", "-f", "{tmp}/e"],
             files={"e": b""}, watch=[W1]))
    add(case("pub_f_binary", "pub",
             CONN + ["-t", "{topic}", "-f", "{tmp}/bin"],
             files={"bin": BINARY_PAYLOAD},
             watch=[["-C", "1", "-t", "{topic}", "-F", "%l %x"]]))
    add(case("pub_f_missing_file", "pub",
             CONN + ["-t", "{topic}", "-f", "{tmp}/does-not-exist"]))
    add(case("pub_f_directory", "pub",
             CONN + ["-t", "{topic}", "-f", "{tmp}"]))
    add(case("pub_s_stdin", "pub", CONN + ["-t", "{topic}", "-s"],
             stdin=b"all of\nstdin\x00 as one\n", watch=[
                 ["-C", "1", "-t", "{topic}", "-F", "%l %x"]]))
    add(case("pub_s_empty_stdin", "pub", CONN + ["-t", "{topic}", "-s"],
             stdin=b""))
    add(case("pub_l_lines", "pub", CONN + ["-t", "{topic}", "-l"],
             stdin=b"one\ntwo\n\nlast-unterminated",
             watch=[["-C", "4", "-v", "-t", "{topic}"]]))
    add(case("pub_l_long_line", "pub", CONN + ["-t", "{topic}", "-l", "-q", "1"],
             stdin=b"A" * 3000 + b"\nshort\n",
             watch=[["-C", "2", "-t", "{topic}", "-F", "%l"]]))
    add(case("pub_l_empty_stdin", "pub", CONN + ["-t", "{topic}", "-l"],
             stdin=b""))
    add(case("pub_repeat", "pub",
             PUBC + ["--repeat", "3", "--repeat-delay", "0.1"],
             watch=[["-C", "3", "-v", "-t", "{topic}"]]))
    add(case("pub_repeat_q1_n", "pub",
             CONN + ["-t", "{topic}", "-n", "-q", "1", "--repeat", "2"],
             watch=[["-C", "2", "-v", "-t", "{topic}"]]))
    add(case("pub_retain", "pub", PUBC + ["-r", "-i", "{cid}"], watch=[W1],
             post_retained=["{topic}"]))
    for q in ("0", "1", "2"):
        add(case("pub_qos" + q, "pub", PUBC + ["-q", q, "-i", "{cid}", "-d"],
                 watch=[["-C", "1", "-q", "2", "-t", "{topic}",
                         "-F", "%q %p"]]))
    add(case("pub_will", "pub",
             PUBC + ["--will-topic", "{topic}/will", "--will-payload", "bye",
                     "--will-qos", "1", "--will-retain", "-i", "{cid}"],
             watch=[W1], post_retained=["{topic}/will"]))
    for v in ("mqttv31", "mqttv311", "mqttv5", "31", "5"):
        add(case("pub_V_" + v, "pub", PUBC + ["-V", v, "-i", "{cid}", "-d"],
                 watch=[W1]))
    add(case("pub_debug_no_id", "pub", PUBC + ["-d"], watch=[W1]))
    add(case("pub_misc_valid_opts", "pub",
             PUBC + ["-k", "5", "-M", "1", "--nodelay", "-A", "127.0.0.1",
                     "-I", "pfx-", "-q", "1"], watch=[W1]))
    add(case("pub_k_max", "pub", PUBC + ["-k", "65535"], watch=[W1]))
    add(case("pub_port_trailing_garbage", "pub",
             ["-h", "{host}", "-p", "{port}abc", "-t", "{topic}", "-m", "atoi"],
             known_difference="mosquitto 2.0.11 reads -p with atoi() and "
             "silently ignores trailing junk ('-p 1883abc' connects to 1883); "
             "smqtt rejects the value and names it",
             expect=lambda ref, test: [] if (test["rc"] == 1 and
                 test["stderr"].startswith(b"Error: Invalid port given: ")
                 and b"abc" in test["stderr"]) else
                 ["expected exit 1 and 'Invalid port given: ...abc', got %r" % (test,)]))
    add(case("pub_two_topics_last_wins", "pub",
             CONN + ["-t", "{topic}/other", "-t", "{topic}", "-m", "last"],
             watch=[W1]))
    add(case("pub_c_with_id", "pub", PUBC + ["-c", "-i", "{cid}"], watch=[W1]))
    add(case("pub_x_v5_with_id", "pub",
             PUBC + ["-V", "5", "-x", "∞".encode(), "-i", "{cid}"],
             watch=[W1]))
    add(case("pub_x_v311_ignored", "pub", PUBC + ["-x", "∞".encode()],
             watch=[W1]))
    add(case("pub_D_props", "pub",
             PUBC + ["-D", "publish", "user-property", "k1", "v1",
                     "-D", "publish", "user-property", "k2", "v 2",
                     "-D", "publish", "content-type", "text/plain",
                     "-D", "publish", "response-topic", "{topic}/resp",
                     "-D", "publish", "correlation-data", "corr",
                     "-D", "publish", "payload-format-indicator", "1",
                     "-D", "connect", "session-expiry-interval", "0",
                     "-D", "disconnect", "reason-string", "bye",
                     "-D", "will", "content-type", "w"],
             watch=[["-C", "1", "-V", "5", "-t", "{topic}", "-F",
                     "%P|%C|%R|%D|%F|%p"]]))
    add(case("pub_D_topic_alias_repeat", "pub",
             PUBC + ["-D", "publish", "topic-alias", "1", "--repeat", "2",
                     "-q", "1"],
             watch=[["-C", "2", "-v", "-t", "{topic}"]]))

    # ---- sub output modes on retained messages -----------------------------
    R = lambda payload, *extra: [["-t", "{topic}", "-m", payload, "-r"]
                                 + list(extra)]
    SUB1 = SUBC + ["-C", "1"]
    add(case("sub_default", "sub", SUB1, retained=R("hello")))
    add(case("sub_v", "sub", SUB1 + ["-v"], retained=R("hello")))
    add(case("sub_N", "sub", SUB1 + ["-N"], retained=R("hello")))
    add(case("sub_v_N", "sub", SUB1 + ["-v", "-N"], retained=R("hello")))
    add(case("sub_binary", "sub", SUB1 + ["-v"],
             files={"bin": BINARY_PAYLOAD},
             retained=[["-t", "{topic}", "-f", "{tmp}/bin", "-r"]]))
    add(case("sub_binary_hex", "sub", SUB1 + ["-F", "%x|%X|%l"],
             files={"bin": BINARY_PAYLOAD},
             retained=[["-t", "{topic}", "-f", "{tmp}/bin", "-r"]]))
    add(case("sub_F_j_binary", "sub", SUB1 + ["-F", "%j"],
             files={"bin": BINARY_PAYLOAD}, mask=TST_MASK,
             retained=[["-t", "{topic}", "-f", "{tmp}/bin", "-r"]]))
    add(case("sub_F_J_binary", "sub", SUB1 + ["-F", "%J|%l"],
             files={"bin": BINARY_PAYLOAD}, mask=TST_MASK,
             retained=[["-t", "{topic}", "-f", "{tmp}/bin", "-r"]]))
    add(case("sub_random_filter_100", "sub",
             CONN + ["-t", "{topic}/#", "-C", "5", "-v",
                     "--random-filter", "100"],
             retained=[["-t", "{topic}/%d" % i, "-m", str(i), "-r"]
                       for i in range(1, 6)],
             known_difference="mosquitto_sub 2.0.11 scales the chance by 10 "
             "instead of 100 (random_filter = 10*chance, compared against "
             "random()%10000), so --random-filter 100 prints only ~10% of "
             "the messages; smqtt prints all of them as documented",
             expect=expect_exit(0, stdout=b"".join(
                 b"diff/sub_random_filter_100/%d %d\n" % (i, i)
                 for i in range(1, 6))),
             selfcheck_skip="mosquitto_sub 2.0.11 output is random here"))
    add(case("sub_C2_wildcard", "sub",
             CONN + ["-t", "{topic}/#", "-C", "2", "-v"],
             retained=[["-t", "{topic}/a", "-m", "A", "-r"],
                       ["-t", "{topic}/b", "-m", "B", "-r"]]))
    add(case("sub_multi_t", "sub",
             CONN + ["-t", "{topic}/a", "-t", "{topic}/b", "-C", "2", "-v"],
             retained=[["-t", "{topic}/a", "-m", "A", "-r"],
                       ["-t", "{topic}/b", "-m", "B", "-r"]]))
    add(case("sub_T_filter", "sub",
             CONN + ["-t", "{topic}/#", "-T", "{topic}/a", "-C", "1", "-v"],
             retained=[["-t", "{topic}/a", "-m", "A", "-r"],
                       ["-t", "{topic}/b", "-m", "B", "-r"]]))
    add(case("sub_q1_mid", "sub", SUB1 + ["-q", "1", "-F", "%q %m %r %p"],
             retained=R("q1", "-q", "1")))
    add(case("sub_q2_json", "sub", SUB1 + ["-q", "2", "-F", "%j"],
             retained=R("q2", "-q", "2"), mask=TST_MASK))
    for n, f in [
            ("pct_lit", "%%|%t|%p|%l|%q|%r|%m"),
            ("hex", "%x %X"),
            ("width_t", "[%30t][%5t]"), ("left_t", "[%-30t|]"),
            ("zero_l", "%05l|%-5l|%-05l|%5l"), ("prec_t", "%.3t|%5.2t|%-5.2t|"),
            ("width_p", "%-20.5p|%20p|%3p|"), ("width_x", "%10x|%-12X|%4x|"),
            ("width_misc", "%5q|%5r|%08m|%-3m|"),
            ("escapes", r"\\|\0|\a|\e|\n|\r|\t|\v|end"),
            ("at_at", "@@ literal @@@@"),
            ("plain_text", "no specifiers at all"),
            ("props_absent", "A=%A|C=%C|D=%D|E=%E|F=%F|P=%P|R=%R|S=%S|"),
            ("props_absent_width", "%5A|%5C|%5E|%5F|%5S|%05A|"),
            ("j", "%j"), ("J_invalid", "%J")]:
        add(case("sub_F_" + n, "sub", SUB1 + ["-F", f],
                 retained=R("payload-123"),
                 mask=TST_MASK if "j" in n.lower() else []))
    add(case("sub_F_J_valid", "sub", SUB1 + ["-F", "%J"],
             retained=R('{"a":[1,2,{"b":null}],"s":"x"}'), mask=TST_MASK))
    add(case("sub_F_j_escaping", "sub", SUB1 + ["-F", "%j"],
             retained=R('quote " backslash \\ tab \t nl \n ctl \x01 é'),
             mask=TST_MASK))
    add(case("sub_F_J_pretty", "sub", SUB1 + ["-F", "%J", "--pretty"],
             retained=R('{"a":1,"b":[true,false]}'), mask=TST_MASK))
    add(case("sub_F_j_pretty", "sub", SUB1 + ["-F", "%j", "--pretty"],
             retained=R("text"), mask=TST_MASK))
    add(case("sub_F_N", "sub", SUB1 + ["-F", "%t=%p", "-N"],
             retained=R("nol")))
    add(case("sub_F_v_ignored", "sub", SUB1 + ["-F", "<%p>", "-v"],
             retained=R("fmt")))
    add(case("sub_F_time", "sub",
             SUB1 + ["-F", "I=%I U=%U Y=@Y N=@N H=@H:@M:@S d=@d z=@z @@"],
             retained=R("t"),
             mask=[(rb"I=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}", b"I=ISO"),
                   (rb"U=\d+\.\d{9}", b"U=UNIX"), (rb"Y=\d{4}", b"Y=YEAR"),
                   (rb"N=\d{9}", b"N=NS"), (rb"H=\d\d:\d\d:\d\d", b"H=HMS"),
                   (rb"d=\d\d", b"d=DAY")]))
    add(case("sub_F_time_width", "sub",
             SUB1 + ["-F", "[%30I][%-30I][%.4I]"], retained=R("t"),
             mask=[(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}", b"ISO"),
                   (rb"\[\d{4}\]", b"[YEAR]")]))
    V5PROPS = ["-V", "5",
               "-D", "publish", "user-property", "k1", "v1",
               "-D", "publish", "user-property", "k2", "v2",
               "-D", "publish", "content-type", "text/plain",
               "-D", "publish", "response-topic", "resp/topic",
               "-D", "publish", "correlation-data", "corr-data",
               "-D", "publish", "payload-format-indicator", "1",
               "-D", "publish", "message-expiry-interval", "3600"]
    add(case("sub_F_v5_props", "sub",
             SUB1 + ["-V", "5", "-F",
                     "A=%A|C=%C|D=%D|E=%E|F=%F|P=%P|R=%R|S=%S|p=%p"],
             retained=R("props", *V5PROPS),
             mask=[(rb"E=\d+", b"E=EXP")]))
    add(case("sub_F_v5_props_width", "sub",
             SUB1 + ["-V", "5", "-F",
                     "[%12C][%-12C][%.4C][%14R][%-3F][%03F][%-8.3R]"],
             retained=R("props", *V5PROPS)))
    add(case("sub_F_v5_json_props", "sub",
             SUB1 + ["-V", "5", "-F", "%j"],
             retained=R("props", *V5PROPS),
             mask=TST_MASK + [(rb'"message-expiry-interval":\d+',
                               b'"message-expiry-interval":EXP')]))
    add(case("sub_F_v5_json_pretty_props", "sub",
             SUB1 + ["-V", "5", "-F", "%J", "--pretty"],
             retained=R('{"x":1}', *V5PROPS),
             mask=TST_MASK + [(rb'("message-expiry-interval":\s*)\d+',
                               rb"\1EXP")]))
    add(case("sub_F_sub_identifier", "sub",
             SUB1 + ["-D", "subscribe", "subscription-identifier", "42",
                     "-F", "S=%S|%5S|%-5S|%05S|"],
             retained=R("sid")))
    add(case("sub_v5_v", "sub", SUB1 + ["-V", "mqttv5", "-v"],
             retained=R("five", *V5PROPS)))

    # ---- sub behaviours needing live messages ------------------------------
    SUBL = CONN + ["-i", "{cid}", "-t", "{topic}"]
    add(case("sub_empty_payload_v", "sub", SUBL + ["-C", "1", "-v"],
             live=[["-t", "{topic}", "-n"]]))
    add(case("sub_empty_payload_default", "sub", SUBL + ["-C", "2"],
             live=[["-t", "{topic}", "-n"], ["-t", "{topic}", "-m", "x"]]))
    add(case("sub_empty_payload_v_N", "sub", SUBL + ["-C", "2", "-v", "-N"],
             live=[["-t", "{topic}", "-n"], ["-t", "{topic}", "-m", "x"]]))
    add(case("sub_empty_payload_F", "sub",
             SUBL + ["-C", "1", "-F", "[%p][%l][%x][%10p]"],
             live=[["-t", "{topic}", "-n"]]))
    add(case("sub_F_J_empty_payload", "sub", SUBL + ["-C", "1", "-F", "%J"],
             live=[["-t", "{topic}", "-n"]], mask=TST_MASK))
    add(case("sub_R_ignores_retained", "sub", SUBL + ["-R", "-C", "1", "-v"],
             retained=R("old"), live=[["-t", "{topic}", "-m", "new"]]))
    add(case("sub_retained_only", "sub", SUBL + ["--retained-only", "-v"],
             retained=R("old"), live=[["-t", "{topic}", "-m", "new"]]))
    add(case("sub_U_unsubscribe", "sub",
             CONN + ["-i", "{cid}", "-t", "{topic}/a", "-t", "{topic}/b",
                     "-U", "{topic}/a", "-C", "1", "-v"],
             live_wait=r"Sending UNSUBACK to {cid}$",
             live=[["-t", "{topic}/a", "-m", "A"],
                   ["-t", "{topic}/b", "-m", "B"]]))
    add(case("sub_E_exit_after_sub", "sub", SUBC + ["-E"]))
    add(case("sub_E_debug", "sub", SUBC + ["-E", "-d", "-i", "{cid}"]))
    add(case("sub_W_timeout", "sub", SUBC + ["-W", "1"]))
    add(case("sub_W_timeout_after_message", "sub", SUBC + ["-W", "1", "-v"],
             retained=R("before timeout")))
    add(case("sub_remove_retained_W", "sub",
             SUBC + ["--remove-retained", "-W", "1", "-v", "-i", "{cid}"],
             retained=R("to be removed"), post_retained=["{topic}"]))
    add(case("sub_remove_retained_T", "sub",
             CONN + ["-t", "{topic}/#", "--remove-retained", "-T",
                     "{topic}/keep", "-W", "1", "-v", "-i", "{cid}"],
             retained=[["-t", "{topic}/keep", "-m", "K", "-r"],
                       ["-t", "{topic}/drop", "-m", "D", "-r"]],
             post_retained=["{topic}/#"]))
    add(case("sub_remove_retained_C1", "sub",
             SUBC + ["--remove-retained", "-C", "1", "-v", "-i", "{cid}"],
             retained=R("to be removed"), post_retained=["{topic}"],
             known_difference="mosquitto_sub 2.0.11 never disconnects after "
             "-C is reached when --remove-retained has a publish in flight "
             "(it has no publish callback) and hangs; smqtt prints the "
             "message, removes it and exits 0",
             expect=expect_exit(0, stdout=b"diff/sub_remove_retained_C1 "
                                b"to be removed\n"),
             selfcheck_skip="mosquitto_sub 2.0.11 hangs here"))
    add(case("sub_will_on_timeout_v5", "sub",
             SUBC + ["-V", "5", "-W", "1", "--will-topic", "{topic}/will",
                     "--will-payload", "gone"],
             watch=[["-C", "1", "-v", "-t", "{topic}/will"]]))
    add(case("sub_debug_retained", "sub", SUB1 + ["-d", "-i", "{cid}"],
             retained=R("dbg")))
    add(case("sub_debug_q1", "sub", SUB1 + ["-d", "-q", "1", "-i", "{cid}"],
             retained=R("dbg", "-q", "2")))
    add(case("sub_closed_stdout", "sub", SUBL + ["-v"],
             retained=R("first"), mode="closed_stdout"))
    add(case("sub_closed_stdout_F", "sub", SUBL + ["-F", "%t %p"],
             retained=R("first"), mode="closed_stdout"))

    # ---- authentication -------------------------------------------------------
    AUTH = ["-h", "{host}", "-p", "{auth_port}"]
    add(case("pub_auth_ok", "pub",
             AUTH + ["-t", "{topic}", "-m", "authed", "-u", "alice",
                     "-P", "secret"], watch=[W1]))
    for v in ("mqttv311", "mqttv5", "mqttv31"):
        add(case("pub_auth_wrong_pw_" + v, "pub",
                 AUTH + ["-t", "{topic}", "-m", "x", "-u", "alice",
                         "-P", "wrong", "-V", v]))
        add(case("pub_auth_no_pw_" + v, "pub",
                 AUTH + ["-t", "{topic}", "-m", "x", "-V", v]))
        add(case("sub_auth_wrong_pw_" + v, "sub",
                 AUTH + ["-t", "{topic}", "-u", "alice", "-P", "wrong",
                         "-V", v]))
    add(case("sub_auth_ok", "sub",
             AUTH + ["-t", "{topic}", "-u", "alice", "-P", "secret", "-C", "1",
                     "-v"], retained=R("for alice")))
    add(case("sub_auth_no_user_v5", "sub",
             AUTH + ["-t", "{topic}", "-V", "5"]))
    add(case("pub_auth_wrong_pw_quiet", "pub",
             AUTH + ["-t", "{topic}", "-m", "x", "-u", "alice", "-P", "wrong",
                     "--quiet"]))
    add(case("pub_auth_wrong_pw_debug", "pub",
             AUTH + ["-t", "{topic}", "-m", "x", "-u", "alice", "-P", "wrong",
                     "-d", "-i", "{cid}"]))

    # ---- connection failures ------------------------------------------------
    add(case("pub_conn_refused", "pub",
             ["-h", "{host}", "-p", "{closed_port}", "-t", "{topic}",
              "-m", "x"]))
    add(case("sub_conn_refused", "sub",
             ["-h", "{host}", "-p", "{closed_port}", "-t", "{topic}"]))
    add(case("pub_conn_refused_quiet", "pub",
             ["-h", "{host}", "-p", "{closed_port}", "-t", "{topic}",
              "-m", "x", "--quiet"]))
    add(case("pub_unix_missing_socket", "pub",
             ["--unix", "{tmp}/nonexistent.sock", "-t", "{topic}", "-m", "x"]))

    # ---- unix socket ----------------------------------------------------------
    add(case("pub_unix", "pub",
             ["--unix", "{unix}", "-t", "{topic}", "-m", "over unix"],
             watch=[W1]))
    add(case("sub_unix", "sub",
             ["--unix", "{unix}", "-t", "{topic}", "-C", "1", "-v"],
             retained=R("unix retained")))

    # ---- TLS -----------------------------------------------------------------
    TLS = ["-h", "{host}", "-p", "{tls_port}", "--cafile", "{cafile}"]
    add(case("pub_tls", "pub", TLS + ["-t", "{topic}", "-m", "tls"],
             watch=[W1]))
    add(case("pub_tls_localhost", "pub",
             ["-h", "localhost", "-p", "{tls_port}", "--cafile", "{cafile}",
              "-t", "{topic}", "-m", "tls-localhost"], watch=[W1]))
    add(case("sub_tls", "sub", TLS + ["-t", "{topic}", "-C", "1", "-v"],
             retained=R("tls retained")))
    add(case("pub_tls_client_cert", "pub",
             ["-h", "{host}", "-p", "{tls_req_port}", "--cafile", "{cafile}",
              "--cert", "{certfile}", "--key", "{keyfile}",
              "-t", "{topic}", "-m", "mutual"], watch=[W1]))
    for t in ("pub", "sub"):
        add(case(t + "_tls_cert_required", t,
                 ["-h", "{host}", "-p", "{tls_req_port}", "--cafile",
                  "{cafile}", "-t", "{topic}"]
                 + (["-m", "x"] if t == "pub" else []),
                 nondeterministic="when the broker rejects the handshake "
                 "for want of a client certificate, libmosquitto fails "
                 "either inside connect() (exit 1, 'Error: Protocol error') "
                 "or later in the loop (exit 7, 'Error: The connection was "
                 "lost.') depending on timing",
                 check=check_tls_no_cert))
    add(case("pub_tls_cafile_missing", "pub",
             ["-h", "{host}", "-p", "{tls_port}", "--cafile",
              "{tmp}/nope.crt", "-t", "{topic}", "-m", "x"],
             known_difference="TLS failures are explained, not reported as "
             "'Problem setting TLS options: File not found.'; the exit code "
             "stays 1",
             expect=expect_explained(1, b"Error: cannot read --cafile file ")))
    for t in ("pub", "sub"):
        add(case(t + "_tls_wrong_ca", t,
             ["-h", "{host}", "-p", "{tls_port}", "--cafile", "{certfile}",
              "-t", "{topic}"] + (["-m", "x"] if t == "pub" else []),
             known_difference="a leaf certificate given as --cafile is "
             "caught by smqtt's preflight (exit 1, cafile-not-ca explained) "
             "before connecting; mosquitto 2.0.11 connects and fails with a "
             "bare 'A TLS error occurred' (exit 1 or 8 depending on timing)",
             expect=expect_explained(1, b"Error: --cafile file ",
                                     ref_check=check_tls_fail),
             nondeterministic="libmosquitto reports a failed handshake "
             "either from connect() (exit 1) or from the loop (exit 8)",
             check=check_tls_fail))

    # ---- --help / --version ---------------------------------------------------
    for t in ("pub", "sub"):
        add(case(t + "_help", t, ["--help"],
                 known_difference="smqtt's help is generated from its own "
                 "option table and lists smqtt-only options",
                 expect=expect_help))
        add(case(t + "_version", t, ["--version"],
                 known_difference="smqtt prints its own version string",
                 expect=expect_help))
    add(case("pub_help_after_error_opt", "pub", ["-q", "1", "--help"],
             known_difference="help text differs", expect=expect_help))

    # ---- options files ------------------------------------------------------------
    add(case("pub_optfile_xdg", "pub", ["-t", "{topic}", "-m", "cfg", "-d"],
             env={"XDG_CONFIG_HOME": "{tmp}/xdg"},
             files={"xdg/mosquitto_pub":
                    b"# a comment line\n\n-h {host}\n-p {port}\n-q 1\n"},
             watch=[["-C", "1", "-q", "1", "-t", "{topic}", "-F", "%q %p"]]))
    add(case("pub_optfile_home_fallback", "pub",
             ["-t", "{topic}", "-m", "home"],
             files={"home/.config/mosquitto_pub":
                    b"-h {host}\n#-p 1\n-p {port}\n"},
             watch=[W1]))
    add(case("pub_optfile_xdg_beats_home", "pub",
             ["-t", "{topic}", "-m", "xdg wins"],
             env={"XDG_CONFIG_HOME": "{tmp}/xdg"},
             files={"xdg/mosquitto_pub": b"-h {host}\n-p {port}\n",
                    "home/.config/mosquitto_pub": b"--bogus\n"},
             watch=[W1]))
    add(case("pub_optfile_message_with_spaces", "pub", ["-t", "{topic}"],
             env={"XDG_CONFIG_HOME": "{tmp}/xdg"},
             files={"xdg/mosquitto_pub":
                    b"-h {host}\r\n-p {port}\n-m hello from  the file\n"},
             watch=[W1]))
    add(case("pub_optfile_argv_overrides", "pub",
             ["-t", "{topic}", "-m", "x", "-p", "{port}"],
             env={"XDG_CONFIG_HOME": "{tmp}/xdg"},
             files={"xdg/mosquitto_pub": b"-h {host}\n-p {closed_port}\n"},
             watch=[W1]))
    add(case("pub_optfile_bad_option", "pub", PUBC,
             env={"XDG_CONFIG_HOME": "{tmp}/xdg"},
             files={"xdg/mosquitto_pub": b"--bogus\n"}))
    add(case("pub_optfile_bad_value", "pub", PUBC,
             env={"XDG_CONFIG_HOME": "{tmp}/xdg"},
             files={"xdg/mosquitto_pub": b"-q 7\n"}))
    add(case("pub_optfile_conflict_with_argv", "pub", PUBC,
             env={"XDG_CONFIG_HOME": "{tmp}/xdg"},
             files={"xdg/mosquitto_pub": b"-n\n"}))
    add(case("pub_optfile_ignored_for_sub_name", "pub", PUBC,
             env={"XDG_CONFIG_HOME": "{tmp}/xdg"},
             files={"xdg/mosquitto_sub": b"--bogus\n"}, watch=[W1]))
    add(case("sub_optfile_xdg", "sub", ["-t", "{topic}"],
             env={"XDG_CONFIG_HOME": "{tmp}/xdg"},
             files={"xdg/mosquitto_sub":
                    b"# options for the sub\n-h {host}\n\n-p {port}\n-v\n-C 1\n"},
             retained=R("sub cfg")))
    add(case("sub_optfile_home_fallback", "sub", ["-C", "1"],
             files={"home/.config/mosquitto_sub":
                    b"-h {host}\n-p {port}\n-t {topic}\n-F %t:%p\n"},
             retained=R("home cfg")))
    add(case("sub_optfile_bad_format", "sub", SUBC,
             env={"XDG_CONFIG_HOME": "{tmp}/xdg"},
             files={"xdg/mosquitto_sub": b"-F %z\n"}))
    return C


CASES = build_cases()


# ---------------------------------------------------------------------------
# Runner
# ---------------------------------------------------------------------------

class HarnessError(Exception):
    pass


_PH = re.compile(r"\{(\w+)\}")
_PHB = re.compile(rb"\{(\w+)\}")


def subst(x, ctx):
    if isinstance(x, bytes):
        return _PHB.sub(lambda m: str(ctx[m.group(1).decode()]).encode()
                        if m.group(1).decode() in ctx else m.group(0), x)
    if isinstance(x, str):
        return _PH.sub(lambda m: str(ctx[m.group(1)])
                       if m.group(1) in ctx else m.group(0), x)
    if isinstance(x, (list, tuple)):
        return [subst(i, ctx) for i in x]
    if isinstance(x, dict):
        return {subst(k, ctx): subst(v, ctx) for k, v in x.items()}
    return x


def kill_group(p):
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        p.kill()
    except ProcessLookupError:
        pass


# ---------------------------------------------------------------------------
# mosquitto 2.1 (--compat 2.1): the reference is mosquitto 2.1.2

def keylog_shape(data):
    """A key log without its secrets: each line's label and field lengths."""
    out = []
    for line in data.splitlines():
        f = line.split(b" ")
        out.append(b" ".join([f[0]] + [b"%d" % len(x) for x in f[1:]]))
    return b"\n".join(out)


def check_rate(res):
    """--message-rate: only 'N msgs/s' lines, then 'Timed out' and 27."""
    probs = []
    if res["rc"] != 27 or res["stderr"] != b"Timed out\n":
        probs.append("exit %r stderr %r, expected 27 and 'Timed out'" % (res["rc"], res["stderr"]))
    lines = res["stdout"].split(b"\n")
    if lines[-1] != b"" or not (2 <= len(lines) - 1 <= 4) or \
            not all(re.fullmatch(rb"\d+ msgs/s", l) for l in lines[:-1]):
        probs.append("stdout %r is not 2-4 lines of 'N msgs/s'" % res["stdout"])
    return probs


def expect_same_but_stderr(first=None):
    """Same exit code, stdout and helpers; smqtt says more on stderr (a
    warning or an explanation), starting with `first` if given."""
    def f(ref, test):
        probs = []
        for k in ("rc", "stdout", "watch", "post", "log", "files"):
            if test[k] != ref[k]:
                probs.append("%s %r, expected %r" % (k, test[k], ref[k]))
        if first is not None and not test["stderr"].startswith(first):
            probs.append("stderr %r does not start with %r" % (test["stderr"], first))
        if not test["stderr"]:
            probs.append("stderr is empty")
        return probs
    return f


def build_cases21():
    C = []
    add = C.append
    SUBL = CONN + ["-i", "{cid}", "-t", "{topic}"]
    PUBL = CONN + ["-i", "{cid}", "-t", "{topic}"]
    R = lambda payload, *extra: [["-t", "{topic}", "-m", payload, "-r"] + list(extra)]
    TLS = ["-h", "127.0.0.1", "-p", "{tls_port}", "--cafile", "{cafile}"]

    # ---- -o FILE ---------------------------------------------------------
    add(case("o_pub_reads_file", "pub", ["-o", "{tmp}/opts", "-i", "{cid}"],
             files={"opts": b"-h {host}\n-p {port}\n-t {topic}\n-m from-o\n"}, watch=[W1], log=True))
    add(case("o_sub_reads_file", "sub", ["-o", "{tmp}/opts", "-i", "{cid}", "-C", "1", "-v"],
             files={"opts": b"-h {host}\n-p {port}\n-t {topic}\n"}, live=[["-t", "{topic}", "-m", "x"]]))
    add(case("o_default_file_not_read", "pub", ["-o", "{tmp}/opts"] + PUBL + ["-m", "x"],
             files={"opts": b"-q 1\n", "home/.config/mosquitto_pub": b"-r\n"}, watch=[W1],
             post_retained=["{topic}"]))  # no log: 2.1.2 -q 1 may exit before its DISCONNECT
    add(case("o_default_file_read_without_o", "pub", PUBL + ["-m", "x"],
             files={"home/.config/mosquitto_pub": b"-q 1\n"}, watch=[W1]))
    add(case("o_leading_space_kept", "pub", ["-o", "{tmp}/opts"] + CONN + ["-t", "{topic}"],
             files={"opts": b"-m  spaced\n"}, watch=[W1]))
    add(case("o_comments_crlf", "pub", ["-o", "{tmp}/opts"] + CONN + ["-t", "{topic}"],
             files={"opts": b"# a comment\r\n-m crlf\r\n\r\n#-q 7\n"}, watch=[W1]))
    add(case("o_cli_overrides_file", "pub", ["-o", "{tmp}/opts"] + PUBL + ["-m", "x", "-q", "0"],
             files={"opts": b"-q 2\n"}, watch=[W1], log=True))
    add(case("o_file_unknown_option", "pub", ["-o", "{tmp}/opts"] + PUBC, files={"opts": b"--bogus x\n"}))
    add(case("o_file_bad_value", "sub", ["-o", "{tmp}/opts"] + SUBC, files={"opts": b"-q 5\n"}))
    add(case("o_twice", "pub", ["-o", "{tmp}/a", "-o", "{tmp}/b"] + PUBC, files={"a": b"", "b": b""}))
    add(case("o_no_argument", "sub", SUBC + ["-o"]))
    add(case("o_as_a_value", "pub", CONN + ["-t", "{topic}", "-m", "-o"]))
    add(case("o_missing_file", "pub", ["-o", "{tmp}/none"] + PUBL + ["-m", "x"], watch=[W1],
             known_difference="mosquitto 2.1 skips an options file it cannot open without a word; "
                              "smqtt does the same and warns, naming the file",
             expect=expect_same_but_stderr(b"Warning: -o ")))
    add(case("o_directory", "sub", ["-o", "{tmp}"] + SUBL + ["-C", "1"], live=[["-t", "{topic}", "-m", "x"]],
             known_difference="a directory as -o is skipped; smqtt warns",
             expect=expect_same_but_stderr(b"Warning: -o ")))
    add(case("o_in_options_file_ignored", "pub", ["-o", "{tmp}/opts"] + PUBC,
             files={"opts": b"-o {tmp}/other\n"}, watch=[W1]))

    # ---- --no-tls ----------------------------------------------------------
    add(case("no_tls_pub_drops_cafile", "pub", PUBL + ["-m", "x", "--cafile", "{cafile}", "--no-tls"],
             watch=[W1], log=True))
    add(case("no_tls_sub_drops_cert_key", "sub",
             SUBL + ["--cafile", "{cafile}", "--cert", "{certfile}", "--key", "{keyfile}", "--no-tls", "-C", "1"],
             live=[["-t", "{topic}", "-m", "x"]]))
    add(case("no_tls_url_mqtts", "pub", ["-L", "mqtts://{host}:{port}/{topic}", "-m", "x", "--no-tls"], watch=[W1]))
    add(case("no_tls_options_file", "pub", ["-o", "{tmp}/opts"] + PUBL + ["-m", "x", "--cafile", "{cafile}"],
             files={"opts": b"--no-tls\n"}, watch=[W1]))
    add(case("no_tls_with_tls_version_tlsv1_1", "pub",
             PUBL + ["-m", "x", "--cafile", "{cafile}", "--tls-version", "tlsv1.1", "--no-tls"], watch=[W1]))
    add(case("no_tls_insecure_ciphers", "pub",
             PUBC + ["--insecure", "--ciphers", "NONSENSE", "--no-tls"], watch=[W1]))
    add(case("no_tls_still_checks_cert_key_pair", "pub", PUBC + ["--cert", "{certfile}", "--no-tls"]))
    add(case("no_tls_to_tls_port_fails", "pub", ["-h", "{host}", "-p", "{tls_port}", "-t", "{topic}", "-m", "x",
                                                 "--cafile", "{cafile}", "--no-tls"],
             known_difference="smqtt explains why a plain connection to a TLS port fails",
             expect=expect_explained(None, b"Error: ")))

    # ---- --tls-keylog ------------------------------------------------------
    add(case("keylog_pub_tls13", "pub", TLS + ["-i", "{cid}", "-t", "{topic}", "-m", "x", "--tls-keylog", "{tmp}/k"],
             files_out=[("k", keylog_shape)]))
    add(case("keylog_sub_tls13", "sub", TLS + ["-i", "{cid}", "-t", "{topic}", "-C", "1", "--tls-keylog", "{tmp}/k"],
             live=[["-t", "{topic}", "-m", "x"]], files_out=[("k", keylog_shape)]))
    add(case("keylog_appends", "pub", TLS + ["-t", "{topic}", "-m", "x", "--tls-keylog", "{tmp}/k"],
             files={"k": b"# kept\n"}, files_out=[("k", keylog_shape)]))
    add(case("keylog_without_ca_plain_port", "pub", PUBC + ["--tls-keylog", "{tmp}/k"],
             known_difference="mosquitto 2.1 refuses --tls-keylog without --cafile/--capath/--psk with "
                              "'Unable to connect (Invalid input).'; smqtt prints that line, then why",
             expect=expect_same_but_stderr(b"Unable to connect (Invalid input).\n")))
    add(case("keylog_without_ca_mqtts_url", "sub", ["-L", "mqtts://{host}:{tls_port}/{topic}", "--tls-keylog", "{tmp}/k"],
             known_difference="as keylog_without_ca_plain_port",
             expect=expect_same_but_stderr(b"Unable to connect (Invalid input).\n")))
    add(case("keylog_no_tls_ignored", "pub", PUBC + ["--tls-keylog", "{tmp}/k", "--no-tls"], watch=[W1]))
    add(case("keylog_no_argument", "pub", PUBC + ["--tls-keylog"]))
    add(case("keylog_unwritable_dir", "pub", TLS + ["-t", "{topic}", "-m", "x", "--tls-keylog", "{tmp}/no/such/k"],
             known_difference="2.1 skips a key log it cannot open without a word; smqtt warns",
             expect=expect_same_but_stderr(b"Warning: --tls-keylog ")))

    # ---- sub: -w / --watch -------------------------------------------------
    WATCH_LIVE = [["-t", "{topic}/a", "-m", "alpha-1111"], ["-t", "{topic}/b", "-m", "beta"],
                  ["-t", "{topic}/a", "-m", "a2"]]
    add(case("watch_two_topics", "sub", CONN + ["-i", "{cid}", "-t", "{topic}/+", "-w", "-C", "3"],
             live=WATCH_LIVE))
    add(case("watch_v", "sub", CONN + ["-i", "{cid}", "-t", "{topic}/+", "--watch", "-v", "-C", "3"],
             live=WATCH_LIVE))
    add(case("watch_pty", "sub", CONN + ["-i", "{cid}", "-t", "{topic}/+", "-w", "-C", "3"],
             live=WATCH_LIVE, pty=True))
    add(case("watch_F", "sub", CONN + ["-i", "{cid}", "-t", "{topic}/+", "-w", "-F", "%t=%p", "-C", "3"],
             live=WATCH_LIVE))
    add(case("watch_retained", "sub", SUBL + ["-w", "-C", "1"], retained=R("kept")))

    # ---- sub: --message-rate ----------------------------------------------
    add(case("message_rate_W", "sub", SUBC + ["--message-rate", "-W", "2"],
             nondeterministic="counts per second depend on timing", check=check_rate))
    add(case("message_rate_C_no_effect", "sub", SUBC + ["--message-rate", "-C", "1", "-W", "2"],
             retained=R("r"), nondeterministic="counts per second depend on timing", check=check_rate))
    add(case("message_rate_w_off", "sub", SUBC + ["--message-rate", "-w", "-W", "2"],
             nondeterministic="counts per second depend on timing", check=check_rate))

    # ---- sub: --retain-handling --------------------------------------------
    add(case("retain_handling_never", "sub", SUBL + ["-V", "5", "--retain-handling", "never", "-C", "1", "-v"],
             retained=R("old"), live=[["-t", "{topic}", "-m", "new"]], log=True))
    add(case("retain_handling_always", "sub", SUBL + ["-V", "5", "--retain-handling", "always", "-C", "1", "-v"],
             retained=R("old"), log=True))
    add(case("retain_handling_new_twice", "sub",
             CONN + ["-i", "{cid}", "-V", "5", "-t", "{topic}", "-t", "{topic}", "--retain-handling", "new",
                     "-C", "2", "-v"],
             retained=R("old"), live=[["-t", "{topic}", "-m", "new"]]))
    add(case("retain_handling_always_twice", "sub",
             CONN + ["-i", "{cid}", "-V", "5", "-t", "{topic}", "-t", "{topic}", "--retain-handling", "always",
                     "-C", "2", "-v"],
             retained=R("old")))
    add(case("retain_handling_v311_ignored", "sub", SUBL + ["--retain-handling", "never", "-C", "1", "-v"],
             retained=R("old")))
    add(case("retain_handling_R_then_always", "sub",
             SUBL + ["-V", "5", "-R", "--retain-handling", "always", "-C", "1", "-v"],
             retained=R("old"), live=[["-t", "{topic}", "-m", "new"]], log=True))
    add(case("retain_handling_never_then_R", "sub",
             SUBL + ["-V", "5", "--retain-handling", "never", "-R", "-C", "1", "-v"],
             retained=R("old"), live=[["-t", "{topic}", "-m", "new"]], log=True))
    add(case("retain_handling_bad", "sub", SUBC + ["--retain-handling", "sometimes"]))
    add(case("retain_handling_no_argument", "sub", SUBC + ["--retain-handling"]))
    add(case("retain_handling_pub_unknown", "pub", PUBC + ["--retain-handling", "new"]))

    # ---- -F: %f, %d, separators, byte widths, JSON -------------------------
    def F(name, fmt, payload_args, **kw):
        add(case("F_" + name, "sub", SUBL + ["-C", "1", "-F", fmt],
                 live=[["-t", "{topic}"] + payload_args], **kw))
    F("float", "%f|%.2f|%10.3f|%-10.1f|%010.2f", ["-f", "{tmp}/f4"], files={"f4": b"\x00\x00\xc0\x3f"})
    F("double", "%d|%.1d|%12.4d", ["-f", "{tmp}/f8"], files={"f8": b"\x00\x00\x00\x00\x00\x00\x04\x40"})
    F("float_wrong_size", "a%fb", ["-m", "abc"])
    F("double_wrong_size", "[%d]", ["-m", "abcd"])
    F("hex_sep_colon", "%.2:x", ["-m", "hello"])
    F("hex_default_sep", "%.2x|%.4X", ["-m", "hello"])
    F("hex_pad_sep", "%24.2:x", ["-m", "hi!"])
    F("hex_width_bytes", "[%6x][%2x][%12X][%-12x]", ["-m", "hello"])
    F("hex_sep_space", "%.2 x", ["-m", "ab"])
    F("hex_sep_dash_after_width", "%8-x", ["-m", "abcdef"])
    F("sep_before_topic", "%.2:t", ["-m", "x"])
    F("sep_before_payload", "%5_p|", ["-m", "payload"])
    F("j", "%j", ["-m", "hello"], mask=TST_MASK + [(rb'"tst":"[^"]*"', b'"tst":"TST"')])
    F("j_tst_form", "%j", ["-m", "x"], mask=[(rb'"tst":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}([^"]*)"',
                                               rb'"tst":"TIME\1"')])
    F("J", "%J", ["-m", '{"a":[1,2]}'], mask=TST_MASK)
    F("j_v5_props", "%j", ["-V", "5", "-D", "publish", "user-property", "k1", "v1",
                           "-D", "publish", "user-property", "k2", "v2", "-D", "publish", "content-type", "t/p",
                           "-m", "p"], mask=TST_MASK)
    add(case("F_j_retained", "sub", SUBL + ["-C", "1", "-F", "%j"], retained=R("kept"), mask=TST_MASK))
    add(case("F_pretty_j", "sub", SUBL + ["-C", "1", "-F", "%j", "--pretty"], retained=R("kept"), mask=TST_MASK))
    add(case("F_invalid_incomplete_sep", "sub", SUBC + ["-F", "%.2:"],
             known_difference="mosquitto 2.1 reports a separator at the end as \"Invalid format specifier "
                              "'\\0'\" with a raw NUL byte; smqtt says the specifier is incomplete",
             expect=expect_exit(1, stdout=b"", stderr=b"Error: Incomplete format specifier.\n\n"
                                b"Use 'smqtt_sub --help' to see usage.\n", helpers=False)))
    for name, fmt in (("bad_after_sep", "%.2:k"), ("bad_conversion", "%k"),
                      ("incomplete", "%5"), ("bad_escape", "\\k"), ("incomplete_at", "@")):
        add(case("F_invalid_" + name, "sub", SUBC + ["-F", fmt]))

    # ---- -U without -t, and no topic at all -------------------------------
    add(case("U_without_t", "sub", CONN + ["-i", "{cid}", "-U", "{topic}", "-W", "1"], log=True))
    add(case("U_without_t_E", "sub", CONN + ["-U", "{topic}", "-E", "-W", "1"]))
    add(case("no_t_no_U", "sub", CONN))
    add(case("U_with_t", "sub", CONN + ["-i", "{cid}", "-t", "{topic}/a", "-U", "{topic}/b", "-C", "1", "-v"],
             live_wait=r"Sending UNSUBACK to {cid}$", live=[["-t", "{topic}/a", "-m", "x"]]))

    # ---- -x switches to MQTT v5 --------------------------------------------
    add(case("x_pub_switches_v5", "pub", PUBL + ["-m", "x", "-x", "60"], watch=[W1], log=True))
    add(case("x_then_V311", "pub", PUBL + ["-m", "x", "-x", "60", "-V", "311"], watch=[W1], log=True))
    add(case("V311_then_x", "pub", PUBL + ["-m", "x", "-V", "311", "-x", "60"], watch=[W1], log=True))
    add(case("x_minus1_without_id", "pub", PUBC + ["-x", "-1"]))
    add(case("x_infinity_without_id", "sub", SUBC + ["-x", "\u221e"]))
    add(case("x_minus1_with_id", "pub", PUBL + ["-m", "x", "-x", "-1"], watch=[W1], log=True))
    add(case("c_x0", "pub", PUBL + ["-m", "x", "-c", "-x", "0"], watch=[W1], log=True))
    add(case("c_without_x", "pub", PUBL + ["-m", "x", "-c"], watch=[W1], log=True))
    add(case("x_sub", "sub", SUBL + ["-x", "30", "-C", "1", "-v"], live=[["-t", "{topic}", "-m", "x"]], log=True))
    add(case("x_not_a_number", "pub", PUBC + ["-x", "soon"]))
    add(case("x_out_of_range", "pub", PUBC + ["-x", "4294967296"]))

    # ---- -D, -L and other 2.1 wordings --------------------------------------
    add(case("D_unknown_property", "pub", PUBC + ["-D", "connect", "no-such-prop", "1"]))
    add(case("D_unknown_command", "sub", SUBC + ["-D", "frobnicate", "content-type", "x"]))
    add(case("D_not_allowed", "pub", PUBC + ["-D", "connect", "content-type", "x"]))
    add(case("D_publish_v311", "pub", PUBC + ["-D", "publish", "user-property", "a", "b", "-V", "311"],
             known_difference="mosquitto_pub 2.1.2 sends v5 properties in a v3.1.1 PUBLISH and the broker "
                              "drops it (exit 7); smqtt exits 7 too, but sends nothing and says why",
             expect=expect_exit(7, stdout=b"", stderr=None)))
    add(case("D_publish_v5", "pub", PUBL + ["-V", "5", "-D", "publish", "content-type", "t/x", "-m", "x"],
             watch=[["-C", "1", "-V", "5", "-F", "%C %p", "-t", "{topic}"]]))
    add(case("L_http", "pub", ["-L", "http://{host}:{port}/{topic}", "-m", "x"]))
    add(case("L_mqtt", "pub", ["-L", "mqtt://{host}:{port}/{topic}", "-m", "x"], watch=[W1]))
    add(case("L_topic_missing", "sub", ["-L", "mqtt://{host}:{port}"]))
    add(case("L_user_password", "pub", ["-L", "mqtt://{user}:{password}@{host}:{auth_port}/{topic}", "-m", "x"]))
    add(case("L_ws_plain_port", "pub", ["-L", "ws://{host}:{port}/{topic}", "-m", "x"],
             known_difference="ws:// to a plain MQTT port: mosquitto_pub 2.1.2 says 'The connection was lost'; "
                              "smqtt explains that the port speaks MQTT, not HTTP (the same exit code)",
             expect=expect_explained(None, b"Error: ")))

    # ---- deliberate differences --------------------------------------------
    add(case("tls_version_tlsv1_1_kept", "pub", TLS + ["-t", "{topic}", "-m", "x", "--tls-version", "tlsv1.1"],
             known_difference="mosquitto 2.1 rejects tlsv1.1 ('Problem setting TLS options'); smqtt keeps "
                              "legacy TLS versions as a minimum (TLS 1.3 is still negotiated here)",
             expect=expect_exit(0, stdout=b"", stderr=b"", helpers=False)))
    add(case("insecure_with_tls_version_still_verifies", "pub",
             ["-h", "localhost", "-p", "{tls_port}", "--cafile", "{certfile}", "-t", "{topic}", "-m", "x",
              "--insecure", "--tls-version", "tlsv1.2"],
             known_difference="mosquitto 2.1.2 turns off every check with --insecure and --tls-version; smqtt "
                              "still verifies the chain (here against the wrong CA file) and explains",
             expect=lambda ref, test: ([] if ref["rc"] == 0 else ["reference did not connect: %r" % ref]) +
             ([] if test["rc"] != 0 and b"\n  why: " in test["stderr"] else ["smqtt connected: %r" % test])))
    add(case("closed_port", "pub", ["-h", "{host}", "-p", "{closed_port}", "-t", "{topic}", "-m", "x"],
             known_difference="mosquitto 2.1.2 says 'Bad file descriptor' for a refused connection; smqtt "
                              "explains it",
             expect=expect_explained(None, b"Error: connection to ")))
    add(case("help", "pub", ["--help"], known_difference="smqtt's help is generated from its own table",
             expect=expect_help))

    # ---- everyday runs in 2.1 mode -----------------------------------------
    add(case("pub_qos0", "pub", PUBL + ["-m", "q0"], watch=[W1], log=True))
    add(case("pub_qos1", "pub", PUBC + ["-q", "1"], watch=[W1]))
    add(case("pub_qos2", "pub", PUBC + ["-q", "2"], watch=[W1]))
    add(case("pub_retain", "pub", PUBC + ["-r"], post_retained=["{topic}"]))
    add(case("pub_null_retained_clear", "pub", CONN + ["-t", "{topic}", "-n", "-r"], retained=R("old"),
             post_retained=["{topic}"]))
    add(case("pub_lines", "pub", CONN + ["-t", "{topic}", "-l"], stdin=b"one\ntwo\n\nthree",
             watch=[["-C", "4", "-v", "-t", "{topic}"]]))
    add(case("pub_stdin_file", "pub", CONN + ["-t", "{topic}", "-s"], stdin=b"all\nof it\n", watch=[W1]))
    add(case("pub_file", "pub", CONN + ["-t", "{topic}", "-f", "{tmp}/m"], files={"m": b"file\n"}, watch=[W1]))
    add(case("pub_f_missing_file", "pub", CONN + ["-t", "{topic}", "-f", "{tmp}/does-not-exist"]))
    add(case("pub_repeat", "pub", PUBC + ["--repeat", "3"], watch=[["-C", "3", "-v", "-t", "{topic}"]]))
    add(case("pub_auth_ok", "pub", ["-h", "{host}", "-p", "{auth_port}", "-u", "{user}", "-P", "{password}",
                                    "-t", "{topic}", "-m", "x"]))
    add(case("pub_will", "pub", PUBC + ["--will-topic", "{topic}/will", "--will-payload", "w"], watch=[W1]))
    add(case("pub_unix", "pub", ["--unix", "{unix}", "-t", "{topic}", "-m", "x"], watch=[W1]))
    add(case("sub_v_live", "sub", SUBL + ["-C", "2", "-v"],
             live=[["-t", "{topic}", "-m", "a"], ["-t", "{topic}", "-n"]]))
    add(case("sub_N", "sub", SUBL + ["-C", "2", "-N"],
             live=[["-t", "{topic}", "-m", "a"], ["-t", "{topic}", "-m", "b"]]))
    add(case("sub_R", "sub", SUBL + ["-R", "-C", "1", "-v"], retained=R("old"),
             live=[["-t", "{topic}", "-m", "new"]]))
    add(case("sub_retained_only", "sub", SUBL + ["--retained-only", "-v"], retained=R("old"),
             live=[["-t", "{topic}", "-m", "new"]]))
    add(case("sub_T", "sub", CONN + ["-i", "{cid}", "-t", "{topic}/#", "-T", "{topic}/b", "-C", "1", "-v"],
             live=[["-t", "{topic}/b", "-m", "no"], ["-t", "{topic}/a", "-m", "yes"]]))
    add(case("sub_E", "sub", SUBC + ["-E"]))
    add(case("sub_W_timeout", "sub", SUBC + ["-W", "1"]))
    add(case("sub_qos2", "sub", SUBL + ["-q", "2", "-C", "1", "-v"], live=[["-t", "{topic}", "-m", "x", "-q", "2"]]))
    add(case("sub_unknown_option", "sub", SUBC + ["--no-such-option", "/x"]))
    add(case("pub_no_topic", "pub", CONN + ["-m", "x"], known_difference="usage text differs",
             expect=expect_usage_error))
    return C


CASES21 = build_cases21()


class Bg:
    """A background process whose output is collected by a thread."""

    def __init__(self, argv, env, stdin=None, cwd=None, pty=False):
        master = slave = None
        if pty:
            import pty as ptymod
            master, slave = ptymod.openpty()
        self.p = subprocess.Popen(
            argv, env=env, cwd=cwd,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=slave if pty else subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True)
        if pty:
            os.close(slave)
        self.out = self.err = b""
        self._stdin = stdin
        self._master = master
        self._t = threading.Thread(target=self._collect, daemon=True)
        self._t.start()

    def _collect(self):
        try:
            if self._master is None:
                self.out, self.err = self.p.communicate(self._stdin)
                return
            # a terminal as stdout: read it until the client has gone
            chunks = []
            reader = threading.Thread(target=lambda: chunks.append(self.p.communicate(self._stdin)[1]),
                                      daemon=True)
            reader.start()
            while True:
                try:
                    data = os.read(self._master, 65536)
                except OSError:
                    break
                if not data:
                    break
                self.out += data
            reader.join()
            os.close(self._master)
            self.err = chunks[0] if chunks else b""
        except Exception as e:  # pragma: no cover
            self.err += ("harness: %r" % e).encode()

    def running(self):
        return self.p.poll() is None

    def finish(self, timeout):
        """Wait; returns False (and kills) on timeout."""
        self._t.join(timeout)
        if self._t.is_alive():
            kill_group(self.p)
            self._t.join(5)
            return False
        return True


def norm_names(b):
    return (b.replace(b"mosquitto_pub", b"smqtt_pub")
             .replace(b"mosquitto_sub", b"smqtt_sub"))


class Runner:
    def __init__(self, broker, pki_dir, workdir, closed_port, verbose=False):
        self.b = broker
        self.pki = pki_dir
        self.workdir = workdir
        self.closed_port = closed_port
        self.verbose = verbose
        self.seq = 0
        self.show = False

    def context(self, c):
        tmp = os.path.join(self.workdir, "cases", c["name"])
        return {
            "host": HOST, "port": self.b.port, "auth_port": self.b.auth_port,
            "tls_port": self.b.tls_port, "tls_req_port": self.b.tls_req_port,
            "unix": self.b.unix_path, "closed_port": self.closed_port,
            "topic": "diff/" + c["name"], "cid": "sq-" + c["name"],
            "tmp": tmp, "pki": self.pki,
            "cafile": os.path.join(self.pki, "ca.crt"),
            "certfile": os.path.join(self.pki, "client.crt"),
            "keyfile": os.path.join(self.pki, "client.key"),
            "user": USER, "password": PASSWORD,
        }

    def env(self, c, ctx, ref=False):
        env = dict(os.environ)
        env.pop("SMQTT_COMPAT", None)
        env.update(REF_ENV if ref else SMQTT_ENV)
        for k in ("XDG_CONFIG_HOME", "LANGUAGE", "LANG"):
            env.pop(k, None)
        env["HOME"] = os.path.join(ctx["tmp"], "home")
        # no saved smqtt profiles from this machine (/etc/smqtt) may apply
        env.pop("SMQTT_PROFILES", None)
        env["SMQTT_SYSCONFDIR"] = os.path.join(ctx["tmp"], "no-sysconf")
        env["LC_ALL"] = "C"
        if SMQTT_LOCALE and not ref:
            # smqtt in the user's language: LANG only, as a user sets it
            del env["LC_ALL"]
            env["LANG"] = SMQTT_LOCALE
        env["TZ"] = "UTC"
        for k, v in subst(c["env"], ctx).items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
        return env

    def helper_env(self, ctx):
        env = dict(os.environ)
        env.pop("XDG_CONFIG_HOME", None)
        env["HOME"] = os.path.join(ctx["tmp"], "helper-home")
        env["LC_ALL"] = "C"
        return env

    def next_id(self, ctx, what):
        self.seq += 1
        return "%s-%s%d" % (ctx["cid"], what, self.seq)

    # ---- helpers (always reference clients) --------------------------------
    def ref_pub(self, ctx, args, what="h"):
        cid = self.next_id(ctx, what)
        mark = self.b.log_mark()
        argv = [HELPER_BIN["pub"], "-h", HOST, "-p", str(self.b.port),
                "-i", cid] + args
        r = subprocess.run(argv, env=self.helper_env(ctx),
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=PROC_TIMEOUT)
        if r.returncode != 0:
            raise HarnessError("helper %r failed (%d): %r"
                               % (argv, r.returncode, r.stderr))
        # the broker has processed everything the helper sent once it has
        # logged the helper's DISCONNECT
        self.b.wait_for_log(r"(?m)Received DISCONNECT from %s$" % re.escape(cid),
                            HELPER_TIMEOUT, since=mark)

    def clear(self, ctx, topics):
        for t in topics:
            if "+" in t or "#" in t:
                continue
            self.ref_pub(ctx, ["-t", t, "-r", "-n"], "c")

    def start_sub_helper(self, ctx, args, what):
        cid = self.next_id(ctx, what)
        mark = self.b.log_mark()
        argv = [HELPER_BIN["sub"], "-h", HOST, "-p", str(self.b.port),
                "-i", cid] + args
        bg = Bg(argv, self.helper_env(ctx))
        try:
            self.b.wait_for_log(r"(?m)Sending SUBACK to %s$" % re.escape(cid),
                                HELPER_TIMEOUT, since=mark)
        except BrokerError:
            bg.finish(0)
            raise HarnessError("helper sub %r did not subscribe: %r"
                               % (argv, bg.err))
        return bg

    def probe_retained(self, ctx, topic):
        bg = self.start_sub_helper(
            ctx, ["--retained-only", "-v", "-t", topic], "p")
        marker_topic = topic[:-2] if topic.endswith("/#") else topic
        self.ref_pub(ctx, ["-t", marker_topic, "-m", "__probe_end__"], "m")
        if not bg.finish(HELPER_TIMEOUT):
            return ("probe hung", bg.out)
        return (bg.p.returncode, bg.out)

    # ---- one side -------------------------------------------------------------
    def prepare(self, c, ctx):
        tmp = ctx["tmp"]
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(os.path.join(tmp, "home"))
        os.makedirs(os.path.join(tmp, "helper-home"))
        for rel, data in c["files"].items():
            path = os.path.join(tmp, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(subst(data, ctx))
        topics = [ctx["topic"]]
        for a in c["retained"]:
            a = subst(a, ctx)
            topics.append(a[a.index("-t") + 1])
        topics += subst(c["post_retained"], ctx) + subst(c["clear"], ctx)
        self.clear(ctx, list(dict.fromkeys(topics)))
        for a in c["retained"]:
            self.ref_pub(ctx, subst(a, ctx), "r")

    def run_side(self, c, binary):
        ctx = self.context(c)
        self.prepare(c, ctx)
        res = {"rc": None, "stdout": b"", "stderr": b"", "watch": [],
               "post": [], "notes": [], "log": [], "files": []}
        watchers = [self.start_sub_helper(ctx, subst(w, ctx), "w")
                    for w in c["watch"]]
        argv = [binary] + subst(c["args"], ctx)
        wrapper = os.environ.get("SMQTT_WRAPPER")
        if wrapper and binary.startswith(os.path.dirname(smqtt_bin("pub"))):
            # e.g. valgrind: only around smqtt, never the reference
            argv = shlex.split(wrapper) + argv
        env = self.env(c, ctx, ref=binary == REF_BIN[c["tool"]])
        log_mark = self.b.log_mark()
        if c["mode"] == "closed_stdout":
            self.run_closed_stdout(c, ctx, argv, env, res)
        else:
            mark = self.b.log_mark()
            t0 = time.monotonic()
            bg = Bg(argv, env, stdin=c["stdin"], cwd=ctx["tmp"], pty=c["pty"])
            if c["live"]:
                rx = re.compile("(?m)" + subst(c["live_wait"], ctx))
                while bg.running() and time.monotonic() - t0 < c["timeout"]:
                    if rx.search(self.b.log_text(mark)):
                        for a in c["live"]:
                            self.ref_pub(ctx, subst(a, ctx), "l")
                        break
                    time.sleep(0.005)
                else:
                    res["notes"].append("live messages not sent: %r not seen"
                                        % rx.pattern)
            left = max(0.1, c["timeout"] - (time.monotonic() - t0))
            if not bg.finish(left):
                res["notes"].append("HUNG: killed after %.0fs" % c["timeout"])
                res["rc"] = "hung"
            else:
                res["rc"] = bg.p.returncode
            res["stdout"], res["stderr"] = bg.out, bg.err
        for w in watchers:
            if w.finish(HELPER_TIMEOUT):
                res["watch"].append((w.p.returncode, w.out))
            else:
                res["watch"].append(("watcher hung", w.out))
        if c["post_retained"]:
            if "{cid}" in " ".join(a if isinstance(a, str) else ""
                                   for a in c["args"]):
                # make sure the broker has processed the client's traffic
                try:
                    self.b.wait_for_log(
                        r"(?m)(Client %s (disconnected|closed its connection)"
                        r"|Received DISCONNECT from %s$)"
                        % (re.escape(ctx["cid"]), re.escape(ctx["cid"])),
                        HELPER_TIMEOUT)
                except BrokerError:
                    res["notes"].append("client disconnect not seen in log")
            for t in subst(c["post_retained"], ctx):
                res["post"].append(self.probe_retained(ctx, t))
        if c["log"]:
            res["log"] = self.client_log(ctx, log_mark)
        for rel, norm in c["files_out"]:
            try:
                with open(os.path.join(ctx["tmp"], rel), "rb") as f:
                    res["files"].append((rel, norm(f.read())))
            except OSError as e:
                res["files"].append((rel, "unreadable: %s" % e.strerror))
        if isinstance(res["rc"], int) and res["rc"] < 0:
            res["notes"].append("killed by signal %d" % -res["rc"])
        return res

    def client_log(self, ctx, mark):
        """What the broker logged of the client: its CONNECT (protocol,
        clean start, keepalive) and every packet received from it, without
        times, ports and message ids."""
        cid = re.escape(ctx["cid"])
        try:
            self.b.wait_for_log(r"(?m)(Client %s (disconnected|closed its connection)"
                                r"|Received DISCONNECT from %s$|Client %s .*disconnected)" % (cid, cid, cid),
                                HELPER_TIMEOUT, since=mark)
        except BrokerError:
            pass
        keep = []
        for line in self.b.log_text(mark).splitlines():
            line = re.sub(r"^\d+: ", "", line)
            if not re.search(r"(from|as|to) %s(\s|$)" % cid, line):
                continue
            if not re.match(r"(New client connected|Received |Client .* disconnected)", line):
                continue
            line = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:*", line)
            line = re.sub(r"\bm\d+\b", "m*", line)
            keep.append(line)
        return keep

    def run_closed_stdout(self, c, ctx, argv, env, res):
        """Read one line of stdout, close the pipe, keep messages coming."""
        p = subprocess.Popen(argv, env=env, cwd=ctx["tmp"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, start_new_session=True)
        errbuf = []
        et = threading.Thread(target=lambda: errbuf.append(p.stderr.read()),
                              daemon=True)
        et.start()
        fd = p.stdout.fileno()
        line = b""
        deadline = time.monotonic() + c["timeout"]
        while not line.endswith(b"\n") and time.monotonic() < deadline:
            r, _, _ = select.select([fd], [], [], 0.1)
            if r:
                ch = os.read(fd, 1)
                if not ch:
                    break
                line += ch
        res["stdout"] = line
        p.stdout.close()
        # publish live messages until the client notices the closed pipe
        t0 = time.monotonic()
        n = 0
        while p.poll() is None and time.monotonic() - t0 < HELPER_TIMEOUT:
            n += 1
            self.ref_pub(ctx, ["-t", ctx["topic"], "-m", "live %d" % n], "l")
            try:
                p.wait(0.05 * min(n, 10))
            except subprocess.TimeoutExpired:
                pass
        if p.poll() is None:
            kill_group(p)
            p.wait()
            res["rc"] = "hung"
            res["notes"].append("HUNG: did not exit within %.0fs of stdout "
                                "being closed" % HELPER_TIMEOUT)
        else:
            res["rc"] = p.returncode
        et.join(5)
        res["stderr"] = errbuf[0] if errbuf else b""

    # ---- comparison -------------------------------------------------------------
    def masked(self, c, res, rename):
        out = dict(res)
        for k in ("stdout", "stderr"):
            v = res[k]
            if rename:
                v = norm_names(v)
            for rx, rep in c["mask"]:
                v = re.sub(rx, rep, v)
            out[k] = v
        return out

    def run_case(self, c, selfcheck):
        if selfcheck and c["selfcheck_skip"]:
            return "skip", c["selfcheck_skip"]
        test_bin = REF_BIN[c["tool"]] if selfcheck else smqtt_bin(c["tool"])
        if not os.path.exists(test_bin):
            return "fail", "binary not found: %s" % test_bin
        ref = self.masked(c, self.run_side(c, REF_BIN[c["tool"]]), True)
        if self.show:
            print("  reference %s: %r" % (c["name"], ref))
        test = self.masked(c, self.run_side(c, test_bin), selfcheck)
        # a known difference is judged by its expectation; in --self-check
        # (reference on both sides) a nondeterministic reference by its check
        if c["known_difference"] and not selfcheck:
            expect = c["expect"] or default_expect
            probs = expect(ref, test)
            probs += [n for n in test["notes"]
                      if n.startswith("HUNG") or "signal" in n]
            return ("ok" if not probs else "fail"), "; ".join(probs)
        if c["nondeterministic"]:
            probs = []
            for side, r in (("reference", ref), ("tested", test)):
                probs += ["%s: %s" % (side, p) for p in c["check"](r)]
                probs += ["%s: %s" % (side, n) for n in r["notes"]
                          if n.startswith("HUNG") or "signal" in n]
            return ("ok" if not probs else "fail"), "; ".join(probs)
        diff = compare(ref, test)
        if diff and self.verbose:
            diff += "\n    reference: %r\n    tested:    %r" % (ref, test)
        return ("ok" if not diff else "fail"), diff


def default_expect(ref, test):
    probs = []
    if test["rc"] != ref["rc"]:
        probs.append("exit code %r, reference %r" % (test["rc"], ref["rc"]))
    if not test["stderr"]:
        probs.append("stderr is empty")
    return probs


def first_diff_line(a, b):
    la, lb = a.split(b"\n"), b.split(b"\n")
    for i in range(max(len(la), len(lb))):
        x = la[i] if i < len(la) else None
        y = lb[i] if i < len(lb) else None
        if x != y:
            return i + 1, x, y
    return None


def compare(ref, test):
    parts = []
    if ref["rc"] != test["rc"]:
        parts.append("exit ref=%r smqtt=%r" % (ref["rc"], test["rc"]))
    for k in ("stdout", "stderr"):
        if ref[k] != test[k]:
            d = first_diff_line(ref[k], test[k])
            if d:
                parts.append("%s line %d: ref=%r smqtt=%r"
                             % (k, d[0], d[1], d[2]))
            else:
                parts.append("%s: ref=%r smqtt=%r" % (k, ref[k][:200],
                                                      test[k][:200]))
    for k in ("watch", "post", "log", "files"):
        if ref[k] != test[k]:
            parts.append("%s (helper subscribers): ref=%r smqtt=%r"
                         % (k, ref[k], test[k]))
    notes = [n for n in test["notes"] if n not in ref["notes"]]
    notes += ["reference: " + n for n in ref["notes"]]
    if parts and notes:
        parts.append("notes: " + "; ".join(notes))
    if parts and not (ref["rc"] != test["rc"]):
        parts.insert(0, "exit ref=%r smqtt=%r" % (ref["rc"], test["rc"]))
    return "; ".join(parts)


# ---------------------------------------------------------------------------

def ensure_pki(workdir):
    pki = os.path.join(workdir, "pki")
    r = subprocess.run(["bash", os.path.join(REPO, "tests", "lib", "mkpki.sh"),
                        pki], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        raise HarnessError("mkpki.sh failed:\n" + r.stdout.decode(errors="replace"))
    return pki


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-k", action="append", default=[], metavar="SUBSTRING",
                    help="only run cases whose name contains SUBSTRING")
    ap.add_argument("--list", action="store_true", help="list case names")
    ap.add_argument("--self-check", action="store_true",
                    help="run the reference on both sides")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--show", action="store_true",
                    help="print the reference side's result of every case")
    ap.add_argument("--keep", action="store_true",
                    help="keep the temporary directory")
    ap.add_argument("--compat", choices=("2.0", "2.1"), default="2.0",
                    help="2.1: mosquitto 2.1.2 as the reference, SMQTT_COMPAT=2.1")
    ap.add_argument("--smqtt-locale", metavar="LOCALE",
                    help="run smqtt with LANG=LOCALE (LC_ALL unset), e.g. zh_CN.UTF-8: what mosquitto "
                         "prints stays byte-identical; smqtt's own explanations are translated")
    opts = ap.parse_args(argv)
    global COMPAT, SMQTT_LOCALE
    COMPAT = opts.compat
    SMQTT_LOCALE = opts.smqtt_locale
    broker_bin = None
    if COMPAT == "2.1":
        try:
            m21 = mosq21.ensure()
        except mosq21.Unavailable as e:
            print("skip differential 2.1: mosquitto 2.1.2 is not available: %s" % e)
            print("0 passed, 0 failed, 1 skipped")
            return 0
        REF_BIN.update({"pub": m21.pub, "sub": m21.sub})
        REF_ENV["LD_LIBRARY_PATH"] = m21.lib
        SMQTT_ENV["SMQTT_COMPAT"] = "2.1"
        broker_bin = m21.broker

    # Failures to connect are explained by smqtt (issue #5: what happened,
    # why, and the fix) instead of mosquitto's bare line; exit codes stay.
    explained = {
        "pub_conn_refused": (1, b"Error: connection to "),
        "sub_conn_refused": (1, b"Error: connection to "),
        "pub_unix_missing_socket": (1, b"Error: cannot reach unix socket "),
        "pub_tls_cert_required": (7, b"Error: the broker "),
        "sub_tls_cert_required": (7, b"Error: the broker "),
    }
    for c in CASES:
        if c["name"].startswith(("pub_auth_", "sub_auth_")) and c["name"] not in (
                "pub_auth_ok", "sub_auth_ok") and "quiet" not in c["name"]:
            explained[c["name"]] = (None, b"Error: the broker ")
        if c["name"] == "pub_L_user_no_password":
            explained[c["name"]] = (None, b"Error: the broker ")
    for c in (CASES if COMPAT == "2.0" else []):
        if c["name"] in explained and not c["known_difference"]:
            code, first = explained[c["name"]]
            c["known_difference"] = ("smqtt explains this failure (what, why, fix) "
                                     "instead of mosquitto's bare message; the "
                                     "exit code is mosquitto's")
            c["expect"] = expect_explained(code, first)
    all_cases = CASES if COMPAT == "2.0" else CASES21
    names = [c["name"] for c in all_cases]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        print("duplicate case names: %s" % sorted(dup))
        return 2
    cases = [c for c in all_cases
             if not opts.k or any(k in c["name"] for k in opts.k)]
    if opts.list:
        for c in cases:
            extra = ""
            if c["known_difference"]:
                extra = "  [known difference]"
            elif c["nondeterministic"]:
                extra = "  [nondeterministic reference]"
            print(c["name"] + extra)
        return 0

    workdir = tempfile.mkdtemp(prefix="smqtt-diff-")
    passed = failed = skipped = 0
    try:
        pki = ensure_pki(workdir)
        closed_port = free_port()
        with Broker(users={USER: PASSWORD}, pki_dir=pki, unix=True,
                    workdir=os.path.join(workdir, "broker"), binary=broker_bin) as broker:
            runner = Runner(broker, pki, workdir, closed_port, opts.verbose)
            runner.show = opts.show
            for c in cases:
                try:
                    status, msg = runner.run_case(c, opts.self_check)
                except (HarnessError, BrokerError, subprocess.SubprocessError,
                        OSError) as e:
                    status, msg = "fail", "harness error: %s" % e
                if status == "ok":
                    passed += 1
                    print("ok %s" % c["name"])
                elif status == "skip":
                    skipped += 1
                    print("skip %s: %s" % (c["name"], msg))
                else:
                    failed += 1
                    print("FAIL %s: %s" % (c["name"], msg))
                sys.stdout.flush()
                if not broker.alive():
                    print("FAIL broker: the broker died; log:\n%s"
                          % broker.log_text()[-3000:])
                    failed += 1
                    break
    except (HarnessError, BrokerError) as e:
        print("FAIL setup: %s" % e)
        failed += 1
    finally:
        if not opts.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print("kept %s" % workdir, file=sys.stderr)
    line = "%d passed, %d failed" % (passed, failed)
    if skipped:
        line += ", %d skipped" % skipped
    print(line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
