import { describe, expect, it } from 'vitest';
import { cacheLocation } from '../../../dsl/dockerfile/cache-records.js';
import { BadInputError } from '../../../dsl/core/errors.js';

/* Which --cache-from/--cache-to values name a registry repository (as buildah takes them) and which a directory. */
describe('cacheLocation', () => {
  it.each([
    ['docker://127.0.0.1:5000/cache', { repo: '127.0.0.1:5000/cache' }],
    ['127.0.0.1:5000/cache/app', { repo: '127.0.0.1:5000/cache/app' }],
    ['quay.io/team/cache', { repo: 'quay.io/team/cache' }],
    ['localhost/cache', { repo: 'localhost/cache' }],
    ['docker://debian-cache', { repo: 'debian-cache' }],
    ['oci:quay.io/team/cache', { dir: 'quay.io/team/cache' }],
    ['./quay.io/cache', { dir: './quay.io/cache' }],
    ['/var/cache/steps', { dir: '/var/cache/steps' }],
    ['build/cache', { dir: 'build/cache' }],
    ['cache.d', { dir: 'cache.d' }],
    ['~/cache', { dir: '~/cache' }],
  ])('%s', (text, want) => {
    expect(cacheLocation(text)).toEqual(want);
  });

  it.each(['docker://127.0.0.1:5000/cache:v1', 'quay.io/team/cache:latest', 'quay.io/team/cache@sha256:' + '0'.repeat(64), 'docker://', 'docker://Quay.io/Cache'])(
    'refuses %s: a repository takes no tag, and must be a valid name',
    (text) => {
      expect(() => cacheLocation(text)).toThrow(BadInputError);
    },
  );
});
