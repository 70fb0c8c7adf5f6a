import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCase, type Lane, type Verdict } from '../../kit/hostile/runner.js';
import { CLI_ROWS, corpusBase, removeBase, report, ROWS, WHO, type CorpusBase } from '../../kit/hostile/suite.js';

/*
 * A sample of the hostile corpus (CLI_ROWS in test/kit/hostile/suite.ts) through the real CLI, for what only the
 * CLI shows: its argv, exit 125 and the one line `cairn VERB: …` of a refusal, the wrapper that execs an image in
 * place. Rows run two at a time, each lane with a store of its own, so that "the store did not change" is exact.
 * corpus.test.ts runs every row in-process.
 */

const LANES = 2;
let b: CorpusBase;
const lanes: Lane[] = [];
const free: Lane[] = [];
const waiting: ((l: Lane) => void)[] = [];
const verdicts = new Map<string, Verdict>();

async function acquire(): Promise<Lane> {
  return free.pop() ?? new Promise((resolve) => waiting.push(resolve));
}

function release(l: Lane): void {
  const w = waiting.shift();
  if (w) w(l);
  else free.push(l);
}

beforeAll(() => {
  b = corpusBase();
  for (let i = 0; i < LANES; i++) lanes.push({ root: path.join(b.base, `store${i}`), config: b.config });
  free.push(...lanes);
});

afterAll(() => {
  report(verdicts, 'through the CLI');
  if (b) removeBase(b.base);
});

describe.concurrent(`hostile corpus through the CLI (${WHO})`, () => {
  it('samples every kind of call, each outcome of each', () => {
    expect(CLI_ROWS.size).toBeGreaterThanOrEqual(Math.min(12, ROWS.length));
  });

  ROWS.forEach((c, i) => {
    if (!CLI_ROWS.has(c.id)) return;
    it.skipIf(c.only !== undefined && c.only !== WHO)(`${c.id}: ${c.what} → ${c.outcome}`, async () => {
      const lane = await acquire();
      let v: Verdict;
      try {
        v = await runCase(c, lane, b.env, i, 'cli');
      } finally {
        release(lane);
      }
      verdicts.set(c.id, v);
      expect(v.problems).toEqual([]);
    });
  });
});
