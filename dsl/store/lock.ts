import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BadInputError, CairnError, ConflictError } from '../core/errors.js';
import { warn } from '../core/events.js';
import { lockServer } from './lock-server.js';
import { makeDirsSync } from '../core/fsutil.js';

/*
 * Kernel file locks (flock(2)), held for this process by its lock server (lock-server.ts: one small perl
 * process, which ends with this one for any reason, SIGKILL included, and the kernel drops its locks then),
 * so a killed verb never leaves a lock behind.
 *
 * Within one process a lock is re-entrant: holders of the same file in the same mode share one kernel lock,
 * counted, and the kernel lock goes only with the last of them. An exclusive holder also covers shared
 * requests; a shared holder never covers an exclusive request (that one waits in the kernel, like any other
 * process would, until every shared holder is gone).
 */

/** One lock to take: a name below the store's locks directory, shared or exclusive. */
export interface LockSpec {
  name: string;
  shared?: boolean;
}

/** A set of held locks; release() frees them (a second call does nothing). */
export interface Held {
  release(): void;
}

/** How long a verb waits for a lock by default: long enough for any honest step, short of forever. */
const DEFAULT_TIMEOUT = 1800;

/** Seconds a verb waits for a lock before it fails ($CAIRN_LOCK_TIMEOUT, default 1800; 0 waits forever). */
export function lockTimeout(): number {
  const v = process.env.CAIRN_LOCK_TIMEOUT;
  if (v === undefined || v.trim() === '') return DEFAULT_TIMEOUT;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new BadInputError(`invalid CAIRN_LOCK_TIMEOUT ${JSON.stringify(v)}`, { hint: 'give a number of seconds (0 waits forever)' });
  return n;
}

/** One kernel lock of this process and how many holders share it. */
interface Entry {
  key: string;
  file: string;
  shared: boolean;
  count: number;
  ready: Promise<void>;
  /** Releases the kernel lock (at the lock server), once held. */
  release?: () => void;
}

const table = new Map<string, Entry>();

function keyOf(file: string, shared: boolean): string {
  return (shared ? 'S ' : 'X ') + file;
}

/** Thrown (internally) when a non-blocking attempt finds the lock taken. */
class Busy extends Error {}

/** A /proc file's text, for naming a lock's holders in a message only: undefined when it cannot be read (best effort). */
function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** The parent PID and command name of a process, from /proc. */
function procStat(pid: number): { comm: string; ppid: number } | undefined {
  const s = readText(`/proc/${pid}/stat`);
  const m = s && /^\d+ \((.*)\) \S+ (\d+)/s.exec(s);
  return m ? { comm: m[1], ppid: Number(m[2]) } : undefined;
}

function major(dev: number): number {
  return Math.floor(dev / 256) & 0xfff | (Math.floor(dev / 2 ** 32) & ~0xfff);
}
function minor(dev: number): number {
  return (dev & 0xff) | (Math.floor(dev / 4096) & ~0xff);
}

/**
 * PIDs /proc/locks gives for the flock(2) locks held on file (matched by device and inode, else inode alone),
 * each once. The kernel hands /proc/locks out a page a read and walks its list anew for each page, so a lock
 * taken or dropped meanwhile elsewhere repeats or skips a line at a page's edge: the file is read twice and
 * what either read names counts.
 */
export function lockPids(file: string): number[] {
  let st;
  try {
    st = statSync(file);
  } catch {
    // No lock file, no holder.
    return [];
  }
  const exact = new Set<number>();
  const byInode = new Set<number>();
  for (const text of [readText('/proc/locks'), readText('/proc/locks')]) {
    for (const line of (text ?? '').split('\n')) {
      const f = line.trim().split(/\s+/);
      // Waiters are listed as `N: -> FLOCK …`: only holders count.
      if (f.length < 6 || f[1] !== 'FLOCK') continue;
      const [maj, min, ino] = f[5].split(':');
      if (ino !== String(st.ino)) continue;
      const pid = Number(f[4]);
      byInode.add(pid);
      if (parseInt(maj, 16) === major(st.dev) && parseInt(min, 16) === minor(st.dev)) exact.add(pid);
    }
  }
  return [...(exact.size ? exact : byInode)];
}

/** True when anyone holds a kernel lock on file right now (as /proc/locks tells; false without /proc). */
export function isLocked(file: string): boolean {
  return lockPids(file).length > 0;
}

/**
 * The cairn process behind a lock holder: a lock held by a lock server (`cairn-locks`, or one of its waiting
 * children) or by a `flock` helper belongs to the process that started it. Undefined when it is gone.
 */
function ownerOf(pid: number): number | undefined {
  let s = pid > 0 ? procStat(pid) : undefined;
  for (let i = 0; s && i < 3 && (s.comm === 'cairn-locks' || s.comm === 'flock') && s.ppid > 1; i++) {
    pid = s.ppid;
    s = procStat(pid);
  }
  return s ? pid : undefined;
}

/**
 * The live processes holding a kernel lock on file, each named by the cairn process behind it (ownerOf). Empty
 * when nothing (known) holds it, or there is no /proc.
 */
export function lockHolders(file: string): number[] {
  // A lock taken by a shell's `flock FD` names that flock, gone since: only live holders are worth naming.
  const owners = lockPids(file).flatMap((pid) => {
    const o = ownerOf(pid);
    return o === undefined ? [] : [o];
  });
  return [...new Set(owners)];
}

/** "PID 123 (cairn run c1 -- make)" for the holders of file, else what the lock file last recorded. */
export function describeHolders(file: string): { pids: number[]; text: string } {
  let pids = lockHolders(file);
  if (pids.length === 0) {
    const recorded = Number((readText(file) ?? '').trim());
    if (recorded > 0) pids = [recorded];
  }
  if (pids.length === 0) return { pids, text: 'another process' };
  const text = pids
    .map((pid) => {
      const cmd = (readText(`/proc/${pid}/cmdline`) ?? '').split('\0').filter(Boolean).join(' ');
      const self = pid === process.pid ? ', this very process' : '';
      return `PID ${pid}` + (cmd ? ` (${cmd.length > 100 ? cmd.slice(0, 97) + '...' : cmd}${self})` : self ? ` (${self.slice(2)})` : '');
    })
    .join(', ');
  return { pids, text };
}

/** Takes the kernel lock of e through the lock server; resolves once it is held. */
async function takeKernelLock(e: Entry, wait: boolean): Promise<void> {
  const timeout = wait ? lockTimeout() : 0;
  const name = path.basename(e.file).replace(/\.lock$/, '');
  const slow = wait ? setTimeout(() => warn(`waiting for the lock ${name}, held by ${describeHolders(e.file).text}`), 3000) : undefined;
  slow?.unref();
  const { reply, release } = await lockServer()
    .take(e.file, e.shared, wait, timeout)
    .finally(() => slow && clearTimeout(slow));
  if (reply.kind === 'busy') throw new Busy();
  if (reply.kind === 'err') throw new CairnError(`cannot take the lock ${name}: ${reply.message}`, { hint: reply.hint ?? 'check the store\'s locks directory' });
  if (reply.kind === 'timeout') {
    const { pids, text } = describeHolders(e.file);
    const end = pids.length ? `end it (kill ${pids.join(' ')}) if it is stuck` : 'find the process holding it (fuser, or /proc/locks) and end it if it is stuck';
    throw new ConflictError(`gave up after ${timeout} s waiting for the lock ${name}, held by ${text}`, {
      hint: `let it finish, or ${end}; CAIRN_LOCK_TIMEOUT=SECONDS waits longer (0: forever)`,
    });
  }
  e.release = release;
  // Who holds it, for the message of anyone who waits too long (shared holders leave the file alone).
  if (!e.shared) {
    try {
      writeFileSync(e.file, `${process.pid}\n`);
    } catch {
      /* only a courtesy */
    }
  }
}

/** Joins entry e as one more holder; resolves to its release once the kernel lock is held. */
async function join(e: Entry): Promise<() => void> {
  e.count++;
  try {
    await e.ready;
  } catch (err) {
    e.count--;
    throw err;
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--e.count > 0) return;
    if (table.get(e.key) === e) table.delete(e.key);
    // Written at once (not on a later turn of the event loop, which a spawnSync right after would block: the
    // server would keep the lock that very child waits for).
    e.release?.();
  };
}

/**
 * Takes a kernel lock on file (shared or exclusive), waiting up to lockTimeout(); resolves to its release.
 * With wait false it does not wait: undefined when another process holds the lock, or this one holds it
 * shared and exclusive is asked (this process's own exclusive hold is re-entrant, as always).
 */
export async function lockFile(file: string, shared: boolean, opts: { wait?: boolean } = {}): Promise<(() => void) | undefined> {
  const wait = opts.wait ?? true;
  const exclusive = table.get(keyOf(file, false));
  if (exclusive) return join(exclusive);
  const key = keyOf(file, shared);
  const have = table.get(key);
  if (have) return join(have);
  if (!shared && table.has(keyOf(file, true)) && !wait) return undefined;
  makeDirsSync(path.dirname(file));
  const e: Entry = { key, file, shared, count: 0, ready: Promise.resolve() };
  e.ready = takeKernelLock(e, wait);
  if (wait) {
    // Registered while it waits, so that other holders of this process join it rather than queue behind it.
    table.set(key, e);
    e.ready.catch(() => {
      if (table.get(key) === e) table.delete(key);
    });
    return join(e);
  }
  try {
    await e.ready;
  } catch (err) {
    if (err instanceof Busy) return undefined;
    throw err;
  }
  if (!table.has(key)) table.set(key, e);
  return join(e);
}

/** The lock file of a lock name (names are letters, digits, `.`, `_` and `-`). */
export function lockPath(locksDir: string, name: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new CairnError(`invalid lock name ${name}`);
  return path.join(locksDir, name + '.lock');
}

/** Takes the named locks in the order given (a name listed twice is taken once, exclusive if either is). */
export async function acquire(locksDir: string, specs: LockSpec[]): Promise<Held> {
  const wanted = new Map<string, boolean>();
  for (const s of specs) wanted.set(s.name, (wanted.get(s.name) ?? true) && !!s.shared);
  const releases: (() => void)[] = [];
  const release = () => {
    for (const r of releases.splice(0).reverse()) r();
  };
  try {
    for (const [name, shared] of wanted) releases.push((await lockFile(lockPath(locksDir, name), shared))!);
  } catch (err) {
    release();
    throw err;
  }
  return { release };
}

/** Takes one named lock only if it is free right now (see lockFile); undefined when it is not. */
export async function tryAcquire(locksDir: string, spec: LockSpec): Promise<Held | undefined> {
  const r = await lockFile(lockPath(locksDir, spec.name), !!spec.shared, { wait: false });
  return r && { release: r };
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
