#!/bin/sh
# SPDX-License-Identifier: ISC
# deps.sh - install every Debian 12 package postern needs to build, run and
# test.  Idempotent and quiet when everything is there.  Installing needs
# root: run as root, or as a user who may sudo (it asks sudo itself).
#   scripts/deps.sh          build + run + test dependencies
set -eu

PKGS="build-essential pkg-config clang libclang-rt-14-dev
libevent-dev libssl-dev libpcre2-dev libspf2-dev libopendkim-dev
libmilter-dev libunbound-dev libsystemd-dev
postfix swaks libnet-ssleay-perl python3 python3-pytest python3-dkim python3-spf python3-nacl python3-authres
miltertest opendkim opendkim-tools dnsmasq-base unbound redis-server haproxy
procps iproute2 ca-certificates openssl systemd"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'ok installed' ||
	    missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		echo "deps.sh: missing packages:$missing; installing with sudo"
		exec sudo "$0" "$@"
	fi
	echo "deps.sh: missing packages:$missing; run me as root" >&2
	exit 1
fi
echo "deps.sh: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# Postfix asks how to configure itself; a local-only instance is harmless
# and tests run their own private instances anyway.
echo "postfix postfix/main_mailer_type select Local only" | debconf-set-selections
echo "postfix postfix/mailname string localhost" | debconf-set-selections
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
