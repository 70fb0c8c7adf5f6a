import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { elfDeps, type ElfDep } from '../../../dsl/container/deps/elf.js';

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
