#!/bin/sh
# SPDX-License-Identifier: ISC
# deps.sh - install the Debian 12 packages postern needs.  Idempotent and
# quiet when everything is there; it names what it installs.  Installing
# needs root: run as root, or as a user who may sudo (it asks sudo itself).
#   scripts/deps.sh          to build and run (make, make run)
#   scripts/deps.sh test     that and what the tests use (make test)
set -eu

# make, make install (python3 writes the man pages), and make run's demo:
# its backend (smtp-sink is in the postfix package), its DNS zone
# (unbound), its DKIM key (openssl) and its example sends (python3)
BUILD="build-essential pkg-config
libevent-dev libssl-dev libpcre2-dev libspf2-dev libopendkim-dev
libmilter-dev libunbound-dev libsystemd-dev libpsl-dev libhiredis-dev publicsuffix
postfix unbound ca-certificates openssl python3"
# make test: the fuzzers and sanitizers (clang), the package build and its
# check (make deb: debhelper, lintian), the peers and oracles (opendmarc's
# report tools on a private MariaDB read the DMARC history file)
TEST="clang libclang-rt-14-dev debhelper lintian dpkg-dev
swaks libnet-ssleay-perl python3 python3-pytest python3-dkim python3-spf
python3-nacl python3-authres miltertest opendkim opendkim-tools
haproxy redis-server procps iproute2 systemd man-db
opendmarc mariadb-server libdbd-mysql-perl libdbi-perl libswitch-perl
libjson-perl prometheus"

case "${1:-}" in
"")	PKGS=$BUILD; what="build and run" ;;
test)	PKGS="$BUILD $TEST"; what="build, run and test" ;;
*)	echo "usage: $0 [test]" >&2; exit 2 ;;
esac

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'ok installed' ||
	    missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "deps.sh: everything to $what is installed"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		echo "deps.sh: missing packages:$missing; installing with sudo"
		exec sudo "$0" "$@"
	fi
	echo "deps.sh: missing packages:$missing; run me as root" >&2
	exit 1
fi
echo "deps.sh: installing, to $what:$missing"
export DEBIAN_FRONTEND=noninteractive
# Postfix asks how to configure itself; a local-only instance is harmless
# and tests run their own private instances anyway.
echo "postfix postfix/main_mailer_type select Local only" | debconf-set-selections
echo "postfix postfix/mailname string localhost" | debconf-set-selections
# opendmarc's report tools are used by tests on a private database only
echo "opendmarc opendmarc/dbconfig-install boolean false" | debconf-set-selections
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
