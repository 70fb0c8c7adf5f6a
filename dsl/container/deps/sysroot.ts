import { promises as fs } from 'node:fs';
import path from 'node:path';
import { CairnError } from '../../core/errors.js';
import { InRoot } from '../../layer/inroot.js';

/** The host path of in-root path `p` (symlinks followed inside root by the in-root resolver); null when missing. */
export async function resolveIn(root: string, p: string): Promise<string | null> {
  if (root === '/') return fs.realpath(p).catch(() => null);
  try {
    return await InRoot.with(root, (r) => {
      const loc = r.locate(p, { follow: true });
      return loc.stat ? path.join(root, loc.rel) : null;
    });
  } catch (err) {
    if (err instanceof CairnError) return null;
    throw err;
  }
}

/** The in-root path of host path real below root. */
export function rootRel(root: string, real: string): string {
  return root === '/' ? real : '/' + path.relative(root, real).split(path.sep).join('/');
}
