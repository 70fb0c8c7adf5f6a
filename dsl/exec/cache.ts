import type { BigIntStats } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../core/atomic.js';
import { readTextOrUndefinedSync } from '../core/fsutil.js';
import { which } from '../core/which.js';

/*
 * The cache of `cairn exec`: verified flat images, unpacked once, keyed by the sha256 of the file.
 *   <store root>/exec/<hex>/rootfs        the root filesystem (plus empty mount points cairn adds)
 *   <store root>/exec/<hex>/config.json   the image config (`{}` for bali's files, which carry none)
 *   <store root>/exec/<hex>/meta.json     who signed it, where the mount points are (written last)
 *   <store root>/exec/<hex>/dev           the /dev skeleton bound over the image's /dev
 *   <store root>/exec/<hex>/fstab/        one fstab per distinct set of mounts, content-addressed
 *   <store root>/exec/<hex>/image(.cidx)  the file and its index, kept when it came with one (fetch-url.ts)
 *   <store root>/exec/files/<key>.json    FILE path + (dev, ino, size, mtime, ctime) → digest
 *   <store root>/exec/urls/<key>.json     URL + ETag / Last-Modified → digest
 *   <store root>/exec/tmp/                downloads and unpacks in progress (renamed into place when complete)
 *   <store root>/exec/<hex>.lock          held shared by every running service of the entry (see holdEntry)
 * This module is on the cached-start path: it must stay free of heavy imports, and its reads are synchronous
 * (a cached start that never touches libuv's thread pool does not pay for starting its threads).
 */

/** Where a cached image's mount points are inside its rootfs: physical relative paths, or absent. */
export interface ExecMounts {
  proc?: string;
  dev?: string;
  sys?: string;
  tmp?: string;
  run?: string;
  resolv?: string;
  hosts?: string;
  hostname?: string;
}

/** The key that verified an image: its identity string and the file it came from. */
export interface ExecSigner {
  id: string;
  source: string;
}

/** meta.json of a cache entry. */
export interface EntryMeta {
  /** 'sha256:…' of the file. */
  digest: string;
  /** The key the signature verified under, or null when it was run with --insecure-skip-verify unverified. */
  signer: ExecSigner | null;
  /** Why it is unverified (the verdict's reason), when signer is null. */
  reason?: string;
  mounts: ExecMounts;
  /** The config's User resolved in the image (it never changes): ids and home directory. */
  user?: { uid: number; gid: number; home: string };
}

/** The image config fields exec applies (an OCI image config's `config`). */
export interface ExecRunConfig {
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  WorkingDir?: string;
  User?: string;
}

/** A cache entry ready to run. */
export interface CachedImage {
  dir: string;
  hex: string;
  meta: EntryMeta;
  config: ExecRunConfig;
}

/** A local file's identity: if all of it is unchanged, so is the file (ctime cannot be set back). */
export interface FileStamp {
  path: string;
  dev: string;
  ino: string;
  size: string;
  mtimeNs: string;
  ctimeNs: string;
}

/** What cairn remembers of a URL: the validators of the response that gave the digest. */
export interface UrlRecord {
  url: string;
  etag?: string;
  lastModified?: string;
  digest: string;
  /** The validators of URL.cidx, when the server has one (docs/delta.md). */
  cidxEtag?: string;
  cidxLastModified?: string;
}

/**
 * A short, stable name for a string: two 32-bit FNV-1a hashes. Not node:crypto, whose loading alone costs
 * a cached start milliseconds; names only need to spread, and every record holds the full key it is for.
 */
export function nameOf(s: string): string {
  let a = 0x811c9dc5;
  let b = 0x050c5d1f;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193) >>> 0;
    b = Math.imul(b ^ c, 0x01000193) >>> 0;
    b = (b ^ (b >>> 15)) >>> 0;
  }
  return a.toString(16).padStart(8, '0') + b.toString(16).padStart(8, '0');
}

/** The stamp of a stat (bigint, for nanosecond times). */
export function stampOf(file: string, st: BigIntStats): FileStamp {
  return { path: file, dev: String(st.dev), ino: String(st.ino), size: String(st.size), mtimeNs: String(st.mtimeNs), ctimeNs: String(st.ctimeNs) };
}

/** True when two stamps name the same unchanged file. */
export function sameStamp(a: FileStamp, b: FileStamp): boolean {
  return a.path === b.path && a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}

/**
 * A cache record, or undefined when it is missing (a miss) or not JSON (a record cut short by a crash of an
 * older cairn: a miss too, and the full verification writes it again). Any other failure is thrown.
 */
function readJson<T>(file: string): T | undefined {
  const text = readTextOrUndefinedSync(file);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

/** Writes a cache record as JSON by temp file + rename, so readers see the old or the new record, never half of one. */
export async function writeJson(file: string, value: unknown): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(value) + '\n');
}

/**
 * argv wrapped so that the service holds its entry's lock shared for as long as it runs: sh opens the lock
 * file on fd 8, flock(1) locks that open file, and every exec down the chain keeps fd 8, so the lock lives
 * exactly as long as the service (same PID: sh execs). `cairn gc` removes only entries whose lock is free.
 */
export function holdEntry(img: CachedImage, argv: string[]): string[] {
  const flock = which('flock') ?? 'flock';
  const script = `: >>"$1" && exec 8<"$1" && ${flock} -s 8 || exit 125
[ -e "$2/meta.json" ] || { echo 'cairn exec: the cached image was removed meanwhile (cairn gc): start it again' >&2; exit 125; }
shift 2; exec "$@"`;
  return ['/bin/sh', '-c', script, 'cairn-exec', `${img.dir}.lock`, img.dir, ...argv];
}

/** The exec cache below a store root. */
export class ExecCache {
  readonly dir: string;
  constructor(readonly storeRoot: string) {
    this.dir = path.join(storeRoot, 'exec');
  }
  /** Directory of one entry, by the file's sha256 hex. */
  entry(hex: string): string {
    return path.join(this.dir, hex);
  }
  /** Directory for downloads and unpacks in progress. */
  get tmp(): string {
    return path.join(this.dir, 'tmp');
  }
  private fileRecord(file: string): string {
    return path.join(this.dir, 'files', nameOf(file) + '.json');
  }
  private urlRecord(url: string): string {
    return path.join(this.dir, 'urls', nameOf(url) + '.json');
  }

  /** The complete entry for hex (meta.json is written last, so its presence means complete), or undefined. */
  read(hex: string): CachedImage | undefined {
    if (!/^[0-9a-f]{64}$/.test(hex)) return undefined;
    const dir = this.entry(hex);
    const meta = readJson<EntryMeta>(path.join(dir, 'meta.json'));
    const config = meta && readJson<ExecRunConfig>(path.join(dir, 'config.json'));
    if (!meta || !config) return undefined;
    return { dir, hex, meta, config };
  }

  /** The entry a local file was last verified as, when the file is unchanged since (same stamp). */
  lookupFile(stamp: FileStamp): CachedImage | undefined {
    const rec = readJson<FileStamp & { digest: string }>(this.fileRecord(stamp.path));
    if (!rec || !sameStamp(rec, stamp)) return undefined;
    return this.read(rec.digest.replace(/^sha256:/, ''));
  }

  /** Remembers that the file with this stamp has this digest. */
  async rememberFile(stamp: FileStamp, digest: string): Promise<void> {
    await writeJson(this.fileRecord(stamp.path), { ...stamp, digest });
  }

  /** What was remembered of a URL. */
  lookupUrl(url: string): UrlRecord | undefined {
    const rec = readJson<UrlRecord>(this.urlRecord(url));
    return rec?.url === url ? rec : undefined;
  }

  /** Remembers a URL's validators and digest. */
  async rememberUrl(rec: UrlRecord): Promise<void> {
    await writeJson(this.urlRecord(rec.url), rec);
  }
}
