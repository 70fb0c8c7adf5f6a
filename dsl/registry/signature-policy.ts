import { readFileSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import type { Key } from 'openpgp';
import { BadInputError } from '../core/errors.js';
import { judgeRegistry, registryPrecheck, requirementsFor, type Applicable, type RegistrySignatureRequirement, type RequirementOutcome } from '../sign/policy-judge.js';
import { loadPolicy, refusalError } from '../sign/trust.js';
import type { RegistryOptions } from '../transport/transports.js';
import { RegistryClient } from './client.js';
import { lookasideBase, loadRegistriesD, registriesDir } from './registries-d.js';
import { readLookaside } from './lookaside.js';
import { readKeyring, verifyPgp } from './pgp-verify.js';
import { ATOMIC_TYPE, COSIGN_TYPE, parsePayload } from './simple-signing.js';
import { keyLabel, sigstorePublicKey, verifyPayload } from './sigstore-crypto.js';
import { readSigstoreSignatures, type SigstoreSignature } from './sigstore.js';
import { identityMatches, namedOf, type IdentityMatch } from './identity-match.js';
import { formatRegistryRef, parseRegistryRef, policyScopes, type RegistryRef } from './reference.js';
import type { RegistrySourceImage } from './source.js';

/*
 * containers-policy.json(5) for docker:// sources. Before anything of the image is fetched, the requirements
 * of its scope are looked up: `reject` (and what cairn cannot check) refuses at once, keys the policy names
 * are read. Once the manifest's digest is known, and before any layer is fetched, each `signedBy` and
 * `sigstoreSigned` requirement must be met by one signature: OpenPGP simple signatures from the lookaside
 * storage (registries.d), verified by openpgp.js; sigstore signatures from the `sha256-HEX.sig` tag, verified
 * with node:crypto. A signature counts when it verifies under a key of the requirement, names the image's
 * manifest digest, and its reference fits signedIdentity (default matchRepoDigestOrExact).
 */

/** A signature requirement ready to check: the keys it accepts, and how the signed reference must fit. */
export type RegistryCheck =
  | { type: 'signedBy'; keys: Key[]; identity: IdentityMatch }
  | { type: 'sigstoreSigned'; keys: KeyObject[]; identity: IdentityMatch };

/** What the policy asks of a registry image, found before anything of it is fetched. */
export interface RegistryAdmission {
  ref: RegistryRef;
  applicable: Applicable;
  checks: RegistryCheck[];
}

function policyError(a: Applicable, why: string, cause?: unknown): BadInputError {
  return new BadInputError(`signature policy ${a.where}: ${why}`, { kind: 'signature-policy', hint: 'fix the policy file (docs/registry-signatures.md)', cause });
}

/** The bytes of each key source of a requirement (keyPath, keyPaths, keyData, keyDatas), read now. */
function keySources(raw: Record<string, unknown>, a: Applicable): { bytes: Buffer; where: string }[] {
  const paths = raw.keyPath !== undefined ? [raw.keyPath] : Array.isArray(raw.keyPaths) ? raw.keyPaths : [];
  const datas = raw.keyData !== undefined ? [raw.keyData] : Array.isArray(raw.keyDatas) ? raw.keyDatas : [];
  const out = (paths as string[]).map((p) => {
    try {
      return { bytes: readFileSync(p), where: p };
    } catch (err) {
      throw policyError(a, `cannot read key ${p} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, err);
    }
  });
  for (const d of datas as string[]) out.push({ bytes: Buffer.from(d, 'base64'), where: 'keyData' });
  return out;
}

/** The refusal of a requirement cairn cannot check. */
function unsupported(a: Applicable, what: string, why: string, hint: string): never {
  throw refusalError(judgeRegistry(a, [{ ok: false, reason: why, hint }]), what);
}

async function prepare(r: RegistrySignatureRequirement, a: Applicable, what: string): Promise<RegistryCheck> {
  const raw = r.raw;
  const identity = (raw.signedIdentity as IdentityMatch | undefined) ?? { type: 'matchRepoDigestOrExact' };
  if (r.type === 'signedBy') {
    if (raw.keyType !== 'GPGKeys') unsupported(a, what, `signedBy keyType ${String(raw.keyType)} is not implemented (by containers/image either)`, 'use "keyType": "GPGKeys"');
    const keys: Key[] = [];
    for (const s of keySources(raw, a)) {
      try {
        keys.push(...(await readKeyring(s.bytes)));
      } catch (err) {
        throw policyError(a, `${s.where} is not an OpenPGP keyring (${(err as Error).message})`, err);
      }
    }
    return { type: 'signedBy', keys, identity };
  }
  if (raw.fulcio !== undefined || raw.pki !== undefined) unsupported(a, what, `sigstoreSigned with ${raw.fulcio !== undefined ? 'fulcio' : 'pki'} certificates is not supported by cairn`, 'name the signing public key with keyPath or keyData');
  if (Object.keys(raw).some((k) => k.startsWith('rekorPublicKey'))) unsupported(a, what, `sigstoreSigned with a Rekor key is not supported by cairn`, 'drop the rekorPublicKey fields, or check this image with skopeo');
  return { type: 'sigstoreSigned', keys: keySources(raw, a).map((s) => sigstorePublicKey(s.bytes.toString('utf8'), `signature policy ${a.where}: key ${s.where}`)), identity };
}

/**
 * The policy's requirements for docker://TEXT, decided before anything is fetched: throws the refusal of a
 * `reject` (or of what no registry signature can meet) and reads the keys named; checks is empty when nothing
 * needs verifying.
 */
export async function admitRegistry(text: string, policyFile: string | undefined): Promise<RegistryAdmission> {
  const ref = parseRegistryRef(text);
  const what = `docker://${formatRegistryRef(ref)}`;
  const applicable = requirementsFor(loadPolicy(policyFile), 'docker', policyScopes(ref));
  const pre = registryPrecheck(applicable);
  if ('refusal' in pre) throw refusalError(pre.refusal, what);
  const checks: RegistryCheck[] = [];
  for (const r of pre.check) checks.push(await prepare(r, applicable, what));
  return { ref, applicable, checks };
}

/** The outcome of one OpenPGP requirement over the simple signatures found, per manifest digest. */
async function checkPgp(c: Extract<RegistryCheck, { type: 'signedBy' }>, found: Map<string, Buffer[]>, adm: RegistryAdmission, where: string): Promise<RequirementOutcome> {
  const why: string[] = [];
  for (const [digest, sigs] of found) {
    for (const sig of sigs) {
      try {
        const v = await verifyPgp(sig, c.keys);
        const claims = parsePayload(v.payload, ATOMIC_TYPE);
        if (claims.digest !== digest) why.push(`one signs ${claims.digest}, not the manifest ${digest}`);
        else if (!identityMatches(c.identity, namedOf(adm.ref), claims.dockerReference)) why.push(`one is for ${claims.dockerReference}, which signedIdentity ${c.identity.type} does not accept`);
        else return { ok: true, signer: `gpg key ${v.fingerprint}` };
      } catch (err) {
        why.push((err as Error).message);
      }
    }
  }
  const n = [...found.values()].reduce((s, l) => s + l.length, 0);
  if (n === 0) return { ok: false, reason: `signedBy: no OpenPGP signature found (lookaside ${where})`, hint: 'sign it (`cairn push --sign-by FPR`, `skopeo copy --sign-by`) and publish the signatures where registries.d says (--registries.d DIR)' };
  return { ok: false, reason: `signedBy: none of its ${n} OpenPGP signature(s) is accepted: ${why[0]}`, hint: 'the policy names the keys and identity it accepts: check the keyPath and signedIdentity for this scope' };
}

/** The outcome of one sigstore requirement over the sigstore signatures found, per manifest digest. */
async function checkSigstore(c: Extract<RegistryCheck, { type: 'sigstoreSigned' }>, found: Map<string, SigstoreSignature[]>, adm: RegistryAdmission): Promise<RequirementOutcome> {
  const why: string[] = [];
  for (const [digest, sigs] of found) {
    for (const s of sigs) {
      const key = c.keys.find((k) => verifyPayload(s.payload, s.signature, k));
      if (!key) {
        why.push('its signature does not verify under the keys of the policy');
        continue;
      }
      try {
        const claims = parsePayload(s.payload, COSIGN_TYPE);
        if (claims.digest !== digest) why.push(`one signs ${claims.digest}, not the manifest ${digest}`);
        else if (!identityMatches(c.identity, namedOf(adm.ref), claims.dockerReference)) why.push(`one is for ${claims.dockerReference}, which signedIdentity ${c.identity.type} does not accept`);
        else return { ok: true, signer: keyLabel(key) };
      } catch (err) {
        why.push((err as Error).message);
      }
    }
  }
  const n = [...found.values()].reduce((s, l) => s + l.length, 0);
  if (n === 0) return { ok: false, reason: 'sigstoreSigned: no sigstore signature found (no sha256-….sig tag for its digest)', hint: 'sign it (`cairn push --sign`, `cosign sign --key`) with a key the policy names' };
  return { ok: false, reason: `sigstoreSigned: none of its ${n} sigstore signature(s) is accepted: ${why[0]}`, hint: 'the policy names the keys and identity it accepts: check the keyPath and signedIdentity for this scope' };
}

/**
 * Enforces what admitRegistry found on an opened image (manifest known, no layer fetched): every requirement
 * must be met by one signature of the image's manifest digest (or of the index it was chosen from); throws the
 * SignatureError of the first that is not.
 */
export async function enforceRegistryPolicy(adm: RegistryAdmission, img: RegistrySourceImage, o: RegistryOptions = {}): Promise<void> {
  if (adm.checks.length === 0) return;
  const what = `docker://${formatRegistryRef(adm.ref)}`;
  const digests = [...new Set([img.indexDigest, img.digest].filter((d): d is string => d !== undefined))];
  const outcomes: RequirementOutcome[] = [];
  let pgp: { found: Map<string, Buffer[]>; where: string } | undefined;
  let sigstore: Map<string, SigstoreSignature[]> | undefined;
  for (const c of adm.checks) {
    if (c.type === 'signedBy') {
      if (!pgp) {
        const base = lookasideBase(await loadRegistriesD(registriesDir(o.registriesD)), adm.ref, false);
        const found = new Map<string, Buffer[]>();
        for (const d of digests) found.set(d, await readLookaside(base, adm.ref, d));
        pgp = { found, where: base };
      }
      outcomes.push(await checkPgp(c, pgp.found, adm, pgp.where));
    } else {
      if (!sigstore) {
        const client = await RegistryClient.open(adm.ref, o);
        try {
          sigstore = new Map();
          for (const d of digests) sigstore.set(d, await readSigstoreSignatures(client, d, what));
        } finally {
          await client.close();
        }
      }
      outcomes.push(await checkSigstore(c, sigstore, adm));
    }
  }
  const j = judgeRegistry(adm.applicable, outcomes);
  if (!j.ok) throw refusalError(j, what);
}
