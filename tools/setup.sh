#!/bin/sh
# Installs what nsearch needs to build and test on Debian 12 (run as root,
# or with sudo available).  Installs only what is missing; quiet otherwise.
set -eu
pkgs="build-essential pkg-config zlib1g-dev libdeflate-dev libstemmer-dev libcriterion-dev libutf8proc-dev"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "setup: installing$missing" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
