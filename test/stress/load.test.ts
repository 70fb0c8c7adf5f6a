/*
 * The load test (issue 7), three crowds at once on one store:
 *   - `make -j16` over 16 containers: each target does from → run → copy → checkpoint → commit of its own
 *     container, all from the same stored image with default names (the names must come out distinct);
 *   - 4 writers (copy and run, in turn) on ONE container;
 *   - 4 commits of 4 containers to ONE image name.
 * Every verb must succeed (waiting on a lock is fine, failing because of a collision is not) and nothing may be
 * lost: every container and image expected exists and is whole, every writer's file is in the shared container
 * and its change is recorded, and the name ends on one of the 4 commits while the other 3 stay as untagged
 * images, as buildah leaves them (it moves the name to the newest commit: the older image shows as <none>).
 * Prints `load: N verbs in S s (V verbs/s)`. Not in `npm test`: `npm run test:stress`.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CAIRN, cliKit, type CliKit } from '../kit/cli.js';
import { tinyRootfsTar } from '../kit/tiny.js';
import { imageProblems, runVerb } from './stress-kit.js';

const TARGETS = 16;
const WRITERS = 4;
const ROUNDS = 2; // each writer: copy then run, twice
const COMMITS = 4;
const BASE = 'localhost/load-base';
const NAME = 'localhost/load-same:latest';

let k: CliKit;
let work: string;

beforeAll(() => {
  k = cliKit('cairn-load-');
  work = k.root + '-work';
  for (const d of ['ids', 'names', 'files']) mkdirSync(path.join(work, d), { recursive: true });
  for (let w = 0; w < WRITERS; w++) writeFileSync(path.join(work, 'files', `w${w}`), `writer ${w}\n`);
  writeFileSync(path.join(work, 'files', 'payload'), 'x'.repeat(64 << 10));
  const c = k.ok(['from', '--name', 'load-seed', `tarball:${tinyRootfsTar()}`]);
  k.ok(['commit', '--rm', c, BASE]);
  k.ok(['from', '--name', 'shared', BASE]);
  for (let i = 0; i < COMMITS; i++) {
    k.ok(['from', '--name', `cm${i}`, BASE]);
    k.ok(['run', `cm${i}`, '--', 'sh', '-c', `echo ${i} > /which`]);
  }
}, 120_000);

afterAll(() => {
  k?.cleanup();
  rmSync(work, { recursive: true, force: true });
});

/** The Makefile: one target per container, every step a cairn verb; each records its container's name and image ID. */
function makefile(): string {
  const cairn = `${CAIRN} --root ${k.root}`;
  const targets = Array.from({ length: TARGETS }, (_, i) => `c${i}`);
  const rules = targets.map((t, i) =>
    [
      `${t}:`,
      `\tc=$$(${cairn} from ${BASE}) && echo $$c > names/${t} && \\`,
      `\t${cairn} run $$c -- sh -c 'echo ${i} > /made' && \\`,
      `\t${cairn} copy $$c files/payload /payload && \\`,
      `\t${cairn} checkpoint -m ${t} $$c && \\`,
      `\t${cairn} commit $$c localhost/load-${t} > ids/${t}`,
    ].join('\n'),
  );
  return `all: ${targets.join(' ')}\n.PHONY: all ${targets.join(' ')}\n\n${rules.join('\n\n')}\n`;
}

/** Runs a command to its end; its status and stderr. */
function sh(cmd: string, args: string[], cwd: string): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (status) => resolve({ status, stderr }));
  });
}

it(`runs make -j${TARGETS}, ${WRITERS} writers on one container and ${COMMITS} commits to one name at once, losing nothing`, async () => {
  writeFileSync(path.join(work, 'Makefile'), makefile());
  const failures: string[] = [];
  const verb = async (args: string[]) => {
    const r = await runVerb(k.root, args);
    if (r.status !== 0) failures.push(`cairn ${args.join(' ')} exited ${r.status}: ${r.stderr.trim()}`);
    return r;
  };
  const writer = async (w: number) => {
    for (let i = 0; i < ROUNDS; i++) {
      await verb(['copy', 'shared', path.join(work, 'files', `w${w}`), `/w/w${w}-${i}`]);
      await verb(['run', 'shared', '--', 'sh', '-c', `mkdir -p /r && echo ${w}-${i} > /r/w${w}-${i}`]);
    }
  };
  const commitIds: string[] = [];
  const t0 = performance.now();
  const [made] = await Promise.all([
    sh('make', ['-j', String(TARGETS), '-s'], work),
    ...Array.from({ length: WRITERS }, (_, w) => writer(w)),
    ...Array.from({ length: COMMITS }, async (_, i) => {
      const r = await verb(['commit', `cm${i}`, NAME]);
      if (r.status === 0) commitIds.push(r.stdout.trim());
    }),
  ]);
  const secs = (performance.now() - t0) / 1000;
  const verbs = TARGETS * 5 + WRITERS * ROUNDS * 2 + COMMITS;
  console.log(`load: ${verbs} verbs in ${secs.toFixed(1)} s (${(verbs / secs).toFixed(2)} verbs/s)`);
  if (made.status !== 0) failures.push(`make -j${TARGETS} exited ${made.status}: ${made.stderr.trim()}`);
  expect(failures).toEqual([]);

  // make: 16 distinct containers, 16 images, each whole.
  const names = Array.from({ length: TARGETS }, (_, i) => readFileSync(path.join(work, 'names', `c${i}`), 'utf8').trim());
  expect(new Set(names).size).toBe(TARGETS);
  const containers = JSON.parse(k.ok(['containers', '--json'])) as { name: string; checkpoints: number }[];
  for (const n of names) expect(containers.find((c) => c.name === n)?.checkpoints, n).toBe(1);
  const images = JSON.parse(k.ok(['images', '--json'])) as { id: string; names: string[] }[];
  for (let i = 0; i < TARGETS; i++) {
    const id = readFileSync(path.join(work, 'ids', `c${i}`), 'utf8').trim();
    expect(images.find((im) => im.id === id)?.names, `c${i}`).toEqual([`localhost/load-c${i}:latest`]);
    expect(imageProblems(k.root, id)).toEqual([]);
  }

  // The writers: every file there, every change recorded.
  const listing = k.ok(['run', 'shared', '--', 'sh', '-c', 'cat /w/* /r/*']).split('\n').sort();
  const expected: string[] = [];
  for (let w = 0; w < WRITERS; w++) for (let i = 0; i < ROUNDS; i++) expected.push(`writer ${w}`, `${w}-${i}`);
  expect(listing).toEqual(expected.sort());
  const pending = (JSON.parse(k.ok(['inspect', 'shared'])) as { pending: string[] }).pending;
  expect(pending.filter((p) => p.startsWith('COPY ')).length).toBe(WRITERS * ROUNDS);
  expect(pending.filter((p) => p.includes('mkdir -p /r')).length).toBe(WRITERS * ROUNDS);

  // One name, 4 commits: it names one of them; the 3 others stay, untagged (buildah's <none>).
  expect(new Set(commitIds).size).toBe(COMMITS);
  const named = images.filter((im) => im.names.includes(NAME));
  expect(named.length).toBe(1);
  expect(commitIds).toContain(named[0].id);
  for (const id of commitIds) {
    const im = images.find((x) => x.id === id);
    expect(im, id).toBeDefined();
    if (id !== named[0].id) expect(im!.names).toEqual([]);
    expect(imageProblems(k.root, id)).toEqual([]);
  }
  expect(k.cairn(['check']).status).toBe(0);
}, 300_000);
