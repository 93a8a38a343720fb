#!/bin/sh
# SPDX-License-Identifier: ISC
# keygen.sh - make a DKIM signing key and print the DNS record to publish.
#
#   scripts/keygen.sh DOMAIN SELECTOR [rsa|ed25519] [DIR]
#
# Writes DIR/SELECTOR.DOMAIN.key (default DIR: the current directory): an
# RSA-2048 or Ed25519 private key in PEM (PKCS#8), mode 0600, never
# overwriting an existing file.  Prints the TXT record for
# SELECTOR._domainkey.DOMAIN in zone-file syntax, split into strings of at
# most 255 bytes (RFC 6376 3.6.1, RFC 8463 4: an Ed25519 record carries the
# raw 32-byte public key).  Needs openssl.  Exit 1 with a message on any
# error; nothing is left behind then.
set -eu

usage() {
	echo "usage: keygen.sh DOMAIN SELECTOR [rsa|ed25519] [DIR]" >&2
	exit 1
}
die() {
	echo "keygen.sh: $*" >&2
	exit 1
}

[ $# -ge 2 ] && [ $# -le 4 ] || usage
domain=$1
selector=$2
kind=${3:-rsa}
dir=${4:-.}

# A DNS label each (a selector may have dots: sub-labels).
echo "$domain" | grep -Eq '^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$' ||
    die "'$domain' is not a domain name"
echo "$selector" | grep -Eq '^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$' ||
    die "'$selector' is not a selector (letters, digits, '-', '_', '.')"
command -v openssl >/dev/null 2>&1 || die "openssl not found"
[ -d "$dir" ] || die "$dir: not a directory"

key="$dir/$selector.$domain.key"
[ -e "$key" ] && die "$key exists; not overwriting it"

umask 077
tmp=$(mktemp "$dir/.keygen.XXXXXX") || die "cannot write in $dir"
trap 'rm -f "$tmp"' EXIT
case $kind in
rsa)
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
	    -out "$tmp" 2>/dev/null || die "openssl could not make the key"
	pub=$(openssl pkey -in "$tmp" -pubout -outform DER | openssl base64 -A)
	tags="v=DKIM1; k=rsa; p=$pub"
	;;
ed25519)
	openssl genpkey -algorithm ED25519 -out "$tmp" 2>/dev/null ||
	    die "openssl could not make the key"
	# SubjectPublicKeyInfo DER for Ed25519 ends with the raw 32-byte key.
	pub=$(openssl pkey -in "$tmp" -pubout -outform DER | tail -c 32 |
	    openssl base64 -A)
	tags="v=DKIM1; k=ed25519; p=$pub"
	;;
*)
	die "key type '$kind': use rsa or ed25519"
	;;
esac
chmod 600 "$tmp"
mv "$tmp" "$key"
trap - EXIT

# The record, in strings of at most 255 bytes.
printf '%s._domainkey.%s. IN TXT (' "$selector" "$domain"
rest=$tags
while [ -n "$rest" ]; do
	chunk=$(printf '%s' "$rest" | cut -c1-255)
	rest=$(printf '%s' "$rest" | cut -c256-)
	printf ' "%s"' "$chunk"
done
printf ' )\n'
echo "keygen.sh: private key in $key (mode 0600); publish the record above" >&2
