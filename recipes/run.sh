#!/bin/sh
# Runs the build-script recipes (recipes/NAME.build.mjs), each with `cairn build`, and the recipes that are a
# directory with a check.sh (recipes/NAME/check.sh, e.g. paas-worker), printing each name and how long it took;
# stops at the first that fails (each checks what it built). As root or as a normal user.
#   recipes/run.sh [NAME…]        e.g. recipes/run.sh hello signed-service paas-worker
# CAIRN is the cairn command (default: this checkout's bin/cairn); DEBIAN_BASE the Debian base tarball the Debian
# recipes share (default: .cache/debian-bookworm-minbase.tar, the one the interop suite uses too).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
CAIRN=${CAIRN:-$here/../bin/cairn}
DEBIAN_BASE=${DEBIAN_BASE:-$here/../.cache/debian-bookworm-minbase.tar}
export CAIRN DEBIAN_BASE

if [ $# -eq 0 ]; then
  set -- $(cd "$here" && ls *.build.mjs | sed 's/\.build\.mjs$//') $(cd "$here" && ls */check.sh | sed 's|/check\.sh$||')
fi
total=0
for name in "$@"; do
  if [ -x "$here/$name/check.sh" ]; then file=$name/check.sh; else file=$name.build.mjs; fi
  echo "== recipes/$file"
  start=$(date +%s%N)
  case $file in
    */check.sh) "$here/$file" ;;
    *) "$CAIRN" build "$here/$file" ;;
  esac || { st=$?; echo "FAILED recipes/$file (status $st)" >&2; exit "$st"; }
  ms=$((($(date +%s%N) - start) / 1000000))
  total=$((total + ms))
  printf 'ok recipes/%s (%d.%01d s)\n' "$file" $((ms / 1000)) $((ms % 1000 / 100))
done
printf 'all %d recipes passed in %d.%01d s\n' $# $((total / 1000)) $((total % 1000 / 100))
