import { existsSync } from 'node:fs';
import path from 'node:path';
import { CairnError } from '../core/errors.js';

const DIRS = ['/usr/bin', '/bin', '/usr/sbin', '/sbin', '/usr/local/bin'];
const found = new Map<string, string>();

/**
 * The absolute path of a host tool. Launchers name their tools by absolute path: the image's PATH, not the
 * host's, is in force when some of them run.
 */
export function hostTool(name: string, pkg: string): string {
  let p = found.get(name);
  if (!p) {
    p = DIRS.map((d) => path.join(d, name)).find((f) => existsSync(f));
    if (!p) throw new CairnError(`${name} is not installed`, { hint: `install ${pkg}` });
    found.set(name, p);
  }
  return p;
}
