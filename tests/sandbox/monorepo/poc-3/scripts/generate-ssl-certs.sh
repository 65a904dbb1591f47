#!/usr/bin/env bash
# Local TLS for nginx: a private CA (nginx/ssl/ca.pem) and a leaf certificate
# for the public host (nginx/ssl/cert.pem, key.pem) with a subjectAltName for
# DNS:$SSL_HOST, DNS:localhost and IP:127.0.0.1, signed by that CA. Clients
# trust ca.pem (curl --cacert, NODE_EXTRA_CA_CERTS, the OS store); the leaf is
# not a CA, so strict verifiers (rustls, browsers) accept it.
# Writes to temporary files first: an interrupted run never leaves a
# half-written certificate in place.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${SSL_DIR:-nginx/ssl}
host=${SSL_HOST:-localhost}
days=${SSL_DAYS:-825}
mkdir -p "$dir"
tmp=$(mktemp -d "$dir/.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
openssl req -x509 -new -nodes -newkey rsa:2048 -sha256 -days "$days" \
  -keyout "$tmp/ca-key.pem" -out "$tmp/ca.pem" -subj "/CN=MFE POC local CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -new -nodes -newkey rsa:2048 -sha256 -keyout "$tmp/key.pem" -out "$tmp/cert.csr" -subj "/CN=$host" 2>/dev/null
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:%s,DNS:localhost,IP:127.0.0.1\n' "$host" >"$tmp/leaf.ext"
openssl x509 -req -in "$tmp/cert.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca-key.pem" -CAcreateserial \
  -days "$days" -sha256 -extfile "$tmp/leaf.ext" -out "$tmp/cert.pem" 2>/dev/null
chmod 0644 "$tmp/ca.pem" "$tmp/cert.pem" "$tmp/key.pem"
chmod 0600 "$tmp/ca-key.pem"
for f in ca-key.pem ca.pem key.pem cert.pem; do mv -f "$tmp/$f" "$dir/$f"; done
echo "generated $dir/cert.pem for $host (CA: $dir/ca.pem)"
