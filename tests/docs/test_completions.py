#!/usr/bin/env python3
"""test_completions: the shell completions of smqtt_pub, smqtt_sub and smqtt_rr, run in
the real shells: bash (without and with bash-completion loaded), zsh (driven
through a pseudo-terminal with zpty, as at a prompt) and fish.

Each case types a command line, presses TAB and checks the candidates
offered. Profiles come from `smqtt_pub --list-profiles` (NAME<TAB>HOSTS<TAB>
FILE lines) of the real binaries in --bin-dir, reading a temporary profile
file through SMQTT_PROFILES; without --bin-dir, shell-script stand-ins that
print the same lines are used instead.

Usage: test_completions.py [--source SOURCE_DIR] [--bin-dir BUILD/bin]
Environment: SMQTT_SOURCE_DIR (default: two levels up), SMQTT_COMPLETION_SHELLS
(default "bash zsh fish": a shell named there but not installed fails).
The last line printed is "N passed, N failed"; the exit status is 1 when a
case failed.
"""

import argparse
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile

TIMEOUT = 20  # seconds for one completion in one shell

PROFILES = [
    ("factory", ["172.32.100.10", "*.factory.lan"]),
    ("lab", ["lab.example"]),
]

# Stand-ins for smqtt_pub/smqtt_sub --list-profiles, used without --bin-dir
# (e.g. to test the completions without a build).
FAKE_TOOL = """#!/bin/sh
# Stand-in for {tool} --list-profiles (see test_completions.py).
for arg in "$@"; do
    if [ "$arg" = --list-profiles ]; then
        printf '%s\\t%s\\t%s\\n' {lines}
        exit 0
    fi
done
echo "{tool}: fake for the completion tests" >&2
exit 1
"""

ZSH_SETUP = r"""
PROMPT='' RPROMPT='' PS2=''
fpath=("$SMQTT_COMPLETION_DIR" $fpath)
autoload -Uz compinit && compinit -u -D
zstyle ':completion:*' list-grouped false
zstyle ':completion:*' insert-tab false
bindkey '^I' complete-word
__null_line() { print -rn -- $'\0\n' }
compprefuncs=( __null_line )
comppostfuncs=( __null_line exit )
# Print every match as it is added. Calls that only collect matches (-O, -A,
# -D) are passed through.
compadd() {
  if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then
    builtin compadd "$@"
    return $?
  fi
  local -a __hits
  builtin compadd -A __hits "$@"
  # -P and -p prefixes (e.g. the directory of a file name) are part of the
  # word the user gets.
  local -A __pre
  zparseopts -E -A __pre P: p:
  local h
  for h in $__hits; do print -r -- "<match>${__pre[-P]}${__pre[-p]}$h"; done
  builtin compadd "$@"
}
print -r -- setup-done
"""

ZSH_DRIVER = r"""
zmodload zsh/zpty || exit 2
zpty z zsh -f -i || exit 2
zpty -w z "source ${(q)1}"
local line
repeat 50; do
  zpty -r z line || exit 3
  [[ $line == setup-done* ]] && break
done
[[ $line == setup-done* ]] || exit 4
zpty -w -n z "$2"$'\t'
zpty -r z
exit 0
"""


def run_capture(cmd, env, inp=None):
    """Run cmd in its own process group; kill the group on timeout."""
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE if inp else subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                         start_new_session=True)
    try:
        out, err = p.communicate(inp, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        raise RuntimeError(f"timed out after {TIMEOUT}s")
    return p.returncode, out.decode(errors="replace"), err.decode(errors="replace")


class Env:
    def __init__(self, src, bin_dir):
        self.src = src
        self.comp = os.path.join(src, "completions")
        self.tmp = tempfile.mkdtemp(prefix="smqtt-completions-")
        self.bin = os.path.join(self.tmp, "bin")
        os.mkdir(self.bin)
        profiles = os.path.join(self.tmp, "profiles.conf")
        with open(profiles, "w") as fp:
            for name, hosts in PROFILES:
                fp.write(f"{name}: {{ hosts = [{', '.join(chr(34) + h + chr(34) for h in hosts)}]; }};\n")
        if bin_dir:
            self.bin = os.path.abspath(bin_dir)
            for tool in ("smqtt_pub", "smqtt_sub", "smqtt_rr"):
                if not os.access(os.path.join(self.bin, tool), os.X_OK):
                    raise SystemExit(f"{tool} not found in {self.bin}")
        else:
            lines = " ".join(shlex.quote(f) for name, hosts in PROFILES
                             for f in (name, ",".join(hosts), profiles))
            for tool in ("smqtt_pub", "smqtt_sub", "smqtt_rr"):
                path = os.path.join(self.bin, tool)
                with open(path, "w") as fp:
                    fp.write(FAKE_TOOL.format(tool=tool, lines=lines))
                os.chmod(path, 0o755)
        self.certs = os.path.join(self.tmp, "certs")
        os.mkdir(self.certs)
        open(os.path.join(self.certs, "ca.pem"), "w").close()
        self.env = dict(os.environ)
        self.env.update({
            "PATH": self.bin + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin"),
            "SMQTT_PROFILES": profiles,
            "XDG_CONFIG_HOME": os.path.join(self.tmp, "config"),
            "HOME": self.tmp,
            "SMQTT_COMPLETION_DIR": self.comp,
            "TERM": "dumb",
            "LC_ALL": "C.UTF-8",
        })
        for var in ("BASH_ENV", "ENV", "ZDOTDIR"):
            self.env.pop(var, None)

    def cleanup(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


def bash_complete(env, line, with_bash_completion):
    words = line.split()
    if line.endswith(" "):
        words.append("")
    pre = ""
    if with_bash_completion:
        pre = 'source /usr/share/bash-completion/bash_completion || exit 5\n'
    script = (pre +
              'source "$1" || exit 6\n'
              'shift\n'
              'COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 ))\n'
              'COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}\n'
              'cur=${COMP_WORDS[COMP_CWORD]}; prev=${COMP_WORDS[COMP_CWORD-1]}\n'
              '_smqtt "${COMP_WORDS[0]}" "$cur" "$prev"\n'
              'printf "%s\\n" "${COMPREPLY[@]}"\n')
    rc, out, err = run_capture(["bash", "--norc", "--noprofile", "-c", script, "bash",
                                os.path.join(env.comp, "smqtt.bash")] + words, env.env)
    if rc:
        raise RuntimeError(f"bash exited with {rc}: {err.strip()}")
    return [l for l in out.splitlines() if l]


def fish_complete(env, line):
    tool = line.split()[0]
    script = 'source $argv[1]; or exit 6; complete -C $argv[2]'
    rc, out, err = run_capture(["fish", "--no-config", "-c", script,
                                os.path.join(env.comp, f"{tool}.fish"), line], env.env)
    if rc:
        raise RuntimeError(f"fish exited with {rc}: {err.strip()}")
    # fish 4 (Debian 13) also lists fuzzy matches (--compat for --ca); at the
    # prompt it offers them only when nothing starts with the word typed
    words = [l.split("\t")[0] for l in out.splitlines() if l]
    cur = "" if line.endswith(" ") else line.split()[-1]
    prefixed = [w for w in words if w.startswith(cur)]
    return prefixed or words


def zsh_complete(env, line):
    setup = os.path.join(env.tmp, "zsh-setup.zsh")
    driver = os.path.join(env.tmp, "zsh-driver.zsh")
    if not os.path.exists(setup):
        with open(setup, "w") as fp:
            fp.write(ZSH_SETUP)
        with open(driver, "w") as fp:
            fp.write(ZSH_DRIVER)
    rc, out, err = run_capture(["zsh", "-f", driver, setup, line], env.env)
    if rc:
        raise RuntimeError(f"zsh driver exited with {rc}: {err.strip()} {out[-300:]!r}")
    parts = out.replace("\r", "").split("\0")
    if len(parts) < 3:
        raise RuntimeError(f"no completion ran in zsh; output: {out[-300:]!r}")
    return [l[len("<match>"):] for l in parts[1].splitlines() if l.startswith("<match>")]


def cases(env):
    hosts_in = {"172.32.100.10", "lab.example"}
    hosts_out = {"*.factory.lan", "factory.lan", ".factory.lan"}
    qos = {"0", "1", "2"}
    ca = os.path.join(env.certs, "ca.pem")
    c = [
        # (line, must offer, must not offer, exactly)
        ("smqtt_pub --profile ", {"factory", "lab"}, set(), True),
        ("smqtt_sub --profile ", {"factory", "lab"}, set(), True),
        ("smqtt_pub --profile l", {"lab"}, set(), True),
        ("smqtt_pub --ca", {"--cafile", "--capath"}, set(), True),
        ("smqtt_pub --caf", {"--cafile"}, set(), True),
        ("smqtt_pub -h ", hosts_in, hosts_out, False),
        ("smqtt_sub --host ", hosts_in, hosts_out, False),
        ("smqtt_pub -q ", qos, set(), True),
        ("smqtt_sub --will-qos ", qos, set(), True),
        ("smqtt_pub -V ", {"mqttv5", "mqttv311", "mqttv31", "5", "311", "31"}, set(), True),
        ("smqtt_sub --tls-version ", {"tlsv1.3", "tlsv1.2", "tlsv1.1", "tlsv1"}, set(), True),
        ("smqtt_pub --diag-format ", {"text", "json"}, set(), True),
        ("smqtt_pub --cafile " + os.path.join(env.certs, "c"), {ca}, set(), True),
        ("smqtt_sub --remove", {"--remove-retained"}, set(), True),
        ("smqtt_pub --remove", set(), {"--remove-retained"}, False),
        ("smqtt_rr --profile ", {"factory", "lab"}, set(), True),
        ("smqtt_rr -h ", hosts_in, hosts_out, False),
        ("smqtt_rr -q ", qos, set(), True),
        ("smqtt_rr --lat", {"--latency"}, set(), True),
        ("smqtt_rr --remove", set(), {"--remove-retained"}, False),
    ]
    return c


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--source", default=os.environ.get("SMQTT_SOURCE_DIR",
                    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")))
    ap.add_argument("--bin-dir", default=os.environ.get("SMQTT_BIN_DIR"),
                    help="directory of the built smqtt_pub and smqtt_sub")
    args = ap.parse_args()
    env = Env(os.path.abspath(args.source), args.bin_dir)
    if not args.bin_dir:
        print("note: no --bin-dir: stand-ins answer --list-profiles")
    passed = failed = 0

    def report(ok, text, detail=""):
        nonlocal passed, failed
        if ok:
            passed += 1
            print(f"ok   {text}")
        else:
            failed += 1
            print(f"FAIL {text}" + (f"\n     {detail}" if detail else ""))

    shells = []
    wanted = os.environ.get("SMQTT_COMPLETION_SHELLS", "bash zsh fish").split()
    for name in wanted:
        if not shutil.which(name):
            report(False, f"{name} is installed",
                   "install it (Debian: apt-get install bash-completion zsh fish)")
            continue
        if name == "bash":
            shells.append(("bash", lambda l: bash_complete(env, l, False)))
            if os.path.exists("/usr/share/bash-completion/bash_completion"):
                shells.append(("bash+bash-completion", lambda l: bash_complete(env, l, True)))
            else:
                report(False, "bash-completion is installed",
                       "install it (Debian: apt-get install bash-completion)")
        elif name == "zsh":
            shells.append(("zsh", lambda l: zsh_complete(env, l)))
        elif name == "fish":
            shells.append(("fish", lambda l: fish_complete(env, l)))

    all_cases = cases(env)
    # -F sequences: zsh and fish describe them; bash offers none.
    fmt_case = ("smqtt_sub -F %", {"%t", "%p", "%x", "%j", "%J", "%%"}, set(), False)
    try:
        for shell, complete in shells:
            for line, want, unwanted, exact in all_cases + ([fmt_case] if shell in ("zsh", "fish") else []):
                label = f"{shell}: {line.replace(env.tmp, '$TMP')}<TAB>"
                try:
                    got = set(complete(line))
                except (RuntimeError, OSError) as e:
                    report(False, label, str(e))
                    continue
                problems = []
                if want - got:
                    problems.append(f"missing {sorted(want - got)}")
                if unwanted & got:
                    problems.append(f"unexpected {sorted(unwanted & got)}")
                if exact and got != want:
                    problems.append(f"expected exactly {sorted(want)}")
                shown = sorted(got)
                if len(shown) > 12:
                    shown = shown[:12] + ["..."]
                report(not problems, f"{label} -> {' '.join(shown) if shown else '(nothing)'}",
                       "; ".join(problems) + f"; got {sorted(got)[:40]}")
    finally:
        env.cleanup()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
