#!/bin/sh
# Runs a command the way an unprivileged PaaS pod runs a build worker: as root of a user namespace that maps that
# one id only (no subordinate ranges), in its own mount and PID namespaces, chrooted into a Debian root that has
# node and cairn, with no /dev/fuse and no attr tools (so no overlayfs for cairn: the copying driver). See
# docs/paas.md.
#   recipes/paas-worker/pod.sh DIR CMD [ARG…]      e.g. pod.sh /tmp/pod env TLS_VERIFY=false paas-worker /work/app REG/app
# DIR is the pod's root filesystem, made on first use: DEBIAN_BASE (a Debian minbase tarball, default
# .cache/debian-bookworm-minbase.tar) unpacked, with this host's node and git and the libraries ldd lists for them that it lacks
# (the root's own Debian userland, util-linux and perl included, is what cairn uses). CAIRN_HOME, the cairn
# checkout (default: this one, built), is bound read-only at /opt/cairn; /usr/local/bin/cairn links to it and
# /usr/local/bin/paas-worker is worker.sh. DIR/var/lib/cairn is the store (a pod's emptyDir), DIR/work the place
# for checkouts. CMD starts with a clean environment (PATH, HOME=/root); pass variables with `env NAME=VALUE`.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
home=${CAIRN_HOME:-$(cd "$here/../.." && pwd)}
DEBIAN_BASE=${DEBIAN_BASE:-$home/.cache/debian-bookworm-minbase.tar}
[ $# -ge 2 ] || { echo "usage: $0 DIR CMD [ARG…]" >&2; exit 2; }
root=$1
shift

if [ ! -e "$root/.pod-ready" ]; then
  mkdir -p "$root"
  # Device nodes are the pod runtime's business (bound below), as they are a container runtime's.
  tar -xf "$DEBIAN_BASE" -C "$root" --exclude='./dev/*'
  node=$(command -v node)
  git=$(command -v git)
  cp -L "$node" "$root/usr/bin/node"
  cp -L "$git" "$root/usr/bin/git"
  # The host's libraries for both (merged /usr: the root's /lib is a link into its /usr, so paths resolve inside).
  ldd "$node" "$git" | sed -n 's/.*=> \(\/[^ ]*\) (0x.*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) (0x.*/\1/p' | sort -u |
    while read -r lib; do
      # The root's own libraries (libc, libstdc++ …) stay: only what Debian's minbase lacks is added.
      [ -e "$root$lib" ] || [ -L "$root$lib" ] && continue
      mkdir -p "$root$(dirname "$lib")"
      cp -L "$lib" "$root$lib"
    done
  mkdir -p "$root/opt/cairn" "$root/work" "$root/var/lib/cairn" "$root/usr/local/bin"
  ln -sf /opt/cairn/bin/cairn "$root/usr/local/bin/cairn"
  # What a pod does not have: the attr tools (overlayfs needs setfattr to seal layers) and FUSE.
  rm -f "$root/usr/bin/setfattr" "$root/usr/bin/getfattr" "$root/dev/fuse"
  touch "$root/.pod-ready"
fi
cp "$here/worker.sh" "$root/usr/local/bin/paas-worker"
chmod 755 "$root/usr/local/bin/paas-worker"

# In the new namespaces: the root bound onto itself, /proc of the new PID namespace, the usual devices bound from the host (never fuse), a
# private /dev/shm and /tmp, the cairn checkout read-only; then chroot, with nothing of this environment.
exec unshare --user --map-root-user --mount --pid --fork --kill-child sh -c '
  set -e
  r=$1 home=$2
  shift 2
  # A container root is a mount point (unshare --mount in a run step makes it private, which needs one).
  mount --bind "$r" "$r"
  mount -t proc proc "$r/proc"
  for d in null zero full random urandom tty; do
    [ -e "$r/dev/$d" ] || touch "$r/dev/$d"
    mount --bind "/dev/$d" "$r/dev/$d"
  done
  mkdir -p "$r/dev/shm" "$r/dev/pts"
  mount -t tmpfs -o mode=1777 shm "$r/dev/shm"
  mount -t tmpfs -o mode=1777 tmp "$r/tmp"
  mount --bind "$home" "$r/opt/cairn"
  mount -o remount,bind,ro "$r/opt/cairn"
  exec chroot "$r" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root "$@"
' pod "$root" "$home" "$@"
