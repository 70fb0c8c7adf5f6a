// What the corpus's test files share (test/integration/trust/corpus*.test.ts): the rows, the sample that also runs
// through the CLI, the keys and the trusting config, the one-line report, and the in-process suite of a part.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { from } from '../../../dsl/index.js';
import { IN_PROCESS } from '../api.js';
import { baliKey } from '../bali.js';
import { CAIRN } from '../cli.js';
import { withEnv } from '../env.js';
import { realRoot } from '../tarfix.js';
import { tinyRootfsTar } from '../tiny.js';
import { CORPUS } from './index.js';
import { removeStore, runCase, type CorpusEnv, type Verdict } from './runner.js';

/** Who the suite runs as: real root, or a normal user (root of the user's namespace). */
export const WHO = realRoot ? 'root' : 'rootless';

/** The rows to run: all of them, or (CORPUS_FILTER=REGEX, when working on a class) those whose id matches. */
export const ROWS = CORPUS.filter((c) => !process.env.CORPUS_FILTER || new RegExp(process.env.CORPUS_FILTER).test(c.id));

/** The sources of a layer that `cairn from` reads (a transport and a storage driver): the CLI shows nothing per source. */
const FROM_SOURCES = new Set(['tarball', 'tarball-vfs', 'oci', 'oci-vfs', 'oci-archive', 'docker-archive']);

/**
 * The rows that also run through the CLI: the first of each outcome of each kind of call — `from` of a layer
 * (whatever its transport or driver: those are the engine's, and every row runs in-process) or of image
 * metadata, exec (the wrapper that execs an image in place), verify and from of signed files under each policy,
 * copy --from, copy, run. (run's flags through the CLI: owners.test.ts and argv-secrets.test.ts.)
 */
export const CLI_ROWS = ((): Set<string> => {
  const first = new Map<string, string>();
  for (const c of ROWS) {
    const source = c.id.split('@')[1];
    const kind = c.klass === 'copy' ? c.id.replace(/-.*$/, '') : c.klass === 'run' ? 'run' : source === 'exec' ? 'exec' : (source && FROM_SOURCES.has(source)) || c.klass === 'metadata' ? 'from' : (source ?? c.klass);
    const k = kind === 'exec' ? kind : `${kind} ${c.outcome}`;
    if (!first.has(k)) first.set(k, c.id);
  }
  return new Set(first.values());
})();

/** A run's scratch directory, the config that trusts the corpus' key (trusted by `cairn key trust`), and the keys. */
export interface CorpusBase {
  base: string;
  config: string;
  env: CorpusEnv;
}

/** Makes the scratch directory and the trusting config. */
export function corpusBase(): CorpusBase {
  const base = mkdtempSync(path.join(os.tmpdir(), 'cairn-corpus-'));
  const config = path.join(base, 'config');
  const trusted = baliKey();
  const pub = path.join(base, 'trusted.pub.pem');
  writeFileSync(pub, trusted.pubPem);
  const r = spawnSync(CAIRN, ['--root', path.join(base, 'store-keys'), 'key', 'trust', pub], { encoding: 'utf8', env: { ...process.env, XDG_CONFIG_HOME: config } });
  if (r.status !== 0) throw new Error(`cairn key trust failed: ${r.stderr}`);
  let tiny: Buffer | undefined;
  return { base, config, env: { trusted, stranger: baliKey(), tiny: () => (tiny ??= readFileSync(tinyRootfsTar())) } };
}

/** Removes the scratch directory: mounts below it first; files of subordinate ids from inside the user's namespace. */
export function removeBase(base: string): void {
  const script = `grep -F ' ${base}/' /proc/self/mountinfo | cut -d' ' -f5 | sort -r | xargs -r -n1 umount -l; rm -rf '${base}'`;
  if (process.getuid?.() === 0) spawnSync('sh', ['-c', script]);
  else spawnSync(CAIRN, ['unshare', 'sh', '-c', script]);
  rmSync(base, { recursive: true, force: true });
}

/** Prints `hostile cases refused or confined / total: …` and the rows that did not hold. */
export function report(verdicts: Map<string, Verdict>, how: string): void {
  const ran = [...verdicts.values()];
  const held = ran.filter((v) => v.problems.length === 0).length;
  const cases = new Set(ran.map((v) => v.id.replace(/@.*$/, ''))).size;
  const failed = ran.filter((v) => v.problems.length).map((v) => `  ${v.id}`);
  console.log(`hostile cases refused or confined / total (${how}): ${held}/${ran.length} (${cases} distinct inputs, as ${WHO})` + (failed.length ? `\nnot held:\n${failed.join('\n')}` : ''));
}

/**
 * The in-process rows of one part of the corpus (rows i with i % parts === part): each row through the public API
 * in a store of its own. The corpus is cut in parts so that its files run side by side and none is the long tail
 * of the run.
 */
export function inProcessCorpus(part: number, parts: number): void {
  let b: CorpusBase;
  let template: string;
  const verdicts = new Map<string, Verdict>();
  beforeAll(async () => {
    b = corpusBase();
    if (!IN_PROCESS) return;
    // An empty store the engine made (a container made and removed), copied for each row: what a store's first
    // container learns once (whether overlayfs works there: a test mount, dsl/container/drivers/select.ts) is
    // known, as in any store past its first verb, and each row still starts from a store of its own.
    template = path.join(b.base, 'template');
    await withEnv({ STORAGE_DRIVER: undefined, CAIRN_ROOT: undefined }, async () => (await from('scratch', { root: template })).remove());
  });
  afterAll(() => {
    report(verdicts, `in-process, part ${part + 1} of ${parts}`);
    if (b) removeBase(b.base);
  });
  describe.runIf(IN_PROCESS)(`hostile corpus, part ${part + 1} of ${parts} (${WHO})`, () => {
    ROWS.forEach((c, i) => {
      if (i % parts !== part) return;
      it.skipIf(c.only !== undefined && c.only !== WHO)(`${c.id}: ${c.what} → ${c.outcome}`, async () => {
        const lane = { root: path.join(b.base, `store-${i}`), config: b.config };
        cpSync(template, lane.root, { recursive: true });
        let v: Verdict;
        try {
          v = await runCase(c, lane, b.env, i, 'api');
        } finally {
          removeStore(lane.root);
        }
        verdicts.set(c.id, v);
        expect(v.problems).toEqual([]);
      });
    });
  });
}
