import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The `cairn` command (the wrapper that joins a rootless user's namespace, then the compiled CLI). */
export const CAIRN = path.resolve(__dirname, '../../bin/cairn');

/** The result of one CLI call. */
export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
  /** The signal that ended the call, or null. */
  signal: NodeJS.Signals | null;
}

/** A temporary store root and a function running `cairn --root ROOT …` in it. */
export interface CliKit {
  root: string;
  cairn(args: string[], opts?: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string; timeout?: number }): CliResult;
  /** Like cairn(), without blocking: for calls that must run at the same time. A SIGKILL gives status 137. */
  cairnAsync(args: string[], env?: NodeJS.ProcessEnv): Promise<CliResult>;
  /** Like cairn(), but throws with stderr when the status is not 0; returns trimmed stdout. */
  ok(args: string[], opts?: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string }): string;
  cleanup(): void;
}

/** Makes a CLI kit over a fresh store under the system temp dir. */
export function cliKit(prefix = 'cairn-test-', baseEnv: NodeJS.ProcessEnv = {}): CliKit {
  const root = mkdtempSync(path.join(os.tmpdir(), prefix));
  const cairn: CliKit['cairn'] = (args, opts = {}) => {
    const r: SpawnSyncReturns<string> = spawnSync(CAIRN, ['--root', root, ...args], {
      encoding: 'utf8',
      input: opts.input,
      env: { ...process.env, ...baseEnv, ...opts.env },
      cwd: opts.cwd,
      maxBuffer: 64 * 1024 * 1024,
      timeout: opts.timeout,
      killSignal: 'SIGKILL',
    });
    return { status: r.status ?? 128, stdout: r.stdout, stderr: r.stderr, signal: r.signal };
  };
  const cairnAsync: CliKit['cairnAsync'] = (args, env = {}) =>
    new Promise((resolve) => {
      const child = spawn(CAIRN, ['--root', root, ...args], { env: { ...process.env, ...baseEnv, ...env } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code, sig) => resolve({ status: code ?? (sig === 'SIGKILL' ? 137 : 128), stdout, stderr, signal: sig }));
    });
  return {
    root,
    cairn,
    cairnAsync,
    ok(args, opts) {
      const r = cairn(args, opts);
      if (r.status !== 0) throw new Error(`cairn ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
      return r.stdout.trim();
    },
    cleanup() {
      const script = `grep -F ' ${root}/' /proc/self/mountinfo | cut -d' ' -f5 | sort -r | xargs -r -n1 umount -l; rm -rf '${root}'`;
      // A rootless store holds files of subordinate ids: only the user's namespace may remove them.
      if (process.getuid?.() === 0) spawnSync('sh', ['-c', script]);
      else spawnSync(CAIRN, ['unshare', 'sh', '-c', script]);
      rmSync(root, { recursive: true, force: true });
    },
  };
}
