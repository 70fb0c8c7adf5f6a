#!/bin/sh
# Builds an image with Ansible: a Debian base with python3 (a root filesystem tarball, e.g.
# `mmdebstrap --variant=minbase --include=python3 bookworm base.tar`) configured by the playbook through the
# containers.podman.buildah connection, which runs `buildah` from PATH: here a link to cairn.
#   recipes/ansible/build.sh BASE.tar [IMAGE]
set -eu
base=$1
image=${2:-localhost/ansible-demo:latest}
here=$(cd "$(dirname "$0")" && pwd)
cairn=${CAIRN:-cairn}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$cairn" install-alias "$work/bin" >/dev/null
ctr=$("$cairn" from "tarball:$base")
printf '[build]\n%s ansible_connection=containers.podman.buildah ansible_python_interpreter=/usr/bin/python3\n' "$ctr" > "$work/inventory.ini"
PATH="$work/bin:$PATH" ANSIBLE_NOCOLOR=1 ANSIBLE_HOST_KEY_CHECKING=0 ANSIBLE_LOCAL_TEMP="$work/tmp" \
  ansible-playbook -i "$work/inventory.ini" -e "fetch_dir=$work/fetched" "$here/playbook.yml" </dev/null
test "$(cat "$work/fetched/ansible-was-here")" = configured-by-ansible
"$cairn" config --cmd '["cat","/etc/motd"]' "$ctr"
"$cairn" commit --rm "$ctr" "$image"
check=$("$cairn" from "$image")
"$cairn" run "$check" sh -c 'cat /etc/motd; stat -c "%u:%g %a" /srv/app'
"$cairn" rm "$check" >/dev/null
