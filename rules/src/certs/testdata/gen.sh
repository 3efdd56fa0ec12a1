#!/bin/sh
# Regenerates the throw-away certificates the certs rules' unit tests and
# fixture cases use. Dates are fixed (`openssl ca -startdate/-enddate`) so
# the cases judge the same at their collected_at (2026-06-01) forever.
# Usage: sh gen.sh OUTDIR   (then copy what a case needs)
set -eu
out=${1:?usage: gen.sh OUTDIR}
mkdir -p "$out"
cd "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat >"$work/ca.cnf" <<CNF
[ca]
default_ca = fixture
[fixture]
dir = $work
database = $work/index.txt
new_certs_dir = $work
serial = $work/serial
default_md = sha256
policy = any
copy_extensions = none
unique_subject = no
[any]
commonName = supplied
organizationName = optional
[v3_ca]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[v3_leaf]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature,keyEncipherment
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF

key() { # name bits
    openssl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:$2" -out "$1.key" 2>/dev/null
}

# Fresh CA database per signature so every run is independent.
sign() { # csr_subject key signer_cert signer_key ext start end out [md]
    : >"$work/index.txt"
    openssl rand -hex 8 >"$work/serial"
    openssl req -new -key "$2" -subj "$1" -out "$work/req.csr"
    if [ "$3" = self ]; then
        openssl ca -batch -config "$work/ca.cnf" -selfsign -keyfile "$2" -extensions "$5" \
            -startdate "$6" -enddate "$7" -md "${9:-sha256}" -notext \
            -in "$work/req.csr" -out "$8" 2>/dev/null
    else
        openssl ca -batch -config "$work/ca.cnf" -cert "$3" -keyfile "$4" -extensions "$5" \
            -startdate "$6" -enddate "$7" -md "${9:-sha256}" -notext \
            -in "$work/req.csr" -out "$8" 2>/dev/null
    fi
}

# production CA, its server and client certificates
key prod-ca 2048
sign "/O=Example/CN=production-mysql-ca" prod-ca.key self - v3_ca 20260101000000Z 20360101000000Z prod-ca.crt
key prod-server 2048
sign "/O=Example/CN=db-master" prod-server.key prod-ca.crt prod-ca.key v3_leaf 20260101000000Z 20310101000000Z prod-server.crt
sign "/O=Example/CN=db-master" prod-server.key prod-ca.crt prod-ca.key v3_leaf 20250501000000Z 20260501000000Z prod-server-expired.crt
sign "/O=Example/CN=db-master" prod-server.key prod-ca.crt prod-ca.key v3_leaf 20250606000000Z 20260606000000Z prod-server-expiring.crt
key prod-deploy 2048
sign "/O=Example/CN=deploy" prod-deploy.key prod-ca.crt prod-ca.key v3_leaf 20260101000000Z 20310101000000Z prod-deploy.crt
key prod-mysql 2048
sign "/O=Example/CN=mysql" prod-mysql.key prod-ca.crt prod-ca.key v3_leaf 20260101000000Z 20310101000000Z prod-mysql.crt

# staging CA (a different CA with the same kind of names)
key staging-ca 2048
sign "/O=Example/CN=staging-mysql-ca" staging-ca.key self - v3_ca 20260101000000Z 20360101000000Z staging-ca.crt
key staging-deploy 2048
sign "/O=Example/CN=deploy" staging-deploy.key staging-ca.crt staging-ca.key v3_leaf 20260101000000Z 20310101000000Z staging-deploy.crt

# a chain: root -> intermediate -> leaf
key inter 2048
sign "/O=Example/CN=production-intermediate" inter.key prod-ca.crt prod-ca.key v3_ca 20260101000000Z 20310101000000Z inter.crt
key inter-leaf 2048
sign "/O=Example/CN=db-replica" inter-leaf.key inter.crt inter.key v3_leaf 20260101000000Z 20310101000000Z inter-leaf.crt

# MySQL 5.7's auto-generated set (mysql_ssl_rsa_setup names)
key autogen-ca 2048
sign "/CN=MySQL_Server_5.7.30_Auto_Generated_CA_Certificate" autogen-ca.key self - v3_ca 20190301000000Z 20290226000000Z autogen-ca.crt
key autogen-server 2048
sign "/CN=MySQL_Server_5.7.30_Auto_Generated_Server_Certificate" autogen-server.key autogen-ca.crt autogen-ca.key v3_leaf 20190301000000Z 20290226000000Z autogen-server.crt

# weak: a 1024-bit key signed with SHA-1
key weak-server 1024
sign "/O=Example/CN=db-master" weak-server.key prod-ca.crt prod-ca.key v3_leaf 20260101000000Z 20310101000000Z weak-server.crt sha1
