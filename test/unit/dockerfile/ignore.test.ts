import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanPattern, contextFilter, filterOf, mayHoldIncluded } from '../../../dsl/dockerfile/ignore.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-dockerignore-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('.dockerignore matching', () => {
  const f = filterOf(['# comment', '', '  node_modules  ', '/build/', '*.log', '!keep.log', '**/*.tmp', 'docs/*/draft', 'secret', '!secret/public', './x/../y']);
  it.each([
    ['node_modules', true],
    ['node_modules/a/b.js', true],
    ['src/node_modules', false],
    ['build/out', true],
    ['a.log', true],
    ['keep.log', false],
    ['sub/a.log', false],
    ['a/b/c.tmp', true],
    ['c.tmp', true],
    ['docs/en/draft', true],
    ['docs/draft', false],
    ['secret/key', true],
    ['secret/public', false],
    ['secret/public/x', false],
    ['y', true],
    ['src/main.ts', false],
  ])('%s excluded: %s', (rel, want) => {
    expect(f.excluded(rel)).toBe(want);
  });

  it('cleans patterns as Docker does', () => {
    expect(['# c', ' ', '/a/', '!/b', 'c//d/./e', '! x'].map(cleanPattern)).toEqual([undefined, undefined, 'a', '!b', 'c/d/e', '!x']);
    expect(mayHoldIncluded(f, 'secret')).toBe(true);
    expect(mayHoldIncluded(filterOf(['secret']), 'secret')).toBe(false);
  });

  it('reads <Dockerfile>.dockerignore beside the Dockerfile before CONTEXT/.dockerignore', async () => {
    const ctx = path.join(dir, 'ctx');
    mkdirSync(path.join(ctx, 'df'), { recursive: true });
    expect((await contextFilter(ctx)).patterns).toEqual([]);
    writeFileSync(path.join(ctx, '.dockerignore'), 'a\n');
    expect((await contextFilter(ctx, path.join(ctx, 'df', 'app.Dockerfile'))).patterns).toEqual(['a']);
    writeFileSync(path.join(ctx, 'df', 'app.Dockerfile.dockerignore'), 'b\n!b/c\n');
    const g = await contextFilter(ctx, path.join(ctx, 'df', 'app.Dockerfile'));
    expect(g.patterns).toEqual(['b', '!b/c']);
    expect([g.excluded('a'), g.excluded('b/x'), g.excluded('b/c')]).toEqual([false, true, false]);
    expect((await contextFilter(ctx, '-')).patterns).toEqual(['a']);
  });
});
