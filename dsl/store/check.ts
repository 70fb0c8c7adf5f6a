import { constants, promises as fsp } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { crashPoint } from '../core/crash.js';
import { readDirOrEmpty, readJson } from '../core/atomic.js';
import { lstatOrUndefined } from '../core/fsutil.js';
import type { ContainerRecord, LayerRef } from './containers.js';
import { isDigest } from '../oci/digest.js';
import { execLeftovers } from './exec-gc.js';
import type { ImageRecord } from './images.js';
import { deadLockFiles, findLeftovers, quarantine, rel, removeLockFile, unreadable, type Problem } from './leftovers.js';
import { BrokenError, containerNeeds, imageLabel, imageNeeds } from './refs.js';
import { openStore, type Store } from './store.js';

/*
 * `cairn check`: verifies the whole store and, with repair, removes what is broken or what interrupted
 * verbs left. Blobs are hashed (streamed) under the shared store lock, so verbs keep working meanwhile;
 * records, references and leftovers are then looked at under the exclusive lock (as gc takes it), so no
 * verb is half-way through. A blob at its final name is always complete (blobs are written to tmp/ and
 * renamed), so one that does not hash to its name is corrupt, never "being written".
 * Never removed: an image record (a broken one is reported; one that cannot even be read is moved to
 * lost+found), nor a working container whose layers are missing (reported, for `cairn rm`).
 */

/** Options of checkStore. */
export interface CheckOptions {
  /** Remove what is broken or left over (never a committed image record). */
  repair?: boolean;
  /** Called with each problem's line as it is found (and repaired). */
  onProblem?: (line: string) => void;
}

/** What a check found. */
export interface CheckResult {
  /** One line per problem (with what the repair did, when repairing). */
  problems: string[];
  /** How many of them were repaired. */
  repaired: number;
  /** Blobs no image or container uses: not a problem, what `cairn gc` removes. */
  unreferenced: number;
}

/** A blob's file identity, so a repair removes exactly the file that was found corrupt. */
interface BadBlob {
  digest: string;
  why: string;
  ino: number;
  mtimeMs: number;
}

const HEX = /^[0-9a-f]{64}$/;

/** Hashes one blob file without following links or loading it whole; the reason it is bad, or undefined. */
async function verifyBlob(file: string, hex: string): Promise<{ why?: string; ino: number; mtimeMs: number } | undefined> {
  const st = await lstatOrUndefined(file);
  if (!st) return undefined;
  if (!st.isFile()) return { why: `not a regular file`, ino: st.ino, mtimeMs: st.mtimeMs };
  let fh;
  try {
    fh = await fsp.open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return { why: `cannot be read (${(err as NodeJS.ErrnoException).code})`, ino: st.ino, mtimeMs: st.mtimeMs };
  }
  const h = createHash('sha256');
  try {
    for await (const chunk of fh.createReadStream({ highWaterMark: 1 << 20, autoClose: false })) h.update(chunk as Buffer);
  } catch (err) {
    return { why: `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, ino: st.ino, mtimeMs: st.mtimeMs };
  } finally {
    await fh.close();
  }
  const got = h.digest('hex');
  return { why: got === hex ? undefined : `corrupt: its content hashes to sha256:${got}`, ino: st.ino, mtimeMs: st.mtimeMs };
}

/** Hashes every blob; the bad ones. */
async function badBlobs(store: Store): Promise<BadBlob[]> {
  const out: BadBlob[] = [];
  for (const n of await readDirOrEmpty(store.paths.blobs)) {
    if (!HEX.test(n)) continue;
    const r = await verifyBlob(path.join(store.paths.blobs, n), n);
    if (r?.why) out.push({ digest: 'sha256:' + n, why: r.why, ino: r.ino, mtimeMs: r.mtimeMs });
  }
  return out;
}

/** The checks of phase two, under the exclusive store lock. */
class Checker {
  readonly problems: Problem[] = [];
  readonly used = new Set<string>();
  private readonly bad: Map<string, BadBlob>;

  constructor(readonly store: Store, bad: BadBlob[]) {
    this.bad = new Map(bad.map((b) => [b.digest, b]));
  }

  private report(text: string, fixText?: string, fix?: () => Promise<void>): void {
    this.problems.push({ text, fixText, fix });
  }

  /** Why a layer cannot be had (undefined when it can): its blob, else the tree a packed layer is packed from. */
  private async layerMissing(l: { digest: string; diffID: string }): Promise<string | undefined> {
    this.used.add(l.digest);
    if (this.bad.has(l.digest)) return `its layer ${l.digest} is corrupt`;
    if (await this.store.blobs.has(l.digest)) return undefined;
    // An unreadable packed record is reported by layerRecords; here its layer counts as missing (reported too).
    const p = await readJson<{ dir?: string }>(path.join(this.store.paths.layers, `${l.diffID.slice(7)}.packed.json`)).catch(() => undefined);
    if (p && isDigest(p.dir) && (await this.store.layers.has(p.dir))) return undefined;
    return `its layer ${l.digest} is missing (no blob, no tree to pack it from)`;
  }

  blobFiles = async (): Promise<void> => {
    for (const n of await readDirOrEmpty(this.store.paths.blobs)) {
      const p = path.join(this.store.paths.blobs, n);
      if (!HEX.test(n)) this.report(`${rel(this.store, p)}: not a blob (its name is no sha256 digest)`, 'removed', () => fsp.rm(p, { recursive: true, force: true }));
    }
    for (const b of this.bad.values()) {
      const file = this.store.blobs.path(b.digest);
      this.report(`blob ${b.digest}: ${b.why}`, 'removed', async () => {
        // Only the very file found bad: a verb may have replaced it with a good copy since.
        const st = await lstatOrUndefined(file);
        if (st && st.ino === b.ino && st.mtimeMs === b.mtimeMs) await fsp.rm(file, { recursive: true, force: true });
      });
    }
  };

  images = async (): Promise<void> => {
    const dir = this.store.paths.images;
    const byName = new Map<string, ImageRecord[]>();
    for (const n of await readDirOrEmpty(dir)) {
      const p = path.join(dir, n);
      if (n.startsWith('.tmp-')) continue;
      if (!/^[0-9a-f]{64}\.json$/.test(n)) {
        this.report(`${rel(this.store, p)}: not an image record`, 'moved to lost+found', async () => void (await quarantine(this.store, p)));
        continue;
      }
      let rec: ImageRecord | undefined;
      try {
        rec = await this.store.images.get(n.slice(0, 64));
      } catch (err) {
        this.report(`${rel(this.store, p)}: the image record cannot be read (${unreadable(err)})`, 'moved to lost+found', async () => void (await quarantine(this.store, p)));
        continue;
      }
      if (!rec) continue;
      for (const name of rec.names) byName.set(name, [...(byName.get(name) ?? []), rec]);
      await this.image(rec);
    }
    for (const [name, recs] of byName) {
      if (recs.length < 2) continue;
      this.report(`image name ${name} is on ${recs.length} images (${recs.map((r) => r.id.slice(0, 12)).join(', ')}: an interrupted commit or tag)`, 'kept on the newest', async () => {
        const mtime = async (r: ImageRecord) => (await fsp.stat(path.join(dir, r.id + '.json'))).mtimeMs;
        const times = await Promise.all(recs.map(mtime));
        const keep = recs[times.indexOf(Math.max(...times))];
        await this.store.images.moveNames([name], keep.id);
      });
    }
  };

  private async image(rec: ImageRecord): Promise<void> {
    const what = imageLabel(rec);
    this.used.add(rec.manifest);
    let needs;
    try {
      needs = await imageNeeds(this.store, rec, (d) => this.bad.has(d));
    } catch (err) {
      if (!(err instanceof BrokenError)) throw err;
      this.report(err.message);
      return;
    }
    this.used.add(needs.config);
    if (needs.config.slice(7) !== rec.id) this.report(`${what} is broken: its ID is not the digest of its config ${needs.config}`);
    for (const l of needs.layers) {
      const why = await this.layerMissing(l);
      if (why) this.report(`${what} is broken: ${why}`);
    }
  }

  containers = async (): Promise<void> => {
    for (const id of await this.store.containers.ids()) {
      // One that cannot be read, or was never published, is a leftover (see leftovers.ts).
      const rec: ContainerRecord | undefined = await this.store.containers.get(id).catch(() => undefined);
      if (!rec || !(await this.store.containers.published(rec))) continue;
      const what = `container ${rec.name} (${rec.id.slice(0, 12)})`;
      let layers: LayerRef[];
      try {
        layers = await containerNeeds(this.store, rec);
      } catch (err) {
        this.report(`${what}: ${(err as Error).message}`);
        continue;
      }
      // A seal killed half-way: its layer's files are still the overlay upper dir, and the next verb on the
      // container finishes the seal (checkpoint.ts); the layer is not missing, it is not adopted yet.
      const base0 = this.store.paths.container(rec.id);
      // An unreadable seal journal: no seal is known to be under way, so its layer is reported as missing.
      const sealing = await readJson<{ layer?: { digest?: string } }>(path.join(base0, 'seal.json')).catch(() => undefined);
      const upperIsDir = rec.driver === 'overlay' && (await lstatOrUndefined(path.join(base0, 'upper')))?.isDirectory();
      for (const l of layers) {
        if (upperIsDir && sealing?.layer?.digest === l.digest) continue;
        const why = await this.layerMissing(l);
        if (why) this.report(`${what} is broken: ${why} (remove it with \`cairn rm ${rec.name}\`)`);
      }
      const base = this.store.paths.container(rec.id);
      const trees = rec.driver === 'overlay' ? ['upper', 'work'] : ['rootfs'];
      for (const t of trees) {
        const st = await lstatOrUndefined(path.join(base, t));
        if (!st?.isDirectory()) this.report(`${what} is broken: its ${t} directory is missing (remove it with \`cairn rm ${rec.name}\`)`);
      }
    }
  };

  /** Records beside the extracted layers: packed layers' sources and compressed copies. */
  layerRecords = async (): Promise<void> => {
    const dir = this.store.paths.layers;
    for (const n of await readDirOrEmpty(dir)) {
      const m = /^([0-9a-f]{64})\.(packed|gzip|zstd|none)\.json$/.exec(n);
      if (!m) continue;
      const p = path.join(dir, n);
      const remove = () => fsp.rm(p, { force: true });
      let v: { dir?: unknown; digest?: unknown } | undefined;
      try {
        v = await readJson(p);
      } catch {
        this.report(`${rel(this.store, p)}: cannot be read`, 'removed', remove);
        continue;
      }
      if (!v) continue;
      if (m[2] === 'packed') {
        if (!isDigest(v.dir) || !(await this.store.layers.has(v.dir))) {
          this.report(`${rel(this.store, p)}: the tree layer ${m[1].slice(0, 12)} is packed from is missing`, 'removed', remove);
        }
      } else if (!isDigest(v.digest) || !(await this.store.blobs.has(v.digest)) || this.bad.has(v.digest)) {
        this.report(`${rel(this.store, p)}: the ${m[2]} copy of layer ${m[1].slice(0, 12)} it names is missing`, 'removed', remove);
      } else {
        this.used.add(v.digest);
      }
    }
  };
}

/**
 * Verifies the whole store: every blob against its digest, every image's and container's references, and
 * what interrupted verbs left (temporary files, unpublished containers, dead names, stale mounts). With
 * repair, removes what is broken or left over; a committed image record is never removed, only reported.
 */
export async function checkStore(store: Store, opts: CheckOptions = {}): Promise<CheckResult> {
  const bad = await store.locked([], () => badBlobs(store));
  return store.exclusive(async () => {
    const c = new Checker(store, bad);
    await c.blobFiles();
    await c.images();
    await c.containers();
    await c.layerRecords();
    c.problems.push(...(await findLeftovers(store)), ...(await execLeftovers(store)));
    const result: CheckResult = { problems: [], repaired: 0, unreferenced: 0 };
    for (const p of c.problems) {
      let line = p.text;
      if (opts.repair) {
        if (p.fix) {
          await p.fix();
          crashPoint('store.check.after-repair');
          result.repaired++;
          line += ` [${p.fixText}]`;
        } else {
          line += ' [not repaired]';
        }
      }
      result.problems.push(line);
      opts.onProblem?.(line);
    }
    if (opts.repair) for (const name of await deadLockFiles(store)) await removeLockFile(store, name);
    for (const b of await store.blobs.list()) if (!c.used.has(b)) result.unreferenced++;
    return result;
  });
}

/** Verifies (with repair, repairs) the store at root, or the default store: see checkStore. */
export async function check(opts: CheckOptions & { root?: string } = {}): Promise<CheckResult> {
  return checkStore(await openStore(opts.root), opts);
}
