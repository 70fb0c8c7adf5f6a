import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAIRN, cliKit, type CliKit } from '../../kit/cli.js';
import { flatFile, testKey } from '../../kit/flat.js';
import { tinyRootfsTar } from '../../kit/tiny.js';

/*
 * Every local user can read every process's command line (/proc/PID/cmdline): an environment value or a
 * secret's content must never be in one, for `run` (launcher, reaper, command) and for `exec` (the chain and
 * the service, for as long as it runs).
 */

/** The command lines (NULs as spaces) of every process on the host but those in skip, holding any of needles. */
function leaks(needles: string[], skip: number[]): string[] {
  const out: string[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || skip.includes(Number(e))) continue;
    let cmd: string;
    try {
      cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      continue;
    }
    if (needles.some((n) => cmd.includes(n))) out.push(`${e}: ${cmd}`);
  }
  return out;
}

/** Starts cairn ARGS; resolves once its command printed a line starting with "ready" (that line returned). */
async function started(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; line: string; err: () => string }> {
  const child = spawn(CAIRN, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const m = out.match(/^ready.*\n/m);
      if (m) resolve(m[0].trim());
    });
    child.on('exit', () => reject(new Error(`cairn ended before its command was ready: ${err}`)));
  });
  return { child, line, err: () => err };
}

async function stop(child: ChildProcess): Promise<void> {
  const done = new Promise((resolve) => child.on('exit', resolve));
  child.kill('SIGTERM');
  await done;
}

const mark = (what: string) => `${what}-${randomish()}`;
const randomish = () => `${process.pid}x${Math.floor(Math.random() * 1e9)}`;

describe('cairn run keeps env values and secrets out of every argv', () => {
  let k: CliKit;
  let dir: string;
  beforeAll(() => {
    k = cliKit();
    dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-argv-'));
  });
  afterAll(() => {
    k.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('config Env, --env and --secret reach the command, never a command line', async () => {
    const [cfg, flag, content] = [mark('cfgvalue'), mark('flagvalue'), mark('secretcontent')];
    const secret = path.join(dir, 'token');
    writeFileSync(secret, content, { mode: 0o600 });
    const c = k.ok(['from', `tarball:${tinyRootfsTar()}`]);
    k.ok(['config', '--env', `CFG=${cfg}`, c]);
    const { child, line, err } = await started([
      '--root', k.root, 'run', '-e', `FLAG=${flag}`, '-e', 'odd.name=1', '--secret', `id=tok,src=${secret}`, c, '--',
      'sh', '-c', 'echo ready "$CFG" "$FLAG" "$(cat /run/secrets/tok)"; exec sleep 600',
    ]);
    try {
      expect(line).toBe(`ready ${cfg} ${flag} ${content}`);
      // cairn's own command line holds what its caller gave it (-e FLAG=…); nothing it starts does.
      expect(leaks([cfg, flag, content], [child.pid!, process.pid])).toEqual([]);
      expect(err()).toBe('');
    } finally {
      await stop(child);
    }
  });

  it('a name no shell could export (odd.name) reaches the command too: no shell evaluates the environment', () => {
    const c = k.ok(['from', `tarball:${tinyRootfsTar()}`]);
    const out = k.ok(['run', '-e', 'odd.name=1', '-e', "quote'd=a'b", c, '--', 'env']);
    expect(out.split('\n')).toEqual(expect.arrayContaining(['odd.name=1', "quote'd=a'b"]));
  });
});

describe('cairn exec keeps env values out of every argv', () => {
  let dir: string;
  let store: string;
  let img: string;
  let key: ReturnType<typeof testKey>;
  const cfg = mark('cfgvalue');
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-argv-exec-'));
    store = path.join(dir, 'store');
    key = testKey(dir);
    img = await flatFile(path.join(dir, 'img.tar.gz'), { key, config: { architecture: 'amd64', os: 'linux', config: { Env: ['PATH=/bin', `CFG=${cfg}`] } } });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('neither the chain nor the service shows the environment', async () => {
    const flag = mark('flagvalue');
    const { child, line } = await started(
      ['--root', store, 'exec', '--key', key.pubFile, '-e', `FLAG=${flag}`, img, '--', 'sh', '-c', 'echo ready "$CFG" "$FLAG" "$CALLER"; exec sleep 600'],
      { XDG_CONFIG_HOME: path.join(dir, 'config'), CALLER: 'leak' },
    );
    try {
      expect(line).toBe(`ready ${cfg} ${flag}`);
      // cairn replaced itself by the chain: not even its own PID shows -e FLAG=… any more.
      expect(leaks([cfg, flag], [process.pid])).toEqual([]);
    } finally {
      await stop(child);
    }
  });
});
