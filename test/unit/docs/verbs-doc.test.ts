import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { helpText } from '../../../bin/args.js';
import { ALIASES, VERBS } from '../../../bin/verb-table.js';
import { projectRoot, verbsDoc } from '../../../bin/verbs-doc.js';

/**
 * docs/verbs.md is generated from the verbs' own definitions (bin/verbs-doc.ts): it must be exactly what the
 * generator writes now, so a changed flag, usage line or example fails here until `npm run docs:verbs` runs.
 */

const root = projectRoot(import.meta.dirname);

describe('docs/verbs.md', () => {
  it('is what `npm run docs:verbs` generates from the verbs\' specs (run it after changing a verb)', async () => {
    const onDisk = readFileSync(path.join(root, 'docs/verbs.md'), 'utf8');
    expect(onDisk, 'docs/verbs.md is stale: run `npm run docs:verbs`').toBe(await verbsDoc(root));
  });

  it('holds every verb of the dispatcher, each with its --help text, and every verb module is dispatched', async () => {
    const doc = await verbsDoc(root);
    const names = Object.keys(VERBS).filter((n) => !ALIASES.has(n));
    expect(doc.match(/^## \S+$/gm)).toEqual(names.map((n) => `## ${n}`));
    for (const n of names) expect(doc).toContain(helpText((await VERBS[n]()).spec));
    const modules = readdirSync(path.join(root, 'bin/verbs')).filter((f) => f.endsWith('.ts')).map((f) => f.replace(/\.ts$/, ''));
    const dispatched = new Set(await Promise.all(Object.values(VERBS).map(async (load) => (await load()).spec.name)));
    expect(modules.filter((m) => !dispatched.has(m)), 'verb modules the dispatcher does not know').toEqual([]);
  });

  it('fails when a verb\'s definition changes: the generated text follows the spec', async () => {
    const mod = await VERBS.gc();
    const example = mod.spec.example;
    try {
      mod.spec.example = 'cairn gc   # changed';
      expect(await verbsDoc(root)).toContain('  cairn gc   # changed\n');
      expect(readFileSync(path.join(root, 'docs/verbs.md'), 'utf8')).not.toBe(await verbsDoc(root));
    } finally {
      mod.spec.example = example;
    }
  });
});
