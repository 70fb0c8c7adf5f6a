import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BadInputError, CairnError, NotFoundError } from '../core/errors.js';
import { warn } from '../core/events.js';
import type { LayerEntry } from '../layer/entry.js';
import type { ImageConfig } from '../oci/types.js';
import type { ImageRecord } from '../store/images.js';
import type { ContainerRecord, LayerRef } from '../store/containers.js';
import type { Store } from '../store/store.js';
import { tempBeside } from '../core/atomic.js';
import { HashCounter } from '../store/hash.js';
import { uniqueSuffix } from '../core/unique.js';
import { buildTimestamp, isoDate } from '../core/timestamp.js';
import type { Driver } from './drivers/driver.js';
import { FLAT_CONFIG, FLAT_META_DIR } from '../flat/names.js';
import { recordPadding } from '../layer/tar-trailer.js';
import type { KeyPair } from '../sign/keys.js';
import { crashPoint } from '../core/crash.js';
import { checkpointHistory, containerImageConfig } from './image-config.js';
import { makeDirs } from '../core/fsutil.js';
import type { ChunkerParams } from '../delta/cidx.js';

/*
 * A flat image (bali's format): ONE tar of the whole root filesystem, gzip-compressed unless the file is
 * named *.tar, signed by appending bali's 80-byte trailer to the uncompressed stream. Layout of the
 * uncompressed stream:
 *   .cairn/config.json (the image config, first, so a reader finds it before the rootfs)
 *   the root filesystem, entries in byte order, times clamped, no user names (layer/tarwriter)
 *   two zero end-of-archive blocks, zeros up to the 10240-byte tar record (as GNU tar pads)
 *   the trailer (signed files only): 8 zero bytes ‖ "iksig" ‖ 3 zero bytes ‖ Ed25519ph signature
 * tar and GNU tar stop at the end-of-archive blocks, so `tar xzf` extracts it as any tarball.
 */

export { FLAT_CONFIG, FLAT_META_DIR } from '../flat/names.js';

/** How the file is compressed: gzip, or none (a plain tar). */
export type FlatCompression = 'gzip' | 'none';

/** Options of Image.export and Container.export. */
export interface ExportOptions {
  /** Sign with the local key (default true); false writes no trailer at all. */
  sign?: boolean;
  /** Default: 'none' when the file name ends in .tar, else 'gzip'. */
  compression?: FlatCompression;
  /** Clamp file times to this epoch; default $SOURCE_DATE_EPOCH, else (for an image) its `created` time. */
  timestamp?: number;
  /** Write FILE.cidx, the chunk index a delta fetch reads, beside a gzip FILE (default true; docs/delta.md). */
  index?: boolean;
  /** The gzip's segment sizes, `MIN:AVG:MAX` or `AVG` in bytes, K or M (default 32K:64K:256K; docs/delta.md). */
  chunkSize?: string;
}

/** What an export wrote. */
export interface ExportResult {
  /** The absolute path of the file. */
  file: string;
  /** 'sha256:…' of the file's bytes. */
  digest: string;
  size: number;
  /** The signing key's identity string, when signed. */
  signer?: string;
  /** The path of the chunk index written beside the file, when one was. */
  index?: string;
}

/** The compression for file, unless given: a .tar name means a plain tar. */
export function compressionFor(file: string, given?: FlatCompression): FlatCompression {
  return given ?? (/\.tar$/i.test(file) ? 'none' : 'gzip');
}

/** The output side of an export, opened before any work so a bad key or an unwritable FILE fail first. */
interface Output {
  target: string;
  tmp: string;
  fh: fsp.FileHandle;
  key?: KeyPair;
  compression: FlatCompression;
  /** Whether FILE.cidx is written (gzip files only). */
  index: boolean;
  /** Segment sizes of the gzip, when not the default. */
  chunker?: Pick<ChunkerParams, 'min' | 'avg' | 'max'>;
}

async function openOutput(file: string, opts: ExportOptions): Promise<Output> {
  const compression = compressionFor(file, opts.compression);
  const chunker = opts.chunkSize === undefined ? undefined : await chunkSizes(opts.chunkSize);
  if (chunker && compression !== 'gzip') {
    throw new BadInputError(`--chunk-size: ${file} is written as a plain tar, and segment sizes are the gzip's`, { hint: 'name the file FILE.tar.gz, or leave --chunk-size out' });
  }
  let key: KeyPair | undefined;
  if (opts.sign !== false) {
    const { localKey } = await import('../sign/keys.js');
    try {
      key = await localKey();
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { hint?: string };
      throw new CairnError(`cannot read the signing key: ${e.message}`, { hint: e.hint ?? 'fix the key (see `cairn key show`), or export with --no-sign', cause: err });
    }
  }
  const target = path.resolve(file);
  const st = await fsp.stat(target).catch(() => undefined);
  if (st?.isDirectory()) throw new CairnError(`${file} is a directory`, { hint: 'give the path of the file to write, e.g. image.tar.gz' });
  const tmp = tempBeside(target);
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(tmp, 'wx', 0o644);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const dir = path.dirname(target);
    if (code === 'ENOENT') throw new NotFoundError(`cannot write ${file}: directory ${dir} does not exist`, { hint: 'create the directory first' });
    throw new CairnError(`cannot write ${file}: ${code ?? (err as Error).message} in ${dir}`, { hint: 'choose a directory you can write to', cause: err });
  }
  return { target, tmp, fh, key, compression, index: compression === 'gzip' && opts.index !== false, ...(chunker ? { chunker } : {}) };
}

/** The segment sizes of --chunk-size, or one clear error. */
async function chunkSizes(text: string): Promise<Pick<ChunkerParams, 'min' | 'avg' | 'max'>> {
  const { parseChunkSizes } = await import('../delta/chunker.js');
  try {
    return parseChunkSizes(text);
  } catch (err) {
    throw new BadInputError(`--chunk-size: ${(err as Error).message}`, { hint: 'give MIN:AVG:MAX with AVG a power of two, e.g. 16K:64K:256K' });
  }
}

async function abort(o: Output): Promise<void> {
  await o.fh.close().catch(() => undefined);
  await fsp.rm(o.tmp, { force: true });
}

/** The rootfs entries without cairn's metadata directory (a flat file's /.cairn is the config's). */
function rootEntries(entries: LayerEntry[]): LayerEntry[] {
  const kept = entries.filter((e) => e.path !== FLAT_META_DIR && !e.path.startsWith(FLAT_META_DIR + '/'));
  if (kept.length !== entries.length) warn(`/${FLAT_META_DIR} of the image is left out of the flat tarball (cairn keeps the image config there)`);
  return kept;
}

/**
 * Packs root as the flat file: config entry first, the tree, record padding, trailer, gzip; temp file + fsync
 * + rename, so FILE is either complete or untouched. scratch is a directory for the config's source file.
 */
async function writeFlat(o: Output, root: string, scratch: string, configBytes: Buffer, ts: number | undefined): Promise<ExportResult> {
  const [{ scanTree }, { packEntries }] = await Promise.all([import('../layer/scan.js'), import('../layer/tarwriter.js')]);
  const cfgFile = path.join(scratch, 'config.json');
  await fsp.writeFile(cfgFile, configBytes);
  const tree = rootEntries(await scanTree(root));
  // The config's time: the clamp, else the newest in the tree, so that the same tree gives the same bytes.
  const mtime = ts ?? tree.reduce((m, e) => Math.max(m, e.mtime), 0);
  const cfg: LayerEntry = { path: FLAT_CONFIG, type: 'file', mode: 0o644, uid: 0, gid: 0, size: configBytes.length, mtime, source: cfgFile };
  const entries = [cfg, ...tree];
  const hc = new HashCounter();
  const stages: (Readable | Transform)[] = [packEntries(entries, { timestamp: ts }), recordPadding()];
  if (o.key) stages.push((await import('../flat/trailer.js')).signingStream(o.key));
  // The chunked gzip (at its default level): its segments are what a delta fetch of a later export reuses.
  const gz = o.compression === 'gzip' ? (await import('../delta/chunked-gzip.js')).chunkedGzip({ index: o.index, ...(o.chunker ? { chunker: o.chunker } : {}) }) : undefined;
  if (gz) stages.push(gz);
  stages.push(hc);
  // The write stream closes the handle when done (one it may not close would make close() wait forever).
  crashPoint('export.flat.before-pack');
  await pipeline([...stages, o.fh.createWriteStream()] as unknown as NodeJS.ReadWriteStream[]);
  const synced = await fsp.open(o.tmp, 'r');
  try {
    await synced.sync();
  } finally {
    await synced.close();
  }
  crashPoint('export.flat.before-rename');
  // The old index goes first: FILE never sits beside an index of other bytes, at worst beside none.
  const idx = await import('../delta/index-file.js');
  await idx.removeIndex(o.target);
  await fsp.rename(o.tmp, o.target);
  const digest = hc.digest();
  let index: string | undefined;
  if (gz && o.index) index = await idx.writeIndex(o.target, idx.buildIndex(gz.layout(), digest, hc.size));
  return { file: o.target, digest, size: hc.size, ...(o.key ? { signer: o.key.id } : {}), ...(index ? { index } : {}) };
}

/** Runs fn with a fresh directory under the store's tmp, removed afterwards. */
async function withScratch<T>(store: Store, fn: (dir: string) => Promise<T>): Promise<T> {
  await makeDirs(store.paths.tmp);
  const dir = path.join(store.paths.tmp, `export-${uniqueSuffix()}`);
  await fsp.mkdir(dir, { mode: 0o700 });
  try {
    return await fn(dir);
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

/** Seconds since the epoch of an RFC 3339 date, or undefined. */
function epochOf(date?: string): number | undefined {
  const ms = date ? Date.parse(date) : NaN;
  return Number.isFinite(ms) && ms >= 0 ? Math.floor(ms / 1000) : undefined;
}

/**
 * Runs fn with the merged tree of layers (base first): where the store uses overlayfs, a read-only overlay
 * of the layers as the store keeps them extracted (nothing is copied, so an export costs about what
 * `tar | gzip` does); with the copying driver, the layers applied in order (whiteouts honoured) in scratch.
 */
async function withImageTree<T>(store: Store, layers: LayerRef[], scratch: string, fn: (tree: string) => Promise<T>): Promise<T> {
  const tree = path.join(scratch, 'rootfs');
  await fsp.mkdir(tree, { mode: 0o755 });
  const { chooseDriver } = await import('./drivers/select.js');
  if (layers.length === 0 || (await chooseDriver(store)) === 'copy') {
    const { extractLayer } = await import('../layer/extract.js');
    for (const l of layers) await extractLayer(await store.layers.openTar(l), tree, { whiteouts: 'apply' });
    return fn(tree);
  }
  const lowers: string[] = [];
  for (const l of layers) lowers.unshift(await store.layers.ensure(l));
  // overlayfs with no upper dir wants two lower dirs at least: the empty layer is always the second.
  lowers.push(await store.layers.empty());
  // A layer given twice makes overlayfs refuse the mount; its lower copy adds nothing the upper one does not.
  const [{ overlayOptions, unmount }, { runTool }] = await Promise.all([import('../core/mounts.js'), import('../core/spawn.js')]);
  const opts = overlayOptions({ lower: lowers.map((d) => path.relative(store.paths.layers, d)), userxattr: store.flavor === 'user' });
  // Lower dirs relative to the layers directory (the mount's cwd) keep the options under the one-page limit.
  await runTool('mount', ['-t', 'overlay', 'overlay', '-r', '-o', opts, tree], {
    cwd: store.paths.layers, what: 'mounting the image read-only', hint: 'set STORAGE_DRIVER=vfs to use the copying driver',
  });
  try {
    return await fn(tree);
  } finally {
    await unmount(tree);
  }
}

/**
 * Writes a stored image as a flat tarball: the merged tree of its layers (withImageTree) packed in byte
 * order. The config entry is the image's config bytes as stored (their sha256 is the image ID). The caller
 * holds the store lock.
 */
export async function exportImage(store: Store, rec: ImageRecord, file: string, opts: ExportOptions = {}): Promise<ExportResult> {
  const { loadImage, layerRefs } = await import('../image/store-image.js');
  const { manifest, config, configBytes } = await loadImage(store, rec);
  const layers = layerRefs(manifest, config);
  const ts = buildTimestamp(opts.timestamp) ?? epochOf(config.created);
  const o = await openOutput(file, opts);
  try {
    return await withScratch(store, (scratch) => withImageTree(store, layers, scratch, (tree) => writeFlat(o, tree, scratch, configBytes, ts)));
  } catch (err) {
    await abort(o);
    throw err;
  }
}

/** The config a commit of the container would get (its rootfs lists the sealed layers only). */
function containerConfig(rec: ContainerRecord, ts: number | undefined): ImageConfig {
  const created = isoDate(ts);
  const history = [...rec.baseHistory, ...checkpointHistory(rec, ts === undefined ? undefined : created)];
  return containerImageConfig(rec, created, [...rec.baseLayers, ...rec.checkpoints].map((l) => l.diffID), history);
}

/**
 * Writes a working container as a flat tarball, packed straight from its mounted tree (pending changes
 * included; no copy). The tree stays mounted for the next verb. The caller holds the container lock.
 */
export async function exportContainer(store: Store, rec: ContainerRecord, driver: Driver, file: string, opts: ExportOptions = {}): Promise<ExportResult> {
  const ts = buildTimestamp(opts.timestamp);
  const configBytes = Buffer.from(JSON.stringify(containerConfig(rec, ts)));
  const o = await openOutput(file, opts);
  try {
    const root = await driver.mount(store, rec);
    return await withScratch(store, (scratch) => writeFlat(o, root, scratch, configBytes, ts));
  } catch (err) {
    await abort(o);
    throw err;
  }
}
