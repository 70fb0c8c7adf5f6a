import { constants as fsc, promises as fsp } from 'node:fs';
import { devSkeleton } from '../sandbox/dev.js';
import path from 'node:path';
import { Transform, pipeline, type Readable, type TransformCallback } from 'node:stream';
import { BadInputError, isCairnError } from '../core/errors.js';
import { warn } from '../core/events.js';
import { decompress, type ExpandLimit } from '../layer/compress.js';
import { extractLayer } from '../layer/extract.js';
import { InRoot } from '../layer/inroot.js';
import { homeOf, resolveUser } from '../container/users.js';
import { uniqueSuffix } from '../core/unique.js';
import { writeJson, type EntryMeta, type ExecCache, type ExecMounts, type ExecRunConfig } from './cache.js';
import { FLAT_CONFIG, FLAT_META_DIR } from '../flat/names.js';
import { crashPoint } from '../core/crash.js';
import { readDirOrEmpty } from '../core/atomic.js';
import { lstatOrUndefined, makeDirs } from '../core/fsutil.js';
import { parseEmbeddedConfig } from '../oci/validate.js';

/*
 * Turning a verified flat file into a cache entry: the file (a private copy, already verified) is unpacked
 * into a temporary directory beside the cache entries, given its mount points and /dev skeleton, and
 * renamed into place in one step, so an entry is either complete or absent.
 */

const CONFIG_LIMIT = 4 << 20;

/** Passes the first `n` bytes and drops the rest (the signature trailer after the tar). */
function firstBytes(n: number): Transform {
  let left = n;
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      if (left <= 0) return cb();
      const take = chunk.length <= left ? chunk : chunk.subarray(0, left);
      left -= take.length;
      cb(null, take);
    },
  });
}

/**
 * The uncompressed tar of a flat file: gunzipped when it starts 1f 8b (within limit, by default the layers' bound
 * on expansion, and refusing bytes after the stream: compress.ts), cut at tarSize (before the trailer).
 */
async function openTar(file: string, tarSize: number, limit: ExpandLimit | undefined): Promise<Readable> {
  const fh = await fsp.open(file, 'r');
  const head = Buffer.alloc(2);
  await fh.read(head, 0, 2, 0);
  const src = fh.createReadStream({ start: 0, highWaterMark: 1 << 20 });
  const out = firstBytes(tarSize);
  // As verification read it: gzip by its first two bytes, else plain (never zstd, which verify does not read).
  const tar = decompress(src, limit, head[0] === 0x1f && head[1] === 0x8b ? 'gzip' : 'none');
  pipeline(tar, out, (err) => {
    if (err) out.destroy(err);
  });
  return out;
}

/** Reads and checks the image config the flat file carries at .cairn/config.json; {} when there is none (bali). */
async function takeConfig(rootfs: string): Promise<ExecRunConfig> {
  const text = await InRoot.with(rootfs, (r) => {
    const meta = r.locate(FLAT_META_DIR);
    if (!meta.stat?.isDirectory()) return undefined;
    const loc = r.locate(FLAT_CONFIG);
    if (!loc.stat) return undefined;
    if (!loc.stat.isFile()) throw new BadInputError(`${FLAT_CONFIG} in the image is not a config file`, { hint: 'the file is malformed or malicious' });
    return r.readFile(FLAT_CONFIG, CONFIG_LIMIT)!.toString('utf8');
  });
  if (text === undefined) return {};
  await InRoot.with(rootfs, (r) => fsp.rm(r.locate(FLAT_META_DIR).path, { recursive: true, force: true }));
  const c = parseEmbeddedConfig(text, `${FLAT_CONFIG} in the image`, 'the file is malformed').config ?? {};
  const out: ExecRunConfig = {};
  if (c.Env != null) out.Env = c.Env;
  if (c.Entrypoint != null) out.Entrypoint = c.Entrypoint;
  if (c.Cmd != null) out.Cmd = c.Cmd;
  if (c.WorkingDir != null && c.WorkingDir !== '') out.WorkingDir = c.WorkingDir;
  if (c.User != null && c.User !== '') out.User = c.User;
  return out;
}

/** Makes the mount points exec uses inside the rootfs (when the image lacks them) and says where they are. */
async function mountPoints(rootfs: string, cfg: ExecRunConfig): Promise<ExecMounts> {
  return InRoot.with(rootfs, async (r) => {
    const m: ExecMounts = {};
    for (const d of ['proc', 'dev', 'sys', 'tmp', 'run'] as const) {
      const loc = r.locate('/' + d, { follow: true });
      if (!loc.rel) continue;
      if (!loc.stat) {
        if (!r.locate(path.posix.dirname('/' + loc.rel), { follow: true }).stat?.isDirectory()) continue;
        await fsp.mkdir(r.locate('/' + loc.rel).path, { mode: d === 'tmp' ? 0o1777 : 0o755 });
        // mkdir's mode is masked by the umask: /tmp must be world-writable and sticky.
        if (d === 'tmp') await fsp.chmod(r.locate('/' + loc.rel).path, 0o1777);
      } else if (!loc.stat.isDirectory()) continue;
      m[d] = loc.rel;
    }
    const tmpfs = [m.tmp, m.run].filter((x): x is string => !!x);
    // An image without /etc (scratch plus a static binary) still gets the host's name service files, as with buildah.
    const etc = r.locate('/etc', { follow: true });
    if (etc.rel && !etc.stat && r.locate(path.posix.dirname('/' + etc.rel), { follow: true }).stat?.isDirectory()) {
      await fsp.mkdir(r.locate('/' + etc.rel).path, { mode: 0o755 });
    }
    for (const [k, f] of [['resolv', '/etc/resolv.conf'], ['hosts', '/etc/hosts'], ['hostname', '/etc/hostname']] as const) {
      const loc = r.locate(f, { follow: true });
      const rel = loc.rel;
      if (!rel) continue;
      // A link into /run or /tmp (systemd-resolved's stub) lands on a tmpfs at run time: nothing to bind on.
      if (tmpfs.some((t) => rel === t || rel.startsWith(t + '/'))) {
        warn(`the image's ${f} points into /${rel}, a tmpfs when it runs: the host's ${f} is not bound in`);
        continue;
      }
      if (!loc.stat) {
        if (!loc.dir) continue;
        await fsp.writeFile(loc.path, '', { mode: 0o644, flag: fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW });
      } else if (!loc.stat.isFile()) continue;
      m[k] = rel;
    }
    if (cfg.WorkingDir) r.mkdirp(cfg.WorkingDir);
    return m;
  });
}

/**
 * Unpacks the verified flat file into the cache as entry `hex` (no-op when another start made it first).
 * `what` names the file in errors; `limit` bounds its expansion (default: the layers' bound, as verification read
 * it). Nothing is left behind on failure.
 */
export async function unpackEntry(cache: ExecCache, file: string, tarSize: number, meta: Omit<EntryMeta, 'mounts' | 'user'>, what: string, limit?: ExpandLimit): Promise<void> {
  const hex = meta.digest.replace(/^sha256:/, '');
  const work = path.join(cache.tmp, `x-${uniqueSuffix()}`);
  await makeDirs(work, 0o755);
  try {
    const rootfs = path.join(work, 'rootfs');
    try {
      await extractLayer(await openTar(file, tarSize, limit), rootfs, { whiteouts: 'apply' });
      crashPoint('exec.unpack.after-extract');
    } catch (err) {
      if (isCairnError(err)) err.message = `${what}: ${err.message.replace(/^the layer/, 'the image').replace(/^layer /, '')}`;
      throw err;
    }
    const config = await takeConfig(rootfs);
    const mounts = await mountPoints(rootfs, config);
    let user: EntryMeta['user'];
    try {
      const ids = await resolveUser(rootfs, config.User);
      user = { ...ids, home: (await homeOf(rootfs, ids.uid)) || '/' };
    } catch (err) {
      if (isCairnError(err)) err.message = `${what}: ${err.message.replace("the container's", "the image's")}`;
      throw err;
    }
    devSkeleton(path.join(work, 'dev'));
    await Promise.all(['merged', 'ovl', 'fstab'].map((d) => fsp.mkdir(path.join(work, d), { mode: 0o755 })));
    await fsp.writeFile(path.join(work, 'config.json'), JSON.stringify(config) + '\n');
    await writeJson(path.join(work, 'meta.json'), { ...meta, mounts, user } satisfies EntryMeta);
    try {
      crashPoint('exec.unpack.before-publish');
      await fsp.rename(work, cache.entry(hex));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST' && code !== 'ENOTEMPTY') throw err;
      // Another start of the same image won the race: its entry is as good as ours.
    }
  } finally {
    await fsp.rm(work, { recursive: true, force: true });
  }
}

/** Removes what killed starts left in the cache's tmp (older than a day, so never a live one). */
export async function sweepTmp(cache: ExecCache): Promise<void> {
  const names = await readDirOrEmpty(cache.tmp);
  const old = Date.now() - 24 * 3600 * 1000;
  for (const n of names) {
    const p = path.join(cache.tmp, n);
    // Gone meanwhile (another start swept it) is fine; other failures are not "nothing there".
    const st = await lstatOrUndefined(p);
    if (st && st.mtimeMs < old) await fsp.rm(p, { recursive: true, force: true });
  }
}
