import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { CairnError } from '../errors.js';

/** One lock to take: a name below the store's locks directory, shared or exclusive. */
export interface LockSpec {
  name: string;
  shared?: boolean;
}

/** A set of held locks; release() frees them. */
export interface Held {
  release(): void;
}

const held = new Map<string, number>();

/**
 * Takes the named locks (in the order given) with kernel file locks held by a helper process
 * (util-linux flock). The kernel drops them when that helper's stdin closes, which happens when
 * this process exits for any reason, SIGKILL included, so a killed verb never leaves a stale lock.
 */
export async function acquire(locksDir: string, specs: LockSpec[]): Promise<Held> {
  const todo = specs.filter((s) => !held.has(s.name));
  for (const s of specs) held.set(s.name, (held.get(s.name) ?? 0) + 1);
  const releaseCounts = () => {
    for (const s of specs) {
      const n = (held.get(s.name) ?? 1) - 1;
      if (n <= 0) held.delete(s.name);
      else held.set(s.name, n);
    }
  };
  if (todo.length === 0) return { release: releaseCounts };
  mkdirSync(locksDir, { recursive: true });
  const args: string[] = [];
  for (const [i, s] of todo.entries()) {
    if (!/^[A-Za-z0-9._-]+$/.test(s.name)) throw new CairnError(`invalid lock name ${s.name}`);
    if (i > 0) args.push('flock');
    args.push(s.shared ? '-s' : '-x', path.join(locksDir, s.name + '.lock'));
  }
  // cat starts only once every lock is held: the byte it echoes back says so. It then waits on stdin,
  // which closes when this process ends for any reason.
  args.push('cat');
  let child: ChildProcess;
  try {
    child = spawn('flock', args, { stdio: ['pipe', 'pipe', 'inherit'] });
  } catch (err) {
    releaseCounts();
    throw err;
  }
  await new Promise<void>((resolve, reject) => {
    child.once('error', (e) => reject(new CairnError(`cannot take a lock: ${e.message}`, { hint: 'install util-linux (flock)' })));
    child.stdout!.once('data', () => resolve());
    child.stdin!.write('\n');
    child.once('exit', (code) => reject(new CairnError(`cannot take a lock (flock exited ${code})`)));
  }).catch((e) => {
    releaseCounts();
    throw e;
  });
  // Once held, the helper must not keep this process alive: it only waits for our stdin to close.
  child.unref();
  for (const s of [child.stdin, child.stdout] as unknown as { unref?: () => void }[]) s?.unref?.();
  return {
    release() {
      releaseCounts();
      child.stdin?.end();
    },
  };
}

/** Runs fn while holding the named locks. */
export async function withLocks<T>(locksDir: string, specs: LockSpec[], fn: () => Promise<T>): Promise<T> {
  const h = await acquire(locksDir, specs);
  try {
    return await fn();
  } finally {
    h.release();
  }
}
