import { constants as fsc, promises as fsp, type Stats } from 'node:fs';
import { lstatOrUndefined } from '../fsutil.js';
import path from 'node:path';
import type { Readable } from 'node:stream';
import tarStream from 'tar-stream';
import { BadInputError, CairnError } from '../errors.js';
import { warn } from '../events.js';
import { OPAQUE_WHITEOUT, WHITEOUT_PREFIX, baseOf, isOverlayXattr, joinRel, parentOf, type XattrFlavor } from './entry.js';
import { makeNodes, type NodeSpec } from './nodes.js';
import { RootResolver, cleanEntryPath } from './safepath.js';
import { XATTR_PAX_PREFIX, binaryPaxExtract, type PaxHeaders } from './tarpax.js';
import { stripTrailer } from '../sign/flat-format.js';
import { writeXattrs } from './xattr.js';

/** How extractLayer writes a layer. */
export interface ExtractOptions {
  /**
   * 'overlay': dest is an empty dir that becomes an overlayfs lower layer ('.wh.NAME' → 0/0 char device,
   * '.wh..wh..opq' → opaque xattr). 'apply': dest is a root file system the layer is applied on (OCI rules).
   */
  whiteouts: 'overlay' | 'apply';
  /** The overlayfs xattr namespace (default 'trusted'). */
  flavor?: XattrFlavor;
  /** Create char and block devices (needs real root); when false they are skipped with one warning. */
  devices?: boolean;
  /** Set owners from the tar (default: when running as uid 0). */
  chown?: boolean;
}

interface Meta {
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
}

interface PendingNode extends NodeSpec, Meta {
  whiteout: boolean;
}

const CORRUPT_HINT = 'the layer is truncated or corrupt; fetch it again';

/** Any parse error of the tar stream as BadInputError (cairn's own errors pass through). */
function asBadInput(err: unknown): CairnError {
  if (err instanceof CairnError) return err;
  const msg = (err as Error)?.message ?? String(err);
  if (/unexpected end/i.test(msg)) return new BadInputError('the layer tar is truncated', { hint: CORRUPT_HINT, cause: err });
  return new BadInputError(`the layer is not a valid tar: ${msg}`, { hint: CORRUPT_HINT, cause: err });
}


async function drain(body: AsyncIterable<Buffer>): Promise<void> {
  try {
    for await (const _ of body) void _;
  } catch (err) {
    throw asBadInput(err);
  }
}

/** The state of one extraction: what is still to be done once all entries are on disk. */
class Extractor {
  count = 0;
  private resolver: RootResolver;
  private flavor: XattrFlavor;
  private chown: boolean;
  private devices: boolean;
  private warnedDevices = false;
  /** Physical paths this layer wrote, and their parents (apply mode: what an opaque whiteout must keep). */
  private kept = new Set<string>();
  private dirs = new Map<string, Meta>();
  private xattrs = new Map<string, Record<string, Buffer>>();
  private nodes = new Map<string, PendingNode>();
  private opaque = new Set<string>();
  private nodeLinks: { rel: string; target: string }[] = [];

  constructor(readonly root: string, readonly opts: ExtractOptions) {
    this.resolver = new RootResolver(root);
    this.flavor = opts.flavor ?? 'trusted';
    this.chown = opts.chown ?? process.getuid?.() === 0;
    this.devices = opts.devices ?? process.getuid?.() === 0;
  }

  private host(rel: string): string {
    return path.join(this.root, rel);
  }

  private keep(rel: string): void {
    for (let p = rel; p !== '' && !this.kept.has(p); p = parentOf(p)) this.kept.add(p);
  }

  /** Drops everything pending for rel (and below it, when it was a directory). */
  private forgetPending(rel: string, below: boolean): void {
    for (const m of [this.dirs, this.xattrs, this.nodes]) m.delete(rel);
    this.opaque.delete(rel);
    if (!below) return;
    this.resolver.forget(rel);
    const prefix = rel + '/';
    for (const m of [this.dirs, this.xattrs, this.nodes]) for (const k of m.keys()) if (k.startsWith(prefix)) m.delete(k);
    for (const k of this.opaque) if (k.startsWith(prefix)) this.opaque.delete(k);
  }

  private async remove(rel: string, st: Stats): Promise<void> {
    await fsp.rm(this.host(rel), { recursive: st.isDirectory(), force: true });
    this.forgetPending(rel, st.isDirectory());
  }

  private async setOwner(fn: () => Promise<void>): Promise<void> {
    if (!this.chown) return;
    try {
      await fn();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EPERM' && code !== 'EINVAL') throw err;
      this.chown = false;
      warn(`cannot set file owners from the layer (${code}): extracted files keep the current user as owner`);
    }
  }

  /** Applies OCI whiteout rules, or records overlayfs whiteouts, for '.wh.*' entries. */
  private async whiteout(dirRel: string, base: string): Promise<void> {
    const overlay = this.opts.whiteouts === 'overlay';
    const dir = await this.resolver.dir(dirRel, overlay);
    if (dir === undefined) return;
    if (base === OPAQUE_WHITEOUT) {
      if (dir === '') throw new BadInputError('the layer marks the root directory opaque', { hint: 'the layer is malformed' });
      if (overlay) this.opaque.add(dir);
      else await this.prune(dir);
      this.keep(dir);
      return;
    }
    if (base.startsWith(WHITEOUT_PREFIX + WHITEOUT_PREFIX)) return; // aufs bookkeeping (.wh..wh.plnk and the like)
    const name = base.slice(WHITEOUT_PREFIX.length);
    if (name === '' || name === '.' || name === '..') throw new BadInputError(`invalid whiteout ${joinRel(dirRel, base)} in the layer`, { hint: 'the layer is malformed' });
    const rel = joinRel(dir, name);
    const st = await lstatOrUndefined(this.host(rel));
    if (overlay) {
      // What this layer itself holds at the name already hides the lower one; only a directory needs more.
      if (this.kept.has(rel)) {
        if (st?.isDirectory()) this.opaque.add(rel);
        return;
      }
      if (st) await this.remove(rel, st);
      this.forgetPending(rel, false);
      this.nodes.set(rel, { path: this.host(rel), kind: 'c', major: 0, minor: 0, whiteout: true, mode: 0, uid: 0, gid: 0, mtime: 0 });
      return;
    }
    if (!st) return;
    // Whiteouts hide only what earlier layers put there, whatever the order of entries in this layer.
    if (!this.kept.has(rel)) await this.remove(rel, st);
    else if (st.isDirectory()) await this.prune(rel);
  }

  /** Removes what earlier layers left below dir, keeping what this layer wrote. */
  private async prune(dir: string): Promise<void> {
    for (const name of await fsp.readdir(this.host(dir))) {
      const rel = joinRel(dir, name);
      const st = await fsp.lstat(this.host(rel));
      if (!this.kept.has(rel)) await this.remove(rel, st);
      else if (st.isDirectory()) await this.prune(rel);
    }
  }

  /** Writes one tar entry. */
  async entry(h: PaxHeaders, body: AsyncIterable<Buffer>): Promise<void> {
    this.count++;
    const type = h.type;
    const known = ['file', 'contiguous-file', 'directory', 'symlink', 'link', 'character-device', 'block-device', 'fifo'];
    if (!type || !known.includes(type)) throw new BadInputError(`layer entry ${h.name} has an unsupported type (${type ?? 'unknown'})`, { hint: 'cairn reads POSIX/GNU tar layers without sparse or multi-volume entries' });
    const rel0 = cleanEntryPath(h.name);
    const base = baseOf(rel0);
    const isFile = type === 'file' || type === 'contiguous-file';
    if (!isFile || rel0 === '' || base.startsWith(WHITEOUT_PREFIX)) await drain(body);
    if (rel0 === '' || base.startsWith(WHITEOUT_PREFIX)) {
      if (rel0 !== '') await this.whiteout(parentOf(rel0), base);
      return;
    }
    if ((type === 'character-device' || type === 'block-device') && !this.devices) {
      if (!this.warnedDevices) warn('device nodes in the layer are skipped (creating them needs real root)');
      this.warnedDevices = true;
      return;
    }
    const dir = (await this.resolver.dir(parentOf(rel0), true))!;
    const rel = joinRel(dir, base);
    const host = this.host(rel);
    const pax = h.pax ?? {};
    const meta: Meta = {
      mode: (h.mode ?? 0) & 0o7777,
      uid: pax.uid !== undefined ? Number(pax.uid) : h.uid ?? 0,
      gid: pax.gid !== undefined ? Number(pax.gid) : h.gid ?? 0,
      mtime: pax.mtime !== undefined ? Number(pax.mtime) : (h.mtime?.getTime() ?? 0) / 1000,
    };
    if (![meta.uid, meta.gid, meta.mtime].every(Number.isFinite) || meta.uid < 0 || meta.gid < 0) {
      throw new BadInputError(`layer entry ${h.name} has an invalid owner or time`, { hint: 'the layer is malformed' });
    }
    const xattrs: Record<string, Buffer> = {};
    for (const [k, v] of Object.entries(pax)) {
      const name = k.slice(XATTR_PAX_PREFIX.length);
      // overlayfs xattrs from a layer could redirect or hide paths of the overlay it becomes part of.
      if (k.startsWith(XATTR_PAX_PREFIX) && !isOverlayXattr(name)) xattrs[name] = Buffer.isBuffer(v) ? v : Buffer.from(v);
    }
    let st = await lstatOrUndefined(host);
    if (type === 'link') {
      if (await this.hardlink(rel, h.linkname ?? '', h.name, st)) return;
      this.keep(rel);
      return;
    }
    if (st && !(st.isDirectory() && type === 'directory')) {
      await this.remove(rel, st);
      st = undefined;
    }
    if (type === 'directory') {
      // A directory replacing this layer's whiteout of it hides the lower directory's content.
      if (this.nodes.get(rel)?.whiteout) this.opaque.add(rel);
      this.nodes.delete(rel);
      this.xattrs.delete(rel);
      if (!st) await fsp.mkdir(host, { mode: meta.mode | 0o700 });
      this.resolver.known(rel);
      await this.setOwner(() => fsp.lchown(host, meta.uid, meta.gid));
      this.dirs.set(rel, meta);
    } else if (isFile) {
      this.forgetPending(rel, false);
      await this.writeFile(host, body, meta);
    } else if (type === 'symlink') {
      this.forgetPending(rel, false);
      await fsp.symlink(h.linkname ?? '', host);
      await this.setOwner(() => fsp.lchown(host, meta.uid, meta.gid));
      await fsp.lutimes(host, meta.mtime, meta.mtime);
    } else {
      const kind = type === 'fifo' ? 'p' : type === 'block-device' ? 'b' : 'c';
      this.forgetPending(rel, false);
      this.nodes.set(rel, { path: host, kind, major: h.devmajor ?? 0, minor: h.devminor ?? 0, whiteout: false, ...meta });
    }
    if (Object.keys(xattrs).length) this.xattrs.set(rel, xattrs);
    this.keep(rel);
  }

  private async writeFile(host: string, body: AsyncIterable<Buffer>, meta: Meta): Promise<void> {
    const fh = await fsp.open(host, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o600);
    try {
      const it = body[Symbol.asyncIterator]();
      for (;;) {
        let r: IteratorResult<Buffer>;
        try {
          r = await it.next();
        } catch (err) {
          throw asBadInput(err);
        }
        if (r.done) break;
        for (let off = 0; off < r.value.length; ) off += (await fh.write(r.value, off)).bytesWritten;
      }
      await this.setOwner(() => fh.chown(meta.uid, meta.gid));
      await fh.chmod(meta.mode);
      await fh.utimes(meta.mtime, meta.mtime);
    } finally {
      await fh.close();
    }
  }

  /** Creates a hardlink to a path already in dest; returns true when the entry needed nothing more. */
  private async hardlink(rel: string, linkname: string, name: string, st: Stats | undefined): Promise<boolean> {
    const bad = (): BadInputError => new BadInputError(`layer entry ${name} is a hardlink to ${linkname}, which the layer does not hold`, { hint: 'the layer is malformed or malicious' });
    const target0 = cleanEntryPath(linkname, `hardlink ${name} → ${linkname}`);
    if (target0 === '') throw bad();
    const tdir = await this.resolver.dir(parentOf(target0), false);
    if (tdir === undefined) throw bad();
    const target = joinRel(tdir, baseOf(target0));
    if (target === rel) return true;
    const tst = await lstatOrUndefined(this.host(target));
    const pendingNode = this.nodes.get(target);
    if (!pendingNode && (!tst || tst.isDirectory())) throw bad();
    if (st && tst && st.ino === tst.ino && st.dev === tst.dev) return true;
    if (st) await this.remove(rel, st);
    this.forgetPending(rel, false);
    if (pendingNode) this.nodeLinks.push({ rel, target });
    else await fsp.link(this.host(target), this.host(rel));
    return false;
  }

  /** Creates special files, sets xattrs and directory modes and times: everything deferred until all entries are written. */
  async finish(): Promise<void> {
    const all = [...this.nodes.values()];
    const whiteouts = all.filter((n) => n.whiteout);
    const others = all.filter((n) => !n.whiteout);
    if (whiteouts.length) {
      const r = await makeNodes(whiteouts);
      if (r.failed.length) throw new CairnError(`cannot create overlay whiteouts (${r.failed.length}): ${r.stderr.split('\n')[0]}`, { hint: 'whiteouts need root or a user namespace on Linux 5.8 or later' });
    }
    if (others.length) {
      const r = await makeNodes(others);
      if (r.failed.length) warn(`${r.failed.length} device node(s) or FIFO(s) of the layer not created: ${r.stderr.split('\n')[0]}`);
      const failed = new Set(r.failed);
      for (const n of others) {
        if (failed.has(n)) continue;
        await this.setOwner(() => fsp.lchown(n.path, n.uid, n.gid));
        await fsp.chmod(n.path, n.mode);
        await fsp.lutimes(n.path, n.mtime, n.mtime);
      }
    }
    for (const l of this.nodeLinks) {
      if (await lstatOrUndefined(this.host(l.target))) await fsp.link(this.host(l.target), this.host(l.rel));
    }
    const items = [...this.xattrs].flatMap(([rel, xa]) => Object.entries(xa).map(([name, value]) => ({ path: this.host(rel), name, value })));
    try {
      await writeXattrs(items);
    } catch (err) {
      warn((err as Error).message);
    }
    await writeXattrs([...this.opaque].map((rel) => ({ path: this.host(rel), name: `${this.flavor}.overlay.opaque`, value: Buffer.from('y') })));
    const dirs = [...this.dirs.keys()].sort().reverse();
    for (const rel of dirs) {
      const m = this.dirs.get(rel)!;
      await fsp.chmod(this.host(rel), m.mode);
      await fsp.lutimes(this.host(rel), m.mtime, m.mtime);
    }
  }
}

/**
 * Extracts an uncompressed layer tar into dest, safely: names are kept inside dest, symlinks are resolved
 * as if dest were '/', a symlink at the final component is replaced and never followed.
 */
export async function extractLayer(tar: Readable, dest: string, opts: ExtractOptions): Promise<{ entries: number }> {
  const ex = binaryPaxExtract(tarStream.extract());
  // Listen before anything is awaited: an input that fails early must not leave the extract waiting forever.
  tar.on('error', (err) => ex.destroy(err));
  tar.on('close', () => {
    if (!tar.readableEnded) ex.destroy(tar.errored ?? new Error('unexpected end of data (the input stream was closed)'));
  });
  if (tar.errored || tar.destroyed) ex.destroy(tar.errored ?? new Error('unexpected end of data (the input stream was closed)'));
  // A signed flat tarball (bali) ends in an 80-byte trailer after the end-of-archive blocks: GNU tar never
  // reads it, tar-stream would fail on its partial block, so it is dropped here (the diffID still covers it).
  tar.pipe(stripTrailer()).pipe(ex as unknown as NodeJS.WritableStream);
  const it = ex[Symbol.asyncIterator]() as AsyncIterator<AsyncIterable<Buffer> & { header: PaxHeaders }>;
  const root = path.resolve(dest);
  const x = new Extractor(root, opts);
  try {
    await fsp.mkdir(root, { recursive: true });
    for (;;) {
      let r: IteratorResult<AsyncIterable<Buffer> & { header: PaxHeaders }>;
      try {
        r = await it.next();
      } catch (err) {
        throw asBadInput(err);
      }
      if (r.done) break;
      await x.entry(r.value.header, r.value);
    }
    await x.finish();
  } catch (err) {
    tar.unpipe();
    tar.destroy();
    ex.destroy();
    throw err;
  }
  return { entries: x.count };
}
