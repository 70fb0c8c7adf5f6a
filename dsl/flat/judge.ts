import type { Readable } from 'node:stream';
import type { PublicKey } from '../sign/keys.js';
import type { Policy, CairnSigned } from '../sign/policy-format.js';
import { cairnRequirements, judgeFlat, staticRefusal, type Applicable, type JudgeMode, type Judgement, type SignatureFacts } from '../sign/policy-judge.js';
import { isCairnError } from '../core/errors.js';
import { fileScopes, requirementKeys, tarballRequirements } from '../sign/trust.js';
import type { StreamWatch, Verdict } from './trailer.js';

/* The signature policy's decision on a flat file: verify its trailer under the keys the requirements name. */

/** What judging a file found: the decision and, when the file was read, the verification's verdict. */
export interface FileCheck {
  judgement: Judgement;
  verdict?: Verdict;
}

/** How to judge a file. */
export interface FileCheckOptions {
  /** `flat` for tarball: sources, `signed` for exec and verify (a valid signature always). */
  mode: JudgeMode;
  /** --key PUB, parsed: stands for cairn's trusted keys in this call (exec, verify). */
  key?: PublicKey;
  /** In `flat` mode: given the bytes of the first pass (verifyStream's watch), the one every file gets. */
  watch?: StreamWatch;
}

/**
 * Verifies a file as the applicable requirements need and judges it. In `flat` mode a first pass with no
 * key tells whether the file is signed at all, so reading an unsigned tarball never needs (or creates) the
 * local key; only a signed file is verified against the keys of the cairnSigned requirements.
 */
export async function judgeFile(a: Applicable & { policy: Policy }, open: () => Readable | Promise<Readable>, o: FileCheckOptions): Promise<FileCheck> {
  const fixed = staticRefusal(a);
  if (fixed) return { judgement: fixed };
  const { verifyStream } = await import('./trailer.js');
  const cs = cairnRequirements(a);
  let verdict: Verdict | undefined;
  if (o.mode === 'flat') {
    verdict = await verifyStream(await open(), [], { watch: o.watch });
    if (!verdict.signed || verdict.fault === 'tampered' || cs.length === 0) return { judgement: judgeFlat(a, () => [], facts(verdict), o.mode), verdict };
  }
  const keys = await import('../sign/keys.js');
  let trusted: PublicKey[] | undefined;
  const trustedKeys = async (): Promise<PublicKey[]> => (trusted ??= o.key !== undefined ? [o.key] : await keys.trustedKeys());
  const perReq = new Map<CairnSigned, PublicKey[]>();
  for (const r of cs) perReq.set(r, requirementKeys(r, a.policy.source) ?? (await trustedKeys()));
  // --key narrows: only that key is checked; otherwise the union of what the requirements name.
  let check: PublicKey[];
  if (o.key !== undefined || cs.length === 0) check = await trustedKeys();
  else check = [...new Map([...perReq.values()].flat().map((k) => [k.id, k])).values()];
  verdict = await verifyStream(await open(), check);
  return { judgement: judgeFlat(a, (r) => (perReq.get(r) ?? []).map((k) => k.id), facts(verdict), o.mode), verdict };
}

function facts(v: Verdict): SignatureFacts {
  return { signed: v.signed, signer: v.valid ? v.signer?.id : undefined, reason: v.reason, fault: v.fault };
}


/** Where a signed file comes from and how to judge it (exec and verify: a valid signature always required). */
export interface SignedCheck {
  /** The file or URL as the user named it: the policy's scopes and the name errors carry. */
  source: string;
  url: boolean;
  /** The name the one error line starts with. */
  what: string;
  /** --key PUB: a PEM file or an identity string. */
  key?: string;
  /** A --signature-policy file (else the default places). */
  signaturePolicy?: string;
}

/**
 * Judges a file that must carry a valid signature, under the requirements of its scopes and `--key`: a
 * failure to read or verify it names `what` in its message (a policy error names its own file).
 */
export async function judgeSigned(s: SignedCheck, open: () => Readable | Promise<Readable>): Promise<FileCheck> {
  const { parseKeySpec } = await import('../sign/keys.js');
  const a = tarballRequirements(fileScopes(s.source, s.url), s.signaturePolicy);
  const key = s.key !== undefined ? await parseKeySpec(s.key) : undefined;
  try {
    return await judgeFile(a, open, { mode: 'signed', key });
  } catch (err) {
    if (isCairnError(err) && err.kind !== 'signature-policy') err.message = `${s.what}: ${err.message}`;
    throw err;
  }
}
