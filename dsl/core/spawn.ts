import { CairnError } from './errors.js';

/** What a finished command gave: its exit code (128+N when killed by signal N), stdout, stderr. */
export interface CommandResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/** Options of runCommand. */
export interface CommandOptions {
  cwd?: string;
  /** Bytes for its stdin (else stdin is /dev/null). */
  input?: string | Buffer;
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 };

/**
 * Runs a host command to completion, collecting stdout and stderr; resolves whatever its exit code. Rejects
 * with the spawn error itself (code ENOENT when the command is not installed) when it cannot be started.
 */
export async function runCommand(cmd: string, args: string[], o: CommandOptions = {}): Promise<CommandResult> {
  // Loaded on first use: most verbs never start a host tool, and node:child_process costs start-up time.
  const { spawn } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: o.cwd, stdio: [o.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.stderr!.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolve({ code: code ?? 128 + (SIGNALS[signal ?? 'SIGKILL'] ?? 9), stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() });
    });
    if (child.stdin) {
      child.stdin.on('error', () => undefined);
      child.stdin.end(o.input);
    }
  });
}

/**
 * Runs a host tool to completion and resolves to its stdout; a CairnError with its last stderr line when it
 * fails, or naming `what` and the package to install when it cannot be started.
 */
export async function runTool(cmd: string, args: string[], opts: { cwd?: string; what?: string; hint?: string } = {}): Promise<string> {
  let r: CommandResult;
  try {
    r = await runCommand(cmd, args, { cwd: opts.cwd });
  } catch (e) {
    throw new CairnError(`${opts.what ?? cmd}: ${(e as Error).message}`, { hint: opts.hint ?? `install ${cmd}`, cause: e });
  }
  if (r.code === 0) return r.stdout.toString();
  const last = r.stderr.trim().split('\n').pop() || `${cmd} exited ${r.code}`;
  throw new CairnError(`${opts.what ?? cmd} failed: ${last}`, { hint: opts.hint });
}
