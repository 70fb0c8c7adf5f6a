/*
 * Crash injection for the crash harness: a verb run with CAIRN_CRASH_AT=NAME dies by SIGKILL when it reaches
 * the point NAME, exactly as a power cut or an OOM kill would end it there. Points are named
 * `area.object.moment` (store.record.before-rename). Read once at start-up, so a point costs one comparison.
 */

const at = process.env.CAIRN_CRASH_AT || undefined;

/** Kills this process with SIGKILL when CAIRN_CRASH_AT equals name; does nothing otherwise. */
export function crashPoint(name: string): void {
  if (at !== undefined && at === name) process.kill(process.pid, 'SIGKILL');
}

/** True when CAIRN_CRASH_AT names this point (for work that cannot call crashPoint itself, such as a worker's). */
export function crashArmed(name: string): boolean {
  return at === name;
}
