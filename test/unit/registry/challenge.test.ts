import { describe, expect, it } from 'vitest';
import { parseChallenges, type Challenge } from '../../../dsl/registry/challenge.js';

describe('parseChallenges', () => {
  it.each<[string, Challenge[]]>([
    ['Bearer realm="https://auth.docker.io/token",service="registry.docker.io"', [{ scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io' } }]],
    [
      'Bearer realm="https://r/token",service="r",scope="repository:a/b:pull,push",error="insufficient_scope"',
      [{ scheme: 'bearer', params: { realm: 'https://r/token', service: 'r', scope: 'repository:a/b:pull,push', error: 'insufficient_scope' } }],
    ],
    ['Basic realm="cairn-test"', [{ scheme: 'basic', params: { realm: 'cairn-test' } }]],
    ['basic REALM=x', [{ scheme: 'basic', params: { realm: 'x' } }]],
    [
      'Basic realm="a, b", Bearer realm="https://t", service=s',
      [
        { scheme: 'basic', params: { realm: 'a, b' } },
        { scheme: 'bearer', params: { realm: 'https://t', service: 's' } },
      ],
    ],
    ['Bearer realm="say \\"hi\\""', [{ scheme: 'bearer', params: { realm: 'say "hi"' } }]],
    ['Negotiate abc123==, Basic realm="r"', [{ scheme: 'negotiate', params: {} }, { scheme: 'basic', params: { realm: 'r' } }]],
    ['', []],
    ['Bearer realm="unterminated', [{ scheme: 'bearer', params: {} }]],
  ])('%s', (header, want) => {
    expect(parseChallenges(header)).toEqual(want);
  });
});
