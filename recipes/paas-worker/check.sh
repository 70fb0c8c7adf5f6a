#!/bin/sh
# The build worker, end to end, in a simulated unprivileged pod (pod.sh): starts a docker-registry on 127.0.0.1,
# pushes a busybox base image to it (files owned by root and by 1000), makes a Git checkout of app/, runs
# worker.sh on it in the pod, then pulls the image back in a fresh pod and runs it. Checks that the copying
# driver was chosen with one warning, and what it printed. Cleans up after itself.
#   recipes/paas-worker/check.sh            (as root or as a normal user; needs docker-registry, git, busybox)
# BUSYBOX: a static busybox (default: the one on PATH). KEEP=1 keeps the work directory.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
busybox=${BUSYBOX:-$(command -v busybox || true)}
for t in docker-registry git node "$busybox"; do
  command -v "$t" >/dev/null || { echo "check.sh: $t is needed" >&2; exit 1; }
done
ldd "$busybox" >/dev/null 2>&1 && { echo "check.sh: $busybox is not static (install busybox-static)" >&2; exit 1; }

work=$(mktemp -d)
reg=
cleanup() {
  st=$?
  set +e
  [ -n "$reg" ] && kill "$reg" 2>/dev/null && wait "$reg" 2>/dev/null
  # Directories of the Debian root without write permission (/proc, /sys) would stop a normal user's rm.
  [ -n "${KEEP:-}" ] || { chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"; }
  exit "$st"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The registry, on a free port.
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
mkdir -p "$work/registry"
cat > "$work/registry/config.yml" <<EOF
version: 0.1
log: { level: warn }
storage: { filesystem: { rootdirectory: "$work/registry/data" } }
http: { addr: "127.0.0.1:$port", secret: paas-check }
EOF
docker-registry serve "$work/registry/config.yml" >"$work/registry/log" 2>&1 &
reg=$!
REG=127.0.0.1:$port
i=0
until node -e 'fetch(process.argv[1]).then((r)=>process.exit(r.ok?0:1),()=>process.exit(1))' "http://$REG/v2/"; do
  i=$((i + 1))
  [ $i -lt 100 ] || { cat "$work/registry/log" >&2; echo "check.sh: docker-registry did not start" >&2; exit 1; }
  sleep 0.1
done

# The pod's root, then what goes in it: the base's tree and the app's Git checkout.
pod=$work/pod
"$here/pod.sh" "$pod" true
base=$work/base
mkdir -p "$base/bin" "$base/etc" "$base/tmp" "$base/root" "$base/home/app"
cp "$busybox" "$base/bin/busybox"
for p in sh cat echo id ls wc stat; do ln -s busybox "$base/bin/$p"; done
printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n' > "$base/etc/passwd"
printf 'root:x:0:\napp:x:1000:\n' > "$base/etc/group"
echo 'owned by app' > "$base/home/app/note"
chmod 1777 "$base/tmp"
tar --numeric-owner --owner=0 --group=0 --exclude=./home/app -C "$base" -cf "$pod/work/base.tar" .
tar --numeric-owner --owner=1000 --group=1000 -C "$base" -rf "$pod/work/base.tar" ./home/app
cp -r "$here/app" "$pod/work/app"
git -C "$pod/work/app" init -q
git -C "$pod/work/app" add .
git -C "$pod/work/app" -c user.name=paas -c user.email=paas@example.invalid commit -qm 'the app'
sha=$(git -C "$pod/work/app" rev-parse --short=12 HEAD)

echo "== base image to $REG/base:1"
"$here/pod.sh" "$pod" sh -ec "c=\$(cairn from tarball:/work/base.tar)
  cairn commit -q --rm \$c $REG/base:1 >/dev/null
  cairn push -q --tls-verify=false $REG/base:1 docker://$REG/base:1 >/dev/null
  cairn rmi $REG/base:1 >/dev/null"

echo "== worker"
"$here/pod.sh" "$pod" env TLS_VERIFY=false paas-worker /work/app "$REG/app" --build-arg "BASE=$REG/base:1" \
  >"$work/worker.out" 2>"$work/worker.err" || { st=$?; cat "$work/worker.err" >&2; exit "$st"; }
cat "$work/worker.err" >&2
out=$(cat "$work/worker.out")
case $out in "$REG/app:$sha@sha256:"*) ;; *) echo "check.sh: the worker printed '$out'" >&2; exit 1 ;; esac
n=$(grep -c 'using the copying driver' "$work/worker.err" || true)
[ "$n" = 1 ] || { echo "check.sh: the copying-driver warning came $n times, not once" >&2; exit 1; }

echo "== pulled back and run"
rm -rf "$pod/var/lib/cairn"
mkdir "$pod/var/lib/cairn"
got=$("$here/pod.sh" "$pod" sh -ec "c=\$(cairn from -q --tls-verify=false docker://${out%%@*}); cairn run \$c cat /srv/www/index.html /etc/motd")
expect=$(printf '<p>hello from a paas build worker</p>\nserved by root\n')
case $got in "$expect"*) ;; *) echo "check.sh: the image printed: $got" >&2; exit 1 ;; esac
echo "$out"
