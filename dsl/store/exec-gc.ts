import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { readDirOrEmpty, readJson } from '../core/atomic.js';
import { isErrorKind } from '../core/errors.js';
import { lstatOrUndefined, makeDirs } from '../core/fsutil.js';
import { leftoverTemp, removeTree, type Problem } from './leftovers.js';
import { lockFile } from './lock.js';
import type { Store } from './store.js';
import { uniqueSuffix } from '../core/unique.js';

/*
 * The exec cache (<root>/exec, laid out in dsl/exec/cache.ts) as gc and check see it: entries
 * `<hex>/` with their lock `<hex>.lock`, held shared by every running service of the entry; fills in
 * progress under tmp/; `files/` and `urls/` records naming the digest a file or URL was verified as.
 */

const HEX = /^[0-9a-f]{64}$/;

function execDir(store: Store): string {
  return path.join(store.paths.root, 'exec');
}

/** What killed `cairn exec` starts left: downloads and unpacks under exec/tmp, half-written records. */
export async function execLeftovers(store: Store): Promise<Problem[]> {
  const dir = execDir(store);
  const out: Problem[] = [];
  for (const n of await readDirOrEmpty(path.join(dir, 'tmp'))) {
    const p = path.join(dir, 'tmp', n);
    const dead = n.startsWith('gone-') || (await leftoverTemp(p));
    if (dead) out.push({ text: `exec/tmp/${n}: left by an interrupted \`cairn exec\``, fixText: 'removed', fix: () => removeTree(p) });
  }
  for (const sub of ['files', 'urls']) {
    for (const n of await readDirOrEmpty(path.join(dir, sub))) {
      const p = path.join(dir, sub, n);
      // Temp files of records: `.tmp-NAME-…` (core/atomic.ts), or `NAME.….tmp` from older cairns.
      if ((n.startsWith('.tmp-') || n.endsWith('.tmp')) && (await leftoverTemp(p))) out.push({ text: `exec/${sub}/${n}: a half-written record`, fixText: 'removed', fix: () => fsp.rm(p, { force: true }) });
    }
  }
  return out;
}

/** Removes entry hex if no service holds it (its lock taken exclusively meanwhile); true when it did. */
async function removeEntry(store: Store, hex: string): Promise<boolean> {
  const dir = path.join(execDir(store), hex);
  const release = await lockFile(`${dir}.lock`, false, { wait: false });
  if (!release) return false;
  try {
    // Renamed aside first: a start that looked the entry up just now finds it gone, in one step, and says so.
    const aside = path.join(execDir(store), 'tmp', `gone-${uniqueSuffix()}`);
    await makeDirs(path.dirname(aside), 0o700);
    await fsp.rename(dir, aside);
    await removeTree(aside);
    await fsp.rm(`${dir}.lock`, { force: true });
  } finally {
    release();
  }
  return true;
}

/**
 * Removes the exec cache entries no running service uses, the lock files and file/URL records of entries
 * that are gone, and what killed starts left. Returns how many entries went.
 */
export async function collectExecCache(store: Store): Promise<number> {
  const dir = execDir(store);
  let removed = 0;
  const names = await readDirOrEmpty(dir);
  for (const n of names) if (HEX.test(n) && (await removeEntry(store, n))) removed++;
  for (const n of names) {
    const m = /^([0-9a-f]{64})\.lock$/.exec(n);
    if (!m || (await lstatOrUndefined(path.join(dir, m[1])))) continue;
    const release = await lockFile(path.join(dir, n), false, { wait: false });
    if (!release) continue;
    try {
      await fsp.rm(path.join(dir, n), { force: true });
    } finally {
      release();
    }
  }
  for (const sub of ['files', 'urls']) {
    for (const n of await readDirOrEmpty(path.join(dir, sub))) {
      if (!n.endsWith('.json')) continue;
      const p = path.join(dir, sub, n);
      let digest: unknown;
      try {
        digest = (await readJson<{ digest?: unknown }>(p))?.digest;
      } catch (err) {
        // A record that is not JSON names no entry: it goes like one whose entry is gone. Unreadable ones stop gc.
        if (!isErrorKind(err, 'not-json')) throw err;
      }
      const hex = typeof digest === 'string' ? digest.replace(/^sha256:/, '') : '';
      if (!HEX.test(hex) || !(await lstatOrUndefined(path.join(dir, hex)))) await fsp.rm(p, { force: true });
    }
  }
  for (const p of await execLeftovers(store)) await p.fix!();
  return removed;
}
