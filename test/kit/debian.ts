// A real Debian root filesystem for the interop suite: mmdebstrap's minbase bookworm, built once and cached.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';

/** The repository's cache directory (gitignored). */
export const CACHE_DIR = path.resolve(__dirname, '../../.cache');

/** Runs a command, resolving with its output; rejects with the tail of stderr when it fails. */
function runAsync(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}:\n${err.split('\n').slice(-30).join('\n')}`)),
    );
  });
}

/** The cache file name for an include set: `debian-bookworm-minbase[+pkg,…].tar`. */
export function debianCacheName(include: string[] = []): string {
  const pkgs = [...new Set(include)].sort();
  return `debian-bookworm-minbase${pkgs.length ? '+' + pkgs.join(',') : ''}.tar`;
}

/**
 * The path of a cached `mmdebstrap --variant=minbase bookworm OUT.tar` (with `--include=…` when asked),
 * building it on first use. The build writes a temporary name and renames it, under an flock(1) lock on
 * OUT.lock, so test files running in parallel build it once and never see a half-written tar.
 * Throws (never skips) when mmdebstrap is missing: the interop suite needs it.
 */
export async function debianRootfs(opts: { include?: string[] } = {}): Promise<string> {
  const include = [...new Set(opts.include ?? [])].sort();
  const out = path.join(CACHE_DIR, debianCacheName(include));
  if (existsSync(out) && statSync(out).size > 0) return out;
  if (spawnSync('sh', ['-c', 'command -v mmdebstrap']).status !== 0) {
    throw new Error('mmdebstrap is not installed: the interop suite needs it (apt-get install -y mmdebstrap)');
  }
  if (spawnSync('sh', ['-c', 'command -v flock']).status !== 0) throw new Error('flock (util-linux) is not installed');
  mkdirSync(CACHE_DIR, { recursive: true });
  const tmp = `${out}.tmp-${process.pid}.tar`;
  const args = ['--variant=minbase', '--quiet', ...(include.length ? [`--include=${include.join(',')}`] : []), 'bookworm', tmp];
  // Inside the lock: another process may have finished while we waited.
  const script = 'out="$1"; tmp="$2"; shift 2; [ -s "$out" ] && exit 0; mmdebstrap "$@" && mv -f "$tmp" "$out"';
  try {
    await runAsync('flock', [`${out}.lock`, 'sh', '-c', script, 'sh', out, tmp, ...args]);
  } finally {
    rmSync(tmp, { force: true });
  }
  if (!existsSync(out)) throw new Error(`mmdebstrap did not produce ${out}`);
  return out;
}
