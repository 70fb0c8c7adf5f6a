import { describe, expect, it } from 'vitest';
import { healthcheckTimes, parseDuration } from '../../../dsl/dockerfile/healthcheck.js';
import { parseDockerfile } from '../../../dsl/dockerfile/parse.js';

/** HEALTHCHECK's options as Docker takes them: Go durations in ns, retries a whole number, bad values one clear line. */

const instr = (line: string) => parseDockerfile(`FROM a\n${line}\n`, 'Dockerfile').stages[0].instructions[0];

describe('parseDuration', () => {
  it.each([
    ['0', 0], ['30s', 30e9], ['1m30s', 90e9], ['1.5h', 5400e9], ['300ms', 300e6], ['2us', 2000], ['2µs', 2000], ['10ns', 10], ['1h2m3s4ms', 3723.004e9], ['.5s', 5e8],
  ])('%s is %d ns', (text, ns) => expect(parseDuration(text)).toBe(ns));

  it.each(['', '10', '5x', 's', '1m 30s', '-1s', '1d', '1.s.'])('%j is not a duration', (text) => expect(parseDuration(text)).toBeUndefined());
});

describe('healthcheckTimes', () => {
  it('gives the config fields, leaving out zeros', () => {
    expect(healthcheckTimes(instr('HEALTHCHECK --interval=5s --timeout=0 --start-period=1m --start-interval=2s --retries=0 CMD true'))).toEqual({ Interval: 5e9, StartPeriod: 60e9, StartInterval: 2e9 });
    expect(healthcheckTimes(instr('HEALTHCHECK --retries=3 CMD ["true"]'))).toEqual({ Retries: 3 });
  });

  it.each([
    ['HEALTHCHECK --interval=5 CMD true', 'Dockerfile:2:13: HEALTHCHECK --interval=5 is not a duration'],
    ['HEALTHCHECK --timeout=999us CMD true', 'Dockerfile:2:13: HEALTHCHECK --timeout=999us is shorter than 1ms'],
    ['HEALTHCHECK --retries=1.5 CMD true', 'Dockerfile:2:13: HEALTHCHECK --retries=1.5 is not a whole number ≥ 0'],
    ['HEALTHCHECK --interval=5s NONE', 'Dockerfile:2:13: HEALTHCHECK NONE takes no options (--interval)'],
  ])('%s is refused', (line, message) => expect(() => healthcheckTimes(instr(line))).toThrow(message));
});
