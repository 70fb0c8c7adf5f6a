import { BadInputError } from './errors.js';

/** The last second an RFC 3339 date can carry (9999-12-31T23:59:59Z): image configs write 4-digit years. */
const MAX_EPOCH = 253402300799;

/**
 * Parses an epoch-seconds value (from --timestamp or SOURCE_DATE_EPOCH): decimal digits only, as buildah
 * parses it (no sign, exponent, hex or spaces), up to year 9999. Anything else is a BadInputError naming `what`.
 */
export function parseEpoch(v: string | number, what = '--timestamp'): number {
  const n = typeof v === 'number' ? v : /^[0-9]+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < 0 || n > MAX_EPOCH) {
    throw new BadInputError(`invalid ${what} ${JSON.stringify(v)}`, { hint: 'give whole seconds since 1970-01-01 UTC (at most 253402300799)' });
  }
  return n;
}

/**
 * The reproducible-build timestamp: the explicit one, else $SOURCE_DATE_EPOCH (a bad value is refused, as
 * buildah refuses it), else undefined. The one reader of SOURCE_DATE_EPOCH.
 */
export function buildTimestamp(explicit?: number, env: NodeJS.ProcessEnv = process.env): number | undefined {
  if (explicit !== undefined) return explicit;
  const v = env.SOURCE_DATE_EPOCH;
  return v ? parseEpoch(v, 'SOURCE_DATE_EPOCH') : undefined;
}

/** An ISO date for the timestamp (now when undefined). */
export function isoDate(ts?: number): string {
  return (ts === undefined ? new Date() : new Date(ts * 1000)).toISOString().replace(/\.000Z$/, 'Z');
}

/**
 * Orders two ISO 8601 dates, oldest first, by the instant they name (not by collation: localeCompare loads ICU's
 * collator on first use, tens of milliseconds of a verb's start-up).
 */
export function compareIsoDates(a: string, b: string): number {
  return Date.parse(a) - Date.parse(b);
}
