import { closeSync, constants as fsc, fstatSync, lstatSync, mkdirSync, openSync, readlinkSync, type Stats } from 'node:fs';
import { readFd } from '../core/fsutil.js';
import path from 'node:path';
import { BadInputError, CairnError } from '../core/errors.js';

// O_PATH is not in Node's constants: an fd that only anchors lookups (no read permission needed, nothing opened).
const O_PATH = 0o10000000;
const DIR_FLAGS = O_PATH | fsc.O_DIRECTORY | fsc.O_NOFOLLOW;
/** Symlink expansions allowed in one lookup (Linux's own limit, MAXSYMLINKS). */
export const MAX_SYMLINKS = 40;
const ESCAPE_HINT = 'the image or path is malicious or broken; do not use it';

/** Cleans a tar entry name into a relative path ('' for the root); a name climbing above the root is refused. */
export function cleanEntryPath(name: string, what = 'entry'): string {
  const out: string[] = [];
  for (const c of name.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (out.length === 0) throw new BadInputError(`layer ${what} ${JSON.stringify(name)} points outside the root`, { hint: ESCAPE_HINT });
      out.pop();
      continue;
    }
    out.push(c);
  }
  return out.join('/');
}

/** Where a path lies inside a root: its verified parent directory and its last component. */
export interface Located {
  /** The physical path relative to the root ('' for the root itself): no symlink in it but maybe the last component. */
  rel: string;
  /** The last component ('' for the root). */
  name: string;
  /** The parent directory, pinned by an open descriptor (`/proc/self/fd/N`): lookups below it never pass a symlink. */
  dir: string;
  /**
   * The object itself, below the pinned parent (`/proc/self/fd/N/NAME`). Safe with calls that do not follow a
   * final symlink (open with O_NOFOLLOW, lstat, mkdir, symlink, link, unlink, rm, lchown, lutimes, readlink).
   */
  path: string;
  /** lstat of the object (undefined when it does not exist). */
  stat: Stats | undefined;
}

interface Step {
  name: string;
  /** The directory's O_PATH descriptor; undefined when the component does not exist. */
  fd?: number;
}

function code(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException)?.code;
}

/** The fd-anchored path of name below the directory descriptor fd (for this process, or for pid's children). */
export function fdPath(fd: number, name = '', pid?: number): string {
  const base = `/proc/${pid ?? 'self'}/fd/${fd}`;
  return name ? `${base}/${name}` : base;
}

/**
 * A directory tree treated as '/', with the semantics of openat2's RESOLVE_IN_ROOT: every component is looked
 * up below a descriptor of its verified parent directory, symlinks are expanded inside the root (at most
 * MAX_SYMLINKS), '..' is clamped at the root, and a missing component does not stop the checks ('..' may lead
 * back to existing ones). Only verified real directories are cached, as open descriptors, so a stale entry can
 * point at a directory that moved but never outside the root. Every path from an image, a tar entry, a config
 * or a user that reaches the host goes through here.
 */
export class InRoot {
  private readonly rootFd: number;
  private dirs = new Map<string, number>();
  /** Descriptors forgotten but not closed yet: closing waits for trim() so that no number is reused mid-operation. */
  private retired: number[] = [];
  private closed = false;

  private constructor(readonly root: string, fd: number) {
    this.rootFd = fd;
  }

  /** Opens root (which must be a real directory: it is the caller's own path, not the image's). */
  static open(root: string): InRoot {
    const abs = path.resolve(root);
    let fd: number;
    try {
      fd = openSync(abs, O_PATH | fsc.O_DIRECTORY);
    } catch (err) {
      throw new CairnError(`cannot open the root ${abs}: ${(err as Error).message}`, { cause: err });
    }
    return new InRoot(abs, fd);
  }

  /** Runs fn with root opened, and closes it afterwards. */
  static async with<T>(root: string, fn: (r: InRoot) => Promise<T> | T): Promise<T> {
    const r = InRoot.open(root);
    try {
      return await fn(r);
    } finally {
      r.close();
    }
  }

  /** Closes every descriptor; the value must not be used afterwards. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const fd of [...this.dirs.values(), ...this.retired]) closeSync(fd);
    this.dirs.clear();
    this.retired = [];
    closeSync(this.rootFd);
  }

  /** The root's descriptor path (`/proc/self/fd/N`). */
  get rootPath(): string {
    return fdPath(this.rootFd);
  }

  /**
   * Finds p (absolute or relative to the root) inside the root. The last component is followed when it is a
   * symlink only with follow; with create, missing parent directories are made (mode 0755).
   */
  locate(p: string, opts: { follow?: boolean; create?: boolean } = {}): Located {
    if (this.closed) throw new CairnError('internal error: the root was already closed');
    const stack: Step[] = [];
    const queue = p.split('/');
    let links = 0;
    let last: { name: string; stat: Stats | undefined } | undefined;
    while (queue.length) {
      const c = queue.shift()!;
      if (c === '' || c === '.') continue;
      if (c === '..') {
        stack.pop();
        continue;
      }
      const final = !queue.some((q) => q !== '' && q !== '.' && q !== '..') && !queue.includes('..');
      const top = stack[stack.length - 1];
      if (top && top.fd === undefined) {
        // Below a missing directory nothing exists; the name is kept for a later '..' or for the result.
        if (final) last = { name: c, stat: undefined };
        else stack.push({ name: c });
        if (final) break;
        continue;
      }
      const parentFd = top ? top.fd! : this.rootFd;
      const parentRel = stack.map((s) => s.name).join('/');
      const rel = parentRel ? `${parentRel}/${c}` : c;
      if (final && !opts.follow) {
        last = { name: c, stat: this.lstat(parentFd, c) };
        break;
      }
      const cached = this.dirs.get(rel);
      if (cached !== undefined) {
        if (final) {
          last = { name: c, stat: this.lstat(parentFd, c) };
          break;
        }
        stack.push({ name: c, fd: cached });
        continue;
      }
      const fd = this.openDir(parentFd, c);
      if (typeof fd === 'number') {
        this.dirs.set(rel, fd);
        if (final) {
          last = { name: c, stat: this.lstat(parentFd, c) };
          break;
        }
        stack.push({ name: c, fd });
        continue;
      }
      const st = fd;
      if (st?.isSymbolicLink()) {
        if (++links > MAX_SYMLINKS) throw new BadInputError(`too many levels of symbolic links resolving ${p}`, { hint: ESCAPE_HINT });
        const target = readlinkSync(fdPath(parentFd, c));
        if (target.startsWith('/')) stack.length = 0;
        queue.unshift(...target.split('/'));
        continue;
      }
      if (!st) {
        if (opts.create && !final) {
          this.mkdir(parentFd, c);
          queue.unshift(c);
          continue;
        }
        if (final) {
          last = { name: c, stat: undefined };
          break;
        }
        stack.push({ name: c });
        continue;
      }
      if (final) {
        last = { name: c, stat: st };
        break;
      }
      throw new BadInputError(`cannot resolve ${p}: /${rel} is not a directory`, { hint: 'the path goes through a file' });
    }
    if (stack.some((s) => s.fd === undefined) && opts.create) {
      throw new CairnError(`internal error: ${p} has a missing parent after creation`);
    }
    const parent = stack[stack.length - 1];
    const parentRel = stack.map((s) => s.name).join('/');
    if (!last) {
      // p names a directory reached by the walk itself (or the root): its parent is the step before it.
      if (!parent) return { rel: '', name: '', dir: this.rootPath, path: this.rootPath, stat: fstatSync(this.rootFd) };
      stack.pop();
      const up = stack[stack.length - 1];
      const upFd = up ? up.fd : this.rootFd;
      const dir = upFd === undefined ? '' : fdPath(upFd);
      return {
        rel: parentRel, name: parent.name, dir,
        path: upFd === undefined ? '' : fdPath(upFd, parent.name),
        stat: upFd === undefined || parent.fd === undefined ? undefined : fstatSync(parent.fd),
      };
    }
    const dirFd = parent ? parent.fd : this.rootFd;
    return {
      rel: parentRel ? `${parentRel}/${last.name}` : last.name,
      name: last.name,
      dir: dirFd === undefined ? '' : fdPath(dirFd),
      path: dirFd === undefined ? '' : fdPath(dirFd, last.name),
      stat: last.stat,
    };
  }

  /** The physical path of p relative to the root ('' for the root); see locate. */
  resolve(p: string, opts: { follow?: boolean } = {}): string {
    return this.locate(p, { follow: opts.follow ?? true }).rel;
  }

  /**
   * The plain host path of p (root joined with its physical path). Only for trees nothing else changes
   * meanwhile (a container under its lock), e.g. to hand to mount(8) or another program.
   */
  hostPath(p: string, opts: { follow?: boolean } = {}): string {
    return path.join(this.root, this.resolve(p, opts));
  }

  /** Makes directory p (and its missing parents) inside the root, like `mkdir -p`; returns where it is. */
  mkdirp(p: string, mode = 0o755): Located {
    const loc = this.locate(p, { follow: true, create: true });
    if (loc.stat?.isDirectory()) return loc;
    if (loc.stat) throw new BadInputError(`cannot create directory /${loc.rel}: a file is in the way`, { hint: 'remove it first' });
    this.mkdir(this.parentFd(loc), loc.name, mode);
    return { ...loc, stat: lstatSync(loc.path) };
  }

  /**
   * Reads the regular file p (symlinks followed inside the root), at most max bytes; undefined when it is
   * missing. Anything but a regular file (a FIFO, a device) is refused without being opened for reading.
   */
  readFile(p: string, max: number): Buffer | undefined {
    const loc = this.locate(p, { follow: true });
    if (!loc.stat) return undefined;
    if (!loc.stat.isFile()) throw new BadInputError(`/${loc.rel} in the image is not a regular file`, { hint: ESCAPE_HINT });
    const fd = openSync(loc.path, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK);
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) throw new BadInputError(`/${loc.rel} in the image is not a regular file`, { hint: ESCAPE_HINT });
      if (st.size > max) throw new BadInputError(`/${loc.rel} in the image is too large (${st.size} bytes, at most ${max})`, { hint: ESCAPE_HINT });
      return readFd(fd, st.size);
    } finally {
      closeSync(fd);
    }
  }

  /** An O_PATH descriptor path (`/proc/self/fd/N`) of the real directory p (which must exist). */
  dirPath(p: string): string {
    const loc = this.locate(p, { follow: true });
    if (loc.rel === '') return this.rootPath;
    if (!loc.stat?.isDirectory()) throw new BadInputError(`/${loc.rel} is not a directory`);
    const fd = this.dirs.get(loc.rel);
    if (fd !== undefined) return fdPath(fd);
    const opened = this.openDir(this.parentFd(loc), loc.name);
    if (typeof opened !== 'number') throw new BadInputError(`/${loc.rel} is not a directory`);
    this.dirs.set(loc.rel, opened);
    return fdPath(opened);
  }

  /**
   * Forgets cached directories at rel and below (call after removing, moving or replacing rel). Their
   * descriptors stay open until trim(), so paths located before stay valid (if stale) until then.
   */
  forget(rel: string): void {
    const prefix = rel + '/';
    for (const [k, fd] of this.dirs) {
      if (rel === '' || k === rel || k.startsWith(prefix)) {
        this.retired.push(fd);
        this.dirs.delete(k);
      }
    }
  }

  /** Closes forgotten descriptors, and all cached ones when there are more than max: call between operations, never during one. */
  trim(max = 512): void {
    if (this.dirs.size > max) this.forget('');
    for (const fd of this.retired) closeSync(fd);
    this.retired = [];
  }

  private parentFd(loc: Located): number {
    const m = /^\/proc\/self\/fd\/(\d+)$/.exec(loc.dir);
    if (!m) throw new BadInputError(`cannot create /${loc.rel}: its parent directory does not exist`);
    return Number(m[1]);
  }

  private lstat(dirFd: number, name: string): Stats | undefined {
    try {
      return lstatSync(fdPath(dirFd, name));
    } catch (err) {
      if (code(err) === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** Opens name below dirFd as a directory without following it; otherwise answers its lstat (undefined: missing). */
  private openDir(dirFd: number, name: string): number | Stats | undefined {
    try {
      return openSync(fdPath(dirFd, name), DIR_FLAGS);
    } catch (err) {
      const c = code(err);
      if (c === 'ENOENT') return undefined;
      if (c !== 'ENOTDIR' && c !== 'ELOOP') throw err;
      return this.lstat(dirFd, name);
    }
  }

  private mkdir(dirFd: number, name: string, mode = 0o755): void {
    try {
      mkdirSync(fdPath(dirFd, name), { mode });
    } catch (err) {
      if (code(err) !== 'EEXIST') throw err;
    }
  }
}

/** The host path of container path p below root, following symlinks as if root were '/' and never leaving it. */
export async function resolveInRoot(root: string, p: string, opts: { follow?: boolean } = {}): Promise<string> {
  return InRoot.with(root, (r) => r.hostPath(p, opts));
}
