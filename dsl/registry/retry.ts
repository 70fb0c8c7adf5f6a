/*
 * When a registry request is tried again, and how long to wait first. Pure: the HTTP layer asks these
 * questions, the unit tests answer them without a network.
 */

/** How many times a request is tried in all, and the backoff between tries. */
export interface RetryPolicy {
  /** Tries in all, the first included. */
  attempts: number;
  /** The wait before the second try; each later wait doubles, up to maxMs. */
  baseMs: number;
  maxMs: number;
  /** The longest Retry-After cairn waits for; a registry asking for more gets an error instead. */
  maxRetryAfterMs: number;
}

/** The policy registry calls use: 5 tries, waits of 0.5, 1, 2, 4 s; Retry-After honoured up to a minute. */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseMs: 500, maxMs: 8_000, maxRetryAfterMs: 60_000 };

/** Statuses that say "try again later": request timeout, too many requests, and the server-side 5xx of overload. */
const RETRY_STATUS = new Set([408, 429, 500, 502, 503, 504]);

/** Network failures that a new try may not meet: a connection reset or cut, a timeout, a name lookup that failed for now. */
const RETRY_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNABORTED',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
]);

/** True for an HTTP status worth another try. */
export function retryableStatus(status: number): boolean {
  return RETRY_STATUS.has(status);
}

/** The error code of err or of its cause (undici wraps socket errors). */
export function errorCode(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 4; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string') return e.code;
  }
  return undefined;
}

/** True for a network error worth another try (a refused connection is not: nothing listens there). */
export function retryableError(err: unknown): boolean {
  const code = errorCode(err);
  if (code !== undefined && RETRY_CODES.has(code)) return true;
  // A connection closed before any answer ("other side closed", a bare EOF) has no code of its own.
  return err instanceof Error && /other side closed|socket hang up|\bEOF\b|premature close/i.test(err.message) && code === undefined;
}

/**
 * The wait in ms a Retry-After value asks for (delay seconds or an HTTP date), or undefined when there is
 * none or it cannot be read. A date in the past means no wait.
 */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  if (Number.isNaN(t)) return undefined;
  return Math.max(0, t - now);
}

/**
 * The wait before try number `attempt + 1` (attempt counts from 0 for the first try that failed), or
 * undefined when no try is left or Retry-After asks for longer than the policy allows.
 */
export function retryDelay(attempt: number, policy: RetryPolicy, retryAfter?: string, now = Date.now()): number | undefined {
  if (attempt + 1 >= policy.attempts) return undefined;
  const asked = parseRetryAfter(retryAfter, now);
  if (asked !== undefined) return asked > policy.maxRetryAfterMs ? undefined : asked;
  return Math.min(policy.maxMs, policy.baseMs * 2 ** attempt);
}

/** The retry policy, with the backoff scaled by $CAIRN_REGISTRY_BACKOFF_MS when set (tests shorten the waits). */
export function retryPolicy(env: NodeJS.ProcessEnv = process.env): RetryPolicy {
  const base = env.CAIRN_REGISTRY_BACKOFF_MS;
  if (base === undefined || !/^\d+$/.test(base)) return DEFAULT_RETRY;
  return { ...DEFAULT_RETRY, baseMs: Number(base), maxMs: Math.max(Number(base), Number(base) * 16) };
}
