// In-process use of the engine through its public API (dsl/index.ts), for tests of what the engine does rather
// than of the CLI's surface: no Node.js start-up per call. test/kit/env.ts sets the variables a call reads.
import { spawn } from 'node:child_process';
import os from 'node:os';
import { inspect, prepareExec, type Container, type ExecOptions } from '../../dsl/index.js';
import { withEnv } from './env.js';

/**
 * True when the engine can run in this process: as root on the host, or inside a normal user's cairn namespace
 * (test/run.sh runs every tier but test/integration/cli inside `cairn unshare`).
 */
export const IN_PROCESS = process.getuid?.() === 0 || !!process.env.CAIRN_USERNS;

/**
 * Mounts a container's tree and returns its path as this process sees it. (Container.mount() returns the path for
 * host tools: for a normal user, through the namespace's pause process, /proc/PID/root/…; this process is inside
 * that namespace already, and the path it needs does not depend on that process.)
 */
export async function mountedTree(c: Container): Promise<string> {
  await c.mount();
  const { mountPoint } = (await inspect(c.id, { root: c.store.paths.root, type: 'container' })) as { mountPoint: string | null };
  if (!mountPoint) throw new Error(`container ${c.name} is mounted but inspect names no mount point`);
  return mountPoint;
}

/** What an image run by execCaptured gave. */
export interface ExecCaptured {
  status: number;
  stdout: string;
  stderr: string;
}

/**
 * `cairn exec` in-process: prepareExec (verify or find in the cache, unpack, plan) through the public API with
 * these environment variables set, then the chain it prepared run by sh with its output captured, as the cairn
 * wrapper evals it (with the caller's environment plus env, which the chain must not pass on).
 */
export async function execCaptured(fileOrUrl: string, opts: ExecOptions, env: Record<string, string | undefined> = {}): Promise<ExecCaptured> {
  const prepared = await withEnv(env, () => prepareExec(fileOrUrl, opts));
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', prepared.text], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, sig) => resolve({ status: code ?? 128 + (sig ? os.constants.signals[sig] : 0), stdout, stderr }));
  });
}
