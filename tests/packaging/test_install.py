#!/usr/bin/env python3
"""The install layout (issue 20): `cmake --install` with --prefix and with
DESTDIR puts exactly the expected files under the prefix, nothing anywhere
else; the completion directories given relative on the command line follow
the prefix too, and so do the mosquitto_* aliases (-DSMQTT_MOSQUITTO_ALIASES=ON).

Installs the build under test ($SMQTT_BUILD_DIR, default build/) into
temporary roots, and configures and builds a second tree with the aliases
and other completion directories in a temporary folder. Needs no root.

Run all with no arguments, or those whose name contains a word given. The
last line is "N passed, N failed".
"""
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(REPO, "tests", "lib"))
from harness import expect, run_tests  # noqa: E402

BUILD = os.path.abspath(os.environ.get("SMQTT_BUILD_DIR") or os.path.join(REPO, "build"))
CMAKE = os.environ.get("SMQTT_CMAKE") or "cmake"
TMP = None

LINGUAS = ("zh_CN",)   # po/*.po: each compiled catalogue installs under share/locale
MAN = {"man1/smqtt_pub.1": "smqtt_pub.1", "man1/smqtt_sub.1": "smqtt_sub.1", "man1/smqtt_rr.1": "smqtt_rr.1",
       "man5/smqtt-profiles.5": "smqtt-profiles.5", "man7/smqtt-tls.7": "smqtt-tls.7",
       "zh_CN/man7/smqtt-tls.7": "zh_CN/smqtt-tls.7"}


def layout(bash="share/bash-completion/completions", zsh="share/zsh/vendor-completions", aliases=False):
    """{path relative to the prefix: what it must be}: a source file's
    path, ("bin", tool) for a binary, ("link", target) for a symbolic link."""
    want = {"bin/smqtt_pub": ("bin", "smqtt_pub"), "bin/smqtt_sub": ("bin", "smqtt_sub"),
            "bin/smqtt_rr": ("bin", "smqtt_rr")}
    for lang in LINGUAS:
        want["share/locale/%s/LC_MESSAGES/smqtt.mo" % lang] = ("mo", lang)
    for dest, src in MAN.items():
        want["share/man/" + dest] = os.path.join(REPO, "man", src)
    want[bash + "/smqtt_pub"] = os.path.join(REPO, "completions", "smqtt.bash")
    want[bash + "/smqtt_sub"] = os.path.join(REPO, "completions", "smqtt.bash")
    want[bash + "/smqtt_rr"] = os.path.join(REPO, "completions", "smqtt.bash")
    want[zsh + "/_smqtt"] = os.path.join(REPO, "completions", "_smqtt")
    for tool in ("smqtt_pub", "smqtt_sub", "smqtt_rr"):
        want["share/fish/vendor_completions.d/%s.fish" % tool] = os.path.join(REPO, "completions", tool + ".fish")
    if aliases:
        want["bin/mosquitto_pub"] = ("link", "smqtt_pub")
        want["bin/mosquitto_sub"] = ("link", "smqtt_sub")
        want["bin/mosquitto_rr"] = ("link", "smqtt_rr")
    return want


def version():
    """The version in project() of CMakeLists.txt."""
    m = re.search(r"^project\(smqtt VERSION (\S+)", read(os.path.join(REPO, "CMakeLists.txt")).decode(), re.M)
    return m.group(1)


def build_has_aliases():
    return "SMQTT_MOSQUITTO_ALIASES:BOOL=ON\n" in read(os.path.join(BUILD, "CMakeCache.txt")).decode()


def tree(root):
    """Every file and link under root, relative to it (directories left out)."""
    found = set()
    for d, dirs, files in os.walk(root):
        for name in files + [x for x in dirs if os.path.islink(os.path.join(d, x))]:
            found.add(os.path.relpath(os.path.join(d, name), root))
    return found


def read(path):
    with open(path, "rb") as f:
        return f.read()


def check_tree(root, want, build):
    """root holds exactly `want`, each file as it should be."""
    got = tree(root)
    expect(got == set(want), "the installed files are exactly the expected layout under %s" % root,
           "missing: %s" % sorted(set(want) - got), "unexpected: %s" % sorted(got - set(want)))
    for rel, what in want.items():
        path = os.path.join(root, rel)
        mode = stat.S_IMODE(os.lstat(path).st_mode)
        if isinstance(what, tuple) and what[0] == "link":
            expect(os.path.islink(path) and os.readlink(path) == what[1],
                   "%s is a relative link to %s" % (rel, what[1]), os.path.islink(path) and os.readlink(path))
        elif isinstance(what, tuple) and what[0] == "mo":
            built = os.path.join(build, "share", "locale", what[1], "LC_MESSAGES", "smqtt.mo")
            expect(read(path) == read(built), "%s is the catalogue msgfmt built" % rel)
            expect(mode == 0o644, "%s has mode 644" % rel, oct(mode))
        elif isinstance(what, tuple):
            expect(read(path) == read(os.path.join(build, "bin", what[1])), "%s is the built %s" % (rel, what[1]))
            expect(mode == 0o755, "%s has mode 755" % rel, oct(mode))
        else:
            expect(read(path) == read(what), "%s is %s" % (rel, os.path.relpath(what, REPO)))
            expect(mode == 0o644, "%s has mode 644" % rel, oct(mode))


def relocatable(build):
    """Every destination in the build's install scripts is under
    ${CMAKE_INSTALL_PREFIX}, and DESTDIR is only ever put before it. Checked
    before installing: a regression must not write outside the temporary
    roots (the bash completions once went to /usr/local/share whatever the
    prefix)."""
    for d, _, files in os.walk(build):
        if "cmake_install.cmake" not in files:
            continue
        path = os.path.join(d, "cmake_install.cmake")
        text = read(path).decode()
        for dest in re.findall(r'DESTINATION "([^"]*)"', text):
            expect(dest.startswith("${CMAKE_INSTALL_PREFIX}"),
                   "%s installs into %s, not under the install prefix" % (os.path.relpath(path, build), dest))
        for m in re.finditer(r"\$ENV\{DESTDIR\}", text):
            expect(text.startswith("${CMAKE_INSTALL_PREFIX}", m.end()),
                   "%s puts DESTDIR before something else than the prefix" % os.path.relpath(path, build),
                   text[m.start():m.start() + 120])


def install(build, prefix, destdir=None, component=None):
    relocatable(build)
    env = dict(os.environ)
    env.pop("DESTDIR", None)
    if destdir:
        env["DESTDIR"] = destdir
    cmd = [CMAKE, "--install", build, "--prefix", prefix] + (["--component", component] if component else [])
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    expect(p.returncode == 0, "%s%s exits 0" % ("DESTDIR=%s " % destdir if destdir else "", " ".join(cmd)),
           p.returncode, p.stdout, p.stderr)
    # what it reports installing stays under DESTDIR + prefix; the manifest
    # it writes lists the paths without DESTDIR, under the prefix
    root = (destdir or "") + prefix
    for line in p.stdout.splitlines():
        if line.startswith("-- Installing: ") or line.startswith("-- Up-to-date: "):
            expect(line.split(": ", 1)[1].startswith(root + "/"), "installed under %s" % root, line)
    manifest = os.path.join(build, "install_manifest.txt" if not component else
                            "install_manifest_%s.txt" % component)
    for line in read(manifest).decode().splitlines():
        expect(line.startswith(prefix + "/"), "the install manifest lists paths under %s" % prefix, line)
    return p.stdout


def scratch(name):
    path = os.path.join(TMP, name)
    shutil.rmtree(path, ignore_errors=True)
    return path


# ---- the build under test -----------------------------------------------------

def test_prefix():
    root = scratch("prefix")
    install(BUILD, root)
    check_tree(root, layout(aliases=build_has_aliases()), BUILD)


def test_destdir_prefix_usr():
    """Configured with the default prefix (/usr/local), installed with
    --prefix /usr into DESTDIR: everything under DESTDIR/usr, bash completions
    included."""
    cache = read(os.path.join(BUILD, "CMakeCache.txt")).decode()
    expect("CMAKE_INSTALL_PREFIX:PATH=/usr/local\n" in cache, "the build under test has the default prefix")
    dest = scratch("destdir")
    install(BUILD, "/usr", destdir=dest)
    expect(os.listdir(dest) == ["usr"], "DESTDIR holds only usr/", os.listdir(dest))
    check_tree(os.path.join(dest, "usr"), layout(aliases=build_has_aliases()), BUILD)


def test_prefix_twice_replaces():
    """A second install into the same prefix leaves the same tree."""
    root = scratch("twice")
    install(BUILD, root)
    install(BUILD, root)
    check_tree(root, layout(aliases=build_has_aliases()), BUILD)


# ---- a second tree: aliases, completion directories given relative ---------------

ALT = None


def alt_build():
    """A tree configured with the aliases on and the bash and zsh completion
    directories given relative on the command line, built once."""
    global ALT
    if ALT:
        return ALT
    b = os.path.join(TMP, "alt-build")
    cfg = [CMAKE, "-S", REPO, "-B", b, "-DBUILD_TESTING=OFF", "-DSMQTT_WERROR=ON",
           "-DSMQTT_MOSQUITTO_ALIASES=ON", "-DSMQTT_BASH_COMPLETION_DIR=etc/bash_completion.d",
           "-DSMQTT_ZSH_COMPLETION_DIR=share/zsh/site-functions"]
    for cmd in (cfg, [CMAKE, "--build", b, "-j2"]):
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=TMP)
        expect(p.returncode == 0, " ".join(cmd), p.stdout[-3000:], p.stderr[-3000:])
    ALT = b
    return b


ALT_LAYOUT = dict(bash="etc/bash_completion.d", zsh="share/zsh/site-functions", aliases=True)


def test_aliases_and_relative_dirs_prefix():
    b = alt_build()
    cache = read(os.path.join(b, "CMakeCache.txt")).decode()
    expect("SMQTT_BASH_COMPLETION_DIR:STRING=etc/bash_completion.d\n" in cache,
           "a relative -DSMQTT_BASH_COMPLETION_DIR stays relative",
           [l for l in cache.splitlines() if "COMPLETION_DIR" in l])
    root = scratch("alt-prefix")
    install(b, root)
    check_tree(root, layout(**ALT_LAYOUT), b)
    p = subprocess.run([os.path.join(root, "bin", "mosquitto_pub"), "--version"], capture_output=True, text=True,
                       timeout=10)
    expect(p.stdout.startswith("mosquitto_pub version %s running on libmosquitto " % version()),
           "the alias runs smqtt_pub under the name mosquitto_pub", p.stdout[:300], p.stderr[:300])


def test_aliases_and_relative_dirs_destdir():
    b = alt_build()
    dest = scratch("alt-destdir")
    install(b, "/opt/smqtt", destdir=dest)
    check_tree(os.path.join(dest, "opt", "smqtt"), layout(**ALT_LAYOUT), b)
    expect(os.listdir(dest) == ["opt"], "DESTDIR holds only opt/", os.listdir(dest))


def test_aliases_component_alone():
    """The aliases are their own component (the Debian package leaves them
    out); the default component has everything else."""
    b = alt_build()
    root = scratch("alt-aliases")
    install(b, root, component="aliases")
    expect(tree(root) == {"bin/mosquitto_pub", "bin/mosquitto_sub", "bin/mosquitto_rr"}, "component aliases: the three links",
           sorted(tree(root)))
    root = scratch("alt-main")
    install(b, root, component="smqtt")
    want = layout(**ALT_LAYOUT)
    del want["bin/mosquitto_pub"], want["bin/mosquitto_sub"], want["bin/mosquitto_rr"]
    check_tree(root, want, b)


def main():
    global TMP
    TMP = tempfile.mkdtemp(prefix="smqtt-install-")
    try:
        expect_build = os.path.join(BUILD, "cmake_install.cmake")
        if not os.path.exists(expect_build):
            print("FAIL: no configured build in %s (set SMQTT_BUILD_DIR)" % BUILD)
            print("0 passed, 1 failed")
            return 1
        return run_tests(globals(), lambda t: t())
    finally:
        shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
