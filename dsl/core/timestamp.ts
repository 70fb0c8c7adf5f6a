import { BadInputError } from './errors.js';

/** Parses an epoch-seconds value (from --timestamp or SOURCE_DATE_EPOCH). */
export function parseEpoch(v: string | number, what = '--timestamp'): number {
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isInteger(n) || n < 0) throw new BadInputError(`invalid ${what} ${JSON.stringify(v)}`, { hint: 'give whole seconds since 1970-01-01 UTC' });
  return n;
}

/** The reproducible-build timestamp: the explicit one, else $SOURCE_DATE_EPOCH, else undefined. */
export function buildTimestamp(explicit?: number): number | undefined {
  if (explicit !== undefined) return explicit;
  const env = process.env.SOURCE_DATE_EPOCH;
  return env ? parseEpoch(env, 'SOURCE_DATE_EPOCH') : undefined;
}

/** An ISO date for the timestamp (now when undefined). */
export function isoDate(ts?: number): string {
  return (ts === undefined ? new Date() : new Date(ts * 1000)).toISOString().replace(/\.000Z$/, 'Z');
}
