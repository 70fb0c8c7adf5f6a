import { describe, expect, it } from 'vitest';
import { BadInputError } from '../../../dsl/core/errors.js';
import { buildTimestamp, isoDate, parseEpoch, compareIsoDates } from '../../../dsl/core/timestamp.js';

describe('parseEpoch', () => {
  it.each([
    ['0', 0],
    ['1700000000', 1700000000],
    ['253402300799', 253402300799],
    [42, 42],
  ])('accepts %j', (v, want) => {
    expect(parseEpoch(v)).toBe(want);
  });

  it.each(['', ' 1', '1 ', '-1', '+1', '1e3', '0x10', '1.5', 'abc', '253402300800', '99999999999999999999', -1, 1.5, NaN])('refuses %j with one BadInputError line', (v) => {
    expect(() => parseEpoch(v as string | number, 'SOURCE_DATE_EPOCH')).toThrow(BadInputError);
    expect(() => parseEpoch(v as string | number, 'SOURCE_DATE_EPOCH')).toThrow(new RegExp(`^invalid SOURCE_DATE_EPOCH ${JSON.stringify(v).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
  });
});

describe('buildTimestamp: the one reader of SOURCE_DATE_EPOCH', () => {
  it('the explicit value wins, then the environment, else undefined', () => {
    expect(buildTimestamp(5, { SOURCE_DATE_EPOCH: '7' })).toBe(5);
    expect(buildTimestamp(undefined, { SOURCE_DATE_EPOCH: '7' })).toBe(7);
    expect(buildTimestamp(undefined, {})).toBeUndefined();
    expect(buildTimestamp(undefined, { SOURCE_DATE_EPOCH: '' })).toBeUndefined();
  });

  it('a bad SOURCE_DATE_EPOCH is refused, as buildah refuses it (never ignored)', () => {
    expect(() => buildTimestamp(undefined, { SOURCE_DATE_EPOCH: 'yesterday' })).toThrow(BadInputError);
    expect(() => buildTimestamp(undefined, { SOURCE_DATE_EPOCH: 'yesterday' })).toThrow('invalid SOURCE_DATE_EPOCH "yesterday"');
  });

  it('reads process.env by default', () => {
    const old = process.env.SOURCE_DATE_EPOCH;
    process.env.SOURCE_DATE_EPOCH = '86400';
    try {
      expect(buildTimestamp()).toBe(86400);
    } finally {
      if (old === undefined) delete process.env.SOURCE_DATE_EPOCH;
      else process.env.SOURCE_DATE_EPOCH = old;
    }
  });

  it('isoDate writes whole seconds as RFC 3339', () => {
    expect(isoDate(0)).toBe('1970-01-01T00:00:00Z');
    expect(isoDate(253402300799)).toBe('9999-12-31T23:59:59Z');
  });
});

describe('compareIsoDates', () => {
  it('orders by the instant, whatever the fraction of a second is written as', () => {
    const dates = ['2026-12-02T04:56:16.500Z', '1970-01-01T00:00:00Z', '2026-12-02T04:56:16Z', '2026-12-02T04:56:15.999Z'];
    expect([...dates].sort(compareIsoDates)).toEqual(['1970-01-01T00:00:00Z', '2026-12-02T04:56:15.999Z', '2026-12-02T04:56:16Z', '2026-12-02T04:56:16.500Z']);
  });
});
