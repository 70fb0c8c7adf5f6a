// The bench's Debian base: mmdebstrap's minbase bookworm as a plain tar, built once and cached.
import { spawnSync } from 'node:child_process';
import { existsSync, linkSync, copyFileSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { log } from './log.mjs';

/** The cached tar's file name inside the cache directory. */
export const DEBIAN_TAR = 'bench-debian.tar';

/** True when file exists and is not empty. */
function present(file) {
  return existsSync(file) && statSync(file).size > 0;
}

/** A minbase bookworm tar the test kit already cached (`debian-bookworm-minbase.tar`, no extra packages), if any. */
function kitTar(cacheDir) {
  if (!existsSync(cacheDir)) return undefined;
  const names = readdirSync(cacheDir).filter((n) => /^debian.*minbase\.tar$/.test(n) && !n.includes('+'));
  return names.map((n) => path.join(cacheDir, n)).find(present);
}

/**
 * Returns the path of `<cacheDir>/bench-debian.tar`, making it on first use: from the test kit's cached
 * minbase tar when there is one (hard link, else copy), else with `mmdebstrap --variant=minbase bookworm`.
 * Written under a temporary name and renamed, inside flock(1) on a lock file, so it is never half-written.
 */
export function debianTar(cacheDir) {
  const out = path.join(cacheDir, DEBIAN_TAR);
  if (present(out)) return out;
  mkdirSync(cacheDir, { recursive: true });
  const tmp = `${out}.tmp-${process.pid}.tar`;
  try {
    const kit = kitTar(cacheDir);
    if (kit) {
      log(`debian: reusing ${kit}`);
      try { linkSync(kit, tmp); } catch { copyFileSync(kit, tmp); }
      renameSync(tmp, out);
      return out;
    }
    if (spawnSync('sh', ['-c', 'command -v mmdebstrap']).status !== 0) {
      throw new Error('mmdebstrap is not installed (apt-get install -y mmdebstrap)');
    }
    log('debian: mmdebstrap --variant=minbase bookworm (once, ~20-60 s)…');
    const script = 'out="$1"; tmp="$2"; [ -s "$out" ] && exit 0; mmdebstrap --variant=minbase --quiet bookworm "$tmp" && mv -f "$tmp" "$out"';
    const r = spawnSync('flock', [`${out}.lock`, 'sh', '-c', script, 'sh', out, tmp], { stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0 || !present(out)) throw new Error(`mmdebstrap failed (exit ${r.status})`);
    return out;
  } finally {
    rmSync(tmp, { force: true });
  }
}
