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

# need_npm: npm for the aedes broker of the WebSocket tests (npm install at
# run time). Debian packages it apart from nodejs; NodeSource's nodejs
# carries its own npm, and Debian's npm would conflict with it.
need_npm() {
	command -v npm >/dev/null 2>&1 || need_pkgs npm
}

# need_locale NAME: generate a locale (e.g. zh_CN.UTF-8, for the
# translation tests) unless `locale -a` lists it. Needs root or sudo.
need_locale() {
	local want norm
	want=$1
	norm=$(printf '%s' "$want" | tr 'A-Z' 'a-z' | sed 's/utf-8$/utf8/')
	locale -a 2>/dev/null | tr 'A-Z' 'a-z' | grep -qx "$norm" && return 0
	local sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	echo "Generating the locale $want" >&2
	$sudo localedef -i "${want%%.*}" -f "${want#*.}" "$want"
}

# What building smqtt needs (gettext: msgfmt for the message catalogues).
BUILD_PKGS=(gcc libc6-dev make cmake pkg-config libmosquitto-dev libconfig-dev libcjson-dev
	libssl-dev libcmocka-dev gettext)
# What the demo and the tests run against.
RUN_PKGS=(mosquitto mosquitto-clients openssl python3 procps)
# dpkg-dev (dpkg-shlibdeps) and file: cpack's DEB generator; lintian and man-db:
# the package test (tests/packaging); locales: localedef for zh_CN.UTF-8.
# haproxy, nginx: TLS terminators in the lab; microsocks: the SOCKS5 proxy of the
# WebSocket suite (in Debian 12 and 13; Dante is not in 13); g++: mosquitto
# 2.1.2's CMake project (tests/lib/mosq21.py) wants a C++ compiler.
TEST_PKGS=(valgrind mandoc groff-base bash-completion zsh fish stunnel4 haproxy nginx libnginx-mod-stream time
	hyperfine util-linux dpkg-dev file lintian man-db locales microsocks nodejs g++)
# What only tests/run --full needs on top: the libFuzzer build.
FULL_TEST_PKGS=(clang libclang-rt-dev)
