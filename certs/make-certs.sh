#!/usr/bin/env bash
# Makes the test PKI used by tests, examples and the demo. TEST ONLY: these private keys are public in this
# repository and must never protect anything real.
#   ca.pem/ca-key.pem            the test CA
#   server.pem/server-key.pem    server certificate for localhost, 127.0.0.1 and ::1, signed by the CA
#   client.pem/client-key.pem    client certificate (CN=dnsgrpcd-client), signed by the CA
#   other-ca.pem                 an unrelated CA; other-client.pem/-key.pem signed by it (must be refused)
#   expired-client.pem/-key.pem  a client certificate from the test CA that expired long ago
#   expired-server.pem/-key.pem  a server certificate from the test CA that expired long ago
# Usage: certs/make-certs.sh [DIR]   (default: the folder of this script). Needs openssl 3.
set -euo pipefail
dir=${1:-$(cd "$(dirname "$0")" && pwd)}
mkdir -p "$dir" && cd "$dir"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
days=3650

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

ca() { # name cn
  key "$1-key.pem"
  openssl req -x509 -new -key "$1-key.pem" -sha256 -days $days -subj "/CN=$2" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$1.pem"
}

leaf() { # name cn ca extfile [start end]
  openssl req -new -key "$2-key.pem" -subj "/CN=$3" -out "$tmp/$2.csr"
  if [ -n "${6:-}" ]; then
    # An expired certificate: `openssl ca` can backdate, `x509 -req` cannot.
    mkdir -p "$tmp/db" && : > "$tmp/db/index.txt" && echo 1000 > "$tmp/db/serial"
    cat > "$tmp/ca.cnf" <<CNF
[ca]
default_ca = test
[test]
database = $tmp/db/index.txt
serial = $tmp/db/serial
new_certs_dir = $tmp/db
default_md = sha256
policy = any
copy_extensions = none
[any]
commonName = supplied
CNF
    openssl ca -batch -config "$tmp/ca.cnf" -cert "$1.pem" -keyfile "$1-key.pem" -in "$tmp/$2.csr" \
      -startdate "$5" -enddate "$6" -extfile "$4" -notext -out "$2.pem" 2>/dev/null
  else
    openssl x509 -req -in "$tmp/$2.csr" -CA "$1.pem" -CAkey "$1-key.pem" -CAcreateserial -sha256 -days $days \
      -extfile "$4" -out "$2.pem" 2>/dev/null
  fi
}

cat > "$tmp/server.ext" <<'EXT'
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1
EXT
cat > "$tmp/client.ext" <<'EXT'
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth
subjectAltName=DNS:dnsgrpcd-client
EXT

rm -f ./*.pem ./*.srl
ca ca "dnsgrpcd test CA"
ca other-ca "unrelated test CA"
key server-key.pem; leaf ca server localhost "$tmp/server.ext"
key client-key.pem; leaf ca client dnsgrpcd-client "$tmp/client.ext"
key other-client-key.pem; leaf other-ca other-client dnsgrpcd-client "$tmp/client.ext"
key expired-client-key.pem; leaf ca expired-client dnsgrpcd-client "$tmp/client.ext" 20200101000000Z 20200201000000Z
key expired-server-key.pem; leaf ca expired-server localhost "$tmp/server.ext" 20200101000000Z 20200201000000Z
rm -f ./*.srl other-ca-key.pem
echo "test PKI written to $dir (test-only keys)"
