import type { PendingEntry } from '../dsl/index.js';
import type { ChangedPath } from './types.js';

/** What a step changed: the pending changes after it against those before it, biggest first. */
export function changesBetween(before: readonly PendingEntry[], after: readonly PendingEntry[]): ChangedPath[] {
  const was = new Map(before.map((e) => [e.path, e]));
  const out: ChangedPath[] = [];
  for (const e of after) {
    const b = was.get(e.path);
    was.delete(e.path);
    if (b && b.stamp === e.stamp && b.kind === e.kind) continue;
    const kind = e.kind === 'D' ? 'D' : !b ? e.kind : b.kind === 'D' ? 'A' : 'C';
    out.push({ kind, path: e.path, size: e.kind === 'D' ? 0 : e.size });
  }
  // Pending before, gone after: the step deleted what an earlier step added (or put back what it deleted).
  for (const b of was.values()) out.push({ kind: b.kind === 'D' ? 'A' : 'D', path: b.path, size: 0 });
  return out.sort((x, y) => y.size - x.size || x.path.localeCompare(y.path));
}
