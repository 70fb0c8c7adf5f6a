import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { lockHolders, lockPids } from '../../../dsl/store/lock.js';
import { LOCK_SERVER_PROGRAM } from '../../../dsl/store/lock-server.js';
import { CAIRN, cliKit, type CliKit } from '../../kit/cli.js';
import { tinyRootfsTar } from '../../kit/tiny.js';

/*
 * The lock server (dsl/store/lock-server.ts) as the `cairn` wrapper starts it: in the background, beside the
 * verb, for the verb's PID only; it holds the verb's locks, is named after the verb in /proc/locks, and ends
 * (its locks with it) when the verb ends, whether it took a lock or not.
 */

const dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-lockd-'));
const LOCK_JS = path.resolve(__dirname, '../../../dist/dsl/store/lock.js');
const children: ChildProcess[] = [];
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

/** Polls cond (every 10 ms, 5 s at most): true as soon as it holds, false if it never did. */
async function until(cond: () => boolean): Promise<boolean> {
  for (let i = 0; i < 500; i++) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return cond();
}

/** A process's command name and parent, or undefined once it is gone (a zombie counts as gone). */
function proc(pid: number): { comm: string; ppid: number } | undefined {
  try {
    const m = /^\d+ \((.*)\) (\S) (\d+)/s.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    return m && m[2] !== 'Z' ? { comm: m[1], ppid: Number(m[3]) } : undefined;
  } catch {
    return undefined;
  }
}

/** What read() names, read again while it names no one (a reading of /proc/locks can miss a line while other tests' locks come and go). */
async function named(read: () => number[]): Promise<number[]> {
  let r: number[] = [];
  await until(() => (r = read()).length > 0);
  return r;
}

const free = (file: string) => spawnSync('flock', ['-n', file, 'true']).status === 0;

/**
 * Starts `node -e code` the way the wrapper starts a verb: the server in the background with this shell's PID,
 * then exec (so node keeps that PID), CAIRN_LOCKD naming both; resolves once node printed its first line.
 */
function besideServer(code: string, env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; server: number; line: string }> {
  const script = 'perl -e "$1" $$ </dev/null >/dev/null 2>&1 & export CAIRN_LOCKD="$!:$$"; echo "$!"; exec node -e "$2"';
  const child = spawn('sh', ['-c', script, 'sh', LOCK_SERVER_PROGRAM, code], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  children.push(child);
  let out = '';
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const lines = out.split('\n');
      if (lines.length >= 3) resolve({ child, server: Number(lines[0]), line: lines[1] });
    });
    child.once('exit', (c) => reject(new Error(`exited ${c} before it was ready: ${out}`)));
  });
}

/** Node code: takes an exclusive lock on file with the compiled lock module, prints "held", then waits for stdin to close. */
const holdCode = (file: string) =>
  `import(${JSON.stringify(LOCK_JS)}).then((m) => m.lockFile(${JSON.stringify(file)}, false)).then(() => { console.log('held'); process.stdin.resume(); process.stdin.on('end', () => process.exit(0)); });`;

describe('the lock server beside a verb', () => {
  it('holds the locks the verb takes, named after the verb, and spawns nothing from it', async () => {
    const f = path.join(dir, 'a.lock');
    const { child, server, line } = await besideServer(holdCode(f));
    expect(line).toBe('held');
    expect(free(f)).toBe(false);
    // The kernel sees the server as the holder; the server is the verb's child, and the verb is who is named.
    expect(await named(() => lockPids(f))).toEqual([server]);
    expect(proc(server)).toEqual({ comm: 'cairn-locks', ppid: child.pid });
    expect(await named(() => lockHolders(f))).toEqual([child.pid]);
  });

  it('lets go of every lock when the verb is killed, and ends', async () => {
    const f = path.join(dir, 'b.lock');
    const { child, server } = await besideServer(holdCode(f));
    child.kill('SIGKILL');
    expect(await until(() => free(f))).toBe(true);
    expect(await until(() => proc(server) === undefined)).toBe(true);
  });

  it('ends with its verb when no lock was ever asked for', async () => {
    const { child, server, line } = await besideServer(`console.log('up'); process.stdin.resume(); process.stdin.on('end', () => process.exit(0));`);
    expect(line).toBe('up');
    expect(proc(server)?.comm).toBe('cairn-locks');
    child.stdin!.end();
    expect(await until(() => proc(server) === undefined)).toBe(true);
  });

  it('is not used by a process that inherited CAIRN_LOCKD from its parent: that one starts its own', async () => {
    const f = path.join(dir, 'c.lock');
    // A live server, and CAIRN_LOCKD naming it for another process (this one), as a child of a verb inherits it.
    const { server: theirs } = await besideServer(`console.log('up'); process.stdin.resume();`);
    const code = holdCode(f);
    const child = spawn(process.execPath, ['-e', code], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, CAIRN_LOCKD: `${theirs}:${process.pid}` } });
    children.push(child);
    await new Promise<void>((resolve, reject) => {
      child.stdout!.once('data', () => resolve());
      child.once('exit', (c) => reject(new Error(`holder exited ${c}`)));
    });
    const [own] = await named(() => lockPids(f));
    expect(own).not.toBe(theirs);
    expect(proc(own)).toEqual({ comm: 'cairn-locks', ppid: child.pid });
  });
});

describe('cairn verbs', () => {
  let k: CliKit;
  let tiny: string;
  beforeAll(() => {
    k = cliKit();
    tiny = tinyRootfsTar();
  });
  afterAll(() => k.cleanup());

  it('hold their locks in the server the wrapper started, and a killed verb leaves none', async () => {
    const c = k.ok(['from', `tarball:${tiny}`]);
    const id = JSON.parse(k.ok(['inspect', c])).id as string;
    const lock = path.join(k.root, 'locks', `container-${id}.lock`);
    // A duration no other test uses; the step ends with the verb (its PID namespace).
    const tag = `${700 + (process.pid % 200)}.${Date.now() % 100000}`;
    const verb = spawn(CAIRN, ['--root', k.root, 'run', c, '--', 'sh', '-c', `echo ready; exec sleep ${tag}`], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
    children.push(verb);
    await new Promise<void>((resolve, reject) => {
      verb.stdout!.once('data', () => resolve());
      verb.once('exit', (s) => reject(new Error(`run exited ${s}`)));
    });
    const [server] = await named(() => lockPids(lock));
    expect(proc(server)).toEqual({ comm: 'cairn-locks', ppid: verb.pid });
    expect(await named(() => lockHolders(lock))).toEqual([verb.pid]);
    process.kill(-verb.pid!, 'SIGKILL');
    expect(await until(() => free(lock))).toBe(true);
    expect(await until(() => proc(server) === undefined)).toBe(true);
    expect(existsSync(lock)).toBe(true);
  });
});
