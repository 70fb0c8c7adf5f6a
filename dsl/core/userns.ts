import { readFileSync } from 'node:fs';
import { CairnError } from './errors.js';

let initNs: boolean | undefined;

/**
 * True when this process runs in the initial user namespace (real root, not a mapped one): its uid_map maps
 * the whole id space onto itself. A uid_map that cannot be read throws: guessing "real root" would mount
 * sysfs and run the chain as if privileged where it is not. `file` is for tests; the answer for
 * /proc/self/uid_map is read once (it cannot change for a process).
 */
export function inInitUserNs(file = '/proc/self/uid_map'): boolean {
  const self = file === '/proc/self/uid_map';
  if (self && initNs !== undefined) return initNs;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new CairnError(`cannot tell which user namespace cairn runs in: ${file} cannot be read (${why})`, {
      hint: 'cairn needs /proc mounted and readable (mount -t proc proc /proc)',
      cause: err,
    });
  }
  const map = text.trim().split(/\s+/);
  const answer = map[0] === '0' && map[1] === '0' && map[2] === '4294967295';
  if (self) initNs = answer;
  return answer;
}

/** True when this process may change mounts and owners: root, or root of a user namespace cairn entered. */
export function isPrivileged(): boolean {
  return process.getuid?.() === 0;
}
