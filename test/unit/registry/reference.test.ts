import { describe, expect, it } from 'vitest';
import { BadInputError } from '../../../dsl/core/errors.js';
import { dockerStoreName } from '../../../dsl/image/resolve.js';
import { apiHost, formatRegistryRef, manifestReference, parseRegistryRef, policyScopes, storeName, type RegistryRef } from '../../../dsl/registry/reference.js';

const D = `sha256:${'a'.repeat(64)}`;

describe('parseRegistryRef', () => {
  it.each<[string, RegistryRef]>([
    ['debian', { registry: 'docker.io', repository: 'library/debian', tag: 'latest' }],
    ['debian:bookworm', { registry: 'docker.io', repository: 'library/debian', tag: 'bookworm' }],
    ['team/app', { registry: 'docker.io', repository: 'team/app', tag: 'latest' }],
    ['docker.io/debian', { registry: 'docker.io', repository: 'library/debian', tag: 'latest' }],
    ['index.docker.io/library/debian:12', { registry: 'docker.io', repository: 'library/debian', tag: '12' }],
    ['quay.io/x/y', { registry: 'quay.io', repository: 'x/y', tag: 'latest' }],
    ['localhost/app:1', { registry: 'localhost', repository: 'app', tag: '1' }],
    ['127.0.0.1:5000/a/b/c:v1.2', { registry: '127.0.0.1:5000', repository: 'a/b/c', tag: 'v1.2' }],
    [`reg:5000/app@${D}`, { registry: 'reg:5000', repository: 'app', digest: D }],
    [`reg:5000/app:1@${D}`, { registry: 'reg:5000', repository: 'app', tag: '1', digest: D }],
  ])('%s', (text, want) => {
    expect(parseRegistryRef(text)).toEqual(want);
  });

  it.each(['', 'UPPER/case', 'app:bad tag', 'app@sha256:short', 'reg:5000/'])('refuses %j', (text) => {
    expect(() => parseRegistryRef(text)).toThrow(BadInputError);
  });

  it('formats, names and addresses what it parsed', () => {
    const r = parseRegistryRef(`reg:5000/app:1@${D}`);
    expect(formatRegistryRef(r)).toBe(`reg:5000/app:1@${D}`);
    expect(manifestReference(r)).toBe(D);
    expect(manifestReference(parseRegistryRef('reg:5000/app'))).toBe('latest');
    expect(storeName(r)).toBe('reg:5000/app:1');
    expect(apiHost('docker.io')).toBe('registry-1.docker.io');
    expect(apiHost('reg:5000')).toBe('reg:5000');
  });

  it('gives the store name the resolver looks an image up by', () => {
    for (const t of ['debian', 'debian:12', 'index.docker.io/team/app', '127.0.0.1:5000/a/b:1']) expect(dockerStoreName(t)).toBe(storeName(parseRegistryRef(t)));
    expect(dockerStoreName(`reg/app@${D}`)).toBeUndefined();
  });

  it('lists the policy scopes from the most specific', () => {
    expect(policyScopes(parseRegistryRef('a.example.com:5000/ns/app:1'))).toEqual([
      'a.example.com:5000/ns/app:1',
      'a.example.com:5000/ns/app',
      'a.example.com:5000/ns',
      'a.example.com:5000',
      '*.example.com',
      '*.com',
    ]);
  });
});
