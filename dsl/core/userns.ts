import { readFileSync } from 'node:fs';

/** True when this process runs in the initial user namespace (real root, not a mapped one). */
export function inInitUserNs(): boolean {
  try {
    const map = readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/);
    return map[0] === '0' && map[1] === '0' && map[2] === '4294967295';
  } catch {
    return true;
  }
}

/** True when this process may change mounts and owners: root, or root of a user namespace cairn entered. */
export function isPrivileged(): boolean {
  return process.getuid?.() === 0;
}
