import { describe, expect, it } from 'vitest';
import { BadInputError } from '../../../dsl/core/errors.js';
import { formatReference, normalizeName, parseReference, type ImageRef } from '../../../dsl/oci/reference.js';

describe('parseReference', () => {
  it.each<[string, ImageRef]>([
    ['scratch', { transport: 'scratch' }],
    ['alpine', { transport: 'store', name: 'alpine' }],
    ['alpine:3.19', { transport: 'store', name: 'alpine:3.19' }],
    ['localhost:5000/team/app:v1', { transport: 'store', name: 'localhost:5000/team/app:v1' }],
    ['3f2a9c', { transport: 'store', name: '3f2a9c' }],
    [`app@sha256:${'a'.repeat(64)}`, { transport: 'store', name: `app@sha256:${'a'.repeat(64)}` }],
    ['oci:/tmp/layout', { transport: 'oci', dir: '/tmp/layout' }],
    ['oci:/tmp/layout:', { transport: 'oci', dir: '/tmp/layout' }],
    ['oci:./l:v1.0', { transport: 'oci', dir: './l', ref: 'v1.0' }],
    ['oci:l:example.com/app:1', { transport: 'oci', dir: 'l', ref: 'example.com/app:1' }],
    ['oci-archive:/tmp/a.tar:latest', { transport: 'oci-archive', file: '/tmp/a.tar', ref: 'latest' }],
    ['oci-archive:a.tar', { transport: 'oci-archive', file: 'a.tar' }],
    ['docker-archive:/tmp/d.tar', { transport: 'docker-archive', file: '/tmp/d.tar' }],
    ['docker-archive:/tmp/d.tar:busybox:1.36', { transport: 'docker-archive', file: '/tmp/d.tar', ref: 'busybox:1.36' }],
    ['docker-archive:d.tar:quay.io/x/y', { transport: 'docker-archive', file: 'd.tar', ref: 'quay.io/x/y:latest' }],
    ['docker-archive:d.tar:@1', { transport: 'docker-archive', file: 'd.tar', ref: '@1' }],
    ['tarball:/srv/root.tar.gz', { transport: 'tarball', path: '/srv/root.tar.gz' }],
    ['tarball:https://example.com/r.tar', { transport: 'tarball', path: 'https://example.com/r.tar' }],
    ['docker://quay.io/podman/stable:latest', { transport: 'docker', ref: 'quay.io/podman/stable:latest' }],
    [`docker://localhost:5000/a@sha256:${'0'.repeat(64)}`, { transport: 'docker', ref: `localhost:5000/a@sha256:${'0'.repeat(64)}` }],
  ])('%s', (s, want) => {
    expect(parseReference(s)).toEqual(want);
  });

  it.each([
    '',
    'Alpine',
    'alpine:',
    'alpine:bad tag',
    'a//b',
    '-lead',
    'x@sha256:1234',
    'oci:',
    'oci::ref',
    'oci:dir:bad ref!',
    'oci-archive:a.tar:../x',
    'docker-archive:',
    'docker-archive:d.tar:@x',
    'docker-archive:d.tar:@-1',
    `docker-archive:d.tar:x@sha256:${'a'.repeat(64)}`,
    'docker-archive:d.tar:UPPER:1',
    'tarball:',
    'docker://',
    'docker:alpine',
    'docker://Bad/Name',
    'dir:/tmp/x',
    'containers-storage:alpine',
    'a'.repeat(256),
  ])('refuses %j', (s) => {
    expect(() => parseReference(s)).toThrow(BadInputError);
  });

  it.each([
    'scratch',
    'localhost/x:1',
    'oci:/tmp/l:ref',
    'oci-archive:/a.tar',
    'docker-archive:/d.tar:a/b:c',
    'docker-archive:/d.tar:@0',
    'tarball:/x.tar',
    'docker://h.io/r:t',
  ])('formats %s back to itself', (s) => {
    expect(formatReference(parseReference(s))).toBe(s);
  });
});

describe('normalizeName', () => {
  it.each([
    ['alpine', 'localhost/alpine:latest'],
    ['alpine:3', 'localhost/alpine:3'],
    ['a/b:1', 'localhost/a/b:1'],
    ['quay.io/x/y', 'quay.io/x/y:latest'],
    ['localhost/x', 'localhost/x:latest'],
    ['localhost:5000/x:2', 'localhost:5000/x:2'],
    ['docker.io/library/debian:12', 'docker.io/library/debian:12'],
    [`x@sha256:${'b'.repeat(64)}`, `localhost/x@sha256:${'b'.repeat(64)}`],
  ])('%s → %s', (i, o) => {
    expect(normalizeName(i)).toBe(o);
  });
  it('refuses an invalid name', () => {
    expect(() => normalizeName('UP/per')).toThrow(BadInputError);
  });
});
