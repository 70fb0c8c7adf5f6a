import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { elfDeps, isElf } from '../../../dsl/container/deps/elf.js';
import { depLayout, symlinkChain } from '../../../dsl/container/deps/layout.js';
import { BadInputError, NotFoundError } from '../../../dsl/core/errors.js';
import { InRoot } from '../../../dsl/layer/inroot.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'cairn-elfdeps-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const dir = () => mkdtempSync(path.join(tmp, `${n++}-`));
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const x86 = process.arch === 'x64';
// Programs assembled from what elfDeps finds, run in a chroot (root): test/integration/container/elf-deps-run.test.ts.

/** Writes `file` at in-root path `p` under root, creating parents. */
function put(root: string, p: string, from: string | Buffer): void {
  const dest = path.join(root, p);
  mkdirSync(path.dirname(dest), { recursive: true });
  if (typeof from === 'string') copyFileSync(from, dest);
  else writeFileSync(dest, from);
}

/** The paths ldd lists (the oracle, run only on trusted host binaries), without the vDSO. */
function lddPaths(file: string): string[] {
  const out = execFileSync('ldd', [file], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((l) => /=>\s*(\S+)/.exec(l)?.[1] ?? /^\s*(\/\S+)/.exec(l)?.[1])
    .filter((p): p is string => !!p)
    .sort();
}

/** A minimal ELF with PT_INTERP, one PT_LOAD (vaddr ≠ offset) and PT_DYNAMIC with DT_NEEDED and DT_RUNPATH. */
function fakeElf(o: { cls: 1 | 2; le: boolean; machine: number; interp?: string; needed?: string[]; runpath?: string; soname?: string }): Buffer {
  const w = o.cls === 2, ehsz = w ? 64 : 52, phsz = w ? 56 : 32, ent = w ? 16 : 8, bias = 0x400000;
  const strs = ['', ...(o.needed ?? []), ...(o.runpath ? [o.runpath] : []), ...(o.soname ? [o.soname] : [])];
  const strtab = Buffer.from(strs.join('\0') + '\0', 'latin1');
  const at = (s: string) => strtab.indexOf(Buffer.from('\0' + s + '\0', 'latin1')) + 1;
  const interp = Buffer.from((o.interp ?? '') + '\0', 'latin1');
  const dyn: [number, number][] = [...(o.needed ?? []).map((s): [number, number] => [1, at(s)]), [5, 0], [10, strtab.length]];
  if (o.runpath) dyn.push([29, at(o.runpath)]);
  if (o.soname) dyn.push([14, at(o.soname)]);
  dyn.push([0, 0]);
  const phnum = o.interp ? 3 : 2, interpOff = ehsz + phnum * phsz, strOff = interpOff + interp.length, dynOff = strOff + strtab.length;
  dyn[(o.needed ?? []).length][1] = bias + strOff;
  const b = Buffer.alloc(dynOff + dyn.length * ent);
  const u16 = (v: number, p: number) => (o.le ? b.writeUInt16LE(v, p) : b.writeUInt16BE(v, p));
  const u32 = (v: number, p: number) => (o.le ? b.writeUInt32LE(v, p) : b.writeUInt32BE(v, p));
  const word = (v: number, p: number) => (w ? (o.le ? b.writeBigUInt64LE(BigInt(v), p) : b.writeBigUInt64BE(BigInt(v), p)) : u32(v, p));
  b.writeUInt32BE(0x7f454c46, 0);
  b[4] = o.cls; b[5] = o.le ? 1 : 2; b[6] = 1;
  u16(o.interp ? 2 : 3, 16); u16(o.machine, 18); u32(1, 20);
  word(ehsz, w ? 32 : 28); u16(ehsz, w ? 52 : 40); u16(phsz, w ? 54 : 42); u16(phnum, w ? 56 : 44);
  const segs: [number, number, number][] = [[1, 0, b.length], [2, dynOff, dyn.length * ent]];
  if (o.interp) segs.unshift([3, interpOff, interp.length]);
  segs.forEach(([type, off, size], i) => {
    const p = ehsz + i * phsz;
    u32(type, p);
    if (w) { word(off, p + 8); word(bias + off, p + 16); word(size, p + 32); word(size, p + 40); }
    else { u32(off, p + 4); u32(bias + off, p + 8); u32(size, p + 16); u32(size, p + 20); }
  });
  strtab.copy(b, strOff);
  interp.copy(b, interpOff);
  dyn.forEach(([t, v], i) => { word(t, dynOff + i * ent); word(v, dynOff + i * ent + (w ? 8 : 4)); });
  return b;
}

describe('elfDeps on host binaries', () => {
  const bins = ['/bin/ls', '/usr/bin/env', '/usr/bin/python3', '/usr/bin/git'].filter(existsSync);
  it.runIf(has('ldd')).each(bins)('finds what ldd finds for %s', async (bin) => {
    const deps = await elfDeps([bin]);
    expect(deps.map((d) => d.path)).toEqual(lddPaths(bin));
    for (const d of deps) expect(path.isAbsolute(d.real) && existsSync(d.real)).toBe(true);
  });

  it.runIf(x86)('includes the PT_INTERP loader and libc for /bin/ls', async () => {
    const paths = (await elfDeps(['/bin/ls'])).map((d) => d.path);
    expect(paths).toContain('/lib64/ld-linux-x86-64.so.2');
    expect(paths.some((p) => p.endsWith('/libc.so.6'))).toBe(true);
    expect(paths.some((p) => p.endsWith('/libselinux.so.1'))).toBe(true);
  });

  it('returns a sorted union without duplicates for several files', async () => {
    const both = await elfDeps(['/bin/ls', '/usr/bin/env']);
    const paths = both.map((d) => d.path);
    expect(paths).toEqual([...new Set(paths)].sort());
    expect(paths).toEqual(expect.arrayContaining((await elfDeps(['/usr/bin/env'])).map((d) => d.path)));
  });

  it.runIf(existsSync('/bin/busybox') && has('ldd'))('returns [] for a static binary', async () => {
    const dynamic = spawnSync('ldd', ['/bin/busybox']).status === 0;
    if (!dynamic) expect(await elfDeps(['/bin/busybox'])).toEqual([]);
  });

  it('returns [] for a shell script and tells ELF from not ELF', async () => {
    const script = path.join(dir(), 'hello.sh');
    writeFileSync(script, '#!/bin/sh\necho hi\n');
    expect(await elfDeps([script])).toEqual([]);
    expect(await isElf(script)).toBe(false);
    expect(await isElf('/bin/ls')).toBe(true);
    expect(await isElf(tmp)).toBe(false);
  });
});

describe('elfDeps under a sysroot', () => {
  const loader = '/lib64/ld-linux-x86-64.so.2';

  it.runIf(x86)('names the missing library and the program', async () => {
    const root = dir();
    put(root, '/bin/ls', '/bin/ls');
    put(root, loader, loader);
    const err = await elfDeps(['/bin/ls'], { sysroot: root }).catch((e) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.message).toMatch(/libselinux\.so\.1/);
    expect(err.message).toMatch(/\/bin\/ls/);
  });

  it.runIf(x86)('names a missing loader', async () => {
    const root = dir();
    put(root, '/bin/ls', '/bin/ls');
    await expect(elfDeps(['/bin/ls'], { sysroot: root })).rejects.toThrow(/ld-linux-x86-64\.so\.2.*\/bin\/ls/);
  });

  it.runIf(x86)('follows ld.so.conf includes, skips 32-bit libraries and keeps symlinks inside the root', async () => {
    const root = dir();
    const hostDeps = await elfDeps(['/bin/ls']);
    put(root, '/bin/ls', '/bin/ls');
    put(root, loader, loader);
    put(root, '/etc/ld.so.conf', Buffer.from('include ld.so.conf.d/*.conf\n'));
    put(root, '/etc/ld.so.conf.d/a-32.conf', Buffer.from('# 32-bit first\n/opt/lib32\n'));
    put(root, '/etc/ld.so.conf.d/b-64.conf', Buffer.from('/opt/lib64/\n'));
    put(root, '/etc/ld.so.conf.d/ignored.txt', Buffer.from('/nowhere\n'));
    for (const d of hostDeps.filter((d) => d.path !== loader)) {
      const name = path.basename(d.path);
      put(root, `/opt/lib32/${name}`, fakeElf({ cls: 1, le: true, machine: 3, soname: name }));
      put(root, `/store/${name}`, d.real);
    }
    // One absolute and one escaping relative link: both must land inside the root, never on the host.
    const [first, ...rest] = hostDeps.filter((d) => d.path !== loader).map((d) => path.basename(d.path));
    mkdirSync(path.join(root, '/opt/lib64'), { recursive: true });
    symlinkSync(`/store/${first}`, path.join(root, `/opt/lib64/${first}`));
    for (const name of rest) symlinkSync(`../../../../../../../../store/${name}`, path.join(root, `/opt/lib64/${name}`));
    const deps = await elfDeps(['/bin/ls'], { sysroot: root });
    expect(deps.map((d) => d.path)).toEqual([...hostDeps.filter((d) => d.path !== loader).map((d) => `/opt/lib64/${path.basename(d.path)}`), loader].sort());
    for (const d of deps) expect(d.real.startsWith(root + '/')).toBe(true);
    expect(deps.find((d) => d.path.endsWith(first))!.real).toBe(path.join(root, '/store', first));
  });

  it.each([
    { cls: 1 as const, le: false, machine: 20, triplet: 'powerpc-linux-gnu' },
    { cls: 2 as const, le: false, machine: 22, triplet: 's390x-linux-gnu' },
    { cls: 1 as const, le: true, machine: 40, triplet: 'arm-linux-gnueabihf' },
    { cls: 2 as const, le: true, machine: 183, triplet: 'aarch64-linux-gnu' },
  ])('parses ELF$cls le=$le machine $machine and searches /usr/lib/$triplet', async ({ cls, le, machine, triplet }) => {
    const root = dir();
    const id = { cls, le, machine };
    put(root, '/bin/prog', fakeElf({ ...id, interp: '/lib/ld.so.1', needed: ['libfoo.so.1'], runpath: '$ORIGIN/../${LIB}/none' }));
    put(root, '/lib/ld.so.1', fakeElf({ ...id, soname: 'ld.so.1' }));
    put(root, `/usr/lib/${triplet}/libfoo.so.1`, fakeElf({ ...id, needed: ['libbar.so.2', 'ld.so.1', 'libbaz.so.3'], runpath: '$ORIGIN/private' }));
    put(root, `/lib/${triplet}/libbar.so.2`, fakeElf({ ...id, soname: 'libbar.so.2' }));
    put(root, `/usr/lib/${triplet}/private/libbaz.so.3`, fakeElf({ ...id }));
    put(root, '/etc/ld.so.conf', Buffer.from('/decoy\n'));
    put(root, '/decoy/libfoo.so.1', fakeElf({ cls: cls === 1 ? 2 : 1, le, machine }));
    put(root, '/decoy/libbar.so.2', fakeElf({ cls, le: !le, machine }));
    const deps = await elfDeps(['/bin/prog'], { sysroot: root });
    expect(deps.map((d) => d.path)).toEqual([
      `/lib/${triplet}/libbar.so.2`,
      '/lib/ld.so.1',
      `/usr/lib/${triplet}/libfoo.so.1`,
      `/usr/lib/${triplet}/private/libbaz.so.3`,
    ].sort());
  });
});

describe('elfDeps: programs copied elsewhere and extra libraries', () => {
  const id = { cls: 2 as const, le: true, machine: 183 };
  const triplet = 'aarch64-linux-gnu';
  /** A sysroot with a loader, libc in the multiarch dir, and an app whose RUNPATH is $ORIGIN/../lib. */
  function app(): string {
    const root = dir();
    put(root, '/lib/ld-linux-aarch64.so.1', fakeElf({ ...id, soname: 'ld-linux-aarch64.so.1' }));
    put(root, `/usr/lib/${triplet}/libc.so.6`, fakeElf({ ...id, soname: 'libc.so.6' }));
    put(root, '/opt/app/bin/prog', fakeElf({ ...id, interp: '/lib/ld-linux-aarch64.so.1', needed: ['libfoo.so.1', 'libc.so.6'], runpath: '$ORIGIN/../lib:/opt/app/lib/abs' }));
    put(root, '/opt/app/lib/libfoo.so.1', fakeElf({ ...id, needed: ['libc.so.6'], soname: 'libfoo.so.1' }));
    put(root, '/opt/app/lib/abs/libabs.so.1', fakeElf({ ...id, soname: 'libabs.so.1' }));
    put(root, '/opt/app/plugins/libplug.so', fakeElf({ ...id, needed: ['libdeep.so.2'], runpath: '$ORIGIN/deps' }));
    put(root, '/opt/app/plugins/deps/libdeep.so.2', fakeElf({ ...id, needed: ['libc.so.6'] }));
    put(root, `/usr/lib/${triplet}/libnss_demo.so.2`, fakeElf({ ...id, needed: ['libabs.so.1'] }));
    return root;
  }
  const table = (deps: { path: string; from: string }[]) => deps.map((d) => `${d.path} <- ${d.from}`);

  it('places libraries found through $ORIGIN next to where the program goes, the others where they are', async () => {
    const root = app();
    const deps = await elfDeps([{ file: '/opt/app/bin/prog', at: '/usr/bin/prog' }], { sysroot: root });
    expect(table(deps)).toEqual([
      '/lib/ld-linux-aarch64.so.1 <- /lib/ld-linux-aarch64.so.1',
      `/usr/lib/${triplet}/libc.so.6 <- /usr/lib/${triplet}/libc.so.6`,
      '/usr/lib/libfoo.so.1 <- /opt/app/lib/libfoo.so.1',
    ]);
    expect(deps.every((d) => d.real.startsWith(root + '/'))).toBe(true);
    // Without a destination, every path is the source's.
    expect((await elfDeps(['/opt/app/bin/prog'], { sysroot: root })).map((d) => d.path)).toContain('/opt/app/lib/libfoo.so.1');
  });

  it('finds extra libraries as the program\'s dlopen() would, with their own dependencies', async () => {
    const root = app();
    const deps = await elfDeps([{ file: '/opt/app/bin/prog', at: '/srv/bin/prog' }], { sysroot: root, extraLibs: ['libabs.so.1', 'libnss_demo.so.2', '/opt/app/plugins/libplug.so'] });
    expect(table(deps)).toEqual([
      '/lib/ld-linux-aarch64.so.1 <- /lib/ld-linux-aarch64.so.1',
      '/opt/app/lib/abs/libabs.so.1 <- /opt/app/lib/abs/libabs.so.1',
      '/opt/app/plugins/deps/libdeep.so.2 <- /opt/app/plugins/deps/libdeep.so.2',
      '/opt/app/plugins/libplug.so <- /opt/app/plugins/libplug.so',
      '/srv/lib/libfoo.so.1 <- /opt/app/lib/libfoo.so.1',
      `/usr/lib/${triplet}/libc.so.6 <- /usr/lib/${triplet}/libc.so.6`,
      `/usr/lib/${triplet}/libnss_demo.so.2 <- /usr/lib/${triplet}/libnss_demo.so.2`,
    ]);
  });

  it('names a missing extra library, and refuses a relative one or one with no program', async () => {
    const root = app();
    const err = await elfDeps(['/opt/app/bin/prog'], { sysroot: root, extraLibs: ['libfoo.so.1', 'libgone.so.3'] }).catch((e) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.message).toMatch(/^extra library libgone\.so\.3 not found under .* for \/opt\/app\/bin\/prog$/);
    expect(err.hint).toMatch(/dlopen/);
    // A library of a plugin that is not there names the plugin.
    put(root, '/opt/app/plugins/libbroken.so', fakeElf({ ...id, needed: ['libnothere.so.1'] }));
    await expect(elfDeps(['/opt/app/bin/prog'], { sysroot: root, extraLibs: ['/opt/app/plugins/libbroken.so'] })).rejects.toThrow(/libnothere\.so\.1 needed by \/opt\/app\/bin\/prog \(via \/opt\/app\/plugins\/libbroken\.so\)/);
    await expect(elfDeps(['/opt/app/bin/prog'], { sysroot: root, extraLibs: ['plugins/libplug.so'] })).rejects.toBeInstanceOf(BadInputError);
    put(root, '/bin/script', Buffer.from('#!/bin/sh\n'));
    await expect(elfDeps(['/bin/script'], { sysroot: root, extraLibs: ['libabs.so.1'] })).rejects.toThrow(/need a dynamically linked ELF program/);
  });
});

describe('depLayout: the symlinks on the way to a library', () => {
  /** A usrmerged sysroot: /lib -> usr/lib, a soname link, and hostile links. */
  function merged(): string {
    const root = dir();
    put(root, '/usr/lib/x/libfoo.so.1.2.3', Buffer.from('foo'));
    symlinkSync('usr/lib', path.join(root, 'lib'));
    symlinkSync('libfoo.so.1.2.3', path.join(root, 'usr/lib/x/libfoo.so.1'));
    symlinkSync('../../../../../../etc/passwd', path.join(root, 'usr/lib/x/libescape.so.1'));
    symlinkSync('/usr/lib/x/libfoo.so.1', path.join(root, 'usr/lib/x/libabs.so.1'));
    put(root, '/opt/app/lib/libbar.so.2.0', Buffer.from('bar'));
    symlinkSync('libbar.so.2.0', path.join(root, 'opt/app/lib/libbar.so.2'));
    symlinkSync('../../../usr/lib/x/libfoo.so.1.2.3', path.join(root, 'opt/app/lib/libother.so.1'));
    return root;
  }
  const layout = (root: string, p: string, from = p) => InRoot.with(root, (r) => depLayout(r, { path: p, from, real: '' }));

  it('keeps every link met where the loader looks: the usrmerge directory link, then the soname link', async () => {
    expect(await layout(merged(), '/lib/x/libfoo.so.1')).toEqual({
      path: '/lib/x/libfoo.so.1',
      links: [{ at: '/lib', src: '/lib' }, { at: '/usr/lib/x/libfoo.so.1', src: '/usr/lib/x/libfoo.so.1' }],
      file: { at: '/usr/lib/x/libfoo.so.1.2.3', src: '/usr/lib/x/libfoo.so.1.2.3' },
    });
  });

  it('resolves absolute and climbing links inside the root, never on the host', async () => {
    const root = merged();
    expect((await layout(root, '/usr/lib/x/libabs.so.1')).file.src).toBe('/usr/lib/x/libfoo.so.1.2.3');
    // ../../../../../../etc/passwd is /etc/passwd of the root, which does not exist there (the host's does).
    await expect(layout(root, '/usr/lib/x/libescape.so.1')).rejects.toBeInstanceOf(NotFoundError);
    put(root, '/etc/passwd', Buffer.from('in-root'));
    expect((await layout(root, '/usr/lib/x/libescape.so.1')).file).toEqual({ at: '/etc/passwd', src: '/etc/passwd' });
  });

  it('moves the soname links of a library copied elsewhere with it; other shapes become the file', async () => {
    const root = merged();
    expect(await layout(root, '/srv/lib/libbar.so.2', '/opt/app/lib/libbar.so.2')).toEqual({
      path: '/srv/lib/libbar.so.2',
      links: [{ at: '/srv/lib/libbar.so.2', src: '/opt/app/lib/libbar.so.2' }],
      file: { at: '/srv/lib/libbar.so.2.0', src: '/opt/app/lib/libbar.so.2.0' },
    });
    expect(await layout(root, '/srv/lib/libother.so.1', '/opt/app/lib/libother.so.1')).toEqual({
      path: '/srv/lib/libother.so.1',
      links: [],
      file: { at: '/srv/lib/libother.so.1', src: '/usr/lib/x/libfoo.so.1.2.3' },
    });
  });

  it('follows links as the kernel does: .. after a link climbs from its target', async () => {
    const root = dir();
    put(root, '/a/b/lib.so', Buffer.from('b'));
    put(root, '/lib.so', Buffer.from('top'));
    symlinkSync('a/b', path.join(root, 'l'));
    await expect(InRoot.with(root, (r) => symlinkChain(r, '/l/../b/lib.so'))).resolves.toEqual({ links: ['/l'], file: '/a/b/lib.so' });
    await expect(InRoot.with(root, (r) => symlinkChain(r, '/lib.so/'))).resolves.toBeNull();
  });
});
