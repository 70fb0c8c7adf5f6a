import { closeSync, fchmodSync, fchownSync, futimesSync, lchownSync, lutimesSync, mkdirSync, openSync, symlinkSync, constants as fsc, promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { BadInputError, CairnError } from '../core/errors.js';
import { warn } from '../core/events.js';
import { OPAQUE_WHITEOUT, WHITEOUT_PREFIX, baseOf, isOverlayXattr, joinRel, parentOf, type XattrFlavor } from './entry.js';
import { makeNodes, type NodeSpec } from './nodes.js';
import { InRoot, cleanEntryPath, type Located } from './inroot.js';
import { asBadInput, drain, writeBody } from './entrybody.js';
import { XATTR_PAX_PREFIX, type TarHeader } from './tar-header.js';
import { strictTarExtract } from './tar-read.js';
import { stripTrailer } from './tar-trailer.js';
import { writeXattrs } from './xattr.js';
import { makeDirs } from '../core/fsutil.js';

/** How extractLayer writes a layer. */
export interface ExtractOptions {
  /**
   * 'overlay': dest is an empty dir that becomes an overlayfs lower layer ('.wh.NAME' → 0/0 char device,
   * '.wh..wh..opq' → opaque xattr). 'apply': dest is a root file system the layer is applied on (OCI rules).
   * 'none': a plain archive (`add`): '.wh.' names are files like any other.
   */
  whiteouts: 'overlay' | 'apply' | 'none';
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

/** Set once a layer's owners could not be set: the warning is given once per process, not per layer. */
let warnedOwners = false;

/** The largest file time accepted, in seconds (year 5138): larger ones overflow the kernel's timestamps. */
const MAX_TIME = 1e11;

/** The state of one extraction: what is still to be done once all entries are on disk. */
class Extractor {
  count = 0;
  readonly r: InRoot;
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
    this.r = InRoot.open(root);
    this.flavor = opts.flavor ?? 'trusted';
    this.chown = opts.chown ?? process.getuid?.() === 0;
    this.devices = opts.devices ?? process.getuid?.() === 0;
  }

  private keep(rel: string): void {
    for (let p = rel; p !== '' && !this.kept.has(p); p = parentOf(p)) this.kept.add(p);
  }

  /** Drops everything pending for rel (and below it, when it was a directory). */
  private forgetPending(rel: string, below: boolean): void {
    for (const m of [this.dirs, this.xattrs, this.nodes]) m.delete(rel);
    this.opaque.delete(rel);
    // A deferred link dies with its name and with its target (GNU tar would have linked it at once).
    const gone = (p: string): boolean => p === rel || (below && p.startsWith(rel + '/'));
    if (this.nodeLinks.length) this.nodeLinks = this.nodeLinks.filter((l) => !gone(l.rel) && !gone(l.target));
    if (!below) return;
    this.r.forget(rel);
    const prefix = rel + '/';
    for (const m of [this.dirs, this.xattrs, this.nodes]) for (const k of m.keys()) if (k.startsWith(prefix)) m.delete(k);
    for (const k of this.opaque) if (k.startsWith(prefix)) this.opaque.delete(k);
  }

  /** Removes what is at loc (never following it), and everything pending for it. */
  private async remove(loc: Located): Promise<void> {
    const dir = loc.stat?.isDirectory() ?? false;
    await fsp.rm(loc.path, { recursive: dir, force: true });
    this.forgetPending(loc.rel, dir);
  }

  private async setOwner(fn: () => void | Promise<void>): Promise<void> {
    if (!this.chown) return;
    try {
      await fn();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EPERM' && code !== 'EINVAL') throw err;
      this.chown = false;
      // A user namespace mapping one id fails every layer alike (a multi-stage build extracts several): say it once.
      if (warnedOwners) return;
      warnedOwners = true;
      warn(`cannot set file owners from the layer (${code}): extracted files keep the current user as owner`);
    }
  }

  /** Applies OCI whiteout rules, or records overlayfs whiteouts, for '.wh.*' entries. */
  private async whiteout(dirRel: string, base: string): Promise<void> {
    const overlay = this.opts.whiteouts === 'overlay';
    if (base.startsWith(WHITEOUT_PREFIX + WHITEOUT_PREFIX) && base !== OPAQUE_WHITEOUT) return; // aufs bookkeeping (.wh..wh.plnk and the like)
    const name = base === OPAQUE_WHITEOUT ? '' : base.slice(WHITEOUT_PREFIX.length);
    if (base !== OPAQUE_WHITEOUT && (name === '' || name === '.' || name === '..' || name.includes('/'))) {
      throw new BadInputError(`invalid whiteout ${joinRel(dirRel, base)} in the layer`, { hint: 'the layer is malformed' });
    }
    const dirLoc = overlay ? this.r.mkdirp(dirRel) : this.r.locate(dirRel, { follow: true });
    if (!dirLoc.stat?.isDirectory()) return; // nothing below a missing (or non-directory) parent to hide
    const dir = dirLoc.rel;
    if (base === OPAQUE_WHITEOUT) {
      if (dir === '') throw new BadInputError('the layer marks the root directory opaque', { hint: 'the layer is malformed' });
      if (overlay) this.opaque.add(dir);
      else await this.prune(dir);
      this.keep(dir);
      return;
    }
    const loc = this.r.locate(joinRel(dir, name));
    const rel = loc.rel;
    if (overlay) {
      // What this layer itself holds at the name already hides the lower one; only a directory needs more.
      if (this.kept.has(rel)) {
        if (loc.stat?.isDirectory()) this.opaque.add(rel);
        return;
      }
      if (loc.stat) await this.remove(loc);
      this.forgetPending(rel, false);
      this.nodes.set(rel, { path: rel, kind: 'c', major: 0, minor: 0, whiteout: true, mode: 0, uid: 0, gid: 0, mtime: 0 });
      return;
    }
    if (!loc.stat) return;
    // Whiteouts hide only what earlier layers put there, whatever the order of entries in this layer.
    if (!this.kept.has(rel)) await this.remove(loc);
    else if (loc.stat.isDirectory()) await this.prune(rel);
  }

  /** Removes what earlier layers left below dir (a physical directory), keeping what this layer wrote. */
  private async prune(dir: string): Promise<void> {
    const d = this.r.dirPath(dir);
    for (const name of await fsp.readdir(d)) {
      const rel = joinRel(dir, name);
      const loc: Located = { rel, name, dir: d, path: `${d}/${name}`, stat: await fsp.lstat(`${d}/${name}`) };
      if (!this.kept.has(rel)) await this.remove(loc);
      else if (loc.stat!.isDirectory()) await this.prune(rel);
    }
  }

  /** Writes one tar entry. */
  async entry(h: TarHeader, body: AsyncIterable<Buffer>): Promise<void> {
    this.count++;
    this.r.trim();
    const type = h.type;
    const known = ['file', 'contiguous-file', 'directory', 'symlink', 'link', 'character-device', 'block-device', 'fifo'];
    if (!type || !known.includes(type)) throw new BadInputError(`layer entry ${h.name} has an unsupported type (${type ?? 'unknown'})`, { hint: 'cairn reads POSIX/GNU tar layers without sparse or multi-volume entries' });
    const rel0 = cleanEntryPath(h.name);
    const base = baseOf(rel0);
    const isFile = type === 'file' || type === 'contiguous-file';
    const whiteout = this.opts.whiteouts !== 'none' && base.startsWith(WHITEOUT_PREFIX);
    if (!isFile || rel0 === '' || whiteout) await drain(body);
    if (rel0 === '' || whiteout) {
      if (rel0 !== '') await this.whiteout(parentOf(rel0), base);
      return;
    }
    if ((type === 'character-device' || type === 'block-device') && !this.devices) {
      if (!this.warnedDevices) warn('device nodes in the layer are skipped (creating them needs real root)');
      this.warnedDevices = true;
      return;
    }
    // The parents are resolved inside the root (created when missing); the entry's own name is never followed.
    const loc = this.r.locate(rel0, { follow: false, create: true });
    const rel = loc.rel;
    const pax = h.pax ?? {};
    const meta: Meta = {
      mode: (h.mode ?? 0) & 0o7777,
      uid: pax.uid !== undefined ? Number(pax.uid) : h.uid ?? 0,
      gid: pax.gid !== undefined ? Number(pax.gid) : h.gid ?? 0,
      mtime: pax.mtime !== undefined ? Number(pax.mtime) : (h.mtime?.getTime() ?? 0) / 1000,
    };
    // uid_t is 32 bits (and -1 means "unchanged"); times past year 5000 overflow what the kernel takes.
    const idOk = (n: number): boolean => Number.isInteger(n) && n >= 0 && n < 0xffffffff;
    if (!idOk(meta.uid) || !idOk(meta.gid) || !Number.isFinite(meta.mtime) || Math.abs(meta.mtime) > MAX_TIME) {
      throw new BadInputError(`layer entry ${h.name} has an invalid owner or time`, { hint: 'the layer is malformed' });
    }
    if (type === 'symlink' && !h.linkname) throw new BadInputError(`layer entry ${h.name} is a symbolic link with an empty target`, { hint: 'the layer is malformed' });
    const xattrs: Record<string, Buffer> = Object.create(null);
    for (const [k, v] of Object.entries(pax)) {
      const name = k.slice(XATTR_PAX_PREFIX.length);
      // overlayfs xattrs from a layer could redirect or hide paths of the overlay it becomes part of.
      if (k.startsWith(XATTR_PAX_PREFIX) && !isOverlayXattr(name)) xattrs[name] = Buffer.isBuffer(v) ? v : Buffer.from(v);
    }
    if (type === 'link') {
      if (await this.hardlink(loc, h.linkname ?? '', h.name)) return;
      this.keep(rel);
      return;
    }
    let st = loc.stat;
    if (st && !(st.isDirectory() && type === 'directory')) {
      await this.remove(loc);
      st = undefined;
    }
    if (type === 'directory') {
      // A directory replacing this layer's whiteout of it hides the lower directory's content.
      if (this.nodes.get(rel)?.whiteout) this.opaque.add(rel);
      this.nodes.delete(rel);
      this.xattrs.delete(rel);
      if (!st) mkdirSync(loc.path, { mode: meta.mode | 0o700 });
      await this.setOwner(() => lchownSync(loc.path, meta.uid, meta.gid));
      this.dirs.set(rel, meta);
    } else if (isFile) {
      this.forgetPending(rel, false);
      await this.writeFile(loc.path, body, meta);
    } else if (type === 'symlink') {
      this.forgetPending(rel, false);
      symlinkSync(h.linkname ?? '', loc.path);
      await this.setOwner(() => lchownSync(loc.path, meta.uid, meta.gid));
      lutimesSync(loc.path, meta.mtime, meta.mtime);
    } else {
      const kind = type === 'fifo' ? 'p' : type === 'block-device' ? 'b' : 'c';
      this.forgetPending(rel, false);
      this.nodes.set(rel, { path: rel, kind, major: h.devmajor ?? 0, minor: h.devminor ?? 0, whiteout: false, ...meta });
    }
    if (Object.keys(xattrs).length) this.xattrs.set(rel, xattrs);
    this.keep(rel);
  }

  /** Creates and fills one regular file (synchronous calls: see writeBody). */
  private async writeFile(host: string, body: AsyncIterable<Buffer>, meta: Meta): Promise<void> {
    const fd = openSync(host, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o600);
    try {
      await writeBody(fd, body);
      await this.setOwner(() => fchownSync(fd, meta.uid, meta.gid));
      fchmodSync(fd, meta.mode);
      futimesSync(fd, meta.mtime, meta.mtime);
    } finally {
      closeSync(fd);
    }
  }

  /** Creates a hardlink at loc to a path already in the root; returns true when the entry needed nothing more. */
  private async hardlink(loc: Located, linkname: string, name: string): Promise<boolean> {
    const bad = (): BadInputError => new BadInputError(`layer entry ${name} is a hardlink to ${linkname}, which the layer does not hold`, { hint: 'the layer is malformed or malicious' });
    const target0 = cleanEntryPath(linkname, `hardlink ${name} → ${linkname}`);
    if (target0 === '') throw bad();
    // The target's parents are resolved inside the root; the target itself is never followed (a hardlink to a
    // symlink links the symlink).
    const t = this.r.locate(target0, { follow: false });
    const rel = loc.rel;
    if (t.rel === rel) {
      // A link to itself is a no-op for an existing name, and a link to nothing otherwise.
      if (!loc.stat && !this.nodes.has(rel)) throw bad();
      return true;
    }
    if (!t.dir || t.rel.startsWith(rel + '/')) throw bad();
    const pendingNode = this.nodes.get(t.rel);
    if (!pendingNode && (!t.stat || t.stat.isDirectory())) throw bad();
    if (loc.stat && t.stat && loc.stat.ino === t.stat.ino && loc.stat.dev === t.stat.dev) return true;
    if (loc.stat) await this.remove(loc);
    this.forgetPending(rel, false);
    if (pendingNode) this.nodeLinks.push({ rel, target: t.rel });
    else await fsp.link(t.path, loc.path);
    return false;
  }

  /**
   * Locates a path recorded earlier, again: parents may have been replaced since (by symlinks too), so nothing
   * recorded is trusted; undefined when its parent is gone.
   */
  private again(rel: string): Located | undefined {
    const loc = this.r.locate(rel);
    return loc.dir ? loc : undefined;
  }

  /** Creates special files, sets xattrs and directory modes and times: everything deferred until all entries are written. */
  async finish(): Promise<void> {
    this.r.trim();
    // External programs get plain paths: each was located again just now, and nothing else writes this tree.
    const placed = (n: PendingNode): NodeSpec | undefined => {
      const loc = this.again(n.path);
      if (!loc || loc.stat) return undefined;
      return { ...n, path: path.join(this.root, loc.rel) };
    };
    const all = [...this.nodes.values()];
    const whiteouts = all.filter((n) => n.whiteout).map(placed).filter((n) => n !== undefined);
    const others = all.filter((n) => !n.whiteout).map((n) => ({ n, spec: placed(n) })).filter((x) => x.spec !== undefined);
    if (whiteouts.length) {
      const r = await makeNodes(whiteouts);
      if (r.failed.length) throw new CairnError(`cannot create overlay whiteouts (${r.failed.length}): ${r.stderr.split('\n')[0]}`, { hint: 'whiteouts need root or a user namespace on Linux 5.8 or later' });
    }
    if (others.length) {
      const r = await makeNodes(others.map((x) => x.spec!));
      const failed = new Set(r.failed);
      if (failed.size) {
        // Named as the image has them, never by where the layer is being unpacked.
        const names = others.filter((x) => failed.has(x.spec!)).map((x) => '/' + x.n.path);
        const shown = names.slice(0, 3).join(', ') + (names.length > 3 ? `, and ${names.length - 3} more` : '');
        warn(`${names.length} device node(s) or FIFO(s) of the layer not created (${shown}): making them needs real root; run steps get a /dev of their own`);
      }
      for (const { n, spec } of others) {
        if (failed.has(spec!)) continue;
        const loc = this.again(n.path);
        if (!loc?.stat || loc.stat.isSymbolicLink() || loc.stat.isDirectory() || loc.stat.isFile()) continue;
        await this.setOwner(() => fsp.lchown(loc.path, n.uid, n.gid));
        await fsp.chmod(loc.path, n.mode);
        await fsp.lutimes(loc.path, n.mtime, n.mtime);
      }
    }
    for (const l of this.nodeLinks) {
      const t = this.again(l.target);
      const at = this.again(l.rel);
      if (t?.stat && !t.stat.isDirectory() && at && !at.stat) await fsp.link(t.path, at.path);
    }
    this.r.trim();
    const hostOf = (rel: string): string | undefined => {
      const loc = this.again(rel);
      return loc?.stat ? path.join(this.root, loc.rel) : undefined;
    };
    const items = [...this.xattrs].flatMap(([rel, xa]) => {
      const p = hostOf(rel);
      return p ? Object.entries(xa).map(([name, value]) => ({ path: p, name, value })) : [];
    });
    try {
      await writeXattrs(items);
    } catch (err) {
      warn((err as Error).message);
    }
    const opaque = [...this.opaque].filter((rel) => this.again(rel)?.stat?.isDirectory()).map((rel) => path.join(this.root, rel));
    await writeXattrs(opaque.map((p) => ({ path: p, name: `${this.flavor}.overlay.opaque`, value: Buffer.from('y') })));
    const dirs = [...this.dirs.keys()].sort().reverse();
    for (const rel of dirs) {
      this.r.trim();
      const loc = this.again(rel);
      if (!loc?.stat?.isDirectory()) continue;
      const m = this.dirs.get(rel)!;
      await fsp.chmod(loc.path, m.mode);
      await fsp.lutimes(loc.path, m.mtime, m.mtime);
    }
  }

  /** Releases the root's descriptors. */
  close(): void {
    this.r.close();
  }
}

/**
 * Extracts an uncompressed layer tar into dest, safely: names are kept inside dest, symlinks are resolved
 * as if dest were '/', a symlink at the final component is replaced and never followed.
 */
export async function extractLayer(tar: Readable, dest: string, opts: ExtractOptions): Promise<{ entries: number }> {
  const ex = strictTarExtract();
  // Listen before anything is awaited: an input that fails early must not leave the extract waiting forever.
  tar.on('error', (err) => ex.destroy(err));
  tar.on('close', () => {
    if (!tar.readableEnded) ex.destroy(tar.errored ?? new Error('unexpected end of data (the input stream was closed)'));
  });
  if (tar.errored || tar.destroyed) ex.destroy(tar.errored ?? new Error('unexpected end of data (the input stream was closed)'));
  // A signed flat tarball (bali) ends in an 80-byte trailer after the end-of-archive blocks: GNU tar never
  // reads it, the strict reader would refuse it, so it is dropped here (the diffID still covers it).
  tar.pipe(stripTrailer()).pipe(ex as unknown as NodeJS.WritableStream);
  const it = ex[Symbol.asyncIterator]() as AsyncIterator<AsyncIterable<Buffer> & { header: TarHeader }>;
  const root = path.resolve(dest);
  let x: Extractor | undefined;
  try {
    await makeDirs(root);
    x = new Extractor(root, opts);
    for (;;) {
      let r: IteratorResult<AsyncIterable<Buffer> & { header: TarHeader }>;
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
  } finally {
    x?.close();
  }
  return { entries: x.count };
}
