#!/usr/bin/env bash
# A test CA for HTTPS tests, as a real deployment has it: a root, an intermediate, and a server
# certificate for localhost/127.0.0.1 signed by the intermediate.
#   make-test-ca.sh DIR [NAME]
# DIR/ca.pem: the root (what clients trust); DIR/cert.pem: server certificate then intermediate
# (hlsd's tls_cert); DIR/key.pem: its key (tls_key); DIR/spki.txt: the server key's SPKI hash
# (Chromium's --ignore-certificate-errors-spki-list). NAME: the server certificate's CN
# (default "hlsd test"); a second call with another NAME reissues cert.pem and key.pem under
# the same root (a renewal).
set -euo pipefail
dir=${1:?usage: make-test-ca.sh DIR [NAME]}
name=${2:-hlsd test}
mkdir -p "$dir"
cd "$dir"
ossl() { openssl "$@" 2>/dev/null; }
if [ ! -s ca.pem ]; then
  ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
    -days 30 -subj "/CN=hlsd test root" -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign
  ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout int.key -out int.csr \
    -subj "/CN=hlsd test intermediate"
  printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n' >int.ext
  ossl x509 -req -in int.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 -extfile int.ext \
    -out int.pem
fi
ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout new.key -out leaf.csr \
  -subj "/CN=$name"
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:127.0.0.2,IP:127.0.0.3,IP:127.0.0.4\nextendedKeyUsage=serverAuth\n' >leaf.ext
ossl x509 -req -in leaf.csr -CA int.pem -CAkey int.key -CAcreateserial -days 20 -extfile leaf.ext \
  -out leaf.pem
cat leaf.pem int.pem >new.pem
# Replaced, not rewritten in place: a server reading them meanwhile sees the old pair or the new.
mv new.pem cert.pem
mv new.key key.pem
openssl pkey -in key.pem -pubout -outform der 2>/dev/null | openssl dgst -sha256 -binary |
  base64 >spki.txt
