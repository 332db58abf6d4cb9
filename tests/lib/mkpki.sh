#!/usr/bin/env bash
# mkpki.sh OUTDIR -- generate a throwaway test PKI with the openssl CLI.
#
# Creates in OUTDIR:
#   ca.crt / ca.key           CN "smqtt test CA", CA:TRUE, keyCertSign
#   server.crt / server.key   CN localhost, SAN DNS:localhost + IP:127.0.0.1,
#                             EKU serverAuth
#   client.crt / client.key   CN smqtt-client, EKU clientAuth
# RSA-2048, SHA-256, valid for 365 days; $MKPKI_LEAF_DAYS, when set, gives
# the server and client certificates that many days instead (a set about to
# expire, for the expiry warnings).
#
# Idempotent: if a complete, mutually consistent set that is still valid for
# at least one more day already exists, nothing is done. Otherwise the whole
# set is regenerated. Output is quiet unless something fails.
#
# For tests and demos only: the keys are unencrypted (mode 0600).
set -euo pipefail

if [ $# -ne 1 ]; then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi

out=$1
days=365
mkdir -p "$out"
cd "$out"

files="ca.crt ca.key server.crt server.key client.crt client.key"

pki_ok() {
	local f
	for f in $files; do
		[ -s "$f" ] || return 1
	done
	openssl x509 -in ca.crt -noout -checkend 86400 >/dev/null 2>&1 || return 1
	openssl x509 -in server.crt -noout -checkend 86400 >/dev/null 2>&1 || return 1
	openssl x509 -in client.crt -noout -checkend 86400 >/dev/null 2>&1 || return 1
	openssl verify -CAfile ca.crt server.crt client.crt >/dev/null 2>&1 || return 1
	# each certificate must match its key
	local c k
	for c in ca server client; do
		k1=$(openssl x509 -in "$c.crt" -noout -pubkey 2>/dev/null) || return 1
		k2=$(openssl pkey -in "$c.key" -pubout 2>/dev/null) || return 1
		[ "$k1" = "$k2" ] || return 1
	done
	return 0
}

if pki_ok; then
	exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mkpki.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

log="$tmp/openssl.log"
run() {
	if ! "$@" >>"$log" 2>&1; then
		echo "mkpki.sh: command failed: $*" >&2
		cat "$log" >&2
		exit 1
	fi
}

newkey() {
	run openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1"
}

# --- CA ---------------------------------------------------------------
cat >"$tmp/ca.ext" <<'EOF'
[req]
distinguished_name = dn
prompt = no
x509_extensions = v3_ca
[dn]
CN = smqtt test CA
[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF
newkey "$tmp/ca.key"
run openssl req -new -x509 -sha256 -days "$days" -config "$tmp/ca.ext" \
	-key "$tmp/ca.key" -out "$tmp/ca.crt"

# --- leaf certificates ---------------------------------------------------
cat >"$tmp/server.ext" <<'EOF'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
cat >"$tmp/client.ext" <<'EOF'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF

leaf() {
	local name=$1 cn=$2
	newkey "$tmp/$name.key"
	run openssl req -new -sha256 -key "$tmp/$name.key" -subj "/CN=$cn" \
		-out "$tmp/$name.csr"
	run openssl x509 -req -sha256 -days "${MKPKI_LEAF_DAYS:-$days}" -in "$tmp/$name.csr" \
		-CA "$tmp/ca.crt" -CAkey "$tmp/ca.key" -set_serial "0x$(openssl rand -hex 8)" \
		-extfile "$tmp/$name.ext" -out "$tmp/$name.crt"
}
leaf server localhost
leaf client smqtt-client

run openssl verify -CAfile "$tmp/ca.crt" "$tmp/server.crt" "$tmp/client.crt"

chmod 644 "$tmp"/*.crt
chmod 600 "$tmp"/*.key
for f in $files; do
	mv -f "$tmp/$f" "$f"
done
exit 0
