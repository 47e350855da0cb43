#!/bin/sh
# install.sh -- install the Debian packages the peer drivers need (Debian 12).
# Idempotent: prints nothing and changes nothing when all are installed.
# Run as root (or with sudo available).
#   libsqlite3-dev     SQLite 3.40 with FTS5 compiled in       -> bin/fts5
#   libxapian-dev      Xapian 1.4                               -> bin/xapian
#   liblucene8-java    Lucene 8.8 jars in /usr/share/java       -> bin/lucene
#   default-jdk-headless  javac/jar to build, java to run it
#   gcc g++ python3    the C/C++ drivers, tools/export_docs.py
set -eu

pkgs="gcc g++ libsqlite3-dev libxapian-dev liblucene8-java default-jdk-headless python3"

missing=
for p in $pkgs; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case $status in
    *" installed") ;;
    *) missing="$missing $p" ;;
    esac
done
[ -z "$missing" ] && exit 0

sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
echo "install.sh: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
