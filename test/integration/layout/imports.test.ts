import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/*
 * The import rules of .dependency-cruiser.cjs (dsl/'s folders import only downward, no cycles, bin/ sees only
 * dsl/index.ts), checked on the compiled tree the suite's set-up just built, and shown to bite on a small
 * tree that breaks each rule.
 */

const repo = path.resolve(__dirname, '../../..');
const CONFIG = path.join(repo, '.dependency-cruiser.cjs');
const CRUISE = path.join(repo, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');

function cruise(cwd: string, targets: string[]): { status: number; out: string } {
  const r = spawnSync(process.execPath, [CRUISE, '--config', CONFIG, '--output-type', 'err', ...targets], { cwd, encoding: 'utf8' });
  return { status: r.status ?? -1, out: r.stdout + r.stderr };
}

const tmp: string[] = [];
afterAll(() => tmp.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Writes a small compiled tree: file → content. */
function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-layout-'));
  tmp.push(dir);
  for (const [f, body] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    writeFileSync(path.join(dir, f), body);
  }
  return dir;
}

describe('import rules', () => {
  it('hold for cairn itself: no upward import, no cycle, bin/ only through dsl/index', () => {
    const r = cruise(repo, ['dist/bin/cairn.js', 'dist/bin/verbs', 'dist/dsl/index.js']);
    expect(r.out).toMatch(/no dependency violations/);
    expect(r.status).toBe(0);
  });

  it('catch an upward import, a cycle, bin/ past the API and a folder importing the API', () => {
    // One small tree breaking each rule once: one cruise shows each rule bites.
    const dir = tree({
      'dist/dsl/core/a.js': "import '../container/b.js';\n",
      'dist/dsl/container/b.js': '',
      'dist/dsl/layer/a.js': "import './b.js';\n",
      'dist/dsl/layer/b.js': "import './a.js';\n",
      'dist/bin/v.js': "import '../dsl/store/s.js';\n",
      'dist/dsl/store/s.js': '',
      'dist/dsl/image/i.js': "import '../api.js';\n",
      'dist/dsl/api.js': '',
    });
    const r = cruise(dir, ['dist']);
    expect(r.status).not.toBe(0);
    for (const rule of ['layer-core', 'no-cycle', 'front-doors-use-the-api', 'folders-below-the-api']) expect(r.out).toContain(rule);
    expect(r.out).toMatch(/dist\/dsl\/core\/a\.js → dist\/dsl\/container\/b\.js/);
  });
});
