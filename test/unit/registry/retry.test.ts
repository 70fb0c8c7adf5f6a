import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY, parseRetryAfter, retryableError, retryableStatus, retryDelay, retryPolicy } from '../../../dsl/registry/retry.js';

const err = (code?: string, message = 'x') => Object.assign(new Error(message), code ? { code } : {});

describe('retry policy', () => {
  it.each([
    [429, true], [500, true], [502, true], [503, true], [504, true], [408, true],
    [200, false], [401, false], [403, false], [404, false], [416, false], [501, false],
  ])('status %i retryable: %s', (status, want) => {
    expect(retryableStatus(status)).toBe(want);
  });

  it('retries resets, timeouts and early ends; not refusals or TLS failures', () => {
    expect(retryableError(err('ECONNRESET'))).toBe(true);
    expect(retryableError(err('UND_ERR_SOCKET', 'other side closed'))).toBe(true);
    expect(retryableError(err('UND_ERR_BODY_TIMEOUT'))).toBe(true);
    expect(retryableError(Object.assign(new Error('fetch failed'), { cause: err('ETIMEDOUT') }))).toBe(true);
    expect(retryableError(err(undefined, 'socket hang up'))).toBe(true);
    expect(retryableError(err('ECONNREFUSED'))).toBe(false);
    expect(retryableError(err('DEPTH_ZERO_SELF_SIGNED_CERT'))).toBe(false);
    expect(retryableError(err(undefined, 'registry sent bytes that do not match'))).toBe(false);
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:10 GMT', now)).toBe(10_000);
    expect(parseRetryAfter('Tue, 31 Dec 2024 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  it('backs off exponentially, honours Retry-After within bounds, and stops after the last try', () => {
    const p = { attempts: 4, baseMs: 100, maxMs: 300, maxRetryAfterMs: 5000 };
    expect([0, 1, 2].map((a) => retryDelay(a, p))).toEqual([100, 200, 300]);
    expect(retryDelay(3, p)).toBeUndefined();
    expect(retryDelay(0, p, '2')).toBe(2000);
    expect(retryDelay(0, p, '60')).toBeUndefined();
    expect(retryPolicy({})).toBe(DEFAULT_RETRY);
    expect(retryPolicy({ CAIRN_REGISTRY_BACKOFF_MS: '10' })).toMatchObject({ baseMs: 10, attempts: DEFAULT_RETRY.attempts });
  });
});
