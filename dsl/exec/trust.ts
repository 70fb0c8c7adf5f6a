import { readFileSync } from 'node:fs';
import path from 'node:path';
import { configDir } from '../core/config-dir.js';
import { identityString, looksLikeIdentity, parseIdentity } from '../sign/identity.js';
import { publicKeyFromPem } from '../sign/pem.js';
import type { ExecSigner } from './cache.js';
import { cairnRequirements, staticRefusal } from '../sign/policy-judge.js';
import { requirementKeys, tarballRequirements } from '../sign/trust.js';

/*
 * The trust check of a cached start, without @noble/curves: keys.ts derives the local public key from its
 * seed (tens of milliseconds of curve arithmetic) and loads the curve library, which a cached start cannot
 * afford. Here a cached image is accepted when the key that verified it is still one cairn would use, read
 * from public key files only. Anything this cannot decide answers false, and the caller verifies the file
 * again the full way (keys.ts), which is authoritative. The signature policy is read again at every start: a
 * policy changed since the image was verified applies at once.
 */

/** The identity of a public key PEM file; undefined for anything else, unreadable or not (see the top: the caller then verifies the full way, which reports it). */
function idOfPemFile(file: string): string | undefined {
  try {
    return identityString(publicKeyFromPem(readFileSync(file, 'utf8')));
  } catch {
    return undefined;
  }
}

/** The identity of a --key PUB given as an identity string or a public key PEM file; undefined for anything else. */
function idOfSpec(spec: string): string | undefined {
  const s = spec.trim();
  if (looksLikeIdentity(s)) {
    try {
      return identityString(parseIdentity(s));
    } catch {
      return undefined;
    }
  }
  if (s.includes('-----BEGIN')) return undefined;
  return idOfPemFile(s);
}

/** True when signer's public key file is still in the trust directory (for the local key: key.pub.pem beside key.pem) and still holds that key. */
function inTrustDir(signer: ExecSigner): boolean {
  const dir = configDir();
  const src = path.resolve(signer.source);
  let pub: string | undefined;
  if (src === path.join(dir, 'key.pem')) pub = path.join(dir, 'key.pub.pem');
  else if (path.dirname(src) === dir && /^key-.+\.pub\.pem$/.test(path.basename(src))) pub = src;
  else if (path.dirname(src) === path.join(dir, 'trusted') && src.endsWith('.pem')) pub = src;
  return pub !== undefined && idOfPemFile(pub) === signer.id;
}

/** Where the image came from, for the signature policy: its tarball: scopes, and a --signature-policy file. */
export interface TrustScope {
  scopes: string[];
  policy?: string;
}

/**
 * True when a cached image verified by `signer` may start without verifying the file again: the signature
 * policy that applies still accepts that signer (its cairnSigned requirements name it; one meaning cairn's
 * trusted keys, or none, wants it still trusted), and with --key, it is that key, which then stands for the
 * trusted keys as on a full verification.
 */
export function stillTrusted(signer: ExecSigner | null, keySpec: string | undefined, where: TrustScope = { scopes: [] }): boolean {
  if (!signer) return false;
  const trusted = keySpec !== undefined ? idOfSpec(keySpec) === signer.id : inTrustDir(signer);
  if (!trusted && keySpec !== undefined) return false;
  try {
    const a = tarballRequirements(where.scopes, where.policy);
    if (staticRefusal(a)) return false;
    const cs = cairnRequirements(a);
    if (cs.length === 0) return trusted;
    return cs.every((r) => {
      const keys = requirementKeys(r, a.policy.source);
      return keys ? keys.some((k) => k.id === signer.id) : trusted;
    });
  } catch {
    // A policy or key file that cannot be read: the full verification reports it.
    return false;
  }
}

/** True when the signature policy refuses the image whatever its signature (a `reject`), or cannot be read: --insecure-skip-verify never waives that. */
export function policyRefuses(where: TrustScope): boolean {
  try {
    return staticRefusal(tarballRequirements(where.scopes, where.policy)) !== undefined;
  } catch {
    return true;
  }
}
