// The peers of the interop suite (buildah, podman, skopeo, umoci), each run with its own private storage,
// and validateOci(): every image cairn writes is read back by real implementations.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The result of one peer call. */
export interface PeerResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs cmd, never throwing; returns status and output. */
export function runPeer(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string } = {}): PeerResult {
  const r = spawnSync(cmd, args, {
    encoding: 'utf8',
    env: { ...process.env, ...opts.env },
    input: opts.input,
    cwd: opts.cwd,
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.error) return { status: 127, stdout: '', stderr: `${cmd}: ${r.error.message}` };
  return { status: r.status ?? 128, stdout: r.stdout, stderr: r.stderr };
}

/** Runs cmd; throws with the command line and stderr when it fails; returns trimmed stdout. */
export function peerOk(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string } = {}): string {
  const r = runPeer(cmd, args, opts);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}:\n${r.stderr}${r.stdout}`);
  return r.stdout.trim();
}

/** Throws a clear error when a peer the interop suite needs is not installed (CI installs them all). */
export function requirePeers(...cmds: string[]): void {
  const missing = cmds.filter((c) => spawnSync('sh', ['-c', `command -v ${c}`]).status !== 0);
  if (missing.length) throw new Error(`interop suite: missing peer program(s) ${missing.join(', ')} (apt-get install -y ${missing.join(' ')})`);
}

/** True when cmd is on PATH. */
export function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

/**
 * A new temporary directory under the system temp dir, its name all lower case: buildah and podman turn
 * an `oci:DIR` path into an image name, and refuse upper case in it (mkdtemp's suffix has some).
 */
export function tempDir(prefix = 'cairn-interop-'): string {
  for (;;) {
    const dir = path.join(os.tmpdir(), `${prefix}${randomBytes(6).toString('hex')}`);
    try {
      mkdirSync(dir, { mode: 0o700 });
      return dir;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}

/** Unmounts everything mounted below dir (deepest first) and removes it. */
export function removeTree(dir: string): void {
  spawnSync('sh', ['-c', `grep -F ' ${dir}/' /proc/self/mountinfo | cut -d' ' -f5 | sort -r | xargs -r -n1 umount -l`]);
  rmSync(dir, { recursive: true, force: true });
}

/**
 * buildah and podman over private containers-storage (vfs driver: no mounts to leak, works everywhere)
 * and a private containers.conf (so podman's tmp_dir/static state are not shared with other tests).
 */
export interface ContainersKit {
  dir: string;
  env: NodeJS.ProcessEnv;
  buildah(args: string[]): PeerResult;
  /** buildah that throws on failure, returning trimmed stdout. */
  buildahOk(args: string[]): string;
  podman(args: string[]): PeerResult;
  podmanOk(args: string[]): string;
  cleanup(): void;
}

/** Makes buildah/podman helpers over fresh storage in a temporary directory. */
export function containersKit(prefix = 'cairn-peer-'): ContainersKit {
  requirePeers('buildah', 'podman');
  const dir = tempDir(prefix);
  for (const d of ['run', 'graph', 'tmp', 'volumes']) mkdirSync(path.join(dir, d), { recursive: true });
  const storageConf = path.join(dir, 'storage.conf');
  writeFileSync(storageConf, `[storage]\ndriver = "vfs"\nrunroot = "${dir}/run"\ngraphroot = "${dir}/graph"\n`);
  const containersConf = path.join(dir, 'containers.conf');
  writeFileSync(
    containersConf,
    `[engine]\ntmp_dir = "${dir}/tmp"\nvolume_path = "${dir}/volumes"\nevents_logger = "none"\ncgroup_manager = "cgroupfs"\n`,
  );
  const registries = path.join(dir, 'registries.conf');
  writeFileSync(registries, 'unqualified-search-registries = []\nshort-name-mode = "disabled"\n');
  const env: NodeJS.ProcessEnv = {
    CONTAINERS_STORAGE_CONF: storageConf,
    CONTAINERS_CONF: containersConf,
    CONTAINERS_REGISTRIES_CONF: registries,
    TMPDIR: path.join(dir, 'tmp'),
  };
  const buildah = (args: string[]) => runPeer('buildah', args, { env });
  const podman = (args: string[]) => runPeer('podman', args, { env });
  return {
    dir,
    env,
    buildah,
    buildahOk: (args) => peerOk('buildah', args, { env }),
    podman,
    podmanOk: (args) => peerOk('podman', args, { env }),
    cleanup() {
      buildah(['rm', '--all']);
      removeTree(dir);
    },
  };
}

/** `skopeo inspect [--raw|--config] REF`, parsed. */
export function skopeoInspect(ref: string, flag?: '--raw' | '--config'): any {
  requirePeers('skopeo');
  return JSON.parse(peerOk('skopeo', ['inspect', ...(flag ? [flag] : []), ref]));
}

/** `skopeo copy SRC DEST` (throws on failure). */
export function skopeoCopy(src: string, dest: string, extra: string[] = []): string {
  requirePeers('skopeo');
  return peerOk('skopeo', ['copy', '--quiet', ...extra, src, dest]);
}

/** `umoci unpack --image DIR:REF BUNDLE`; returns BUNDLE/rootfs. */
export function umociUnpack(layoutDir: string, ref: string, bundle: string): string {
  requirePeers('umoci');
  peerOk('umoci', ['unpack', '--image', `${layoutDir}:${ref}`, bundle]);
  return path.join(bundle, 'rootfs');
}

/** What validateOci() learned about an image layout. */
export interface Validated {
  /** umoci's unpacked root filesystem. */
  rootfs: string;
  /** `skopeo inspect` (summary), `--raw` (manifest) and `--config`. */
  inspect: any;
  manifest: any;
  config: any;
  /** The image ID as podman/buildah/docker compute it: the config digest's hex. */
  configDigest: string;
}

const bundles: string[] = [];

/**
 * Checks an OCI layout with real peers: skopeo must read the manifest and config, and umoci must unpack
 * it (umoci verifies every blob's digest and size, the diff IDs, and applies whiteouts strictly).
 * Returns the unpacked rootfs and what skopeo read. Bundles are removed by cleanupValidated().
 */
export function validateOci(layoutDir: string, ref: string): Validated {
  const r = `oci:${layoutDir}:${ref}`;
  const inspect = skopeoInspect(r);
  const manifest = skopeoInspect(r, '--raw');
  const config = skopeoInspect(r, '--config');
  if (manifest.schemaVersion !== 2 || !manifest.config?.digest) throw new Error(`skopeo read a strange manifest from ${r}: ${JSON.stringify(manifest)}`);
  const bundle = tempDir('cairn-umoci-');
  rmSync(bundle, { recursive: true });
  bundles.push(bundle);
  const rootfs = umociUnpack(layoutDir, ref, bundle);
  return { rootfs, inspect, manifest, config, configDigest: manifest.config.digest };
}

/** Removes every bundle validateOci() unpacked in this process. */
export function cleanupValidated(): void {
  for (const b of bundles.splice(0)) removeTree(b);
}

/**
 * `stat -c FORMAT` of paths (host coreutils: an oracle independent of node and cairn), in the C locale so
 * that %N quotes names the same way as a stat in a container without locales.
 */
export function stat(format: string, ...paths: string[]): string[] {
  return execFileSync('stat', ['-c', format, ...paths], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } }).trimEnd().split('\n');
}

/** One xattr of a file read with getfattr (undefined when absent). */
export function getXattr(file: string, name: string): string | undefined {
  const r = runPeer('getfattr', ['--absolute-names', '--only-values', '-h', '-n', name, file]);
  return r.status === 0 ? r.stdout : undefined;
}

/**
 * A listing of a tree as host find(1) sees it, one sorted line a file: `TYPE PATH MODE UID:GID SIZE|->TARGET`
 * (directory sizes left out: they depend on the filesystem). For comparing two unpacked trees.
 */
export function treeListing(root: string): string[] {
  const out = execFileSync('find', [root, '-mindepth', '1', '-printf', '%y\\t%P\\t%#m\\t%U:%G\\t%s\\t%l\\n'], { encoding: 'utf8', maxBuffer: 256 << 20 });
  return out
    .trimEnd()
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [type, p, mode, owner, size, link] = l.split('\t');
      const tail = type === 'd' ? '' : type === 'l' ? `->${link}` : size;
      return `${type} /${p} ${mode} ${owner} ${tail}`.trimEnd();
    })
    .sort();
}

/** Member names of a layer blob (gzip or plain), via host tar, without a leading `./` or `/`. */
export function layerMembers(blob: string): string[] {
  const head = Buffer.alloc(2);
  const fd = openSync(blob, 'r');
  readSync(fd, head, 0, 2, 0);
  closeSync(fd);
  const z = head[0] === 0x1f && head[1] === 0x8b;
  return execFileSync('tar', [z ? '-tzf' : '-tf', blob], { encoding: 'utf8', maxBuffer: 256 << 20 })
    .split('\n')
    .filter(Boolean)
    .map((n) => n.replace(/^\.?\//, ''))
    .filter(Boolean);
}

/** The path of a blob in an OCI layout. */
export function blobPath(layoutDir: string, digest: string): string {
  const [alg, hex] = digest.split(':');
  return path.join(layoutDir, 'blobs', alg, hex);
}
