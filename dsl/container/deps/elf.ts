import { promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { BadInputError, NotFoundError } from '../../core/errors.js';
import { ldSoConf } from './ldconf.js';
import { resolveIn, rootRel } from './sysroot.js';

/** One file an ELF program needs at run time. */
export interface ElfDep {
  /** The absolute path the loader looks for (e.g. /lib/x86_64-linux-gnu/libc.so.6, /lib64/ld-linux-x86-64.so.2), where the program is copied to. */
  path: string;
  /** Where it was found in the source root (path itself, unless found through $ORIGIN of an object copied elsewhere). */
  from: string;
  /** The host file it resolves to (realpath). */
  real: string;
}

/** A program to find the libraries of: its path (in the sysroot, when there is one), and where it will live if it is copied elsewhere ($ORIGIN). */
export interface ElfProgram {
  file: string;
  /** The program's absolute path in the image it is copied into (default: where it is). */
  at?: string;
}

/** Options of elfDeps. */
export interface ElfDepsOptions {
  /** The root the programs and their libraries are found in (default '/'); symlinks never leave it. */
  sysroot?: string;
  /**
   * Libraries the programs dlopen() (no DT_NEEDED names them): a soname, searched as the program's own dlopen
   * call would search it (RPATH/RUNPATH, ld.so.conf dirs, default dirs), or an absolute path in the root.
   * Each comes with its own dependencies; one that no program finds is an error.
   */
  extraLibs?: string[];
}

const PT_LOAD = 1, PT_DYNAMIC = 2, PT_INTERP = 3;
const DT_NEEDED = 1, DT_STRTAB = 5, DT_STRSZ = 10, DT_SONAME = 14, DT_RPATH = 15, DT_RUNPATH = 29;
const MAX_TABLE = 16 << 20;

/** What the loader reads from one ELF file. */
interface Elf {
  cls: 1 | 2; le: boolean; machine: number;
  interp?: string; soname?: string; needed: string[];
  rpath: string[]; runpath: string[] | null;
}

/**
 * One search directory: where it is in the source root, and where the loader looks for it once the objects are
 * copied (the two differ only for $ORIGIN, when an object is copied to another directory).
 */
interface Dir { src: string; dst: string }

/**
 * One object in the load graph: where it is (at) and will be (dest), the names it answers to (like ld.so's
 * l_libname), and its DT_RPATH expanded against its origin.
 */
interface Loaded { at: string; dest: string; real: string; names: string[]; elf: Elf; rpath: Dir[]; loader?: Loaded }

/** True when the file starts with the ELF magic. */
export async function isElf(file: string): Promise<boolean> {
  const fh = await fs.open(file, 'r');
  try {
    const b = await pread(fh, 0, 4).catch((e: NodeJS.ErrnoException) => (e.code === 'EISDIR' ? Buffer.alloc(0) : Promise.reject(e)));
    return b.length === 4 && b.readUInt32BE(0) === 0x7f454c46;
  } finally {
    await fh.close();
  }
}

/**
 * The loader and shared libraries (transitively) the ELF programs need, found under the sysroot (default '/'),
 * sorted by path and deduplicated; [] for static or non-ELF files. A program is a path, or a path and where it
 * will be copied to (libraries found through its $ORIGIN then get paths next to that place).
 */
export async function elfDeps(files: (string | ElfProgram)[], opts: ElfDepsOptions = {}): Promise<ElfDep[]> {
  const root = await fs.realpath(opts.sysroot ?? '/').catch((e) => Promise.reject(new NotFoundError(`sysroot ${opts.sysroot} not found`, { cause: e })));
  const out = new Map<string, { from: string; real: string }>();
  const where = root === '/' ? '' : ` under ${root}`;
  const conf = await ldSoConf(root);
  const extras = (opts.extraLibs ?? []).map(checkExtraLib);
  const found = new Set<string>();
  let dynamic = 0;
  for (const f of files) {
    const { file, at } = typeof f === 'string' ? { file: f, at: undefined } : f;
    const inRoot = root === '/' ? path.resolve(file) : path.posix.resolve('/', file);
    const real = await resolveIn(root, inRoot);
    if (!real) throw new NotFoundError(`${file} not found${where}`);
    if (!(await isElf(real))) continue;
    const elf = await readElf(real);
    if (!elf.interp && elf.needed.length === 0) continue;
    dynamic++;
    const progAt = rootRel(root, real);
    const prog: Loaded = { at: progAt, dest: at ? path.posix.resolve('/', at) : progAt, real, names: [], elf, rpath: [] };
    const env = await archEnv(root, elf);
    prog.rpath = expand(elf.rpath, prog, env);
    const loaded: Loaded[] = [prog];
    if (elf.interp) {
      const ireal = await resolveIn(root, elf.interp);
      if (!ireal) throw new NotFoundError(`loader ${elf.interp} of ${file} not found${where}`);
      out.set(elf.interp, { from: elf.interp, real: ireal });
      const ld = await readElf(ireal);
      loaded.push({ at: elf.interp, dest: elf.interp, real: ireal, names: [elf.interp, ...(ld.soname ? [ld.soname] : [])], elf: ld, rpath: [] });
    }
    /** Adds the object `name` that obj asks for (as DT_NEEDED, or by dlopen when obj is the program); false when missing. */
    const add = async (name: string, obj: Loaded): Promise<boolean> => {
      if (loaded.some((l) => l.names.includes(name))) return true;
      const hit = await findLib(root, name, obj, elf, env, conf);
      if (!hit) return false;
      out.set(hit.dest, { from: hit.at, real: hit.real });
      // ld.so opens the path, then reuses an object already loaded from the same file.
      // (Copied elsewhere through $ORIGIN, the same file becomes two files, which ld.so loads twice.)
      const same = loaded.find((l) => l.real === hit.real && (l.dest === hit.dest || (l.at === l.dest && hit.at === hit.dest)));
      if (same) { same.names.push(name); return true; }
      const names = [name, ...(hit.elf.soname ? [hit.elf.soname] : [])];
      const obj2: Loaded = { at: hit.at, dest: hit.dest, real: hit.real, names, elf: hit.elf, rpath: [], loader: obj };
      obj2.rpath = expand(hit.elf.rpath, obj2, env);
      loaded.push(obj2);
      return true;
    };
    // Breadth-first, like ld.so: an object's DT_RPATH chain runs through the object that first needed it.
    const walk = async (from: number): Promise<void> => {
      for (let i = from; i < loaded.length; i++) {
        const obj = loaded[i];
        for (const name of obj.elf.needed) {
          if (await add(name, obj)) continue;
          const via = obj === prog ? '' : ` (via ${obj.at})`;
          throw new NotFoundError(`library ${name} needed by ${file}${via} not found${where}`, {
            hint: 'install the library on the host, or copy it into the image yourself',
          });
        }
      }
    };
    await walk(0);
    // dlopen() runs once the program is up: its libraries come after the load-time ones, searched as the program's own call.
    const before = loaded.length;
    for (const name of extras) if (await add(name, prog)) found.add(name);
    await walk(before);
  }
  if (extras.length > 0 && dynamic === 0) {
    throw new BadInputError('extra libraries need a dynamically linked ELF program among the sources', {
      hint: 'an extra library is found the way the program\'s dlopen() finds it: copy the program with it',
    });
  }
  const missing = extras.filter((n) => !found.has(n));
  if (missing.length > 0) {
    throw new NotFoundError(`extra library ${missing.join(', ')} not found${where} for ${files.map((f) => (typeof f === 'string' ? f : f.file)).join(', ')}`, {
      hint: 'give the soname the program passes to dlopen() (searched in its RUNPATH/RPATH, the ld.so.conf dirs and the default dirs), or the library\'s absolute path',
    });
  }
  return [...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([p, d]) => ({ path: p, from: d.from, real: d.real }));
}

/** An extraLibs entry, checked: a soname or an absolute path (dlopen would take a relative one from its working directory). */
function checkExtraLib(name: string): string {
  if (!name || name.includes('\0') || (name.includes('/') && !name.startsWith('/'))) {
    throw new BadInputError(`extra library ${JSON.stringify(name)} is neither a soname nor an absolute path`, { hint: 'give a name such as libnss_dns.so.2, or the library\'s absolute path in the source' });
  }
  return name;
}

/** Where ld.so would find `name` for `obj`: RPATH chain (without RUNPATH), RUNPATH, ld.so.conf dirs, default dirs. */
async function findLib(root: string, name: string, obj: Loaded, prog: Elf, env: ArchEnv, conf: string[]): Promise<{ at: string; dest: string; real: string; elf: Elf } | null> {
  const cands: Dir[] = [];
  if (name.includes('/')) {
    cands.push(...expand([name], obj, env));
  } else {
    const dirs: Dir[] = [];
    if (obj.elf.runpath === null) for (let l: Loaded | undefined = obj; l; l = l.loader) dirs.push(...l.rpath);
    dirs.push(...expand(obj.elf.runpath ?? [], obj, env), ...[...conf, ...env.defaults].map((d) => ({ src: d, dst: d })));
    for (const d of dirs) cands.push({ src: path.posix.join(d.src, name), dst: path.posix.join(d.dst, name) });
  }
  for (const c of cands) {
    if (!c.src.startsWith('/')) continue;
    const real = await resolveIn(root, c.src);
    if (!real || !(await fs.stat(real).catch(() => null))?.isFile()) continue;
    const id = await readElf(real, true).catch(() => null);
    // ld.so skips candidates of another class or machine (a 32-bit libc next to a 64-bit program).
    if (!id || id.cls !== prog.cls || id.le !== prog.le || id.machine !== prog.machine) continue;
    return { at: path.posix.normalize(c.src), dest: path.posix.normalize(c.dst), real, elf: await readElf(real) };
  }
  return null;
}

/** The per-architecture facts the search needs: multiarch triplet dirs, $LIB and $PLATFORM. */
interface ArchEnv { defaults: string[]; lib: string; platform?: string }

/** Debian multiarch triplets and AT_PLATFORM strings by e_machine. */
function arch(e: Elf): { triplets: string[]; platform?: string } {
  switch (e.machine) {
    case 62: return { triplets: [e.cls === 2 ? 'x86_64-linux-gnu' : 'x86_64-linux-gnux32'], platform: 'x86_64' };
    case 3: return { triplets: ['i386-linux-gnu'], platform: 'i686' };
    case 183: return { triplets: ['aarch64-linux-gnu'], platform: 'aarch64' };
    case 40: return { triplets: ['arm-linux-gnueabihf', 'arm-linux-gnueabi'], platform: 'v7l' };
    case 21: return { triplets: [e.le ? 'powerpc64le-linux-gnu' : 'powerpc64-linux-gnu'] };
    case 20: return { triplets: ['powerpc-linux-gnu'] };
    case 22: return { triplets: ['s390x-linux-gnu'], platform: 's390x' };
    case 243: return { triplets: [e.cls === 2 ? 'riscv64-linux-gnu' : 'riscv32-linux-gnu'] };
    case 258: return { triplets: ['loongarch64-linux-gnu'] };
    case 8: return { triplets: [e.cls === 2 ? `mips64${e.le ? 'el' : ''}-linux-gnuabi64` : `mips${e.le ? 'el' : ''}-linux-gnu`] };
    default: return { triplets: [] };
  }
}

async function archEnv(root: string, e: Elf): Promise<ArchEnv> {
  const { triplets, platform } = arch(e);
  const multi = triplets.flatMap((t) => [`/lib/${t}`, `/usr/lib/${t}`]);
  // $LIB is the loader's own library dir: lib/<triplet> on multiarch systems, lib64 or lib elsewhere.
  let lib = e.cls === 2 ? 'lib64' : 'lib';
  for (const t of triplets) {
    const r = await resolveIn(root, `/lib/${t}`);
    if (r && (await fs.stat(r).catch(() => null))?.isDirectory()) { lib = `lib/${t}`; break; }
  }
  return { defaults: [...multi, '/lib64', '/usr/lib64', '/lib', '/usr/lib'], lib, platform };
}

/**
 * Expands $ORIGIN/${ORIGIN}, $LIB and $PLATFORM, once with the object's origin in the source and once with its
 * origin where it is copied to; glibc drops an entry whose token has no value.
 */
function expand(entries: string[], obj: { at: string; dest: string }, env: ArchEnv): Dir[] {
  const subst = (e: string, origin: string): string | undefined => {
    const vals: Record<string, string | undefined> = { ORIGIN: origin, LIB: env.lib, PLATFORM: env.platform };
    let ok = true;
    const s = e.replace(/\$(?:\{(ORIGIN|LIB|PLATFORM)\}|(ORIGIN|LIB|PLATFORM)(?![A-Za-z0-9_]))/g, (_m, a?: string, b?: string) => {
      const v = vals[(a ?? b)!];
      if (v === undefined) ok = false;
      return v ?? '';
    });
    return ok ? s : undefined;
  };
  const out: Dir[] = [];
  for (const e of entries) {
    const src = subst(e, path.posix.dirname(obj.at));
    const dst = subst(e, path.posix.dirname(obj.dest));
    // Empty and relative entries name the loader's working directory, which has no meaning for an image.
    if (src?.startsWith('/') && dst?.startsWith('/')) out.push({ src: path.posix.normalize(src), dst: path.posix.normalize(dst) });
  }
  return out;
}

/** Reads the ELF header, then (unless identOnly) PT_INTERP and DT_NEEDED, DT_SONAME, DT_RPATH, DT_RUNPATH, with positioned reads. */
async function readElf(file: string, identOnly = false): Promise<Elf> {
  const bad = (why: string) => new BadInputError(`${file}: not a valid ELF file (${why})`);
  const fh = await fs.open(file, 'r');
  try {
    const size = (await fh.stat()).size;
    const h = await pread(fh, 0, 64);
    const cls = h[4], le = h[5] === 1, w = cls === 2;
    if (h.length < (w ? 64 : 52) || h.readUInt32BE(0) !== 0x7f454c46 || (cls !== 1 && cls !== 2) || (h[5] !== 1 && h[5] !== 2)) throw bad('header');
    const u16 = (b: Buffer, o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
    const u32 = (b: Buffer, o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
    const word = (b: Buffer, o: number) => (w ? Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o)) : u32(b, o));
    const sword = (b: Buffer, o: number) => (w ? Number(le ? b.readBigInt64LE(o) : b.readBigInt64BE(o)) : le ? b.readInt32LE(o) : b.readInt32BE(o));
    const phoff = word(h, w ? 32 : 28), phentsize = u16(h, w ? 54 : 42);
    let phnum = u16(h, w ? 56 : 44);
    if (phnum === 0xffff) {
      // PN_XNUM: the real count lives in sh_info of section header 0.
      const sh = await pread(fh, word(h, w ? 40 : 32), w ? 64 : 40);
      phnum = u32(sh, w ? 44 : 28);
    }
    if (phentsize < (w ? 56 : 32) || phoff + phnum * phentsize > size) throw bad('program headers');
    const ph = await pread(fh, phoff, phnum * phentsize);
    const segs = Array.from({ length: phnum }, (_, i) => {
      const o = i * phentsize;
      return w
        ? { type: u32(ph, o), off: word(ph, o + 8), vaddr: word(ph, o + 16), filesz: word(ph, o + 32) }
        : { type: u32(ph, o), off: u32(ph, o + 4), vaddr: u32(ph, o + 8), filesz: u32(ph, o + 16) };
    });
    const elf: Elf = { cls: cls as 1 | 2, le, machine: u16(h, 18), needed: [], rpath: [], runpath: null };
    if (identOnly) return elf;
    const interp = segs.find((s) => s.type === PT_INTERP);
    if (interp) {
      if (interp.off + interp.filesz > size || interp.filesz > 4096) throw bad('PT_INTERP');
      elf.interp = (await pread(fh, interp.off, interp.filesz)).toString('utf8').replace(/\0.*$/s, '');
    }
    const dyn = segs.find((s) => s.type === PT_DYNAMIC);
    if (!dyn) return elf;
    if (dyn.off + dyn.filesz > size || dyn.filesz > MAX_TABLE) throw bad('PT_DYNAMIC');
    const d = await pread(fh, dyn.off, dyn.filesz);
    const ent = w ? 16 : 8;
    const tags: [number, number][] = [];
    for (let o = 0; o + ent <= d.length; o += ent) {
      const tag = sword(d, o);
      if (tag === 0) break;
      tags.push([tag, word(d, o + (w ? 8 : 4))]);
    }
    const strtab = tags.find(([t]) => t === DT_STRTAB)?.[1];
    const strsz = tags.find(([t]) => t === DT_STRSZ)?.[1] ?? MAX_TABLE;
    const want = tags.filter(([t]) => t === DT_NEEDED || t === DT_SONAME || t === DT_RPATH || t === DT_RUNPATH);
    if (want.length === 0) return elf;
    // DT_STRTAB holds a virtual address: map it to a file offset through the PT_LOAD that contains it.
    const load = strtab === undefined ? undefined : segs.find((s) => s.type === PT_LOAD && strtab >= s.vaddr && strtab < s.vaddr + s.filesz);
    if (strtab === undefined || !load) throw bad('DT_STRTAB');
    const base = strtab - load.vaddr + load.off;
    const limit = Math.min(size, base + strsz, load.off + load.filesz);
    const str = async (off: number): Promise<string> => {
      const parts: Buffer[] = [];
      for (let at = base + off; at < limit; at += 256) {
        const chunk = await pread(fh, at, Math.min(256, limit - at));
        const nul = chunk.indexOf(0);
        parts.push(nul < 0 ? chunk : chunk.subarray(0, nul));
        if (nul >= 0) return Buffer.concat(parts).toString('utf8');
      }
      throw bad('string table');
    };
    for (const [tag, val] of want) {
      const s = await str(val);
      if (tag === DT_NEEDED) elf.needed.push(s);
      else if (tag === DT_SONAME) elf.soname = s;
      else if (tag === DT_RPATH) elf.rpath.push(...s.split(':'));
      else (elf.runpath ??= []).push(...s.split(':'));
    }
    // With DT_RUNPATH present, ld.so ignores DT_RPATH.
    if (elf.runpath) elf.rpath = [];
    return elf;
  } finally {
    await fh.close();
  }
}

async function pread(fh: FileHandle, pos: number, len: number): Promise<Buffer> {
  const b = Buffer.alloc(len);
  const { bytesRead } = await fh.read(b, 0, len, pos);
  return b.subarray(0, bytesRead);
}
