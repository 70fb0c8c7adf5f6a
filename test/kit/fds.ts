import { readdirSync, readlinkSync } from 'node:fs';

/** How many descriptors of this process are open on file (counting them all would race with the test runner's own). */
export function fdsOn(file: string): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === file;
    } catch {
      return false;
    }
  }).length;
}
