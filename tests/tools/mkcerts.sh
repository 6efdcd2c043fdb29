#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Makes the certificates of the relay/gateway TLS tests with the openssl
# CLI, into DIR (created): a site CA and another CA, the gateway's
# certificate, relays with IP SANs, an expired relay, a revoked relay and
# the site CA's CRL. EC P-256 keys, throw-away, test addresses only.
#   site-ca.pem            the site CA (site-ca.key)
#   other-ca.pem           a CA the gateway does not trust
#   gateway.pem/.key       site CA, serverAuth, IP 198.18.9.1
#   relay1.pem/.key        site CA, clientAuth, IP 198.18.1.2, fd00:1::2
#   relay2.pem/.key        site CA, clientAuth, IP 198.18.2.2, fd00:2::2
#   relay-other.pem/.key   other CA, same SANs as relay1
#   relay-expired.pem/.key site CA, valid 2020-01-01 .. 2021-01-01
#   relay-revoked.pem/.key site CA, revoked in site.crl
#   relay-server.pem/.key  site CA, serverAuth only (wrong use for a relay)
#   site.crl               the site CA's CRL (relay-revoked listed)
#   relay-lab.pem/.key     site CA, clientAuth, IP 198.18.0.2, fd00::2 (the
#                          server of tests/integration/lib.sh)
#   relay-lab2.pem/.key    site CA, clientAuth, IP 198.18.4.2, fd00:4::2 (the
#                          second login server of tests/integration/gwlib.sh)
#   gateway-other.pem/.key other CA, serverAuth (a gateway the relays refuse)
#   relay-ha2.pem/.key     site CA, clientAuth, IP 198.18.0.3, fd00::3 (the
#                          second login server of tests/integration/halib.sh)
#   relay-slash.pem/.key   site CA, clientAuth, as relay1, subject
#                          CN "relay1/CN=x" (a line like two CNs)
#   relay-long.pem/.key    site CA, clientAuth, as relay1, a subject whose
#                          line is over 255 characters
# Usage: mkcerts.sh DIR
set -eu
DIR=${1:?usage: mkcerts.sh DIR}
mkdir -p "$DIR"
cd "$DIR"

cat >ca.cnf <<'EOF'
[ ca ]
default_ca = site
[ site ]
dir = .
database = $dir/index-$ENV::CA.txt
serial = $dir/serial-$ENV::CA
new_certs_dir = $dir
default_md = sha256
default_days = 30
default_crl_days = 30
policy = any
unique_subject = no
copy_extensions = none
[ any ]
commonName = supplied
[ relay1 ]
basicConstraints = critical, CA:FALSE
extendedKeyUsage = clientAuth
subjectAltName = IP:198.18.1.2, IP:fd00:1::2, DNS:login-1.test
[ relay2 ]
basicConstraints = critical, CA:FALSE
extendedKeyUsage = clientAuth
subjectAltName = IP:198.18.2.2, IP:fd00:2::2
[ gateway ]
basicConstraints = critical, CA:FALSE
extendedKeyUsage = serverAuth
subjectAltName = IP:198.18.9.1
[ relay_lab ]
basicConstraints = critical, CA:FALSE
extendedKeyUsage = clientAuth
subjectAltName = IP:198.18.0.2, IP:fd00::2
[ relay_lab2 ]
basicConstraints = critical, CA:FALSE
extendedKeyUsage = clientAuth
subjectAltName = IP:198.18.4.2, IP:fd00:4::2
[ relay_ha2 ]
basicConstraints = critical, CA:FALSE
extendedKeyUsage = clientAuth
subjectAltName = IP:198.18.0.3, IP:fd00::3
[ server_only ]
basicConstraints = critical, CA:FALSE
extendedKeyUsage = serverAuth
subjectAltName = IP:198.18.1.2
EOF

q() { "$@" >/dev/null 2>&1 || { echo "mkcerts.sh: failed: $*" >&2; "$@"; exit 1; }; }

mkca() {   # NAME
	: >"index-$1.txt"
	echo 1000 >"serial-$1"
	q openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$1.key" -out "$1.pem" -days 3650 -subj "/CN=mosh-helper test $1" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign"
}

# issue CA NAME EXTENSIONS [openssl ca options...]: subject /CN=NAME, or
# $SUBJ if set (then give -preserveDN to keep more than its CN)
issue() {
	ca=$1 name=$2 ext=$3
	shift 3
	q openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$name.key" -out "$name.csr" -subj "${SUBJ:-/CN=$name}"
	CA=$ca q openssl ca -batch -notext -config ca.cnf -cert "$ca.pem" -keyfile "$ca.key" \
		-extfile ca.cnf -extensions "$ext" -in "$name.csr" -out "$name.pem" "$@"
	rm -f "$name.csr"
}

mkca site-ca
mkca other-ca
issue site-ca gateway gateway
issue site-ca relay1 relay1
issue site-ca relay2 relay2
issue other-ca relay-other relay1
issue site-ca relay-expired relay1 -startdate 20200101000000Z -enddate 20210101000000Z
issue site-ca relay-revoked relay1
issue site-ca relay-server server_only
issue site-ca relay-lab relay_lab
issue site-ca relay-lab2 relay_lab2
issue other-ca gateway-other gateway
issue site-ca relay-ha2 relay_ha2
SUBJ='/CN=relay1\/CN=x' issue site-ca relay-slash relay1
long=$(printf '%0120d' 0)
SUBJ="/L=L$long/ST=S$long/CN=relay-long" issue site-ca relay-long relay1 -preserveDN
CA=site-ca q openssl ca -config ca.cnf -cert site-ca.pem -keyfile site-ca.key \
	-revoke relay-revoked.pem -crl_reason keyCompromise
CA=site-ca q openssl ca -config ca.cnf -cert site-ca.pem -keyfile site-ca.key \
	-gencrl -out site.crl
chmod 600 ./*.key
