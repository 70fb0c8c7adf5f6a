#!/bin/sh
# The four-ways build (docs/four-ways.md) with cairn's CLI verbs: a page and a motd, one layer each, then the
# config. Reads its files from this directory, the build context; prints the image ID.
#   recipes/four-ways/build.sh [IMAGE]          (CAIRN: the cairn command, default cairn)
set -eu
image=${1:-localhost/four-ways:latest}
cairn=${CAIRN:-cairn}
cd "$(dirname "$0")"

c=$("$cairn" from scratch)
"$cairn" copy "$c" index.html /srv/www/index.html
"$cairn" checkpoint -m page "$c" >/dev/null
"$cairn" copy "$c" motd /etc/motd
"$cairn" checkpoint -m motd "$c" >/dev/null
"$cairn" config --env GREETING=hello --label org.opencontainers.image.title=four-ways "$c"
"$cairn" commit --rm "$c" "$image"
