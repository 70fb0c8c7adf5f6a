import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { CairnError } from './errors.js';

function unescapeMountinfo(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Mount points of this process's mount namespace. */
export function mountPoints(): Set<string> {
  const out = new Set<string>();
  try {
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const f = line.split(' ');
      if (f.length > 4) out.add(unescapeMountinfo(f[4]));
    }
  } catch {
    /* no /proc: nothing is known to be mounted */
  }
  return out;
}

/** True when dir is a mount point in this mount namespace. */
export function isMountPoint(dir: string): boolean {
  return mountPoints().has(dir);
}

/** Runs a host command to completion, collecting stderr; rejects with its last line on failure. */
export function runTool(cmd: string, args: string[], opts: { cwd?: string; what?: string; hint?: string } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', (e) => reject(new CairnError(`${opts.what ?? cmd}: ${e.message}`, { hint: opts.hint ?? `install ${cmd}` })));
    child.on('close', (code) => {
      if (code === 0) return resolve(out);
      const last = err.trim().split('\n').pop() || `${cmd} exited ${code}`;
      reject(new CairnError(`${opts.what ?? cmd} failed: ${last}`, { hint: opts.hint }));
    });
  });
}

/** Unmounts dir (lazily, so a shell left inside it does not block the verb). */
export async function unmount(dir: string): Promise<void> {
  if (!isMountPoint(dir)) return;
  await runTool('umount', ['-l', dir], { what: `unmounting ${dir}` });
}
