import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ConflictError } from '../../../dsl/core/errors.js';
import { acquire, isLocked, lockFile, lockHolders, lockPids, lockTimeout } from '../../../dsl/store/lock.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-locks-'));
const LOCK_JS = path.resolve(__dirname, '../../../dist/dsl/store/lock.js');
const children: ChildProcess[] = [];
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  delete process.env.CAIRN_LOCK_TIMEOUT;
});

let n = 0;
const fresh = () => path.join(dir, `l${n++}.lock`);

/** Polls cond (every 10 ms, 5 s at most): true as soon as it holds, false if it never did. */
async function until(cond: () => boolean): Promise<boolean> {
  for (let i = 0; i < 500; i++) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return cond();
}

/** What read() names, read again while it names no one (a reading of /proc/locks can miss a line while other tests' locks come and go). */
async function named(read: () => number[]): Promise<number[]> {
  let r: number[] = [];
  await until(() => (r = read()).length > 0);
  return r;
}

/** Whether another process could take the lock right now (util-linux flock -n, as any other verb would). */
function freeFor(file: string, shared: boolean): boolean {
  return spawnSync('flock', [shared ? '-s' : '-x', '-n', file, 'true']).status === 0;
}

/**
 * Another process (a compiled cairn lock module) holding file until killed; resolves once it holds it. With cpu,
 * it and its lock server run on that CPU only (taskset).
 */
function holdElsewhere(file: string, shared = false, cpu?: string): Promise<ChildProcess> {
  const code = `import(${JSON.stringify(LOCK_JS)}).then((m) => m.lockFile(${JSON.stringify(file)}, ${shared})).then(() => { console.log('held'); setInterval(() => {}, 1000); });`;
  const argv = [process.execPath, '-e', code];
  const c = cpu === undefined ? spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] }) : spawn('taskset', ['-c', cpu, ...argv], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(c);
  return new Promise((resolve, reject) => {
    c.stdout!.once('data', () => resolve(c));
    c.once('exit', (code) => reject(new Error(`holder exited ${code}`)));
  });
}

describe('locks within one process', () => {
  it('keeps the kernel lock until the last of two holders of the same lock releases it', async () => {
    const f = fresh();
    const a = await lockFile(f, false);
    const b = await lockFile(f, false);
    expect(freeFor(f, true)).toBe(false);
    a!();
    a!(); // a second release of the same hold changes nothing
    expect(freeFor(f, true)).toBe(false);
    b!();
    expect(await until(() => freeFor(f, false))).toBe(true);
  });

  it('frees the kernel lock on release even when the event loop is blocked right after (spawnSync)', async () => {
    const f = fresh();
    (await lockFile(f, false))!();
    expect(spawnSync('flock', ['-x', '-w', '5', f, 'true']).status).toBe(0);
  });

  it('lets an exclusive hold cover a shared request, and counts it', async () => {
    const f = fresh();
    const x = await lockFile(f, false);
    const s = await lockFile(f, true);
    x!();
    expect(freeFor(f, true)).toBe(false);
    s!();
    expect(await until(() => freeFor(f, false))).toBe(true);
  });

  it('never lets a shared hold satisfy an exclusive request: that one waits for the kernel', async () => {
    const f = fresh();
    const s = await lockFile(f, true);
    let got = false;
    const x = lockFile(f, false).then((r) => {
      got = true;
      return r;
    });
    // A wrong grant would come from this process's own books, at once: a few turns of the event loop show it.
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(got).toBe(false);
    s!();
    const release = await x;
    expect(got).toBe(true);
    expect(freeFor(f, true)).toBe(false);
    release!();
  });

  it('takes a list of locks in order, a name listed twice once (exclusive if either is)', async () => {
    const h = await acquire(dir, [{ name: 'la', shared: true }, { name: 'lb' }, { name: 'la' }]);
    expect(freeFor(path.join(dir, 'la.lock'), true)).toBe(false);
    expect(freeFor(path.join(dir, 'lb.lock'), true)).toBe(false);
    h.release();
    expect(await until(() => freeFor(path.join(dir, 'la.lock'), false))).toBe(true);
  });

  it('answers a non-blocking attempt at once', async () => {
    const f = fresh();
    const child = await holdElsewhere(f);
    expect(await lockFile(f, false, { wait: false })).toBeUndefined();
    expect(await until(() => isLocked(f))).toBe(true);
    expect(await named(() => lockHolders(f))).toEqual([child.pid]);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(await until(() => freeFor(f, false))).toBe(true);
    const r = await lockFile(f, false, { wait: false });
    expect(r).toBeTypeOf('function');
    r!();
  });
});

describe('a lock held too long', () => {
  it('ends the wait after CAIRN_LOCK_TIMEOUT with one message naming the holder\'s PID', async () => {
    const f = fresh();
    const child = await holdElsewhere(f);
    process.env.CAIRN_LOCK_TIMEOUT = '0.5';
    const t0 = Date.now();
    const err = await lockFile(f, true).catch((e: unknown) => e);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(450);
    expect(err).toBeInstanceOf(ConflictError);
    const e = err as ConflictError;
    expect(e.message).toMatch(new RegExp(`^gave up after 0\\.5 s waiting for the lock l\\d+, held by PID ${child.pid} \\(`));
    expect(e.message).not.toContain('\n');
    expect(e.hint).toContain(`kill ${child.pid}`);
    expect(e.hint).toContain('CAIRN_LOCK_TIMEOUT');
  });

  it('names this very process when it waits on a shared lock it holds itself', async () => {
    const f = fresh();
    const s = await lockFile(f, true);
    process.env.CAIRN_LOCK_TIMEOUT = '0.3';
    const err = (await lockFile(f, false).catch((e: unknown) => e)) as Error;
    expect(err.message).toContain(`PID ${process.pid}`);
    expect(err.message).toContain('this very process');
    s!();
  });

  it('reads the timeout from the environment, 0 meaning forever', () => {
    expect(lockTimeout()).toBe(1800);
    process.env.CAIRN_LOCK_TIMEOUT = '0';
    expect(lockTimeout()).toBe(0);
    process.env.CAIRN_LOCK_TIMEOUT = 'soon';
    expect(() => lockTimeout()).toThrow(/CAIRN_LOCK_TIMEOUT/);
  });
});

describe('naming a lock\'s holders while other locks come and go', () => {
  it('names each holder once, though /proc/locks repeats a line at a page\'s edge when the list changes between reads', async () => {
    // The kernel lists locks CPU by CPU, the newest of each first. The holder and a process that takes 150 locks
    // and drops them, over and over, all on one CPU: the holder's line moves down across the first page's edge
    // and back (a page holds about 70 lines), and the list changes between the pages of one reading.
    const cpu = /^Cpus_allowed_list:\s*(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))![1];
    const f = fresh();
    const holder = await holdElsewhere(f, false, cpu);
    // The one PID the kernel names for the holder (its lock server), read before the churn starts.
    let server: number[] = [];
    expect(await until(() => (server = lockPids(f)).length === 1)).toBe(true);
    const churnDir = mkdtempSync(path.join(dir, 'churn-'));
    const perl = `use Fcntl ':flock'; $| = 1; print "ready\\n"; my @h;
      while (1) { for my $i (1..150) { open(my $h, '>>', "$ARGV[0]/h$i") or die; flock($h, LOCK_EX) or die; push @h, $h } close(pop @h) while @h }`;
    const churn = spawn('taskset', ['-c', cpu, 'perl', '-e', perl, churnDir], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(churn);
    await new Promise((resolve, reject) => {
      churn.stdout!.once('data', resolve);
      churn.once('exit', (code) => reject(new Error(`churn exited ${code}`)));
    });
    let found = 0;
    for (let i = 0; i < 1500; i++) {
      const pids = lockPids(f);
      // Never a PID twice, never another's: at worst a reading misses the line (when both its reads skipped it).
      if (pids.length) {
        expect(pids).toEqual(server);
        found++;
      }
    }
    console.log(`lockPids under churn: the holder named in ${found} of 1500 readings`);
    expect(found).toBeGreaterThan(1200);
    churn.kill('SIGKILL');
    expect(await named(() => lockHolders(f))).toEqual([holder.pid]);
  });
});
