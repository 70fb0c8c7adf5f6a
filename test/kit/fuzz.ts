import fc from 'fast-check';
import { isCairnError } from '../../dsl/core/errors.js';

/**
 * How long the fuzz targets run. By default a short run for the fast suite (each target's own numRuns, a few
 * seconds for all of them); FUZZ_SCALE=K runs K times that (the stress tier, which CI runs, sets 10: see
 * vitest.config.ts); the long mode is set by the environment: FUZZ_RUNS=N runs every target N times,
 * FUZZ_SECONDS=S runs every target for S seconds (`npm run fuzz`), FUZZ_SEED=N replays a seed printed by an
 * earlier run.
 */
export interface FuzzBudget {
  numRuns: number;
  /** Stop generating after this long (long mode). */
  timeLimitMs?: number;
  /** What the vitest test itself may take: the run plus shrinking. */
  testTimeoutMs: number;
  seed?: number;
}

const env = (name: string): number | undefined => {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, not ${v}`);
  return n;
};

/** True when an environment variable asks for a long fuzz run. */
export const longFuzz = env('FUZZ_RUNS') !== undefined || env('FUZZ_SECONDS') !== undefined;

/** The budget of one target whose short run is shortRuns iterations. */
export function fuzzBudget(shortRuns: number): FuzzBudget {
  const runs = env('FUZZ_RUNS');
  const seconds = env('FUZZ_SECONDS');
  const seed = env('FUZZ_SEED');
  if (seconds !== undefined) {
    return { numRuns: runs ?? Number.MAX_SAFE_INTEGER, timeLimitMs: seconds * 1000, testTimeoutMs: seconds * 1000 + 300_000, seed };
  }
  if (runs !== undefined) return { numRuns: runs, testTimeoutMs: 24 * 3600_000, seed };
  const scale = env('FUZZ_SCALE') ?? 1;
  return { numRuns: Math.ceil(shortRuns * scale), testTimeoutMs: 120_000 * Math.max(1, scale), seed };
}

/** Options of one fuzz run. */
export interface FuzzOptions {
  /** Iterations of the short (default) run. */
  runs: number;
  /** A single iteration taking longer than this is a failure (a hang); async properties only. */
  hangMs?: number;
  /** Known open failures the property tolerates, counted by description (reset here, summed in the log line). */
  openSeen?: Map<string, number>;
}

/**
 * Runs a property under the budget, prints one line `fuzz TARGET: N runs in S s, no failure` and throws
 * fast-check's report (seed, shrunk counterexample, error) when it finds a failure.
 */
export async function fuzz<Ts>(target: string, property: fc.IAsyncProperty<Ts> | fc.IProperty<Ts>, opts: FuzzOptions): Promise<void> {
  const b = fuzzBudget(opts.runs);
  const plugins: fc.UniversalPlugin[] = [];
  if (b.timeLimitMs !== undefined) plugins.push(fc.interruptAfterTimeLimit(b.timeLimitMs));
  if (opts.hangMs !== undefined) plugins.push(fc.timeout(opts.hangMs));
  opts.openSeen?.clear();
  const t0 = performance.now();
  const details = await fc.check(property as fc.IAsyncProperty<Ts>, { numRuns: b.numRuns, seed: b.seed, plugins });
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  // An interrupted run leaves its last iteration going (fast-check cannot stop it): let it end before the
  // file's cleanup, or it writes into directories already removed.
  if (details.interrupted) await new Promise((r) => setTimeout(r, 3000));
  if (details.failed) {
    console.log(`fuzz ${target}: FAILED after ${details.numRuns} runs in ${secs} s (seed ${details.seed})`);
    const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    throw new Error(`fuzz ${target} found a failure: ${cause}\n${fc.defaultReportMessage(details)}`, { cause: details.errorInstance });
  }
  const open = [...(opts.openSeen?.values() ?? [])].reduce((a, b) => a + b, 0);
  const tolerated = open ? `; ${open} known open failure(s) tolerated` : '';
  console.log(`fuzz ${target}: ${details.numRuns} runs in ${secs} s, no failure (seed ${details.seed}${tolerated})`);
}

/** The vitest timeout for a fuzz test whose short run is shortRuns iterations. */
export function fuzzTimeout(shortRuns: number): number {
  return fuzzBudget(shortRuns).testTimeoutMs;
}

/** Rethrows err unless it is a CairnError: the only kind of failure untrusted input may cause. */
export function onlyCairnErrors(err: unknown): void {
  if (!isCairnError(err)) throw err;
}

/** Runs fn and returns its value, or undefined when it throws a CairnError (any other error is rethrown). */
export async function cairnOrValue<T>(fn: () => Promise<T> | T): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    onlyCairnErrors(err);
    return undefined;
  }
}

/** Synchronous cairnOrValue: fn's value, or undefined when it throws a CairnError (any other error is rethrown). */
export function tryCairn<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (err) {
    onlyCairnErrors(err);
    return undefined;
  }
}
