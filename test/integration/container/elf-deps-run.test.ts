import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { elfDeps, type ElfDep } from '../../../dsl/container/deps/elf.js';
import { BadInputError, from, NotFoundError, type Container } from '../../../dsl/index.js';
import { IN_PROCESS, mountedTree } from '../../kit/api.js';
import { cliKit, type CliKit } from '../../kit/cli.js';
import { buildElfTree, buildGreetLib, buildHello, HAS_GCC, searchPathTag, type ElfTree } from '../../kit/elf-fixtures.js';

/*
 * What elfDeps finds is enough to run the program: the program and the files found copied into an empty root
 * (as `cairn copy --with-deps` lays them out) and run there by chroot (as root). How elfDeps reads ELF
 * files and resolves libraries: test/unit/container/elf-deps.test.ts.
 */

const tmp = mkdtempSync(path.join(os.tmpdir(), 'cairn-elfrun-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const dir = () => mkdtempSync(path.join(tmp, `${n++}-`));
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const isRoot = process.getuid?.() === 0;

/** Writes `file` at in-root path `p` under root, creating parents. */
function put(root: string, p: string, from: string | Buffer): void {
  const dest = path.join(root, p);
  mkdirSync(path.dirname(dest), { recursive: true });
  if (typeof from === 'string') copyFileSync(from, dest);
  else writeFileSync(dest, from);
}

/** Copies the program and its deps into a fresh root, the way `cairn copy --with-deps` lays them out. */
function assemble(prog: string, at: string, deps: ElfDep[]): string {
  const root = dir();
  put(root, at, prog);
  for (const d of deps) put(root, d.path, d.real);
  return root;
}

describe('end to end: the copied files run', () => {
  it.runIf(isRoot && has('chroot'))('runs /bin/ls in a chroot holding only ls and its deps', async () => {
    const root = assemble('/bin/ls', '/bin/ls', await elfDeps(['/bin/ls']));
    mkdirSync(path.join(root, 'marker-dir'));
    const out = execFileSync('chroot', [root, '/bin/ls', '/'], { encoding: 'utf8' });
    expect(out.split('\n')).toContain('marker-dir');
  });

  it.runIf(isRoot && has('chroot') && has('gcc'))('resolves $ORIGIN in DT_RUNPATH and DT_RPATH', async () => {
    const src = dir();
    writeFileSync(path.join(src, 'foo.c'), 'int foo(void) { return 42; }\n');
    writeFileSync(path.join(src, 'main.c'), '#include <stdio.h>\nint foo(void);\nint main(void) { printf("foo=%d\\n", foo()); return 0; }\n');
    execFileSync('gcc', ['-shared', '-fPIC', '-o', path.join(src, 'libfoo.so'), path.join(src, 'foo.c'), '-Wl,-soname,libfoo.so.1']);
    for (const tags of ['--enable-new-dtags', '--disable-new-dtags']) {
      const prog = path.join(src, `prog${tags}`);
      execFileSync('gcc', ['-o', prog, path.join(src, 'main.c'), `-L${src}`, '-lfoo', `-Wl,${tags},-rpath,$ORIGIN/../lib`]);
      const app = dir();
      put(app, '/bin/prog', prog);
      put(app, '/lib/libfoo.so.1', path.join(src, 'libfoo.so'));
      const deps = await elfDeps([path.join(app, '/bin/prog')]);
      expect(deps.map((d) => d.path)).toContain(path.join(app, '/lib/libfoo.so.1'));
      const root = assemble(prog, path.join(app, '/bin/prog'), deps);
      // The chroot has no /proc, from which ld.so learns the program's $ORIGIN; LD_ORIGIN_PATH is its fallback.
      const env = { ...process.env, LD_ORIGIN_PATH: path.join(app, '/bin') };
      expect(execFileSync('chroot', [root, path.join(app, '/bin/prog')], { encoding: 'utf8', env })).toBe('foo=42\n');
    }
  });
});

/*
 * `copy --with-deps` of real compiled programs into an empty (scratch) container, each then run there by the
 * engine (its own namespaces): $ORIGIN in DT_RPATH and DT_RUNPATH, soname symlinks kept as symlinks, plugins
 * loaded with dlopen() (extraLibs), and copies out of another container that read only that container's files.
 */
describe.runIf(IN_PROCESS && HAS_GCC)('copy with deps: compiled programs run in a scratch container', () => {
  let k: CliKit;
  let tree: ElfTree;
  const message = 'from the host tree';
  const scratch = (): Promise<Container> => from('scratch', { root: k.root });
  const out = async (c: Container, argv: string[]): Promise<string> => (await c.run(argv)).stdout;
  /** The tree of c as this process sees it (mounted for the checks, unmounted again). */
  const inspectTree = async <T>(c: Container, fn: (mnt: string) => T): Promise<T> => {
    try {
      return fn(await mountedTree(c));
    } finally {
      await c.unmount();
    }
  };
  beforeAll(() => {
    k = cliKit('cairn-elfrun-store-');
    tree = buildElfTree(path.join(dir(), 'tree'), message);
  });
  afterAll(() => k?.cleanup());

  it.each([
    { prog: 'helloRpath' as const, tag: 'RPATH' },
    { prog: 'helloRunpath' as const, tag: 'RUNPATH' },
  ])('runs a program finding libgreet through ORIGIN/../lib in its $tag, the soname a symlink', async ({ prog, tag }) => {
    expect(searchPathTag(tree[prog])).toBe(tag);
    const c = await scratch();
    await c.copy(tree[prog], '/app/bin/hello', { withDeps: true });
    expect(await out(c, ['/app/bin/hello'])).toBe(`hello: ${message}\n`);
    await inspectTree(c, (mnt) => {
      expect(readlinkSync(path.join(mnt, 'app/lib/libgreet.so.1'))).toBe('libgreet.so.1.0.0');
      expect(lstatSync(path.join(mnt, 'app/lib/libgreet.so.1.0.0')).isFile()).toBe(true);
      // The loader and libc are laid out as on the host: every symlink on the way is the host's own.
      const interp = execFileSync('readelf', ['-l', tree[prog]], { encoding: 'utf8' }).match(/interpreter: (\S+)\]/)![1];
      const libc = (execFileSync('ldd', [tree[prog]], { encoding: 'utf8' }).match(/libc\.so\.6 => (\S+)/) ?? [])[1];
      for (const p of [interp, libc].filter(Boolean)) {
        for (const link of hostLinks(p)) expect([link, readlinkSync(path.join(mnt, link))]).toEqual([link, readlinkSync(link)]);
        expect(statSync(path.join(mnt, realpathSync(p))).isFile()).toBe(true);
      }
    });
  });

  it.runIf(lstatSync('/lib').isSymbolicLink())('keeps a real /lib the container has (the host\'s is a link): the loader\'s paths link to the files', async () => {
    const c = await scratch();
    const keep = path.join(dir(), 'keep.txt');
    writeFileSync(keep, 'kept');
    await c.copy(keep, '/lib/keep.txt');
    await c.copy(keep, '/lib64/keep.txt');
    await c.copy(tree.helloRunpath, '/usr/bin/hello', { withDeps: true });
    expect(await out(c, ['/usr/bin/hello'])).toBe(`hello: ${message}\n`);
    await inspectTree(c, (mnt) => {
      for (const d of ['lib', 'lib64']) expect([d, lstatSync(path.join(mnt, d)).isDirectory(), readFileSync(path.join(mnt, d, 'keep.txt'), 'utf8')]).toEqual([d, true, 'kept']);
    });
  });

  it('copies the libraries of the plugins a program dlopen()s (extraLibs), found through its RUNPATH', async () => {
    const c = await scratch();
    await c.copy(tree.pluginHost, '/opt/host/bin/plugin-host', { withDeps: true });
    // Without them the program starts but cannot load its plugins: what extraLibs is for.
    const bare = await c.run(['/opt/host/bin/plugin-host', 'libplug.so'], { nothrow: true });
    expect([bare.status, bare.stderr]).toEqual([1, expect.stringMatching(/dlopen: libplug\.so: cannot open/)]);
    // The CLI's spelling of extraLibs: --extra-lib, repeated, meaningful only with --with-deps.
    const alone = k.cairn(['copy', '--extra-lib', 'libplug.so', c.name, tree.pluginHost, '/opt/host/bin/plugin-host']);
    expect([alone.status, alone.stderr.split('\n')[0]]).toEqual([125, 'cairn copy: --extra-lib needs --with-deps']);
    k.ok(['copy', '--with-deps', '--extra-lib', 'libplug.so', '--extra-lib=libplugdeep.so', c.name, tree.pluginHost, '/opt/host/bin/plugin-host']);
    expect(await out(c, ['/opt/host/bin/plugin-host', 'libplug.so', 'libplugdeep.so'])).toBe(`libplug.so: plugged\nlibplugdeep.so: deep ${message}\n`);
    await inspectTree(c, (mnt) => {
      expect(lstatSync(path.join(mnt, 'opt/host/plugins/libplugdeep.so')).isFile()).toBe(true);
      // libplugdeep's own RUNPATH ($ORIGIN/../lib) placed its library next to it.
      expect(readlinkSync(path.join(mnt, 'opt/host/lib/libgreet.so.1'))).toBe('libgreet.so.1.0.0');
    });
  });

  it('copies an extra library named by its absolute path to that path', async () => {
    const c = await scratch();
    await c.copy(tree.pluginHost, '/bin/plugin-host', { withDeps: true, extraLibs: [tree.plugDeep] });
    expect(await out(c, ['/bin/plugin-host', tree.plugDeep])).toBe(`${tree.plugDeep}: deep ${message}\n`);
  });

  it('refuses an extra library that is missing, relative, or given without withDeps', async () => {
    const c = await scratch();
    const missing = await c.copy(tree.pluginHost, '/bin/', { withDeps: true, extraLibs: ['libnope.so.7'] }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(NotFoundError);
    expect(missing).toMatchObject({ message: expect.stringMatching(/extra library libnope\.so\.7 not found/), hint: expect.stringMatching(/dlopen/) });
    await expect(c.copy(tree.pluginHost, '/bin/', { withDeps: true, extraLibs: ['plugins/libplug.so'] })).rejects.toBeInstanceOf(BadInputError);
    await expect(c.copy(tree.pluginHost, '/bin/', { extraLibs: ['libplug.so'] })).rejects.toBeInstanceOf(BadInputError);
  });

  it('copies from another container with that container\'s libraries, never the host\'s', async () => {
    // The source container holds its own build of the tree (libgreet saying something no host file says) at
    // paths the host does not have; the host's copy is gone before the copy out of it.
    const own = buildElfTree(path.join(dir(), 'own'), 'from the source container');
    const s = await scratch();
    await s.copy('/usr/bin/env', '/usr/bin/env', { withDeps: true });
    await s.copy(path.join(own.dir, 'bin'), '/srv/app/bin');
    await s.copy(path.join(own.dir, 'lib'), '/srv/app/lib');
    await s.copy(path.join(own.dir, 'plugins'), '/srv/app/plugins');
    rmSync(own.dir, { recursive: true, force: true });
    const d = await scratch();
    await d.copy('/srv/app/bin/hello-rpath', '/usr/local/bin/hello', { from: s.name, withDeps: true });
    await d.copy('/srv/app/bin/hello-runpath', '/srv/app/bin/hello-runpath', { from: s.name, withDeps: true });
    await d.copy('/srv/app/bin/plugin-host', '/srv/app/bin/', { from: s.name, withDeps: true, extraLibs: ['libplugdeep.so'] });
    expect(await out(d, ['/usr/local/bin/hello'])).toBe('hello: from the source container\n');
    expect(await out(d, ['/srv/app/bin/hello-runpath'])).toBe('hello: from the source container\n');
    expect(await out(d, ['/srv/app/bin/plugin-host', 'libplugdeep.so'])).toBe('libplugdeep.so: deep from the source container\n');
    await inspectTree(d, (mnt) => {
      for (const l of ['usr/local/lib/libgreet.so.1', 'srv/app/lib/libgreet.so.1']) expect(readlinkSync(path.join(mnt, l))).toBe('libgreet.so.1.0.0');
    });
  });

  describe('a hostile source container: its links resolve inside it, never on the host', () => {
    let canary: string;
    let marker: string;
    beforeAll(() => {
      // A real library on the host, at a path the source container's links name: copying it would be a leak.
      canary = dir();
      marker = `canary-${process.pid}-${Date.now()}`;
      buildGreetLib(canary, marker);
    });

    /** A source container with libc and the loader, hello (RUNPATH $ORIGIN/../lib) and /app/lib/libgreet.so.1 a symlink to target. */
    const hostile = async (target: string, inRoot?: string): Promise<Container> => {
      const s = await scratch();
      await s.copy('/usr/bin/env', '/usr/bin/env', { withDeps: true });
      const stage = dir();
      mkdirSync(path.join(stage, 'lib'));
      symlinkSync(target, path.join(stage, 'lib/libgreet.so.1'));
      await s.copy(tree.helloRunpath, '/app/bin/hello');
      await s.copy(path.join(stage, 'lib'), '/app/lib');
      // The same path as the host's canary, inside the container: a library of its own.
      if (inRoot) await s.copy(buildGreetLib(path.join(dir(), 'in-root'), inRoot), path.join(canary, 'libgreet.so.1.0.0'));
      return s;
    };

    /** Every regular file's content in c's tree contains no canary marker. */
    const noCanary = async (c: Container): Promise<void> =>
      inspectTree(c, (mnt) => {
        const walk = (p: string): void => {
          for (const e of readdirSync(p, { withFileTypes: true })) {
            const f = path.join(p, e.name);
            if (e.isDirectory()) walk(f);
            else if (e.isFile()) expect(readFileSync(f).includes(marker), f).toBe(false);
          }
        };
        walk(mnt);
      });

    it.each([
      { name: 'a relative link climbing out', target: () => `${'../'.repeat(12)}${canary.slice(1)}/libgreet.so.1.0.0` },
      { name: 'an absolute link to a host path', target: () => `${canary}/libgreet.so.1.0.0` },
      { name: 'a link to ../../../../etc/passwd', target: () => '../../../../etc/passwd' },
    ])('$name: not found in the container, the copy fails naming the library', async ({ target }) => {
      const s = await hostile(target());
      const d = await scratch();
      const err = await d.copy('/app/bin/hello', '/app/bin/hello', { from: s.name, withDeps: true }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NotFoundError);
      expect((err as Error).message).toMatch(/library libgreet\.so\.1 needed by \/app\/bin\/hello not found/);
      await noCanary(d);
    });

    it.each([
      { name: 'a relative link climbing out', target: () => `${'../'.repeat(12)}${canary.slice(1)}/libgreet.so.1.0.0`, at: '/usr/bin/hello' },
      { name: 'an absolute link', target: () => `${canary}/libgreet.so.1.0.0`, at: '/app/bin/hello' },
    ])('$name to a path the container has too: the container\'s file is copied (program at $at)', async ({ target, at }) => {
      const s = await hostile(target(), 'in-root');
      const d = await scratch();
      await d.copy('/app/bin/hello', at, { from: s.name, withDeps: true });
      expect(await out(d, [at])).toBe('hello: in-root\n');
      await noCanary(d);
    });

    it('an absolute RPATH naming a host directory is searched inside the container', async () => {
      const s = await scratch();
      await s.copy('/usr/bin/env', '/usr/bin/env', { withDeps: true });
      await s.copy(buildHello(path.join(dir(), 'hello-abs'), canary, canary, 'rpath'), '/app/bin/hello');
      const d = await scratch();
      await expect(d.copy('/app/bin/hello', '/app/bin/hello', { from: s.name, withDeps: true })).rejects.toThrow(/libgreet\.so\.1 needed by \/app\/bin\/hello not found/);
      await noCanary(d);
    });
  });
});

/** The symlinks met resolving host path p (absolute paths of the links themselves), in order. */
function hostLinks(p: string): string[] {
  const links: string[] = [];
  let done = '/';
  const queue = p.split('/').filter(Boolean);
  while (queue.length) {
    const at = path.join(done, queue.shift()!);
    if (lstatSync(at).isSymbolicLink()) {
      links.push(at);
      const t = readlinkSync(at);
      queue.unshift(...t.split('/').filter(Boolean));
      if (t.startsWith('/')) done = '/';
      continue;
    }
    done = at;
  }
  return links;
}
