// Helpers of the stress tier (crash harness, load test): verbs run asynchronously in a process group of their
// own (so a SIGKILL can end the verb and every child it started), a seeded random source, and checks of the
// store and of OCI layouts read straight from disk, independently of the code under test.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CAIRN } from '../kit/cli.js';

/** What one verb did. */
export interface VerbRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** Ended by SIGKILL (the harness's, or a crash point's), seen directly or through the `cairn` wrapper shell. */
  killed: boolean;
}

/**
 * Runs `cairn --root ROOT ARGS` in a new process group; with killAfterMs, SIGKILLs the whole group at that
 * moment (the verb may have children: mount helpers, a run step, the lock holders).
 */
export function runVerb(root: string, args: string[], o: { env?: NodeJS.ProcessEnv; killAfterMs?: number } = {}): Promise<VerbRun> {
  const t0 = performance.now();
  const child = spawn(CAIRN, ['--root', root, ...args], { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...o.env } });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  let timer: NodeJS.Timeout | undefined;
  let sent = false;
  if (o.killAfterMs !== undefined) {
    timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
        sent = true;
      } catch {
        /* the group is gone: the verb finished first */
      }
    }, o.killAfterMs);
  }
  return new Promise((resolve) => {
    child.on('close', (status, signal) => {
      if (timer) clearTimeout(timer);
      const killed = signal === 'SIGKILL' || status === 137 || (sent && status === null);
      resolve({ status, signal, stdout, stderr, ms: performance.now() - t0, killed });
    });
  });
}

/** A small seeded random source (mulberry32, shared with the bench): the same seed gives the same trials. */
export { prng as seeded } from '../../bench/tree.mjs';

/** The seed of this run: $CAIRN_STRESS_SEED, else the clock. */
export function stressSeed(): number {
  const s = Number(process.env.CAIRN_STRESS_SEED);
  return Number.isInteger(s) && s > 0 ? s : Date.now() % 2 ** 31;
}

const hashed = new Map<string, string>();

/** The sha256 hex of a file, remembered by (path, inode, size, mtime) so a run hashes each blob once. */
function fileHex(file: string): string {
  const st = lstatSync(file);
  const key = `${file}\0${st.ino}\0${st.size}\0${st.mtimeMs}`;
  let hex = hashed.get(key);
  if (!hex) {
    hex = createHash('sha256').update(readFileSync(file)).digest('hex');
    hashed.set(key, hex);
  }
  return hex;
}

/** Problems of the blob `digest` under a blobs/sha256 directory (missing, not a file, wrong content). */
function blobProblem(blobs: string, digest: string): string | undefined {
  const hex = digest.replace(/^sha256:/, '');
  const file = path.join(blobs, hex);
  if (!existsSync(file)) return `blob ${digest} is missing`;
  if (!lstatSync(file).isFile()) return `blob ${digest} is not a regular file`;
  if (fileHex(file) !== hex) return `blob ${digest} does not hash to its name`;
  return undefined;
}

/** The IDs of the image records in a store, read from disk. */
export function storedImageIds(root: string): string[] {
  const dir = path.join(root, 'images');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((n) => /^[0-9a-f]{64}\.json$/.test(n)).map((n) => n.slice(0, 64)).sort();
}

/**
 * Why a stored image is not whole, read from disk: its record, its manifest and config blobs (hashed), and
 * each layer as a blob (hashed) or as a packed layer whose tree is extracted. Empty when whole.
 */
export function imageProblems(root: string, id: string): string[] {
  const blobs = path.join(root, 'blobs', 'sha256');
  const recFile = path.join(root, 'images', `${id}.json`);
  if (!existsSync(recFile)) return [`image ${id.slice(0, 12)}: its record is gone`];
  const out: string[] = [];
  try {
    const rec = JSON.parse(readFileSync(recFile, 'utf8')) as { manifest: string };
    const bad = blobProblem(blobs, rec.manifest);
    if (bad) return [`image ${id.slice(0, 12)}: manifest ${bad}`];
    const m = JSON.parse(readFileSync(path.join(blobs, rec.manifest.slice(7)), 'utf8')) as { config: { digest: string }; layers: { digest: string }[] };
    const badCfg = blobProblem(blobs, m.config.digest);
    if (badCfg) return [`image ${id.slice(0, 12)}: config ${badCfg}`];
    if (createHash('sha256').update(readFileSync(path.join(blobs, m.config.digest.slice(7)))).digest('hex') !== id) out.push(`image ${id.slice(0, 12)}: its config is not the image's`);
    const cfg = JSON.parse(readFileSync(path.join(blobs, m.config.digest.slice(7)), 'utf8')) as { rootfs: { diff_ids: string[] } };
    m.layers.forEach((l, i) => {
      if (existsSync(path.join(blobs, l.digest.slice(7)))) {
        const b = blobProblem(blobs, l.digest);
        if (b) out.push(`image ${id.slice(0, 12)}: layer ${b}`);
        return;
      }
      const diffID = cfg.rootfs.diff_ids[i];
      const packed = path.join(root, 'layers', `${diffID.slice(7)}.packed.json`);
      if (!existsSync(packed)) return void out.push(`image ${id.slice(0, 12)}: layer ${l.digest} has no blob and no packed record`);
      const p = JSON.parse(readFileSync(packed, 'utf8')) as { dir: string };
      if (!existsSync(path.join(root, 'layers', p.dir.slice(7)))) out.push(`image ${id.slice(0, 12)}: packed layer ${diffID} has no tree`);
    });
  } catch (err) {
    out.push(`image ${id.slice(0, 12)}: ${(err as Error).message}`);
  }
  return out;
}

/** Why an OCI layout is not whole: index.json, every manifest it names, their configs and layers (hashed). */
export function layoutProblems(dir: string): string[] {
  const blobs = path.join(dir, 'blobs', 'sha256');
  try {
    const index = JSON.parse(readFileSync(path.join(dir, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    const out: string[] = [];
    for (const d of index.manifests) {
      const bad = blobProblem(blobs, d.digest);
      if (bad) {
        out.push(`manifest ${bad}`);
        continue;
      }
      const m = JSON.parse(readFileSync(path.join(blobs, d.digest.slice(7)), 'utf8')) as { config: { digest: string }; layers: { digest: string }[] };
      for (const b of [m.config, ...m.layers]) {
        const p = blobProblem(blobs, b.digest);
        if (p) out.push(p);
      }
    }
    return out;
  } catch (err) {
    return [(err as Error).message];
  }
}

/** Why an oci-archive file is not whole: unpacked with the host's tar, then checked as a layout. */
export function archiveProblems(file: string): string[] {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-stress-archive-'));
  try {
    const r = spawnSync('tar', ['-xf', file, '-C', dir], { encoding: 'utf8' });
    if (r.status !== 0) return [`tar cannot unpack it: ${r.stderr.trim()}`];
    return layoutProblems(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Why a flat tarball is not whole: the host's tar must list it to the end, config entry included. */
export function flatProblems(file: string): string[] {
  const r = spawnSync('tar', [file.endsWith('.tar') ? '-tf' : '-tzf', file], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) return [`tar cannot list it: ${r.stderr.trim()}`];
  return r.stdout.split('\n').some((l) => l.replace(/^\.\//, '') === '.cairn/config.json') ? [] : ['no .cairn/config.json entry'];
}
