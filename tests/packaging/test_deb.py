#!/usr/bin/env python3
"""The Debian package (issue 20): built as the README says (`cpack -G DEB` in
a build directory, here a fresh one in a temporary folder, configured with
-DSMQTT_MOSQUITTO_ALIASES=ON to show the aliases stay out), its contents and
fields read with dpkg-deb, lintian run on it; then installed system-wide with
apt-get, used from the installed locations (--version, a publish through a
saved profile to a broker on 127.0.0.1, man -w, bash completion of --profile
from the system completion directory) and purged, leaving no file behind.

The system-wide steps need root and apt-get; without them they are skipped.
They leave the system as they found it: the package (and anything apt pulled
in for it) is purged at the end, also when a step fails. When smqtt is
already installed and this script did not install it, they are skipped.

Run all with no arguments, or those whose name contains a word given. The
last line is "N passed, N failed" (", N skipped" when some were skipped).
"""
import glob
import gzip
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(REPO, "tests", "lib"))
from broker import Broker  # noqa: E402
from harness import Skip, expect, run_tests  # noqa: E402

CMAKE = os.environ.get("SMQTT_CMAKE") or "cmake"
CPACK = os.environ.get("SMQTT_CPACK") or "cpack"
TIMEOUT = 300
# Left by a run that installed the package, removed when it is purged: a
# later run that finds smqtt installed with this file purges it first (the
# run was killed); without it, an installed smqtt is somebody else's. In
# /run, where only root writes (not /tmp: root would follow a planted link).
MARKER = "/run/smqtt-test_deb.installed"

TMP = None
DEB = None          # the .deb, once built
DEB_ERROR = None    # why it could not be built
STATIC_LIBCONFIG = None
SYSTEM = None       # None: not tried; "installed"; or why the system steps do not run
TOUCHED = False     # apt-get install was run: teardown() purges what it installed
PULLED = []         # packages apt installed along with smqtt (from its own output)
PKG_FILES = []      # dpkg -L smqtt, read while installed

# Every entry of the package (directories end with /), and what each file is.
DOC = "usr/share/doc/smqtt/"
FILES = {
    "usr/bin/smqtt_pub": "binary",
    "usr/bin/smqtt_sub": "binary",
    "usr/bin/smqtt_rr": "binary",
    "usr/share/man/man1/smqtt_pub.1.gz": "man/smqtt_pub.1",
    "usr/share/man/man1/smqtt_sub.1.gz": "man/smqtt_sub.1",
    "usr/share/man/man1/smqtt_rr.1.gz": "man/smqtt_rr.1",
    "usr/share/man/man5/smqtt-profiles.5.gz": "man/smqtt-profiles.5",
    "usr/share/man/man7/smqtt-tls.7.gz": "man/smqtt-tls.7",
    "usr/share/man/zh_CN/man7/smqtt-tls.7.gz": "man/zh_CN/smqtt-tls.7",
    "usr/share/locale/zh_CN/LC_MESSAGES/smqtt.mo": "catalogue",
    "usr/share/bash-completion/completions/smqtt_pub": "completions/smqtt.bash",
    "usr/share/bash-completion/completions/smqtt_sub": "completions/smqtt.bash",
    "usr/share/bash-completion/completions/smqtt_rr": "completions/smqtt.bash",
    "usr/share/zsh/vendor-completions/_smqtt": "completions/_smqtt",
    "usr/share/fish/vendor_completions.d/smqtt_pub.fish": "completions/smqtt_pub.fish",
    "usr/share/fish/vendor_completions.d/smqtt_sub.fish": "completions/smqtt_sub.fish",
    "usr/share/fish/vendor_completions.d/smqtt_rr.fish": "completions/smqtt_rr.fish",
    DOC + "copyright": "copyright",
    DOC + "changelog.gz": "packaging/debian/changelog",
}


def dirs_of(paths):
    out = set()
    for p in paths:
        parts = p.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            out.add("/".join(parts[:i]) + "/")
    return out


def sh(cmd, timeout=TIMEOUT, env=None, cwd=None, inp=None):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd,
                       input=inp, stdin=None if inp is not None else subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


def must(cmd, what=None, **kw):
    rc, out, err = sh(cmd, **kw)
    expect(rc == 0, (what or " ".join(cmd)) + ": exit 0", rc, out[-3000:], err[-3000:])
    return out


def read(path):
    with open(path, "rb") as f:
        return f.read()


def version():
    m = re.search(r"^project\(smqtt VERSION (\S+)", read(os.path.join(REPO, "CMakeLists.txt")).decode(), re.M)
    return m.group(1)


LIB_PACKAGES = None


def lib_packages():
    """The Debian packages that provide, on the running system, the shared
    libraries smqtt_pub and smqtt_sub are linked against (their DT_NEEDED
    entries, found with ldd and owned per dpkg -S): libssl3 on Debian 12,
    libssl3t64 on Debian 13, ... No list written for one release."""
    global LIB_PACKAGES
    if LIB_PACKAGES is not None:
        return LIB_PACKAGES
    root = os.path.join(TMP, "libs")
    shutil.rmtree(root, ignore_errors=True)
    must(["dpkg-deb", "-x", deb(), root])
    pkgs = set()
    for tool in ("smqtt_pub", "smqtt_sub"):
        path = os.path.join(root, "usr/bin", tool)
        needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^]]+)\]", must(["readelf", "-d", path]))
        where = dict(re.findall(r"^\s*(\S+) => (/\S+)", must(["ldd", path]), re.M))
        for lib in needed:
            expect(lib in where, "ldd finds %s, which %s needs" % (lib, tool), where)
            real = os.path.realpath(where[lib])
            cands = {where[lib], real}
            cands |= {c[len("/usr"):] for c in cands if c.startswith("/usr/")} | {"/usr" + c for c in cands
                                                                              if not c.startswith("/usr/")}
            owner = None
            for c in sorted(cands):
                rc, out, _ = sh(["dpkg-query", "-S", c])
                if rc == 0 and out.strip():
                    owner = out.split(":")[0].strip()
                    break
            expect(owner, "a package owns %s (%s)" % (lib, ", ".join(sorted(cands))))
            pkgs.add(owner)
    LIB_PACKAGES = pkgs
    return pkgs


def deb():
    """The .deb, built on first use: configure, build, cpack -G DEB in the
    build directory, as the README says."""
    global DEB, DEB_ERROR, STATIC_LIBCONFIG
    if DEB:
        return DEB
    if DEB_ERROR:
        raise AssertionError("the package was not built: " + DEB_ERROR)
    if not shutil.which("dpkg-deb"):
        raise Skip("no dpkg-deb: not a Debian system")
    b = os.path.join(TMP, "build")
    try:
        must([CMAKE, "-S", REPO, "-B", b, "-DBUILD_TESTING=OFF", "-DSMQTT_WERROR=ON",
              "-DSMQTT_MOSQUITTO_ALIASES=ON"], cwd=TMP)
        must([CMAKE, "--build", b, "-j2"], cwd=TMP)
        must([CPACK, "-G", "DEB"], cwd=b)
        debs = glob.glob(os.path.join(b, "smqtt_*.deb"))
        expect(len(debs) == 1, "cpack wrote one smqtt_*.deb", debs)
        arch = must(["dpkg", "--print-architecture"]).strip()
        expect(os.path.basename(debs[0]) == "smqtt_%s_%s.deb" % (version(), arch),
               "the file is named smqtt_VERSION_ARCH.deb", debs[0])
    except AssertionError as e:
        DEB_ERROR = str(e)
        raise
    cache = read(os.path.join(b, "CMakeCache.txt")).decode()
    m = re.search(r"^SMQTT_LIBCONFIG_STATIC:FILEPATH=(.*)$", cache, re.M)
    STATIC_LIBCONFIG = bool(m and not m.group(1).endswith("NOTFOUND"))
    os.chmod(debs[0], 0o644)
    DEB = debs[0]
    return DEB


# ---- the package file ---------------------------------------------------------

def test_01_build():
    path = deb()
    print("  built %s (%d bytes)" % (os.path.relpath(path, TMP), os.path.getsize(path)))


def test_02_contents():
    out = must(["dpkg-deb", "-c", deb()])
    entries = {}
    for line in out.splitlines():
        f = line.split(None, 5)
        expect(len(f) == 6, "a dpkg-deb -c line", line)
        perms, owner, name = f[0], f[1], f[5]
        expect(owner == "root/root", "%s is owned by root/root" % name, line)
        expect(name.startswith("./"), "a path under ./", line)
        entries[name[2:]] = perms
    want = set(FILES) | dirs_of(FILES)
    got = set(entries)
    expect(got == want, "the package holds exactly the expected files and directories",
           "missing: %s" % sorted(want - got), "unexpected: %s" % sorted(got - want))
    expect(not [n for n in got if "mosquitto" in n], "no mosquitto_* alias in the package", sorted(got))
    for name, perms in entries.items():
        want_perms = ("drwxr-xr-x" if name.endswith("/") else
                      "-rwxr-xr-x" if FILES[name] == "binary" else "-rw-r--r--")
        expect(perms == want_perms, "%s has %s" % (name, want_perms), perms)

    root = os.path.join(TMP, "extracted")
    shutil.rmtree(root, ignore_errors=True)
    must(["dpkg-deb", "-x", deb(), root])
    for name, src in FILES.items():
        path = os.path.join(root, name)
        data = read(path)
        if src == "binary":
            desc = must(["file", "-b", path])
            expect("ELF" in desc and ", stripped" in desc, "%s is a stripped ELF binary" % name, desc)
            continue
        if src == "catalogue":
            expect(data[:4] in (b"\xde\x12\x04\x95", b"\x95\x04\x12\xde"),
                   "%s is a GNU message catalogue" % name, data[:4])
            continue
        if name.endswith(".gz"):
            # gzip -9n: no file name (flag 0x08) and no time stamp in the header
            expect(data[:3] == b"\x1f\x8b\x08" and not data[3] & 0x08 and data[4:8] == b"\0\0\0\0",
                   "%s is gzipped without a name or time stamp" % name, data[:10])
            data = gzip.decompress(data)
        if src == "copyright":
            text = data.decode()
            expect("Copyright" in text and "smqtt" in text, "the copyright file names smqtt", text)
            expect(("libconfig" in text) == STATIC_LIBCONFIG,
                   "the copyright file covers libconfig exactly when it is linked statically",
                   STATIC_LIBCONFIG, text)
            continue
        expect(data == read(os.path.join(REPO, src)), "%s is %s" % (name, src))
    top = gzip.decompress(read(os.path.join(root, DOC + "changelog.gz"))).decode().split("\n", 1)[0]
    expect(top.startswith("smqtt (%s) " % version()), "the changelog's first entry is this version", top)


def test_03_fields_and_depends():
    path = deb()
    fields = {}
    for key in ("Package", "Version", "Architecture", "Maintainer", "Section", "Priority", "Depends",
                "Description", "Conflicts", "Provides", "Replaces", "Breaks"):
        fields[key] = must(["dpkg-deb", "-f", path, key]).strip()
    print("  Depends: " + fields["Depends"])
    expect(fields["Package"] == "smqtt", "Package: smqtt", fields["Package"])
    expect(fields["Version"] == version(), "Version: the version in project()", fields["Version"], version())
    expect(fields["Architecture"] == must(["dpkg", "--print-architecture"]).strip(), "Architecture",
           fields["Architecture"])
    expect(re.match(r"^[^<>]+ <[^<>@\s]+@[^<>@\s]+>$", fields["Maintainer"]), "Maintainer: Name <address>",
           fields["Maintainer"])
    expect(fields["Section"] == "net" and fields["Priority"] == "optional", "Section net, Priority optional",
           fields["Section"], fields["Priority"])
    expect(not any(fields[k] for k in ("Conflicts", "Provides", "Replaces", "Breaks")),
           "no Conflicts, Provides, Replaces or Breaks (the aliases are not in the package)", fields)
    lines = fields["Description"].split("\n")
    expect(len(lines) >= 4 and all(len(l) <= 80 for l in lines), "a synopsis and an extended description",
           lines)
    names = set()
    for dep in fields["Depends"].split(","):
        m = re.match(r"^\s*([a-z0-9][a-z0-9+.-]*)\s*(\((>=|=|>>|<=|<<) [^)]+\))?\s*$", dep)
        expect(m, "a plain dependency with an optional version", dep)
        names.add(m.group(1))
    want = lib_packages()
    expect(names == want, "Depends computed from the binaries: %s (what this system's packages provide)"
           % ", ".join(sorted(want)), fields["Depends"], "libconfig linked statically: %s" % STATIC_LIBCONFIG)
    expect(STATIC_LIBCONFIG or any(n.startswith("libconfig") for n in names), "libconfig is a dependency unless "
           "linked statically", fields["Depends"])


def test_04_lintian():
    if not shutil.which("lintian"):
        raise AssertionError("lintian is not installed (Debian: apt-get install lintian; tests/run installs it)")
    rc, out, err = sh(["lintian", "--display-info", "--pedantic", deb()])
    tags = [l for l in out.splitlines() if re.match(r"^[EWIPXCO]: ", l)]
    for t in tags:
        print("  lintian " + t)
    bad = [t for t in tags if t[0] in "EW"]
    expect(not bad, "lintian: no error and no warning", bad)
    expect(rc == 0, "lintian exits 0", rc, out[-2000:], err[-2000:])


# ---- installed system-wide ----------------------------------------------------

def apt_env():
    e = dict(os.environ)
    e["DEBIAN_FRONTEND"] = "noninteractive"
    return e


APT = ["apt-get", "-y", "-q", "-o", "DPkg::Lock::Timeout=120"]


def installed(pkg="smqtt"):
    rc, out, _ = sh(["dpkg-query", "-W", "-f", "${Status}", pkg])
    return rc == 0 and out.endswith(" installed")


def new_packages(apt_output):
    """The packages apt-get install lists under "The following NEW packages
    will be installed:" (only this transaction's, whatever else happens on
    the machine meanwhile)."""
    names, inside = [], False
    for line in apt_output.splitlines():
        if line.startswith("The following NEW packages will be installed"):
            inside = True
        elif inside and line.startswith("  "):
            names += line.split()
        else:
            inside = False
    return names


def purge(pkgs):
    rc, out, err = sh(APT + ["remove", "--purge"] + pkgs, env=apt_env())
    return rc, out + err


def need_system():
    if SYSTEM is None:
        raise Skip("the package was not installed (test_06_apt_install did not run)")
    if SYSTEM != "installed":
        raise Skip(SYSTEM)
    expect(installed(), "smqtt is installed")


def test_05_apt_pulls_dependencies():
    """apt-get install --simulate, on a copy of dpkg's status file without
    libmosquitto1 and libcjson1 (and what depends on them): apt takes them
    from the archive. (On the test machine they are installed already, as
    the build needs them.)"""
    if not shutil.which("apt-get"):
        raise Skip("no apt-get")
    drop = {"libmosquitto1", "libcjson1"}
    paras = read("/var/lib/dpkg/status").decode().split("\n\n")

    def name(p):
        m = re.match(r"Package: (\S+)", p)
        return m and m.group(1)

    def needs(p):
        m = re.findall(r"^(?:Pre-)?Depends: (.*)$", p, re.M)
        return {d.strip().split()[0].split(":")[0] for f in m for alt in f.split(",") for d in alt.split("|")
                if d.strip()}

    while True:
        more = {name(p) for p in paras if name(p) and name(p) not in drop and needs(p) & drop}
        if not more:
            break
        drop |= more
    status = os.path.join(TMP, "dpkg-status")
    with open(status, "w") as f:
        f.write("\n\n".join(p for p in paras if name(p) not in drop))
    rc, out, err = sh(["apt-get", "-s", "-o", "Dir::State::status=" + status, "install", deb()], timeout=60)
    expect(rc == 0, "apt-get --simulate install: exit 0 (no candidate? run apt-get update)", rc, out[-2000:],
           err[-2000:])
    inst = set(re.findall(r"^Inst (\S+) ", out, re.M))
    expect({"smqtt", "libmosquitto1", "libcjson1"} <= inst, "apt would install smqtt with libmosquitto1 and "
           "libcjson1 from the archive", sorted(inst), out[-2000:])


def test_06_apt_install():
    global SYSTEM, PULLED, TOUCHED
    SYSTEM = "why unknown"
    if os.geteuid() != 0:
        SYSTEM = "not root: the package is not installed system-wide"
    elif not shutil.which("apt-get") or not shutil.which("dpkg-query"):
        SYSTEM = "no apt-get: the package is not installed system-wide"
    elif installed() and not os.path.exists(MARKER):
        SYSTEM = "smqtt is already installed on this system (not by this test): left alone"
    if SYSTEM != "why unknown":
        raise Skip(SYSTEM)
    path = deb()
    if installed():
        print("  purging smqtt left installed by an earlier, interrupted run (%s)" % MARKER)
        rc, out = purge(["smqtt"])
        expect(rc == 0 and not installed(), "the leftover smqtt is purged", rc, out[-2000:])
    os.chmod(TMP, 0o755)  # apt reads local .debs as the _apt user
    with open(MARKER, "w") as f:
        f.write(path + "\n")
    SYSTEM = "installed"
    TOUCHED = True
    rc, out, err = sh(APT + ["install", path], env=apt_env())
    PULLED = [p for p in new_packages(out) if p.split(":")[0] != "smqtt"]
    expect(rc == 0, "apt-get install %s: exit 0" % path, rc, out[-3000:], err[-3000:])
    print("  apt pulled in: %s" % (", ".join(PULLED) or "nothing (the dependencies were installed)"))
    expect(installed(), "smqtt is installed", out[-2000:])
    for p in sorted(lib_packages()):
        expect(installed(p), "the dependency %s is installed" % p)
    ver = must(["dpkg-query", "-W", "-f", "${Version}", "smqtt"])
    expect(ver == version(), "the installed version", ver)
    global PKG_FILES
    PKG_FILES = [l for l in must(["dpkg", "-L", "smqtt"]).splitlines() if l and l != "/."]
    listed = {p.lstrip("/") for p in PKG_FILES}
    expect(set(FILES) <= listed, "dpkg -L lists every file of the package", sorted(set(FILES) - listed))


def user_env(**extra):
    e = {"PATH": "/usr/bin:/bin", "HOME": os.path.join(TMP, "home"), "LC_ALL": "C.UTF-8", "TERM": "dumb"}
    e.update(extra)
    return e


def test_07_installed_version():
    need_system()
    for tool in ("smqtt_pub", "smqtt_sub", "smqtt_rr"):
        rc, out, err = sh(["/usr/bin/" + tool, "--version"], timeout=10, env=user_env())
        expect(out.startswith("%s version %s running on libmosquitto " % (tool, version())),
               "/usr/bin/%s --version prints its version" % tool, rc, out, err)
        # mosquitto_pub 2.0.11 --version exits 1 after printing; so does smqtt
        expect(rc == 1 and err == "", "exit 1 and nothing on stderr, as mosquitto's clients", rc, err)


def profiles_file(port):
    path = os.path.join(TMP, "profiles.conf")
    with open(path, "w") as f:
        f.write('pkgtest: { hosts = ["127.0.0.1"]; port = %d; };\n'
                'other: { hosts = ["other.invalid"]; port = 1; };\n' % port)
    return path


def test_08_installed_publish_via_profile():
    """smqtt_sub --profile and smqtt_pub -h 127.0.0.1 (the profile matches
    the host): the broker's port comes only from the profile."""
    need_system()
    with Broker() as b:
        e = user_env(SMQTT_PROFILES=profiles_file(b.port))
        mark = b.log_mark()
        sub = subprocess.Popen(["/usr/bin/smqtt_sub", "--profile", "pkgtest", "-h", "127.0.0.1",
                                "-t", "smqtt/pkg", "-C", "1", "-i", "pkgsub"], env=e,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            b.wait_for_log(r"Sending SUBACK to pkgsub", 10, since=mark)
            rc, out, err = sh(["/usr/bin/smqtt_pub", "-h", "127.0.0.1", "-t", "smqtt/pkg", "-m", "from-the-package",
                               "-i", "pkgpub"], timeout=15, env=e)
            expect(rc == 0 and out == "" and err == "", "the installed smqtt_pub publishes", rc, out, err)
            sout, serr = sub.communicate(timeout=10)
        finally:
            if sub.poll() is None:
                sub.kill()
                sub.wait()
        expect(sub.returncode == 0 and sout == b"from-the-package\n", "the installed smqtt_sub receives it",
               sub.returncode, sout, serr)
        expect(re.search(r"New client connected from 127\.0\.0\.1:\d+ as pkgpub", b.log_text(mark)),
               "the broker saw smqtt_pub connect", b.log_text(mark)[-2000:])


def test_09_installed_man_pages():
    need_system()
    if not shutil.which("man"):
        raise AssertionError("man is not installed (Debian: apt-get install man-db; tests/run installs it)")
    for page, want in (("smqtt-tls", "/usr/share/man/man7/smqtt-tls.7.gz"),
                       ("smqtt_pub", "/usr/share/man/man1/smqtt_pub.1.gz"),
                       ("smqtt_sub", "/usr/share/man/man1/smqtt_sub.1.gz"),
                       ("smqtt_rr", "/usr/share/man/man1/smqtt_rr.1.gz"),
                       ("smqtt-profiles", "/usr/share/man/man5/smqtt-profiles.5.gz")):
        rc, out, err = sh(["man", "-w", page], timeout=30, env=user_env())
        expect(rc == 0 and out.strip() == want, "man -w %s finds %s" % (page, want), rc, out, err)
    # the Chinese troubleshooting guide, by language
    want = "/usr/share/man/zh_CN/man7/smqtt-tls.7.gz"
    rc, out, err = sh(["man", "-L", "zh_CN", "-w", "smqtt-tls"], timeout=30, env=user_env())
    expect(rc == 0 and out.strip() == want, "man -L zh_CN -w smqtt-tls finds %s" % want, rc, out, err)
    rc, out, err = sh(["man", "-P", "cat", "smqtt-tls"], timeout=60, env=user_env(MANWIDTH="80"))
    expect(rc == 0 and "SMQTT-TLS" in out.upper() and len(out) > 2000, "man smqtt-tls renders the page",
           rc, out[:500], err[:1000])


BASH_COMPLETE = r'''
source /usr/share/bash-completion/bash_completion || exit 5
tool=$1
complete -p "$tool" >/dev/null 2>&1 && { echo "a completion for $tool is defined before loading" >&2; exit 6; }
# What bash does on the first TAB: the default (-D) completion loads the
# command's file from the completion directories, then the retry uses it.
read -r -a def < <(complete -p -D)
loader=${def[2]}
COMP_WORDS=("$tool" --profile ""); COMP_CWORD=2
COMP_LINE="$tool --profile "; COMP_POINT=${#COMP_LINE}
"$loader" "$tool" "" --profile
read -r -a spec < <(complete -p "$tool") || exit 7
[[ ${spec[1]} == -F ]] || { echo "unexpected completion: ${spec[*]}" >&2; exit 8; }
fn=${spec[2]}
shopt -s extdebug
declare -F "$fn" >&2
shopt -u extdebug
COMPREPLY=()
"$fn" "$tool" "" --profile
printf '%s\n' "${COMPREPLY[@]}"
'''


def test_10_installed_bash_completion():
    need_system()
    if not os.path.exists("/usr/share/bash-completion/bash_completion"):
        raise AssertionError("bash-completion is not installed (tests/run installs it)")
    e = user_env(SMQTT_PROFILES=profiles_file(1), XDG_DATA_DIRS="/usr/share",
                 XDG_DATA_HOME=os.path.join(TMP, "xdg-data"), BASH_COMPLETION_USER_DIR=os.path.join(TMP, "none"))
    for tool in ("smqtt_pub", "smqtt_sub"):
        rc, out, err = sh(["bash", "--norc", "--noprofile", "-c", BASH_COMPLETE, "bash", tool], timeout=30,
                          env=e)
        expect(rc == 0, "bash ran the completion of %s" % tool, rc, out, err)
        src = "/usr/share/bash-completion/completions/" + tool
        expect(err.strip().endswith(" " + src), "the completion function came from %s" % src, err)
        got = sorted(l for l in out.splitlines() if l)
        expect(got == ["other", "pkgtest"], "%s --profile <TAB> offers the saved profiles" % tool, got)


def test_11_purge_leaves_nothing():
    global SYSTEM
    need_system()
    expect(PKG_FILES, "dpkg -L was read after the install")
    rc, out = purge(["smqtt"])
    expect(rc == 0, "apt-get remove --purge smqtt", rc, out[-2000:])
    SYSTEM = "purged by test_11_purge_leaves_nothing"
    if os.path.exists(MARKER):
        os.unlink(MARKER)
    rc, status, _ = sh(["dpkg-query", "-W", "-f", "${Status}", "smqtt"])
    expect(rc != 0 or status.endswith("not-installed"), "dpkg knows smqtt no more", rc, status)
    pkg_dirs = {"/" + d.rstrip("/") for d in dirs_of(FILES)}
    left = []
    for path in PKG_FILES:
        if path in pkg_dirs:
            # a directory may stay when another package owns it or it holds other files
            if os.path.isdir(path) and not os.listdir(path) and sh(["dpkg-query", "-S", path])[0] != 0:
                left.append(path + " (empty directory, no owner)")
        elif os.path.lexists(path):
            left.append(path)
    expect(not left, "no file of the package is left", left)
    expect(not os.path.exists("/usr/share/doc/smqtt"), "/usr/share/doc/smqtt is gone")


def cleanup_system():
    """Purge what the system steps installed, whatever happened."""
    if not TOUCHED:
        return
    if installed():
        rc, out = purge(["smqtt"])
        print("cleanup: apt-get remove --purge smqtt: exit %d" % rc)
    pulled = [p for p in PULLED if installed(p)]
    if pulled:
        rc, out = purge(pulled)
        print("cleanup: purged what apt pulled in (%s): exit %d" % (", ".join(pulled), rc))
    if not installed() and os.path.exists(MARKER):
        os.unlink(MARKER)


def main():
    global TMP
    TMP = tempfile.mkdtemp(prefix="smqtt-deb-")
    os.makedirs(os.path.join(TMP, "home"))
    try:
        return run_tests(globals(), lambda t: t(), teardown=cleanup_system)
    finally:
        cleanup_system()  # again, should run_tests itself have failed
        shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
