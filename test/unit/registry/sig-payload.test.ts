import { describe, expect, it } from 'vitest';
import { ATOMIC_TYPE, COSIGN_TYPE, atomicPayload, cosignPayload, parsePayload, PayloadError } from '../../../dsl/registry/simple-signing.js';

const D = `sha256:${'ab'.repeat(32)}`;

describe('signature payloads', () => {
  it('lays out a sigstore payload as cosign does, byte for byte', () => {
    expect(cosignPayload('reg:5000/app:1', D).toString()).toBe(
      `{"critical":{"identity":{"docker-reference":"reg:5000/app:1"},"image":{"docker-manifest-digest":"${D}"},"type":"cosign container image signature"},"optional":null}`,
    );
  });

  it('lays out an OpenPGP payload as containers/image does, byte for byte', () => {
    expect(atomicPayload('reg:5000/app:1', D, 'cairn', 1700000000).toString()).toBe(
      `{"critical":{"type":"atomic container signature","image":{"docker-manifest-digest":"${D}"},"identity":{"docker-reference":"reg:5000/app:1"}},"optional":{"creator":"cairn","timestamp":1700000000}}`,
    );
  });

  it('reads back what it writes', () => {
    expect(parsePayload(cosignPayload('reg/app:1', D), COSIGN_TYPE)).toEqual({ type: COSIGN_TYPE, digest: D, dockerReference: 'reg/app:1' });
    expect(parsePayload(atomicPayload('reg/app:1', D, 'skopeo', 5), ATOMIC_TYPE)).toEqual({ type: ATOMIC_TYPE, digest: D, dockerReference: 'reg/app:1', creator: 'skopeo', timestamp: 5 });
  });

  const critical = (extra: Record<string, unknown> = {}, type = ATOMIC_TYPE) => ({ type, image: { 'docker-manifest-digest': D }, identity: { 'docker-reference': 'r/a:1' }, ...extra });
  it.each<[string, unknown, string]>([
    ['not JSON', 'nope', ATOMIC_TYPE],
    ['an array', [], ATOMIC_TYPE],
    ['no optional (OpenPGP)', { critical: critical() }, ATOMIC_TYPE],
    ['an unknown top-level field', { critical: critical(), optional: {}, extra: 1 }, ATOMIC_TYPE],
    ['an unknown critical field', { critical: critical({ more: 1 }), optional: {} }, ATOMIC_TYPE],
    ['the other type', { critical: critical({}, COSIGN_TYPE), optional: null }, ATOMIC_TYPE],
    ['a sigstore type given to OpenPGP', { critical: critical(), optional: null }, COSIGN_TYPE],
    ['a digest that is not a string', { critical: { ...critical(), image: { 'docker-manifest-digest': 5 } }, optional: {} }, ATOMIC_TYPE],
    ['an identity with another field', { critical: { ...critical(), identity: { 'docker-reference': 'x', more: 1 } }, optional: {} }, ATOMIC_TYPE],
    ['no identity', { critical: { type: ATOMIC_TYPE, image: { 'docker-manifest-digest': D } }, optional: {} }, ATOMIC_TYPE],
  ])('refuses a payload with %s', (_name, doc, type) => {
    const bytes = Buffer.from(typeof doc === 'string' ? doc : JSON.stringify(doc));
    expect(() => parsePayload(bytes, type)).toThrow(PayloadError);
  });
});
