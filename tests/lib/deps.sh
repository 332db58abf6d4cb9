# deps.sh: sourced by tests/run and tests/demo. need_pkgs installs, with
# apt-get, whichever of the named Debian packages are not installed yet.
need_pkgs() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "Installing Debian packages: ${missing[*]}" >&2
	local sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# What building smqtt needs.
BUILD_PKGS=(gcc libc6-dev make cmake pkg-config libmosquitto-dev libconfig-dev libcjson-dev
	libssl-dev libcmocka-dev)
# What the demo and the tests run against.
RUN_PKGS=(mosquitto mosquitto-clients openssl python3 procps)
# dpkg-dev (dpkg-shlibdeps) and file: cpack's DEB generator; lintian and man-db:
# the package test (tests/packaging). haproxy, nginx: TLS terminators in the lab.
TEST_PKGS=(valgrind mandoc groff-base bash-completion zsh fish stunnel4 haproxy nginx libnginx-mod-stream time
	hyperfine util-linux dpkg-dev file lintian man-db)
# What only tests/run --full needs on top: the libFuzzer build.
FULL_TEST_PKGS=(clang libclang-rt-14-dev)
