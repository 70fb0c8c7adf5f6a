import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliKit, type CliKit } from '../../kit/cli.js';
import { tinyRootfsTar } from '../../kit/tiny.js';

/*
 * A verb loads only what it uses: the common verbs of a build cycle start without the modules of hashing,
 * compression, processes, threads or archives (each costs Node.js milliseconds at every start). Node.js lists
 * what it loaded in process.moduleLoadList; a preload given through NODE_OPTIONS writes it at exit.
 */
let k: CliKit;
let preload: string;
let image: string;

beforeAll(() => {
  k = cliKit('cairn-startup-');
  preload = path.join(k.root, 'modules.cjs');
  writeFileSync(preload, `process.on('exit', () => require('fs').writeFileSync(process.env.MODULES_OUT, process.moduleLoadList.join('\\n')));\n`);
  const c = k.ok(['from', `tarball:${tinyRootfsTar()}`]);
  image = k.ok(['commit', c, 'startup-base']);
  k.ok(['rm', c]);
});
afterAll(() => k?.cleanup());

/** The built-in modules a CLI call loaded. */
function loaded(args: string[]): string[] {
  const out = path.join(k.root, `modules-${args[0]}.txt`);
  k.ok(args, { env: { NODE_OPTIONS: `-r ${preload}`, MODULES_OUT: out } });
  return readFileSync(out, 'utf8').split('\n');
}

describe('what a verb loads', () => {
  const heavy = ['NativeModule crypto', 'NativeModule child_process', 'NativeModule zlib', 'NativeModule worker_threads', 'NativeModule http', 'NativeModule https'];

  it.each([
    [['from', '--name', 'startup-c', 'startup-base']],
    [['images']],
    [['containers']],
  ])('%j loads none of crypto, child_process, zlib, worker_threads, http', (args) => {
    const mods = loaded(args);
    expect(mods).toContain('NativeModule fs'); // the list is real
    expect(mods.filter((m) => heavy.includes(m))).toEqual([]);
    expect(image).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('the lock server', () => {
  /** Runs a CLI call with a `perl` first on PATH that notes each start, then runs the real one; true when it started. */
  function startsPerl(args: string[]): boolean {
    const bin = path.join(k.root, 'perl-bin');
    const note = path.join(k.root, 'perl-started');
    mkdirSync(bin, { recursive: true });
    writeFileSync(path.join(bin, 'perl'), `#!/bin/sh\necho x >> '${note}'\nexec /usr/bin/perl "$@"\n`);
    chmodSync(path.join(bin, 'perl'), 0o755);
    rmSync(note, { force: true });
    k.ok(args, { env: { PATH: `${bin}:${process.env.PATH}` } });
    return existsSync(note);
  }

  it('is not started for the verbs that only read the store', () => {
    for (const args of [['images'], ['containers'], ['inspect', 'startup-base']]) expect(startsPerl(args), args.join(' ')).toBe(false);
  });

  it('is started for a verb that takes locks', () => {
    const c = k.ok(['from', 'startup-base']);
    expect(startsPerl(['mount', c])).toBe(true);
    k.ok(['rm', c]);
  });
});

describe('the malloc tuning of the cairn command', () => {
  // The kernel gives huge pages to what asks for them (madvise) or to all (always); with never, nothing can be seen.
  const thp = existsSync('/sys/kernel/mm/transparent_hugepage/enabled') && !readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8').includes('[never]');

  /**
   * Runs `cairn images` with GLIBC_TUNABLES set to value (or unset). At its exit node takes 32 MiB in 64 KiB buffers
   * (as a stream's reads): huge is how many KiB of its memory are then huge pages, advised how many of its
   * mappings glibc asked huge pages for (madvise: `hg` in smaps' VmFlags), and given what a process it starts
   * gets as GLIBC_TUNABLES.
   */
  function tunables(value: string | undefined): { huge: number; advised: number; given: string } {
    const probe = path.join(k.root, 'tunables.cjs');
    const out = path.join(k.root, 'tunables.json');
    writeFileSync(
      probe,
      `process.on('exit', () => {
        const fs = require('fs');
        const keep = [];
        for (let i = 0; i < 512; i++) keep.push(Buffer.allocUnsafe(65536).fill(1));
        let huge = 0;
        let advised = 0;
        const smaps = fs.readFileSync('/proc/self/smaps', 'utf8');
        for (const m of smaps.matchAll(/AnonHugePages:\\s+(\\d+)/g)) huge += Number(m[1]);
        for (const m of smaps.matchAll(/VmFlags:([^\\n]*)/g)) if (/\\bhg\\b/.test(m[1])) advised++;
        const given = require('child_process').execFileSync('sh', ['-c', 'echo "\${GLIBC_TUNABLES-unset}"'], { encoding: 'utf8' }).trim();
        fs.writeFileSync(process.env.TUNABLES_OUT, JSON.stringify({ huge, advised, given }));
      });\n`,
    );
    k.ok(['images'], { env: { NODE_OPTIONS: `-r ${probe}`, TUNABLES_OUT: out, GLIBC_TUNABLES: value } });
    return JSON.parse(readFileSync(out, 'utf8'));
  }

  it.skipIf(!thp)('gives node huge pages for its heap, and what node starts the user own GLIBC_TUNABLES', () => {
    for (const [value, given] of [[undefined, 'unset'], ['', ''], ['glibc.malloc.check=0', 'glibc.malloc.check=0']] as const) {
      const t = tunables(value);
      expect(t.given, String(value)).toBe(given);
      // Asked for (in madvise mode), or given (in always mode, where glibc need not ask). Whether the kernel had
      // a free huge page at that moment is its own affair: under load it may have none, and that is not cairn's.
      expect(t.advised + t.huge, String(value)).toBeGreaterThan(0);
    }
  });

  it('leaves a user choice of glibc.malloc.hugetlb alone', () => {
    expect(tunables('glibc.malloc.hugetlb=0')).toEqual({ huge: 0, advised: 0, given: 'glibc.malloc.hugetlb=0' });
  });
});
