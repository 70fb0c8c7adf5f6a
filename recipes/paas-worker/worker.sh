#!/bin/sh
# A build worker: builds the Dockerfile at the top of a Git checkout and pushes the image to a registry, tagged
# with the commit it was built from; prints REPO:TAG@DIGEST. Meant to run in an unprivileged pod (docs/paas.md).
#   worker.sh CHECKOUT REPO        e.g. worker.sh /work/app registry.example.com/team/app
# CAIRN: the cairn command (default cairn). TLS_VERIFY=false: a registry without TLS (or with a self-signed
# certificate). AUTHFILE: registry credentials (default: what `cairn login` wrote). Any further arguments go to
# `cairn build` (e.g. --build-arg BASE=…).
set -eu
[ $# -ge 2 ] || { echo "usage: $0 CHECKOUT REPO [BUILD-OPTION…]" >&2; exit 2; }
checkout=$1 repo=$2
shift 2
cairn=${CAIRN:-cairn}
tls=--tls-verify="${TLS_VERIFY:-true}"
auth=${AUTHFILE:+--authfile=$AUTHFILE}

cd "$checkout"
# The checkout may belong to another id than the pod's (a volume, a clone made elsewhere): git then refuses it.
sha=$(git -c safe.directory='*' rev-parse --short=12 HEAD)
ref="$repo:$sha"
echo "building $ref" >&2
"$cairn" build "$tls" ${auth:+"$auth"} -f Dockerfile -t "$ref" "$@" . >/dev/null
digest=$("$cairn" push -q "$tls" ${auth:+"$auth"} "$ref" "docker://$ref")
# The image is in the registry now: the worker's store keeps nothing of it (an emptyDir is small).
"$cairn" rmi "$ref" >/dev/null
echo "$ref@$digest"
