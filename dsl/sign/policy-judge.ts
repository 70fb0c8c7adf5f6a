import path from 'node:path';
import type { CairnSigned, Policy, Requirement } from './policy-format.js';

/*
 * Applying a parsed signature policy (policy-format.ts): the scopes naming an image, the requirements that
 * apply to it, and the judgement of a flat file's signature facts against them. Pure: trust.ts reads the
 * files and verifies the signatures.
 */

/** The scopes naming a file or directory at p (absolute, symlinks resolved), most specific first: `p:ref`, p, its parents. */
export function pathScopes(p: string, ref?: string): string[] {
  const out = ref ? [`${p}:${ref}`] : [];
  for (let d = path.resolve(p); d !== '/'; d = path.dirname(d)) out.push(d);
  return out;
}

/** The scopes naming a fully expanded docker reference (host/path[:tag|@digest]), most specific first, as containers/image. */
export function dockerScopes(ref: string): string[] {
  const out = [ref];
  const repo = ref.replace(/@sha256:[0-9a-f]{64}$/, '').replace(/:[\w][\w.-]*$/, '');
  for (let r = repo; r.includes('/'); r = r.slice(0, r.lastIndexOf('/'))) if (!out.includes(r)) out.push(r);
  const host = repo.split('/')[0];
  out.push(host);
  const labels = host.replace(/:[0-9]+$/, '').split('.');
  for (let i = 1; i < labels.length; i++) out.push(`*.${labels.slice(i).join('.')}`);
  return [...new Set(out)];
}

/** The requirements that apply: the most specific scope of the transport, its "" scope, or the global default. */
export interface Applicable {
  requirements: Requirement[];
  /** Where they come from, for messages: `FILE, transport "tarball", scope "/srv"` or `FILE, default`. */
  where: string;
  /** True for the built-in policy (messages then stay as they were before policies existed). */
  builtin: boolean;
}

/** Looks up the requirements for an image of transport named by scopes (most specific first). */
export function requirementsFor(policy: Policy, transport: string, scopes: string[]): Applicable {
  const builtin = policy.source === 'built-in default';
  const t = policy.transports.get(transport);
  const scope = t && [...scopes, ''].find((s) => t.has(s));
  if (t && scope !== undefined) return { requirements: t.get(scope)!, where: `${policy.source}, transport "${transport}", scope ${JSON.stringify(scope)}`, builtin };
  return { requirements: policy.default, where: `${policy.source}, default`, builtin };
}

/**
 * Why a signature did not verify, as code compares it (the reason's text is for people): `unsigned` (no
 * trailer), `tampered` (no honest signer could have made these bytes), `unknown-signer` (a well-formed
 * signature no key given verifies: a stranger's, or a changed file), `not-tar` (not a tar or gzip file).
 */
export type SignatureFault = 'unsigned' | 'tampered' | 'unknown-signer' | 'not-tar';

/** What reading a flat file found out about its signature. */
export interface SignatureFacts {
  /** A trailer is there (valid or not). */
  signed: boolean;
  /** The identity of the key it verified under, among the keys it was checked against. */
  signer?: string;
  /** Why it did not verify (the verdict's reason). */
  reason?: string;
  /** The kind of that reason (the verdict's fault). */
  fault?: SignatureFault;
}

/**
 * The decision: `signed` (a cairnSigned requirement verified the signer: the file's embedded config may be
 * used), `unsigned-rootfs` (unsigned, accepted as a plain root filesystem only), `unchecked` (the policy
 * asked for nothing), or a refusal with its one line and hint.
 */
export type Judgement =
  | { ok: true; trust: 'signed'; signer: string }
  | { ok: true; trust: 'unsigned-rootfs' | 'unchecked' }
  /** kind `policy`: refused whatever the signature (--insecure-skip-verify does not override it). */
  | { ok: false; kind: 'policy' | 'signature'; message: string; hint: string };

/** `flat`: reading a tarball: file; `signed`: exec and verify, which always want a valid signature. */
export type JudgeMode = 'flat' | 'signed';

/** The hint for a signature verdict's fault (trailer.ts requireTrusted gives the same). */
export function signatureHint(fault: SignatureFault | undefined): string {
  if (fault === 'unknown-signer') return 'if you trust who signed it, `cairn key trust PUB` (their `cairn key show`) or pass --key PUB; else fetch it again from its source';
  if (fault === 'tampered') return 'the file was changed after it was signed: fetch it again from its source';
  if (fault === 'not-tar') return 'give a flat tarball (.tar or .tar.gz), as `cairn export` or bali build write';
  return 'only signed flat tarballs verify: `cairn export` signs unless given --no-sign';
}

function refusal(a: Applicable, kind: 'policy' | 'signature', message: string, hint: string): Judgement {
  return { ok: false, kind, message: a.builtin ? message : `${message} (signature policy ${a.where})`, hint };
}

/** The cairnSigned requirements among the applicable ones. */
export function cairnRequirements(a: Applicable): CairnSigned[] {
  return a.requirements.filter((r): r is CairnSigned => r.type === 'cairnSigned');
}

/** The refusal an image gets whatever its signature: a `reject`, or a requirement type that carrier cannot meet. */
export function staticRefusal(a: Applicable, carrier = 'a flat image'): Judgement | undefined {
  for (const r of a.requirements) {
    if (r.type === 'reject') return refusal(a, 'policy', 'rejected by the signature policy', 'the policy refuses images from here: change it, or name another with --signature-policy');
    if (r.type === 'signedBy' || r.type === 'sigstoreSigned' || r.type === 'signedBaseLayer') {
      return refusal(a, 'policy', `the signature policy requires a ${r.type} signature, which ${carrier} cannot carry`, 'cairn checks its own ed25519 signatures only: require {"type": "cairnSigned", …} for flat files');
    }
  }
  return undefined;
}

/**
 * Judges a flat file against the applicable requirements, all of which must hold. keyIds gives the
 * identities each cairnSigned requirement accepts; facts come from verifying the file against their union
 * (or, in `signed` mode with no cairnSigned requirement, against the trusted keys or --key).
 */
export function judgeFlat(a: Applicable, keyIds: (r: CairnSigned) => string[], facts: SignatureFacts, mode: JudgeMode): Judgement {
  const fixed = staticRefusal(a);
  if (fixed) return fixed;
  let trust: 'signed' | 'unsigned-rootfs' | 'unchecked' = 'unchecked';
  const unverified = (): Judgement => {
    const reason = facts.reason ?? (facts.signed ? 'the signature does not verify' : 'unsigned');
    if (!facts.signed && mode === 'flat') return refusal(a, 'signature', 'unsigned, and the signature policy requires a signature', 'sign it (`cairn export` signs unless given --no-sign), or accept unsigned root filesystems here with "unsigned": "rootfs"');
    return refusal(a, 'signature', reason, signatureHint(facts.fault));
  };
  for (const r of cairnRequirements(a)) {
    if (!facts.signed && mode === 'flat' && r.unsigned === 'rootfs') {
      if (trust === 'unchecked') trust = 'unsigned-rootfs';
      continue;
    }
    if (!facts.signer) return unverified();
    if (!keyIds(r).includes(facts.signer)) return refusal(a, 'signature', `signed by ${facts.signer}, a key the signature policy does not accept here`, 'the policy names the keys it accepts for this file; add the key there if you trust it');
    trust = 'signed';
  }
  if (mode === 'signed' && trust !== 'signed') {
    if (!facts.signer) return unverified();
    trust = 'signed';
  }
  return trust === 'signed' ? { ok: true, trust, signer: facts.signer! } : { ok: true, trust };
}

/** Judges an image of a transport that carries no signature cairn can check (oci:, oci-archive:, docker-archive:). */
export function judgeUnsignable(a: Applicable, transport: string): Judgement {
  const fixed = staticRefusal(a, `${transport}: images`);
  if (fixed) return fixed;
  if (cairnRequirements(a).length) {
    return refusal(a, 'policy', `the signature policy requires a cairn signature, and ${transport}: images carry none`, 'ship the image as a signed flat file (`cairn export`), or accept this source in the policy');
  }
  return { ok: true, trust: 'unchecked' };
}

/** The requirement types a registry image's signatures can meet (the rest are fixed outcomes). */
export type RegistrySignatureRequirement = { type: 'signedBy' | 'sigstoreSigned'; raw: Record<string, unknown> };

/**
 * What the requirements for a docker:// image decide before anything of it is fetched: a refusal (`reject`,
 * `signedBaseLayer`, which containers/image does not implement either, or `cairnSigned`, which registry images
 * cannot carry), or the signature requirements left to check (none: accepted as it is).
 */
export function registryPrecheck(a: Applicable): { refusal: Judgement } | { check: RegistrySignatureRequirement[] } {
  for (const r of a.requirements) {
    if (r.type === 'reject') return { refusal: refusal(a, 'policy', 'rejected by the signature policy', 'the policy refuses images from here: change it, or name another with --signature-policy') };
    if (r.type === 'signedBaseLayer') return { refusal: refusal(a, 'policy', 'the signature policy requires signedBaseLayer, which no tool can check', 'use signedBy or sigstoreSigned for registry images') };
    if (r.type === 'cairnSigned') return { refusal: refusal(a, 'policy', 'the signature policy requires a cairn flat-image signature, which registry images carry none of', 'require signedBy or sigstoreSigned for docker:// images (docs/registry-signatures.md)') };
  }
  return { check: a.requirements.filter((r): r is RegistrySignatureRequirement => r.type === 'signedBy' || r.type === 'sigstoreSigned') as RegistrySignatureRequirement[] };
}

/** One signature requirement's outcome: met, or why not (every signature found, and why each failed). */
export type RequirementOutcome = { ok: true; signer: string } | { ok: false; reason: string; hint: string };

/** Judges a registry image from its signature requirements' outcomes, all of which must be met. */
export function judgeRegistry(a: Applicable, outcomes: RequirementOutcome[]): Judgement {
  for (const o of outcomes) if (!o.ok) return refusal(a, 'signature', o.reason, o.hint);
  const signers = outcomes.map((o) => (o as { signer: string }).signer);
  return signers.length ? { ok: true, trust: 'signed', signer: signers.join(', ') } : { ok: true, trust: 'unchecked' };
}
