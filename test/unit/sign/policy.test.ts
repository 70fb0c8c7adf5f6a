// The signature policy: the parser (containers-policy.json(5) plus cairnSigned), scope lookup, the
// judgement, and judging real flat files against real keys.
import { createReadStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BadInputError, NotFoundError } from '../../../dsl/core/errors.js';
import { BUILTIN_POLICY_JSON, builtinPolicy, duplicateKey, parsePolicy, type CairnSigned } from '../../../dsl/sign/policy-format.js';
import { dockerScopes, judgeFlat, judgeUnsignable, pathScopes, requirementsFor, type JudgeMode, type SignatureFacts } from '../../../dsl/sign/policy-judge.js';
import { judgeFile } from '../../../dsl/flat/judge.js';
import { fileScopes, loadPolicy, policyFile, tarballRequirements, userPolicyFile } from '../../../dsl/sign/trust.js';
import { flatFile, installLocalKey, testKey } from '../../kit/flat.js';
import { tmp } from '../../kit/bali.js';
import { restoreEnv } from '../../kit/env.js';

const saved = { ...process.env };
afterEach(() => {
  restoreEnv(saved);
});

const dir = tmp('cairn-policy-');
const A = testKey(dir, 'a');
const B = testKey(dir, 'b');
const pemB64 = (file: string) => readFileSync(file).toString('base64');
const j = (v: unknown) => JSON.stringify(v);
const accept = [{ type: 'insecureAcceptAnything' }];

describe('parsePolicy: valid files', () => {
  it.each([
    ['the smallest policy', { default: accept }],
    ['skopeo\'s default-policy.json', { default: accept, transports: { 'docker-daemon': { '': accept } } }],
    ['every requirement type c/image knows, with every identity match', {
      default: [{ type: 'reject' }],
      transports: {
        docker: {
          'example.com/prod': [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: '/k.gpg', signedIdentity: { type: 'matchRepository' } }],
          'example.com/x:1': [{ type: 'signedBy', keyType: 'signedByGPGKeys', keyPaths: ['/a', '/b'], signedIdentity: { type: 'exactReference', dockerReference: 'e.com/x:1' } }],
          [`example.com/y@sha256:${'a'.repeat(64)}`]: [{ type: 'signedBy', keyType: 'X509Certificates', keyData: 'bm9uc2Vuc2U=', signedIdentity: { type: 'remapIdentity', prefix: 'a.com', signedPrefix: 'b.com' } }],
          '*.redhat.com': [{ type: 'sigstoreSigned', keyPath: '/c.pub', signedIdentity: { type: 'matchRepoDigestOrExact' } }],
          'quay.io': [{ type: 'sigstoreSigned', fulcio: { caPath: '/ca', oidcIssuer: 'https://x', subjectEmail: 'a@b' }, rekorPublicKeyPath: '/r.pub' }],
          'localhost:5000/ns': [{ type: 'signedBaseLayer', baseLayerIdentity: { type: 'exactRepository', dockerRepository: 'r.com/base' } }],
        },
        dir: { '': accept, '/srv/images': [{ type: 'reject' }] },
        atomic: { 'whatever goes': accept }, // a transport cairn does not read: its scopes are not judged
      },
    }],
    ['cairnSigned in every key form', {
      default: accept,
      transports: {
        tarball: {
          '': [{ type: 'cairnSigned' }],
          '/srv/a': [{ type: 'cairnSigned', keyPath: A.pubFile }],
          '/srv/b': [{ type: 'cairnSigned', keyPaths: [A.pubFile, B.pubFile], unsigned: 'reject' }],
          '/srv/c': [{ type: 'cairnSigned', keyData: pemB64(B.pubFile) }],
          '/srv/d': [{ type: 'cairnSigned', keyIdentity: A.id }],
          '/srv/e': [{ type: 'cairnSigned', keyIdentities: [A.id, B.id.toLowerCase()], unsigned: 'rootfs' }],
        },
        oci: { '/srv/layouts:v1': [{ type: 'reject' }], '/srv/layouts': accept },
        'oci-archive': { '/srv/x.tar': accept },
        'docker-archive': { '/srv/y.tar:app:1': accept },
      },
    }],
  ])('accepts %s', (_name, v) => {
    const p = parsePolicy(j(v), '/etc/cairn/policy.json');
    expect(p.source).toBe('/etc/cairn/policy.json');
    expect(p.default.length).toBeGreaterThan(0);
  });

  it('accepts the built-in policy, and resolves cairnSigned keys at parse time', () => {
    expect(builtinPolicy().transports.get('tarball')?.get('')).toEqual([{ type: 'cairnSigned', keys: { kind: 'trusted' }, unsigned: 'rootfs' }]);
    const p = parsePolicy(j({ default: [{ type: 'cairnSigned', keyData: pemB64(B.pubFile) }], transports: { tarball: { '/x': [{ type: 'cairnSigned', keyIdentity: A.id }] } } }), 'p');
    expect((p.default[0] as CairnSigned).keys).toMatchObject({ kind: 'keys', keys: [{ id: B.id, source: 'keyData' }] });
    expect((p.transports.get('tarball')!.get('/x')![0] as CairnSigned).keys).toMatchObject({ kind: 'keys', keys: [{ id: A.id }] });
    expect(JSON.parse(BUILTIN_POLICY_JSON).transports.tarball['']).toEqual([{ type: 'cairnSigned', unsigned: 'rootfs' }]);
  });
});

describe('parsePolicy: invalid files refuse the whole file with one line', () => {
  const bad: [string, string, RegExp][] = [
    ['not JSON', '{"default": [', /is not valid JSON/],
    ['an array', '[]', /is not a JSON object/],
    ['no default', j({ transports: {} }), /has no "default" requirements/],
    ['an unknown top-level field', j({ default: accept, defaults: accept }), /unknown top-level field "defaults"/],
    ['a duplicated field', '{"default": [{"type": "reject"}], "default": [{"type": "insecureAcceptAnything"}]}', /field "default" appears twice/],
    ['a duplicated scope', '{"default": [{"type": "reject"}], "transports": {"tarball": {"/a": [{"type": "reject"}], "/a": [{"type": "insecureAcceptAnything"}]}}}', /field "\/a" appears twice/],
    ['a duplicated requirement field', '{"default": [{"type": "reject", "type": "insecureAcceptAnything"}]}', /field "type" appears twice/],
    ['empty requirements', j({ default: [] }), /default must not be empty/],
    ['requirements that are not a list', j({ default: { type: 'reject' } }), /default must be an array/],
    ['an unknown requirement type', j({ default: [{ type: 'signedByCosign' }] }), /default\[0\]: unknown policy requirement type "signedByCosign"/],
    ['a requirement without type', j({ default: [{}] }), /unknown policy requirement type undefined/],
    ['a field on insecureAcceptAnything', j({ default: [{ type: 'insecureAcceptAnything', keyPath: '/k' }] }), /unknown field "keyPath"/],
    ['signedBy without a key', j({ default: [{ type: 'signedBy', keyType: 'GPGKeys' }] }), /exactly one of keyPath, keyPaths, keyData must be given/],
    ['signedBy with two keys', j({ default: [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: '/a', keyData: 'eA==' }] }), /exactly one of .* \(got keyPath, keyData\)/],
    ['signedBy with a bad keyType', j({ default: [{ type: 'signedBy', keyType: 'PGP', keyPath: '/a' }] }), /invalid keyType "PGP"/],
    ['sigstoreSigned with two key sources', j({ default: [{ type: 'sigstoreSigned', keyPath: '/a', keyPaths: ['/b'] }] }), /exactly one of keyPath, keyPaths, keyData, keyDatas, fulcio, pki/],
    ['an unknown identity match', j({ default: [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: '/a', signedIdentity: { type: 'matchAnything' } }] }), /unknown identity match type "matchAnything"/],
    ['exactReference without its reference', j({ default: [{ type: 'sigstoreSigned', keyPath: '/a', signedIdentity: { type: 'exactReference' } }] }), /dockerReference must be a non-empty string/],
    ['cairnSigned with a relative keyPath', j({ default: [{ type: 'cairnSigned', keyPath: 'keys/a.pem' }] }), /keyPath must be an absolute path/],
    ['cairnSigned with empty keyPaths', j({ default: [{ type: 'cairnSigned', keyPaths: [] }] }), /keyPaths must be a non-empty array/],
    ['cairnSigned with two key sources', j({ default: [{ type: 'cairnSigned', keyPath: '/a', keyIdentity: 'c' }] }), /at most one of keyPath, keyPaths, keyData, keyIdentity, keyIdentities/],
    ['cairnSigned with keyData not base64', j({ default: [{ type: 'cairnSigned', keyData: '-----BEGIN PUBLIC KEY-----' }] }), /keyData must be the base64 of a public key PEM/],
    ['cairnSigned with keyData not a key', j({ default: [{ type: 'cairnSigned', keyData: Buffer.from('hello').toString('base64') }] }), /keyData: no PEM "PUBLIC KEY" block/],
    ['cairnSigned with a mistyped identity', j({ default: [{ type: 'cairnSigned', keyIdentity: A.id.slice(0, -1) + (A.id.endsWith('A') ? 'B' : 'A') }] }), /wrong checksum|bad base32/],
    ['cairnSigned with an unknown field', j({ default: [{ type: 'cairnSigned', keyType: 'GPGKeys' }] }), /unknown field "keyType"/],
    ['cairnSigned with a bad "unsigned"', j({ default: [{ type: 'cairnSigned', unsigned: 'accept' }] }), /unsigned must be "reject" or "rootfs"/],
    ['a relative tarball scope', j({ default: accept, transports: { tarball: { 'images/a.tar': accept } } }), /"images\/a.tar" is not an absolute path/],
    ['the "/" scope', j({ default: accept, transports: { oci: { '/': accept } } }), /"\/" is not a scope; use ""/],
    ['a scope with a trailing slash', j({ default: accept, transports: { tarball: { '/srv/': accept } } }), /is not a normalized path/],
    ['a scope with ..', j({ default: accept, transports: { 'oci-archive': { '/srv/../etc': accept } } }), /is not a normalized path/],
    ['an oci scope with an empty reference', j({ default: accept, transports: { oci: { '/srv/l:': accept } } }), /has an empty reference/],
    ['a docker scope with a scheme', j({ default: accept, transports: { docker: { 'https://quay.io': accept } } }), /is not a docker: scope/],
    ['a docker scope with a bad wildcard', j({ default: accept, transports: { docker: { 'quay*.io': accept } } }), /is not a docker: scope/],
    ['transports that are not an object', j({ default: accept, transports: [] }), /"transports" must be an object/],
    ['scopes that are not an object', j({ default: accept, transports: { tarball: accept } }), /transports.tarball must be an object of scopes/],
  ];
  it.each(bad)('%s', (_name, text, re) => {
    let err: unknown;
    try {
      parsePolicy(text, '/p.json');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BadInputError);
    const e = err as BadInputError;
    expect(e.message).toMatch(/^signature policy \/p\.json: /);
    expect(e.message).toMatch(re);
    expect(e.message).not.toContain('\n');
    expect(e.hint).toMatch(/docs\/signing\.md/);
  });

  it('duplicateKey looks at keys only, through strings with quotes and escapes', () => {
    expect(duplicateKey('{"a": "\\"a\\"", "b": {"a": 1}, "c": ["a", "a"]}')).toBeUndefined();
    expect(duplicateKey('{"a": {}, "b": [{"x": 1}, {"x": 2}], "\\u0061": 1}')).toBe('a');
  });
});

describe('scopes', () => {
  it('pathScopes: the path (with :ref first), then each parent, never "/"', () => {
    expect(pathScopes('/srv/img/a.tar')).toEqual(['/srv/img/a.tar', '/srv/img', '/srv']);
    expect(pathScopes('/srv/layout', 'v1')).toEqual(['/srv/layout:v1', '/srv/layout', '/srv']);
  });

  it('dockerScopes: reference, repository, namespaces, host, wildcard domains (as c/image)', () => {
    expect(dockerScopes('registry.access.redhat.com/ns/app:1.0')).toEqual([
      'registry.access.redhat.com/ns/app:1.0',
      'registry.access.redhat.com/ns/app',
      'registry.access.redhat.com/ns',
      'registry.access.redhat.com',
      '*.access.redhat.com',
      '*.redhat.com',
      '*.com',
    ]);
    expect(dockerScopes('localhost:5000/a@sha256:' + 'b'.repeat(64))).toEqual(['localhost:5000/a@sha256:' + 'b'.repeat(64), 'localhost:5000/a', 'localhost:5000']);
  });

  it('requirementsFor takes the most specific scope, then the transport\'s "", then the default', () => {
    const p = parsePolicy(
      j({
        default: [{ type: 'reject' }],
        transports: { tarball: { '/srv': [{ type: 'cairnSigned' }], '/srv/dev': accept }, oci: { '/l:v1': [{ type: 'reject' }], '': accept } },
      }),
      '/p.json',
    );
    const at = (t: string, scopes: string[]) => requirementsFor(p, t, scopes);
    expect(at('tarball', pathScopes('/srv/dev/a.tar')).where).toBe('/p.json, transport "tarball", scope "/srv/dev"');
    expect(at('tarball', pathScopes('/srv/prod/a.tar')).where).toBe('/p.json, transport "tarball", scope "/srv"');
    expect(at('tarball', pathScopes('/srvx/a.tar')).where).toBe('/p.json, default'); // a prefix of a name is not a parent
    expect(at('tarball', []).where).toBe('/p.json, default');
    expect(at('oci', pathScopes('/l', 'v1')).requirements).toEqual([{ type: 'reject' }]);
    expect(at('oci', pathScopes('/l', 'v2')).where).toBe('/p.json, transport "oci", scope ""');
    expect(at('docker-archive', pathScopes('/x.tar')).requirements).toEqual([{ type: 'reject' }]);
  });
});

describe('judgeFlat', () => {
  const parse = (reqs: unknown[]) => requirementsFor(parsePolicy(j({ default: reqs }), '/p.json'), 'tarball', []);
  const idsOf = (r: CairnSigned) => (r.keys.kind === 'keys' ? r.keys.keys.map((k) => k.id) : [A.id]); // "trusted" = A here
  const unsigned: SignatureFacts = { signed: false, reason: 'unsigned' };
  const byA: SignatureFacts = { signed: true, signer: A.id };
  const byB: SignatureFacts = { signed: true, signer: B.id };
  const tampered: SignatureFacts = { signed: true, reason: 'tampered: the signature trailer is cut short or shifted' };
  const stranger: SignatureFacts = { signed: true, reason: 'unknown signer or tampered: the signature matches none of the 2 trusted keys' };
  const cases: [string, unknown[], SignatureFacts, JudgeMode, string][] = [
    ['anything, unsigned', accept, unsigned, 'flat', 'unchecked'],
    ['anything, tampered', accept, tampered, 'flat', 'unchecked'],
    ['reject, signed by A', [{ type: 'reject' }], byA, 'flat', 'policy: rejected by the signature policy'],
    ['signedBy (GPG), signed by A', [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: '/k' }], byA, 'flat', 'policy: the signature policy requires a signedBy signature, which a flat image cannot carry'],
    ['trusted keys, signed by A', [{ type: 'cairnSigned' }], byA, 'flat', 'signed'],
    ['trusted keys, unsigned', [{ type: 'cairnSigned' }], unsigned, 'flat', 'signature: unsigned, and the signature policy requires a signature'],
    ['trusted keys or rootfs, unsigned', [{ type: 'cairnSigned', unsigned: 'rootfs' }], unsigned, 'flat', 'unsigned-rootfs'],
    ['trusted keys or rootfs, tampered', [{ type: 'cairnSigned', unsigned: 'rootfs' }], tampered, 'flat', 'signature: tampered: the signature trailer is cut short or shifted'],
    ['trusted keys or rootfs, a stranger', [{ type: 'cairnSigned', unsigned: 'rootfs' }], stranger, 'flat', 'signature: unknown signer or tampered: the signature matches none of the 2 trusted keys'],
    ['key B only, signed by A', [{ type: 'cairnSigned', keyIdentity: B.id }], byA, 'flat', `signature: signed by ${A.id}, a key the signature policy does not accept here`],
    ['key B only, signed by B', [{ type: 'cairnSigned', keyIdentity: B.id }], byB, 'flat', 'signed'],
    ['A and B both required (all must hold), signed by B', [{ type: 'cairnSigned', keyIdentity: A.id }, { type: 'cairnSigned', keyIdentity: B.id }], byB, 'flat', `signature: signed by ${B.id}, a key the signature policy does not accept here`],
    ['rootfs plus anything, unsigned', [{ type: 'insecureAcceptAnything' }, { type: 'cairnSigned', unsigned: 'rootfs' }], unsigned, 'flat', 'unsigned-rootfs'],
    // exec and verify: a valid signature always, whatever the policy says
    ['anything, unsigned, exec', accept, unsigned, 'signed', 'signature: unsigned'],
    ['anything, signed by A, exec', accept, byA, 'signed', 'signed'],
    ['rootfs, unsigned, exec', [{ type: 'cairnSigned', unsigned: 'rootfs' }], unsigned, 'signed', 'signature: unsigned'],
    ['key B only, signed by A, exec', [{ type: 'cairnSigned', keyIdentity: B.id }], byA, 'signed', `signature: signed by ${A.id}, a key the signature policy does not accept here`],
    ['reject, signed by A, exec', [{ type: 'reject' }], byA, 'signed', 'policy: rejected by the signature policy'],
  ];
  it.each(cases)('%s → %s', (_name, reqs, facts, mode, want) => {
    const got = judgeFlat(parse(reqs), idsOf, facts, mode);
    const text = got.ok ? got.trust : `${got.kind}: ${got.message}`;
    expect(text.replace(/ \(signature policy [^)]*\)$/, '')).toBe(want);
    if (!got.ok) {
      expect(got.message).toMatch(/\(signature policy \/p\.json, default\)$/);
      expect(got.hint).toBeTruthy();
    }
  });

  it('the built-in policy keeps its messages as they were (no policy named)', () => {
    const a = requirementsFor(builtinPolicy(), 'tarball', ['/x']);
    const got = judgeFlat(a, () => [A.id], stranger, 'flat');
    expect(got).toMatchObject({ ok: false, message: stranger.reason });
  });

  it('judgeUnsignable: oci: and archives pass anything, and refuse reject and any signature requirement', () => {
    const at = (reqs: unknown[]) => judgeUnsignable(requirementsFor(parsePolicy(j({ default: reqs }), '/p.json'), 'oci', []), 'oci');
    expect(at(accept)).toEqual({ ok: true, trust: 'unchecked' });
    expect(at([{ type: 'reject' }])).toMatchObject({ ok: false, kind: 'policy', message: 'rejected by the signature policy (signature policy /p.json, default)' });
    expect(at([{ type: 'cairnSigned' }])).toMatchObject({ ok: false, message: expect.stringMatching(/requires a cairn signature, and oci: images carry none/) });
    expect(at([{ type: 'sigstoreSigned', keyPath: '/k' }])).toMatchObject({ ok: false, message: expect.stringMatching(/requires a sigstoreSigned signature, which oci: images cannot carry/) });
  });
});

describe('the policy file and real flat files', () => {
  let cfg: string;
  beforeEach(() => {
    cfg = tmp('cairn-policy-cfg-');
    process.env.XDG_CONFIG_HOME = cfg;
    delete process.env.CAIRN_SIGNATURE_POLICY;
    installLocalKey(cfg, A);
  });

  it('is --signature-policy, else $CAIRN_SIGNATURE_POLICY, else the user\'s file, else /etc/cairn (else built-in)', () => {
    const user = userPolicyFile();
    expect(user).toBe(path.join(cfg, 'cairn', 'policy.json'));
    const sys = policyFile();
    if (sys) expect(sys.file).toBe('/etc/cairn/policy.json');
    else expect(loadPolicy().source).toBe('built-in default');
    writeFileSync(user, j({ default: [{ type: 'reject' }] }));
    expect(policyFile()).toEqual({ file: user, named: false });
    process.env.CAIRN_SIGNATURE_POLICY = path.join(dir, 'env.json');
    expect(policyFile()).toEqual({ file: path.join(dir, 'env.json'), named: true });
    expect(policyFile(path.join(dir, 'flag.json'))).toEqual({ file: path.join(dir, 'flag.json'), named: true });
    expect(() => loadPolicy()).toThrow(NotFoundError); // a named file must exist
    expect(() => loadPolicy()).toThrow(/signature policy .*env\.json does not exist/);
  });

  it('a policy file that is a directory, or too large, is refused', () => {
    expect(() => loadPolicy(dir)).toThrow(/is not a file/);
    const big = path.join(dir, 'big.json');
    writeFileSync(big, ' '.repeat((1 << 20) + 1));
    expect(() => loadPolicy(big)).toThrow(/is larger than 1048576 bytes/);
  });

  const judge = async (file: string, policy: unknown, mode: JudgeMode = 'flat') => {
    const pf = path.join(dir, `p-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(pf, j(policy));
    const c = await judgeFile(tarballRequirements(fileScopes(file), pf), () => createReadStream(file), { mode });
    return c.judgement.ok ? c.judgement.trust : c.judgement.message;
  };

  it('judges files signed by A and B, and an unsigned one, under keyPath, keyData and the trusted keys', async () => {
    const sub = path.join(dir, 'files');
    mkdirSync(sub, { recursive: true });
    // Verified, never run: no root filesystem in them.
    const extra = [{ name: 'etc/motd', body: 'policy\n' }];
    const byA = await flatFile(path.join(sub, 'a.tar.gz'), { key: A, tiny: false, extra });
    const byB = await flatFile(path.join(sub, 'b.tar.gz'), { key: B, tiny: false, extra });
    const none = await flatFile(path.join(sub, 'none.tar.gz'), { key: null, tiny: false, extra });
    const onlyB = { default: accept, transports: { tarball: { [sub]: [{ type: 'cairnSigned', keyPath: B.pubFile }] } } };
    expect(await judge(byB, onlyB)).toBe('signed');
    // Checked against B only: a signature by A is one that key B does not make (who made it is unknowable).
    expect(await judge(byA, onlyB)).toMatch(new RegExp(`^unknown signer or tampered: the signature does not match key ${B.id} \\(signature policy .*, transport "tarball", scope "${sub}"\\)$`));
    // Both A and B required of one file: the file by A verifies, and the requirement naming B refuses it.
    expect(await judge(byA, { default: [{ type: 'cairnSigned', keyPath: A.pubFile }, { type: 'cairnSigned', keyPath: B.pubFile }] })).toMatch(new RegExp(`^signed by ${A.id}, a key the signature policy does not accept here`));
    expect(await judge(none, onlyB)).toMatch(/^unsigned, and the signature policy requires a signature/);
    const trusted = { default: [{ type: 'cairnSigned' }] };
    expect(await judge(byA, trusted)).toBe('signed');
    expect(await judge(byB, trusted)).toMatch(/^unknown signer or tampered/);
    expect(await judge(byB, { default: [{ type: 'cairnSigned', keyData: pemB64(B.pubFile) }] })).toBe('signed');
    expect(await judge(none, { default: [{ type: 'cairnSigned', unsigned: 'rootfs' }] })).toBe('unsigned-rootfs');
    expect(await judge(none, { default: accept })).toBe('unchecked');
    expect(await judge(none, { default: accept }, 'signed')).toMatch(/^unsigned \(signature policy /);
    await expect(judge(byA, { default: [{ type: 'cairnSigned', keyPath: path.join(dir, 'missing.pem') }] })).rejects.toThrow(/cannot read key .*missing\.pem \(ENOENT\)/);
  });
});
