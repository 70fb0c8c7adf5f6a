// Runs one corpus case, through the real CLI or in-process through the public API (api.ts), and judges its one
// expected outcome; host canaries are compared before and after (inode, content, mode, owner, times, link
// count), so "confined" means nothing outside moved.
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isCairnError } from '../../../dsl/index.js';
import { CAIRN } from '../cli.js';
import type { BaliKey } from '../bali.js';
import { apiCall, type ApiResult } from './api.js';
import type { CallResult, CaseCtx, HostileCase, Step } from './types.js';

/** A store the corpus runs in, one case at a time. */
export interface Lane {
  root: string;
  /** XDG_CONFIG_HOME that trusts the corpus' key. */
  config: string;
}

/** The longest one call may take: a hang (a FIFO read, a loop) is a failure, not a stuck suite. */
const CALL_TIMEOUT_MS = 40_000;

/** Runs `cairn --root ROOT args` asynchronously (so that two lanes run at once). */
export function call(lane: Lane, step: Step, home: string): Promise<CallResult> {
  return new Promise((resolve) => {
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, XDG_CONFIG_HOME: lane.config, NO_COLOR: '1' };
    for (const k of ['CAIRN_ROOT', 'CAIRN_SIGNATURE_POLICY', 'CAIRN_MAX_LAYER_SIZE', 'STORAGE_DRIVER', 'CAIRN_DEBUG']) delete env[k];
    const child = spawn(CAIRN, ['--root', lane.root, ...step.args], {
      env: { ...env, ...step.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: home,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      stderr += `\n[corpus: killed after ${CALL_TIMEOUT_MS} ms]`;
      child.kill('SIGKILL');
    }, CALL_TIMEOUT_MS);
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      resolve({ status: code ?? (sig ? 128 + (os.constants.signals[sig] ?? 0) : 128), stdout, stderr });
    });
  });
}

const OLD = new Date('2001-02-03T04:05:06Z');

/** Makes the canary directory and HOME of one row; returns them with the secret. */
export function plantCanaries(base: string): { canary: string; home: string; secret: string } {
  const canary = path.join(base, 'canary');
  const home = path.join(base, 'home');
  const secret = `HOSTSECRET-${randomBytes(12).toString('hex')}`;
  for (const d of [canary, path.join(canary, 'vdir'), path.join(canary, 'etc'), home]) mkdirSync(d, { recursive: true });
  writeFileSync(path.join(canary, 'victim'), 'the host file\n');
  writeFileSync(path.join(canary, 'secret'), secret + '\n', { mode: 0o600 });
  writeFileSync(path.join(canary, 'fifo'), secret + '\n', { mode: 0o600 });
  writeFileSync(path.join(canary, 'vdir', 'keep'), 'kept\n');
  writeFileSync(path.join(home, '.bashrc'), '# the user\'s own\n');
  chmodSync(path.join(canary, 'secret'), 0o600);
  chmodSync(path.join(canary, 'fifo'), 0o600);
  for (const p of ['victim', 'secret', 'fifo', 'vdir/keep', 'vdir', 'etc', '.']) utimesSync(path.join(canary, p), OLD, OLD);
  utimesSync(path.join(home, '.bashrc'), OLD, OLD);
  utimesSync(home, OLD, OLD);
  return { canary, home, secret };
}

/** Every object below dir (not following links): type, inode, mode, owner, size, links, times, content hash. */
export function hostState(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    const abs = path.join(dir, rel);
    const st = lstatSync(abs, { bigint: true });
    const type = st.isFile() ? 'f' : st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : st.isFIFO() ? 'p' : 'o';
    const hash = type === 'f' ? createHash('sha256').update(readFileSync(abs)).digest('hex').slice(0, 12) : '';
    out.push(`${rel || '.'} ${type} ino=${st.ino} mode=${(st.mode & 0o7777n).toString(8)} ${st.uid}:${st.gid} size=${st.size} nlink=${st.nlink} mtime=${st.mtimeNs} ctime=${st.ctimeNs} ${hash}`);
    if (type === 'd') for (const n of readdirSync(abs).sort()) walk(rel ? `${rel}/${n}` : n);
  };
  walk('');
  return out;
}

/** The image and container records of a store (what a refused call must not change). */
export function storeRecords(root: string): string[] {
  const names = (d: string): string[] => (existsSync(d) ? readdirSync(d).sort() : []);
  return [...names(path.join(root, 'images')).map((n) => `image ${n}`), ...names(path.join(root, 'containers')).map((n) => `container ${n}`)];
}

/**
 * Files of the store changed since sinceMs (ctime, which no tar can set) that hold the secret: a host file read
 * or linked in. Mounts below the store (overlay views of its own layers) are not entered.
 */
export function storeHolds(root: string, secret: string, sinceMs: number): string[] {
  const hits: string[] = [];
  const needle = Buffer.from(secret);
  const readable = (p: string): Buffer | undefined => {
    try {
      return readFileSync(p);
    } catch {
      return undefined;
    }
  };
  let dev: number | undefined;
  const walk = (dir: string): void => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const n of names) {
      const p = path.join(dir, n);
      let st;
      try {
        st = lstatSync(p);
      } catch {
        continue;
      }
      if (st.dev !== dev) continue;
      if (st.isDirectory()) walk(p);
      else if (st.isFile() && st.ctimeMs >= sinceMs && st.size <= 64 << 20 && readable(p)?.includes(needle)) hits.push(p);
    }
  };
  try {
    dev = lstatSync(root).dev;
  } catch {
    return hits;
  }
  walk(root);
  return hits;
}

function diff(before: string[], after: string[]): string[] {
  const a = new Set(after);
  const b = new Set(before);
  return [...before.filter((x) => !a.has(x)).map((x) => `- ${x}`), ...after.filter((x) => !b.has(x)).map((x) => `+ ${x}`)];
}

/** Checks the one-line failure format: exit 125, `cairn VERB: …` and at most a hint line, no stack trace. */
export function refusalProblems(r: CallResult, verb: string): string[] {
  const p: string[] = [];
  const lines = r.stderr.trimEnd().split('\n').filter((l) => !/^cairn: warning: /.test(l));
  if (r.status !== 125) p.push(`exit status ${r.status}, not 125`);
  if (!new RegExp(`^cairn ${verb}: \\S`).test(lines[0] ?? '')) p.push(`first line is not "cairn ${verb}: …": ${JSON.stringify(lines[0])}`);
  if (lines.length > 2 || (lines.length === 2 && !/^ {2}hint: \S/.test(lines[1]))) p.push(`more than one line and a hint: ${JSON.stringify(lines.slice(0, 6))}`);
  if (/^\s+at /m.test(r.stderr)) p.push('a stack trace');
  return p;
}

/** The verb of a step (after global flags). */
function verbOf(step: Step): string {
  return step.args.find((a) => !a.startsWith('-')) ?? '';
}

/**
 * Removes a store this process made (in-process rows): the mounts below it (a container's tree stays mounted
 * for its next verb) first. As a normal user this process is root of the user's namespace, which owns them.
 */
export function removeStore(root: string): void {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((m) => m?.startsWith(root + '/'));
  // One umount for all of them (a spawn from this big process costs more than the unmounts), deepest first.
  if (mounts.length) spawnSync('umount', ['-l', ...mounts.sort().reverse()]);
  rmSync(root, { recursive: true, force: true });
}

/** What one row gave: the problems found (none when its outcome held). */
export interface Verdict {
  id: string;
  problems: string[];
  result?: CallResult;
}

/** Shared inputs of every row. */
export interface CorpusEnv {
  trusted: BaliKey;
  stranger: BaliKey;
  tiny(): Buffer;
}

/** How a row's calls are made: `cairn` processes, or in-process calls of the public API (one lane at a time). */
export type Via = 'cli' | 'api';

/** Runs one row in a lane: plants canaries, makes its input, runs its calls, judges the last. */
export async function runCase(c: HostileCase, lane: Lane, env: CorpusEnv, index: number, via: Via = 'cli'): Promise<Verdict> {
  const run = (s: Step, home: string): Promise<ApiResult> => (via === 'cli' ? call(lane, s, home) : apiCall(lane, s, home));
  const base = mkdtempSync(path.join(os.tmpdir(), 'cairn-hostile-'));
  try {
    const { canary, home, secret } = plantCanaries(base);
    const work = path.join(base, 'work');
    mkdirSync(work);
    const ctx: CaseCtx = { canary, home, secret, work, name: `hx${index}`, trusted: env.trusted, stranger: env.stranger, tiny: env.tiny };
    const steps = await c.prepare(ctx);
    // ctime of a file made now: the clock the kernel stamps ctimes with (coarser than Date.now()).
    const since = path.join(base, 'since');
    writeFileSync(since, '');
    const sinceMs = lstatSync(since).ctimeMs;
    const hostBefore = [...hostState(canary).map((l) => `canary/${l}`), ...hostState(home).map((l) => `home/${l}`)];
    const problems: string[] = [];
    for (const s of steps.slice(0, -1)) {
      const r = await run(s, home);
      if (r.status !== 0) return { id: c.id, problems: [`setup call "${s.args.join(' ')}" failed (${r.status}): ${r.stderr.trim().slice(0, 400)}`] };
    }
    const judged = steps[steps.length - 1];
    const storeBefore = storeRecords(lane.root);
    const r = await run(judged, home);
    const hostAfter = [...hostState(canary).map((l) => `canary/${l}`), ...hostState(home).map((l) => `home/${l}`)];
    const changed = diff(hostBefore, hostAfter);
    if (changed.length) problems.push(`the host changed outside the root:\n    ${changed.join('\n    ')}`);
    const leaked = storeHolds(lane.root, secret, sinceMs);
    if (leaked.length) problems.push(`a host file's content reached the store: ${leaked.slice(0, 3).join(', ')}`);
    const verb = verbOf(judged);
    // In-process, a refusal must be one of cairn's errors, not an error the CLI would only wrap into one.
    if (r.error !== undefined && !isCairnError(r.error)) problems.push(`refused by an error outside the CairnError family: ${String(r.error)}`);
    if (c.outcome === 'refused') {
      problems.push(...refusalProblems(r, verb));
      const storeAfter = storeRecords(lane.root);
      const added = diff(storeBefore, storeAfter);
      if (added.length) problems.push(`the store changed: ${added.join(', ')}`);
    } else if (c.outcome === 'unsigned') {
      problems.push(...refusalProblems(r, verb));
      if (!/unsigned/.test(r.stderr.split('\n')[0] ?? '')) problems.push(`not reported as unsigned: ${JSON.stringify(r.stderr.split('\n')[0])}`);
    } else if (r.status !== 0) {
      problems.push(`expected to succeed, confined to the root: exit ${r.status}`);
    }
    if (c.after) problems.push(...(await c.after({ ...ctx, root: lane.root }, r)));
    if (problems.length) problems.push(`(status ${r.status}, stderr: ${JSON.stringify(r.stderr.slice(0, 600))})`);
    return { id: c.id, problems, result: r };
  } finally {
    // A confined write may have left files of subordinate ids below base (inside a root it is not): remove as able.
    rmSync(base, { recursive: true, force: true });
  }
}
