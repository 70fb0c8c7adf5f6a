import { describe, expect, it } from 'vitest';
import { identityMatches, namedOf, parseNamed, type IdentityMatch } from '../../../dsl/registry/identity-match.js';
import { parseRegistryRef } from '../../../dsl/registry/reference.js';

const D = `sha256:${'c'.repeat(64)}`;
const E = `sha256:${'e'.repeat(64)}`;

describe('parseNamed', () => {
  it.each([
    ['busybox', { name: 'docker.io/library/busybox' }],
    ['busybox:1', { name: 'docker.io/library/busybox', tag: '1' }],
    ['reg:5000/a/b', { name: 'reg:5000/a/b' }],
    [`reg.io/a@${D}`, { name: 'reg.io/a', digest: D }], ['team/a', { name: 'docker.io/team/a' }],
  ])('%s', (text, want) => expect(parseNamed(text)).toEqual(want));
  it('refuses what is not a reference', () => expect(parseNamed('Not A Ref')).toBeUndefined());
});

describe('signedIdentity', () => {
  const M = (type: string, extra: Record<string, string> = {}) => ({ type, ...extra }) as IdentityMatch;
  it.each<[string, IdentityMatch, string, string, boolean]>([
    ['exact: same tag', M('matchExact'), 'reg/app:1', 'reg/app:1', true],
    ['exact: other tag', M('matchExact'), 'reg/app:1', 'reg/app:2', false],
    ['exact: repository-only signature', M('matchExact'), 'reg/app:1', 'reg/app', false],
    ['exact: normalized Hub names', M('matchExact'), 'docker.io/library/busybox:1', 'busybox:1', true],
    ['repoDigestOrExact: tag pulls want the tag', M('matchRepoDigestOrExact'), 'reg/app:1', 'reg/app:2', false],
    ['repoDigestOrExact: same tag', M('matchRepoDigestOrExact'), 'reg/app:1', 'reg/app:1', true],
    ['repoDigestOrExact: digest pulls want the repository', M('matchRepoDigestOrExact'), `reg/app@${D}`, 'reg/app:7', true],
    ['repoDigestOrExact: digest pull, other repository', M('matchRepoDigestOrExact'), `reg/app@${D}`, 'reg/other:7', false],
    ['repository: any tag', M('matchRepository'), 'reg/app:1', 'reg/app:9', true],
    ['repository: repository-only signature', M('matchRepository'), 'reg/app:1', 'reg/app', true],
    ['repository: other host', M('matchRepository'), 'reg/app:1', 'other/app:1', false],
    ['exactReference: what the policy names', M('exactReference', { dockerReference: 'prod/app:1' }), 'reg/app:1', 'prod/app:1', true],
    ['exactReference: not the pulled one', M('exactReference', { dockerReference: 'prod/app:1' }), 'reg/app:1', 'reg/app:1', false],
    ['exactRepository: any tag of it', M('exactRepository', { dockerRepository: 'prod/app' }), 'reg/app:1', 'prod/app:3', true],
    ['exactRepository: other repository', M('exactRepository', { dockerRepository: 'prod/app' }), 'reg/app:1', 'prod/api:3', false],
    ['remap: mirror to origin', M('remapIdentity', { prefix: 'mirror:5000/ns', signedPrefix: 'origin.io/ns' }), 'mirror:5000/ns/app:1', 'origin.io/ns/app:1', true],
    ['remap: the mirror name is no longer accepted', M('remapIdentity', { prefix: 'mirror:5000/ns', signedPrefix: 'origin.io/ns' }), 'mirror:5000/ns/app:1', 'mirror:5000/ns/app:1', false],
    ['remap: prefix must end at a component', M('remapIdentity', { prefix: 'mirror:5000/ns', signedPrefix: 'origin.io/ns' }), 'mirror:5000/nsx/app:1', 'mirror:5000/nsx/app:1', true],
    ['a signed reference that is not one', M('matchRepository'), 'reg/app:1', 'BAD REF', false],
  ])('%s', (_n, match, pulled, signed, want) => {
    expect(identityMatches(match, namedOf(parseRegistryRef(pulled)), signed)).toBe(want);
  });

  it('compares a pulled reference with tag and digest by repository (it is pinned)', () => {
    expect(identityMatches({ type: 'matchRepoDigestOrExact' }, namedOf(parseRegistryRef(`reg/app:1@${D}`)), `reg/app@${E}`)).toBe(true);
  });
});
