import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
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

/** Whether another process could take the lock right now (util-linux flock -n, as any other verb would). */
function freeFor(file: string, shared: boolean): boolean {
  return spawnSync('flock', [shared ? '-s' : '-x', '-n', file, 'true']).status === 0;
}

/** Another process (a compiled cairn lock module) holding file until killed; resolves once it holds it. */
function holdElsewhere(file: string, shared = false): Promise<ChildProcess> {
  const code = `import(${JSON.stringify(LOCK_JS)}).then((m) => m.lockFile(${JSON.stringify(file)}, ${shared})).then(() => { console.log('held'); setInterval(() => {}, 1000); });`;
  const c = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
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
    expect(isLocked(f)).toBe(true);
    expect(lockHolders(f)).toEqual([child.pid]);
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
    const f = fresh();
    const holder = await holdElsewhere(f);
    // Enough held locks (150 lines) that /proc/locks takes more than one page, and a lock taken and dropped
    // over and over, so that the kernel's list changes between the pages of one reading.
    const churnDir = mkdtempSync(path.join(dir, 'churn-'));
    const perl = `use Fcntl ':flock'; my @h; for my $i (1..150) { open(my $h, '>>', "$ARGV[0]/h$i") or die; flock($h, LOCK_EX) or die; push @h, $h }
      $| = 1; print "ready\\n"; while (1) { for my $i (1..20) { open(my $c, '>>', "$ARGV[0]/c$i"); flock($c, LOCK_EX); close $c } }`;
    const churn = spawn('perl', ['-e', perl, churnDir], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(churn);
    await new Promise((resolve, reject) => {
      churn.stdout!.once('data', resolve);
      churn.once('exit', (code) => reject(new Error(`churn exited ${code}`)));
    });
    const seen = new Map<string, number>();
    for (let i = 0; i < 1500; i++) {
      const key = JSON.stringify(lockPids(f));
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    // One answer every time: the one PID the kernel names (the holder's lock server), which stands for the holder.
    expect(seen.size).toBe(1);
    expect(JSON.parse([...seen.keys()][0])).toHaveLength(1);
    expect(lockHolders(f)).toEqual([holder.pid]);
    expect(isLocked(f)).toBe(true);
  });
});
