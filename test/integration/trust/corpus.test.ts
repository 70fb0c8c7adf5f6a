import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baliKey, type BaliKey } from '../../kit/bali.js';
import { CAIRN } from '../../kit/cli.js';
import { CORPUS } from '../../kit/hostile/index.js';
import { runCase, type CorpusEnv, type Lane, type Verdict } from '../../kit/hostile/runner.js';
import { realRoot } from '../../kit/tarfix.js';
import { tinyRootfsTar } from '../../kit/tiny.js';

/*
 * The hostile corpus (test/kit/hostile): every row feeds the real CLI a crafted input and checks its one
 * expected outcome (refused, confined or unsigned) and that nothing outside the container root moved. Rows
 * run two at a time, each lane with a store of its own, so that "the store did not change" is exact.
 */

const WHO = realRoot ? 'root' : 'rootless';
const LANES = 2;
/** CORPUS_FILTER=REGEX runs only the rows whose id matches (when working on a class). */
const ROWS = CORPUS.filter((c) => !process.env.CORPUS_FILTER || new RegExp(process.env.CORPUS_FILTER).test(c.id));

let base: string;
let env: CorpusEnv;
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
  base = mkdtempSync(path.join(os.tmpdir(), 'cairn-corpus-'));
  const config = path.join(base, 'config');
  const trusted: BaliKey = baliKey();
  const pub = path.join(base, 'trusted.pub.pem');
  writeFileSync(pub, trusted.pubPem);
  const r = spawnSync(CAIRN, ['--root', path.join(base, 'store0'), 'key', 'trust', pub], { encoding: 'utf8', env: { ...process.env, XDG_CONFIG_HOME: config } });
  if (r.status !== 0) throw new Error(`cairn key trust failed: ${r.stderr}`);
  let tiny: Buffer | undefined;
  env = { trusted, stranger: baliKey(), tiny: () => (tiny ??= readFileSync(tinyRootfsTar())) };
  for (let i = 0; i < LANES; i++) lanes.push({ root: path.join(base, `store${i}`), config });
  free.push(...lanes);
});

afterAll(() => {
  const ran = [...verdicts.values()];
  const held = ran.filter((v) => v.problems.length === 0).length;
  const cases = new Set(ran.map((v) => v.id.replace(/@.*$/, ''))).size;
  const failed = ran.filter((v) => v.problems.length).map((v) => `  ${v.id}`);
  console.log(`hostile cases refused or confined / total: ${held}/${ran.length} (${cases} distinct inputs, as ${WHO}; ${ROWS.length - ran.length} rows skipped)` + (failed.length ? `\nnot held:\n${failed.join('\n')}` : ''));
  if (!base) return;
  const script = `grep -F ' ${base}/' /proc/self/mountinfo | cut -d' ' -f5 | sort -r | xargs -r -n1 umount -l; rm -rf '${base}'`;
  if (process.getuid?.() === 0) spawnSync('sh', ['-c', script]);
  else spawnSync(CAIRN, ['unshare', 'sh', '-c', script]);
  rmSync(base, { recursive: true, force: true });
});

describe.concurrent(`hostile corpus (${WHO})`, () => {
  it('has at least 50 distinct hostile inputs, each with one expected outcome', () => {
    const ids = CORPUS.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(ids.map((id) => id.replace(/@.*$/, ''))).size).toBeGreaterThanOrEqual(50);
    for (const c of CORPUS) expect(['refused', 'confined', 'unsigned']).toContain(c.outcome);
  });

  ROWS.forEach((c, i) => {
    it.skipIf(c.only !== undefined && c.only !== WHO)(`${c.id}: ${c.what} → ${c.outcome}`, async () => {
      const lane = await acquire();
      let v: Verdict;
      try {
        v = await runCase(c, lane, env, i);
      } finally {
        release(lane);
      }
      verdicts.set(c.id, v);
      expect(v.problems).toEqual([]);
    });
  });
});
