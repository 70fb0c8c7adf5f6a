/**
 * Runs f over items, at most n at a time, in order of starting. After a failure no new item starts; the
 * first error is thrown once the items already running have settled (nothing of the call outlives it).
 */
export async function forEachLimit<T>(items: readonly T[], n: number, f: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const workers = Array.from({ length: Math.max(1, Math.min(n, items.length)) }, async () => {
    while (!failed && next < items.length) {
      try {
        await f(items[next++]);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  });
  await settleAll(workers);
}

/** Waits for every one of jobs to settle, then throws the first error among them, if any (nothing outlives the call). */
export async function settleAll(jobs: readonly Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(jobs);
  const bad = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (bad) throw bad.reason;
}
