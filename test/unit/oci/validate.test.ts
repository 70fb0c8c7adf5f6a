import { describe, expect, it } from 'vitest';
import { BadInputError, isErrorKind } from '../../../dsl/core/errors.js';
import { parseEmbeddedConfig } from '../../../dsl/oci/validate.js';

describe('parseEmbeddedConfig: the one check of a flat file\'s config (tarball: and exec)', () => {
  it('accepts an object whose run config has the OCI types; absent and null fields are fine', () => {
    const c = parseEmbeddedConfig('{"config":{"Env":["A=1"],"Cmd":null,"User":"app","Labels":{"a":"b"}}}', 'L', 'h');
    expect(c.config).toEqual({ Env: ['A=1'], Cmd: null, User: 'app', Labels: { a: 'b' } });
    expect(parseEmbeddedConfig(Buffer.from('{}'), 'L', 'h')).toEqual({});
  });

  it.each([
    ['{', 'L is not JSON', 'not-json'],
    ['null', 'L is not a JSON object', 'malformed'],
    ['[1]', 'L is not a JSON object', 'malformed'],
    ['{"config":"x"}', 'L has an invalid config (must be an object)', 'malformed'],
    ['{"config":{"Env":"A=1"}}', 'L has an invalid config.Env (must be an array of strings)', 'malformed'],
    ['{"config":{"User":7}}', 'L has an invalid config.User (must be a string)', 'malformed'],
    ['{"config":{"Labels":{"a":1}}}', 'L has an invalid config.Labels (must be an object of strings)', 'malformed'],
  ] as const)('refuses %s: %s', (text, message, kind) => {
    let err: unknown;
    try {
      parseEmbeddedConfig(text, 'L', 'the hint');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BadInputError);
    expect(err).toMatchObject({ message, hint: 'the hint' });
    expect(isErrorKind(err, kind)).toBe(true);
  });
});
