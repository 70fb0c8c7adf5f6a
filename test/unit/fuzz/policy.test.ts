import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BUILTIN_POLICY_JSON, parsePolicy, type Policy } from '../../../dsl/sign/policy-format.js';
import { dockerScopes, pathScopes, requirementsFor } from '../../../dsl/sign/policy-judge.js';
import { identityString } from '../../../dsl/sign/identity.js';
import { fuzz, fuzzTimeout, tryCairn } from '../../kit/fuzz.js';
import { editJson, jsonEdits, type Json } from '../../kit/fuzz-image.js';

/**
 * The signature policy parser (containers-policy.json(5) plus cairnSigned) under random JSON, random text and
 * damaged valid policies: a Policy or a CairnError, never another exception; a parsed policy answers
 * requirementsFor for any transport and scope without failing.
 */

const KEY_ID = identityString(new Uint8Array(32).fill(7));

/** A policy that uses every requirement type and scope kind. */
const VALID: Json = {
  default: [{ type: 'reject' }],
  transports: {
    tarball: { '': [{ type: 'cairnSigned', unsigned: 'rootfs' }], '/srv/images': [{ type: 'cairnSigned', keyPaths: ['/etc/cairn/a.pub'] }] },
    oci: { '/srv/layouts:app': [{ type: 'insecureAcceptAnything' }], '/srv': [{ type: 'cairnSigned', keyIdentity: KEY_ID }] },
    docker: {
      'quay.io/org': [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: '/k.gpg', signedIdentity: { type: 'matchRepository' } }],
      '*.example.com': [{ type: 'sigstoreSigned', keyData: 'QUJD', rekorPublicKeyPath: '/r.pub' }],
      'docker.io/library/debian:12': [{ type: 'signedBaseLayer', baseLayerIdentity: { type: 'exactRepository', dockerRepository: 'docker.io/x' } }],
    },
    'docker-archive': { '': [{ type: 'reject' }] },
  },
};

/** Asks a parsed policy about every transport it names and a few it does not. */
function ask(p: Policy): void {
  for (const t of [...p.transports.keys(), 'tarball', 'oci', 'docker', 'nope']) {
    const a = requirementsFor(p, t, t === 'docker' ? dockerScopes('quay.io/org/app:1') : pathScopes('/srv/layouts', 'app'));
    expect(Array.isArray(a.requirements) && a.requirements.length > 0, `requirements for ${t}`).toBe(true);
  }
}

/**
 * Failures found by fuzzing that are still open in the policy parser: the random runs tolerate (and count)
 * them, and each is replayed below as an expected failure. Move an entry to FOUND once its fix lands.
 */
const OPEN: { why: string; text: string; matches: (text: string, err: unknown) => boolean }[] = [];
const openSeen = new Map<string, number>();

function parses(text: string, tolerate = true): void {
  let p: Policy | undefined;
  try {
    p = tryCairn(() => parsePolicy(text, 'fuzz.json'));
  } catch (err) {
    const open = tolerate && OPEN.find((o) => o.matches(text, err));
    if (!open) throw err;
    openSeen.set(open.why, (openSeen.get(open.why) ?? 0) + 1);
    return;
  }
  if (p) ask(p);
}

/** Names every plain object answers to: a key of the file that indexes a table must never find one of them. */
const PROTO_NAMES = ['__proto__', 'toString', 'constructor', 'hasOwnProperty', 'valueOf'];

const identity = (type: string): string => `{"default":[{"type":"signedBy","keyType":"GPGKeys","keyPath":"/k","signedIdentity":{"type":${JSON.stringify(type)}}}]}`;

/** Fixed inputs replayed on every run: edge cases, and failures found by fuzzing once fixed (moved from OPEN). */
const FOUND: { why: string; text: string }[] = [
  { why: 'the built-in policy', text: BUILTIN_POLICY_JSON },
  { why: 'a __proto__ transport', text: '{"default":[{"type":"reject"}],"transports":{"__proto__":{"":[{"type":"reject"}]}}}' },
  { why: 'a key with an escaped quote repeated', text: '{"default":[{"type":"reject"}],"a\\"":1,"a\\"":2}' },
  // Found by fuzzing: IDENTITY_FIELDS[type] on a plain object gave Object.prototype's members (a TypeError).
  ...PROTO_NAMES.map((n) => ({ why: `an identity match of type ${JSON.stringify(n)}`, text: identity(n) })),
  ...PROTO_NAMES.map((n) => ({ why: `a baseLayerIdentity of type ${JSON.stringify(n)}`, text: `{"default":[{"type":"signedBaseLayer","baseLayerIdentity":{"type":${JSON.stringify(n)}}}]}` })),
  // The same lookup made `"toString" in PATH_SCOPES` true: a transport cairn does not read had its scopes judged as paths.
  ...PROTO_NAMES.map((n) => ({ why: `a transport named ${JSON.stringify(n)} with a scope that is no path`, text: `{"default":[{"type":"reject"}],"transports":{${JSON.stringify(n)}:{"app:1":[{"type":"reject"}]}}}` })),
];

describe('fuzz: the signature policy parser', () => {
  it('parses the valid fixture', () => {
    ask(parsePolicy(JSON.stringify(VALID), 'valid.json'));
  });

  it.each(FOUND)('replayed: $why', ({ text }) => {
    parses(text, false);
  });

  it.each(PROTO_NAMES)('refuses an identity match of type %j as unknown, in one line', (n) => {
    expect(() => parsePolicy(identity(n), 'p.json')).toThrow(new RegExp(`^signature policy p\\.json: default\\[0\\]\\.signedIdentity: unknown identity match type ${JSON.stringify(n)}$`));
  });

  it.each(PROTO_NAMES)('takes a transport named %j as one cairn does not read: its scopes are not judged', (n) => {
    const p = parsePolicy(`{"default":[{"type":"insecureAcceptAnything"}],"transports":{${JSON.stringify(n)}:{"not/a/path":[{"type":"reject"}]}}}`, 'p.json');
    expect(requirementsFor(p, n, ['not/a/path']).requirements).toEqual([{ type: 'reject' }]);
    expect(requirementsFor(p, 'tarball', pathScopes('/srv/x')).requirements).toEqual([{ type: 'insecureAcceptAnything' }]);
  });

  if (OPEN.length) {
    it.fails.each(OPEN)('found by fuzzing, still open: $why', ({ text }) => {
      parses(text, false);
    });
  }

  it('random JSON gives a Policy or a CairnError', async () => {
    await fuzz('policy (random JSON)', fc.property(fc.jsonValue({ maxDepth: 5 }), (v) => parses(JSON.stringify(v))), { runs: 500, openSeen });
  }, fuzzTimeout(500));

  it('random text gives a Policy or a CairnError', async () => {
    await fuzz('policy (random text)', fc.property(fc.string({ maxLength: 80 }), (s) => parses(s)), { runs: 500, openSeen });
  }, fuzzTimeout(500));

  it('damaged valid policies give a Policy or a CairnError', async () => {
    await fuzz('policy (damaged policies)', fc.property(jsonEdits, fc.boolean(), (e, spaced) => parses(JSON.stringify(editJson(VALID, e), null, spaced ? 1 : 0))), { runs: 1000, openSeen });
  }, fuzzTimeout(1000));
});
