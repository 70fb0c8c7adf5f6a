import { describe, expect, it } from 'vitest';
import { CORPUS } from '../../kit/hostile/index.js';
import { inProcessCorpus } from '../../kit/hostile/suite.js';

/*
 * The hostile corpus (test/kit/hostile): every row feeds the engine a crafted input and checks its one expected
 * outcome (refused, confined or unsigned) and that nothing outside the container root moved. Every row runs
 * in-process through the public API, one at a time (a row sets the process's environment), each in a store of
 * its own, so that "the store did not change" is exact and no row depends on another; a refusal must be a
 * CairnError of one line. This file runs half the rows, corpus-2.test.ts the other half (side by side);
 * corpus-cli.test.ts runs a sample of them through the real CLI.
 */

describe('the hostile corpus', () => {
  it('has at least 50 distinct hostile inputs, each with one expected outcome', () => {
    const ids = CORPUS.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(ids.map((id) => id.replace(/@.*$/, ''))).size).toBeGreaterThanOrEqual(50);
    for (const c of CORPUS) expect(['refused', 'confined', 'unsigned']).toContain(c.outcome);
  });
});

inProcessCorpus(0, 2);
