// Finding and removing mounts left below a directory (overlay mounts of either tool).
import { spawnSync } from 'node:child_process';
import path from 'node:path';

/** The mount points at or below dir, deepest first (from /proc/self/mountinfo). */
export function mountsUnder(dir) {
  const root = path.resolve(dir);
  const r = spawnSync('findmnt', ['-rn', '-o', 'TARGET'], { encoding: 'utf8' });
  const targets = (r.stdout || '').split('\n').map((l) => l.replace(/\\x20/g, ' ')).filter(Boolean);
  return targets.filter((t) => t === root || t.startsWith(root + '/')).sort((a, b) => b.length - a.length);
}

/** Unmounts everything mounted at or below dir (lazily when a plain umount fails); returns how many. */
export function unmountUnder(dir) {
  let n = 0;
  for (let pass = 0; pass < 3; pass++) {
    const ms = mountsUnder(dir);
    if (ms.length === 0) break;
    for (const m of ms) {
      const r = spawnSync('umount', [m], { stdio: 'ignore' });
      if (r.status !== 0) spawnSync('umount', ['-l', m], { stdio: 'ignore' });
      n++;
    }
  }
  return n;
}
