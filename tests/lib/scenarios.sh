#!/usr/bin/env bash
# scenarios.sh OUTDIR -- the "scenario lab": one throwaway PKI per TLS
# failure scenario, made with the openssl CLI only (OpenSSL 3.0 on Debian 12,
# 3.5 on Debian 13). Every certificate states its extensions explicitly,
# key identifiers included ("none" where there must be none): 3.5's
# 'openssl x509 -req' and 'openssl ca' add subject and authority key
# identifiers by default where 3.0 adds none, and the lab must be the same
# on both.
#
# Unless a scenario says otherwise, a scenario directory holds
#   ca.crt / ca.key           its own CA (RSA-2048, CA:TRUE, keyCertSign)
#   server.crt / server.key   CN localhost, SAN DNS:localhost + IP:127.0.0.1,
#                             EKU serverAuth
#   client.crt / client.key   CN smqtt-client, EKU clientAuth
# RSA-2048, SHA-256, valid for 365 days. Every scenario has its own CA.
#
# Scenarios:
#   good          the reference set, as described above.
#   ecdsa         the same with EC P-256 keys everywhere (CA, server, client).
#   other-ca      a second, independent CA with its own server and client
#                 certificates (other-ca/client.key does not belong to
#                 good/client.crt: a key mismatch; other-ca/client.crt is
#                 unknown to good/ca.crt).
#   samecn        the motivating bug: CA, server and client ALL have the
#                 subject CN=127.0.0.1; server and client have no extension
#                 at all ("subjectKeyIdentifier = none", "authorityKeyIdentifier
#                 = none" and nothing else), like v1 certificates: no key
#                 identifiers. OpenSSL (3.0 and 3.5) takes such a leaf for a
#                 self-signed certificate ("A TLS error occurred").
#   samecn-keyid  the same names as samecn (CA, server and client all
#                 CN=127.0.0.1), but the leaves are v3 certificates with
#                 subject and authority key identifiers (and the usual SAN /
#                 EKU), which let OpenSSL tell them apart from the CA: mutual
#                 TLS with mosquitto works. A "looks dangerous but works" case.
#                 Also client-v1.crt/.key and server-v1.crt/.key: leaves
#                 without any extension (bare.ext: no key identifiers, as a
#                 v1 certificate of OpenSSL 3.0 has; 3.5 would add them
#                 without it) CN=127.0.0.1 signed by
#                 the same CA, for "only the client's" and "only the broker's
#                 certificate is a same-name v1 certificate".
#   samecn-nokeyid  the same names as samecn (CA, server and client all
#                 CN=127.0.0.1), v3 leaves (CA:FALSE, SAN, EKU) without key
#                 identifiers: OpenSSL takes server.crt for self-signed and,
#                 given as --cafile, accepts it as a trust anchor (openssl
#                 verify -CAfile server.crt server.crt: OK); a broker still
#                 takes client.crt for self-signed and rejects it.
#   intermediate  root CA -> intermediate CA (pathlen 0) -> server, client.
#                 Files: root.crt/.key, intermediate.crt/.key, ca.crt/.key
#                 (copies of root.crt/.key), server.crt (leaf only),
#                 server-chain.crt (leaf + intermediate), server.key,
#                 client.crt (leaf only), client-chain.crt, client.key.
#   expired       server and client certificates valid from 2020-01-01 to
#                 2020-01-02 (made with 'openssl ca -startdate/-enddate');
#                 the CA itself is valid.
#   notyet        server and client certificates whose validity starts one
#                 year from the day of generation; the CA is valid.
#   nosan         server certificate with CN=localhost and no
#                 subjectAltName at all.
#   wrongsan      server certificate CN=other.example, valid only for
#                 DNS:other.example.
#   weak          RSA-1024 server and client keys (CA RSA-2048).
#   sha1          server and client certificates signed with SHA-1 by an
#                 RSA-2048 CA.
#   selfsigned    server.crt is a self-signed leaf (CA:FALSE, SAN, serverAuth)
#                 and client.crt a self-signed client leaf; there is NO CA
#                 (no ca.crt / ca.key).
#   noca          ca.crt is a self-signed "CA" with basicConstraints
#                 CA:FALSE and no keyCertSign that nevertheless signed the
#                 client (and server) certificate.
#   servereku     client certificate whose EKU is serverAuth only.
#   encrypted     client.key encrypted (PKCS#8, AES-256) with the passphrase
#                 "secret"; client.crt matches it.
#   der           DER encodings of the good scenario: ca.der, server.der,
#                 client.der, client.key.der (PKCS#8). No PEM files.
#   garbage       garbage.bin: 2048 random bytes (neither PEM nor DER).
#
# Keys are mode 0600, certificates 0644. Output is quiet unless something
# fails. Idempotent: if OUTDIR/.done exists (same generator version) and the
# certificates that should be valid are still valid for at least a day,
# nothing is done; otherwise everything is regenerated.
#
# For tests only: the keys are throwaway and (except encrypted) unencrypted.
set -euo pipefail

if [ $# -ne 1 ]; then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi

VERSION=5
DAYS=365
out=$1
mkdir -p "$out"
out=$(cd "$out" && pwd)

SCENARIOS="good ecdsa other-ca samecn samecn-keyid samecn-nokeyid intermediate expired expiring notyet nosan wrongsan weak sha1 selfsigned noca servereku encrypted der garbage"

# Certificates that must be currently valid (not expired, not in the future).
VALID_CERTS="good/ca.crt good/server.crt good/client.crt ecdsa/client.crt other-ca/client.crt
samecn/ca.crt samecn/server.crt samecn/client.crt samecn-keyid/client.crt samecn-keyid/client-v1.crt samecn-keyid/server-v1.crt samecn-nokeyid/server.crt intermediate/root.crt intermediate/server.crt
intermediate/client.crt expired/ca.crt expiring/ca.crt expiring/server.crt expiring/client.crt notyet/ca.crt nosan/server.crt wrongsan/server.crt
weak/client.crt sha1/client.crt selfsigned/server.crt noca/client.crt servereku/client.crt
encrypted/client.crt"

lab_ok() {
	[ -f "$out/.done" ] || return 1
	[ "$(cat "$out/.done" 2>/dev/null)" = "scenarios v$VERSION" ] || return 1
	local c
	for c in $VALID_CERTS; do
		openssl x509 -in "$out/$c" -noout -checkend 86400 >/dev/null 2>&1 || return 1
	done
	# the not-yet-valid ones must still lie in the future
	openssl verify -CAfile "$out/notyet/ca.crt" "$out/notyet/client.crt" >/dev/null 2>&1 && return 1
	[ -s "$out/garbage/garbage.bin" ] && [ -s "$out/der/client.key.der" ] || return 1
	return 0
}

if lab_ok; then
	exit 0
fi

work=$(mktemp -d "$out/.gen.XXXXXX")
trap 'rm -rf "$work"' EXIT
log="$work/openssl.log"

run() {
	if ! "$@" >>"$log" 2>&1; then
		echo "scenarios.sh: command failed: $*" >&2
		cat "$log" >&2
		exit 1
	fi
}

serial() {
	echo "0x$(openssl rand -hex 8)"
}

# newkey FILE [rsa BITS | ec]
newkey() {
	local f=$1 kind=${2:-rsa} bits=${3:-2048}
	if [ "$kind" = ec ]; then
		run openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$f"
	else
		run openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:"$bits" -out "$f"
	fi
	chmod 600 "$f"
}

# Extension files.
cat >"$work/ca.ext" <<'EOF'
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF
cat >"$work/inter.ext" <<'EOF'
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF
cat >"$work/server.ext" <<'EOF'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
cat >"$work/server-ec.ext" <<'EOF'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
cat >"$work/client.ext" <<'EOF'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
cat >"$work/server-nokeyid.ext" <<'EOF'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = none
authorityKeyIdentifier = none
EOF
cat >"$work/client-nokeyid.ext" <<'EOF'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = none
authorityKeyIdentifier = none
EOF
cat >"$work/client-ec.ext" <<'EOF'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
cat >"$work/nosan.ext" <<'EOF'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
cat >"$work/wrongsan.ext" <<'EOF'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:other.example
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
cat >"$work/servereku.ext" <<'EOF'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
cat >"$work/noca.ext" <<'EOF'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
subjectKeyIdentifier = hash
authorityKeyIdentifier = none
EOF
cat >"$work/selfserver.ext" <<'EOF'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = none
EOF
cat >"$work/selfclient.ext" <<'EOF'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = none
EOF
# no extension at all, key identifiers included: what 3.0 makes without
# -extfile (a v1 certificate), stated so that 3.5 makes the same
cat >"$work/bare.ext" <<'EOF'
subjectKeyIdentifier = none
authorityKeyIdentifier = none
EOF

# mkca DIR CN [rsa BITS | ec] [EXTFILE]: self-signed CA in DIR/ca.crt, ca.key
mkca() {
	local d=$1 cn=$2 kind=${3:-rsa} bits=${4:-2048} ext=${5:-$work/ca.ext}
	mkdir -p "$d"
	newkey "$d/ca.key" "$kind" "$bits"
	run openssl req -new -sha256 -key "$d/ca.key" -subj "/CN=$cn" -out "$d/ca.csr"
	run openssl x509 -req -sha256 -days "$DAYS" -in "$d/ca.csr" -signkey "$d/ca.key" \
		-set_serial "$(serial)" -extfile "$ext" -out "$d/ca.crt"
	rm -f "$d/ca.csr"
}

# leaf DIR NAME CN EXTFILE [CADIR] [rsa BITS | ec] [MD]: NAME.crt/.key in DIR
# signed by CADIR/ca.crt (CADIR defaults to DIR).
leaf() {
	local d=$1 name=$2 cn=$3 ext=$4 cad=${5:-$1} kind=${6:-rsa} bits=${7:-2048} md=${8:-sha256}
	newkey "$d/$name.key" "$kind" "$bits"
	run openssl req -new -sha256 -key "$d/$name.key" -subj "/CN=$cn" -out "$d/$name.csr"
	run openssl x509 -req "-$md" -days "$DAYS" -in "$d/$name.csr" \
		-CA "$cad/ca.crt" -CAkey "$cad/ca.key" -set_serial "$(serial)" \
		-extfile "$ext" -out "$d/$name.crt"
	rm -f "$d/$name.csr"
}

# std DIR CACN [rsa BITS | ec]: CA, server and client as in good.
std() {
	local d=$1 cacn=$2 kind=${3:-rsa} sext=$work/server.ext cext=$work/client.ext
	if [ "$kind" = ec ]; then
		sext=$work/server-ec.ext
		cext=$work/client-ec.ext
	fi
	mkca "$d" "$cacn" "$kind"
	leaf "$d" server localhost "$sext" "$d" "$kind"
	leaf "$d" client smqtt-client "$cext" "$d" "$kind"
}

# dated DIR NAME CN EXTFILE STARTDATE ENDDATE: a leaf signed by DIR/ca.crt
# with explicit validity dates, through 'openssl ca' and a minimal config.
dated() {
	local d=$1 name=$2 cn=$3 ext=$4 start=$5 end=$6
	local db
	db="$work/cadb-$(basename "$d")"
	mkdir -p "$db/new"
	: >"$db/index.txt"
	[ -f "$db/serial" ] || openssl rand -hex 8 >"$db/serial"
	cat >"$db/ca.cnf" <<EOF
[ca]
default_ca = lab
[lab]
database = $db/index.txt
new_certs_dir = $db/new
serial = $db/serial
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
[anything]
commonName = supplied
EOF
	newkey "$d/$name.key"
	run openssl req -new -sha256 -key "$d/$name.key" -subj "/CN=$cn" -out "$d/$name.csr"
	run openssl ca -batch -notext -config "$db/ca.cnf" -cert "$d/ca.crt" -keyfile "$d/ca.key" \
		-startdate "$start" -enddate "$end" -extfile "$ext" -in "$d/$name.csr" -out "$d/$name.crt"
	rm -f "$d/$name.csr"
}

g=$work/lab

# good
std "$g/good" "smqtt lab CA (good)"

# ecdsa
std "$g/ecdsa" "smqtt lab CA (ecdsa)" ec

# other-ca
std "$g/other-ca" "smqtt lab other CA"

# samecn: everything named CN=127.0.0.1; leaves without any extension
mkca "$g/samecn" 127.0.0.1
leaf "$g/samecn" server 127.0.0.1 "$work/bare.ext"
leaf "$g/samecn" client 127.0.0.1 "$work/bare.ext"

# samecn-keyid: the same names, but with key identifiers
mkca "$g/samecn-keyid" 127.0.0.1
leaf "$g/samecn-keyid" server 127.0.0.1 "$work/server.ext"
leaf "$g/samecn-keyid" client 127.0.0.1 "$work/client.ext"
leaf "$g/samecn-keyid" client-v1 127.0.0.1 "$work/bare.ext"
leaf "$g/samecn-keyid" server-v1 127.0.0.1 "$work/bare.ext"

# samecn-nokeyid: the same names, v3 leaves without key identifiers
mkca "$g/samecn-nokeyid" 127.0.0.1
leaf "$g/samecn-nokeyid" server 127.0.0.1 "$work/server-nokeyid.ext"
leaf "$g/samecn-nokeyid" client 127.0.0.1 "$work/client-nokeyid.ext"

# intermediate: root -> intermediate -> leaves
d=$g/intermediate
mkca "$d" "smqtt lab root CA"
mv "$d/ca.crt" "$d/root.crt"
mv "$d/ca.key" "$d/root.key"
newkey "$d/intermediate.key"
run openssl req -new -sha256 -key "$d/intermediate.key" -subj "/CN=smqtt lab intermediate CA" -out "$d/intermediate.csr"
run openssl x509 -req -sha256 -days "$DAYS" -in "$d/intermediate.csr" -CA "$d/root.crt" -CAkey "$d/root.key" \
	-set_serial "$(serial)" -extfile "$work/inter.ext" -out "$d/intermediate.crt"
rm -f "$d/intermediate.csr"
mkdir -p "$work/inter-signer"
cp "$d/intermediate.crt" "$work/inter-signer/ca.crt"
cp "$d/intermediate.key" "$work/inter-signer/ca.key"
leaf "$d" server localhost "$work/server.ext" "$work/inter-signer"
leaf "$d" client smqtt-client "$work/client.ext" "$work/inter-signer"
cat "$d/server.crt" "$d/intermediate.crt" >"$d/server-chain.crt"
cat "$d/client.crt" "$d/intermediate.crt" >"$d/client-chain.crt"
cp "$d/root.crt" "$d/ca.crt"
cp "$d/root.key" "$d/ca.key"

# expired: validity ended in the past
mkca "$g/expired" "smqtt lab CA (expired)"
dated "$g/expired" server localhost "$work/server.ext" 20200101000000Z 20200102000000Z
dated "$g/expired" client smqtt-client "$work/client.ext" 20200101000000Z 20200102000000Z

# expiring: server and client certificates valid, ending in 10 days (--check
# warns within 30 days)
mkca "$g/expiring" "smqtt lab CA (expiring)"
soon=$(date -u -d '+10 days' +%Y%m%d%H%M%SZ)
dated "$g/expiring" server localhost "$work/server.ext" 20200101000000Z "$soon"
dated "$g/expiring" client smqtt-client "$work/client.ext" 20200101000000Z "$soon"

# notyet: validity starts a year from now
y=$(( $(date -u +%Y) + 1 ))
md=$(date -u +%m%d)
[ "$md" = 0229 ] && md=0228
mkca "$g/notyet" "smqtt lab CA (notyet)"
dated "$g/notyet" server localhost "$work/server.ext" "${y}${md}000000Z" "$((y + 1))${md}000000Z"
dated "$g/notyet" client smqtt-client "$work/client.ext" "${y}${md}000000Z" "$((y + 1))${md}000000Z"

# nosan: CN=localhost, no subjectAltName
mkca "$g/nosan" "smqtt lab CA (nosan)"
leaf "$g/nosan" server localhost "$work/nosan.ext"
leaf "$g/nosan" client smqtt-client "$work/client.ext"

# wrongsan: valid only for other.example
mkca "$g/wrongsan" "smqtt lab CA (wrongsan)"
leaf "$g/wrongsan" server other.example "$work/wrongsan.ext"
leaf "$g/wrongsan" client smqtt-client "$work/client.ext"

# weak: RSA-1024 leaves
mkca "$g/weak" "smqtt lab CA (weak)"
leaf "$g/weak" server localhost "$work/server.ext" "$g/weak" rsa 1024
leaf "$g/weak" client smqtt-client "$work/client.ext" "$g/weak" rsa 1024

# sha1: leaves signed with SHA-1
mkca "$g/sha1" "smqtt lab CA (sha1)"
leaf "$g/sha1" server localhost "$work/server.ext" "$g/sha1" rsa 2048 sha1
leaf "$g/sha1" client smqtt-client "$work/client.ext" "$g/sha1" rsa 2048 sha1

# selfsigned: self-signed leaves, no CA
d=$g/selfsigned
mkdir -p "$d"
newkey "$d/server.key"
run openssl req -new -sha256 -key "$d/server.key" -subj "/CN=localhost" -out "$d/server.csr"
run openssl x509 -req -sha256 -days "$DAYS" -in "$d/server.csr" -signkey "$d/server.key" \
	-set_serial "$(serial)" -extfile "$work/selfserver.ext" -out "$d/server.crt"
newkey "$d/client.key"
run openssl req -new -sha256 -key "$d/client.key" -subj "/CN=smqtt-client" -out "$d/client.csr"
run openssl x509 -req -sha256 -days "$DAYS" -in "$d/client.csr" -signkey "$d/client.key" \
	-set_serial "$(serial)" -extfile "$work/selfclient.ext" -out "$d/client.crt"
rm -f "$d"/*.csr

# noca: a "CA" without CA:TRUE that signed the leaves
mkca "$g/noca" "smqtt lab not-a-CA" rsa 2048 "$work/noca.ext"
leaf "$g/noca" server localhost "$work/server.ext"
leaf "$g/noca" client smqtt-client "$work/client.ext"

# servereku: client certificate for serverAuth only
mkca "$g/servereku" "smqtt lab CA (servereku)"
leaf "$g/servereku" server localhost "$work/server.ext"
leaf "$g/servereku" client smqtt-client "$work/servereku.ext"

# encrypted: client key under passphrase "secret"
std "$g/encrypted" "smqtt lab CA (encrypted)"
run openssl pkey -in "$g/encrypted/client.key" -aes256 -passout pass:secret -out "$g/encrypted/client.key.enc"
mv -f "$g/encrypted/client.key.enc" "$g/encrypted/client.key"
chmod 600 "$g/encrypted/client.key"

# der: DER forms of good
mkdir -p "$g/der"
run openssl x509 -in "$g/good/ca.crt" -outform der -out "$g/der/ca.der"
run openssl x509 -in "$g/good/server.crt" -outform der -out "$g/der/server.der"
run openssl x509 -in "$g/good/client.crt" -outform der -out "$g/der/client.der"
run openssl pkey -in "$g/good/client.key" -outform der -out "$g/der/client.key.der"
chmod 600 "$g/der/client.key.der"

# garbage: random bytes
mkdir -p "$g/garbage"
run openssl rand -out "$g/garbage/garbage.bin" 2048

# sanity checks of the lab itself
run openssl verify -CAfile "$g/good/ca.crt" "$g/good/server.crt" "$g/good/client.crt"
run openssl verify -CAfile "$g/ecdsa/ca.crt" "$g/ecdsa/server.crt" "$g/ecdsa/client.crt"
run openssl verify -CAfile "$g/intermediate/root.crt" -untrusted "$g/intermediate/intermediate.crt" \
	"$g/intermediate/server.crt" "$g/intermediate/client.crt"
run openssl verify -purpose sslserver -CAfile "$g/samecn-nokeyid/server.crt" "$g/samecn-nokeyid/server.crt"
run openssl verify -CAfile "$g/samecn-keyid/ca.crt" "$g/samecn-keyid/server.crt" "$g/samecn-keyid/client.crt"
if openssl verify -CAfile "$g/samecn/ca.crt" "$g/samecn/client.crt" >/dev/null 2>&1; then
	echo "scenarios.sh: samecn/client.crt verifies (it has key identifiers?)" >&2
	exit 1
fi
if openssl verify -CAfile "$g/expired/ca.crt" "$g/expired/client.crt" >/dev/null 2>&1; then
	echo "scenarios.sh: expired/client.crt verifies" >&2
	exit 1
fi

chmod 644 "$g"/*/*.crt 2>/dev/null || true
find "$g" -name '*.key' -exec chmod 600 {} +

# install: replace the scenario directories
rm -f "$out/.done"
for s in $SCENARIOS; do
	rm -rf "${out:?}/$s"
	mv "$g/$s" "$out/$s"
done
echo "scenarios v$VERSION" >"$out/.done"
exit 0
