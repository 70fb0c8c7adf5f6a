import { closeSync, fstatSync, openSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { isMissing, readFd } from '../core/fsutil.js';
import path from 'node:path';
import { BadInputError, NotFoundError, SignatureError } from '../core/errors.js';
import { configDir } from '../core/config-dir.js';
import { identityString } from './identity.js';
import type { PublicKey } from './keys.js';
import { publicKeyFromPem } from './pem.js';
import { builtinPolicy, parsePolicy, POLICY_LIMIT, type CairnSigned, type Policy } from './policy-format.js';
import { cairnRequirements, judgeFlat, judgeUnsignable, pathScopes, requirementsFor, staticRefusal, type Applicable, type JudgeMode, type Judgement } from './policy-judge.js';

/*
 * The signature policy applied to files: which policy file, the keys its requirements name, and the
 * verification a decision needs. Light at load (exec's cached start uses policyFor and requirementKeys);
 * the curve library and the trust directory are loaded only when a file is verified.
 */

/** The system-wide policy file, used when the user has none. */
export const SYSTEM_POLICY = '/etc/cairn/policy.json';

/** The user's policy file: ${XDG_CONFIG_HOME:-~/.config}/cairn/policy.json. */
export function userPolicyFile(): string {
  return path.join(configDir(), 'policy.json');
}

function present(file: string): boolean {
  try {
    statSync(file);
    return true;
  } catch (err) {
    // Anything but "not there" (a permission problem) counts as present, so that reading it fails loudly.
    const code = (err as NodeJS.ErrnoException).code;
    return code !== 'ENOENT' && code !== 'ENOTDIR';
  }
}

/**
 * The policy file that applies: `explicit` (--signature-policy), else $CAIRN_SIGNATURE_POLICY, else the
 * user's file, else /etc/cairn/policy.json; undefined when none exists (the built-in policy applies).
 */
export function policyFile(explicit?: string): { file: string; named: boolean } | undefined {
  const named = explicit ?? (process.env.CAIRN_SIGNATURE_POLICY || undefined);
  if (named !== undefined) {
    if (named === '') throw new BadInputError('--signature-policy needs a file', { hint: 'give the path of a policy.json' });
    return { file: path.resolve(named), named: true };
  }
  for (const file of [userPolicyFile(), SYSTEM_POLICY]) if (present(file)) return { file, named: false };
  return undefined;
}

/** Reads and parses the policy that applies (synchronously: it is small, and exec's cached start reads it). */
export function loadPolicy(explicit?: string): Policy {
  const found = policyFile(explicit);
  if (!found) return builtinPolicy();
  let fd: number;
  try {
    fd = openSync(found.file, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new NotFoundError(`signature policy ${found.file} does not exist`, { kind: 'signature-policy', hint: 'check the path given to --signature-policy or in CAIRN_SIGNATURE_POLICY' });
    throw new BadInputError(`signature policy ${found.file}: cannot read it (${code ?? (err as Error).message})`, { kind: 'signature-policy', hint: 'fix its permissions: cairn never ignores a policy it cannot read', cause: err });
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new BadInputError(`signature policy ${found.file} is not a file`, { kind: 'signature-policy', hint: 'give the path of a policy.json' });
    if (st.size > POLICY_LIMIT) throw new BadInputError(`signature policy ${found.file} is larger than ${POLICY_LIMIT} bytes`, { kind: 'signature-policy', hint: 'a policy is a small JSON file' });
    return parsePolicy(readFd(fd, st.size).toString('utf8'), found.file);
  } finally {
    closeSync(fd);
  }
}

/** The tarball: scopes of a local file (its real path, then its directories); a URL has none of its own. */
export function fileScopes(file: string, url = false): string[] {
  if (url) return [];
  let real: string;
  try {
    real = realpathSync(file);
  } catch (err) {
    // Missing: scoped by the path as given (reading it fails later, with its own message); other failures throw.
    if (!isMissing(err)) throw err;
    real = path.resolve(file);
  }
  return pathScopes(real);
}

/** The requirements of the policy that apply to a tarball: file (or exec's FILE or URL) with these scopes. */
export function tarballRequirements(scopes: string[], explicit?: string): Applicable & { policy: Policy } {
  const policy = loadPolicy(explicit);
  return { ...requirementsFor(policy, 'tarball', scopes), policy };
}

function readPemKey(file: string, policy: string): PublicKey {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new BadInputError(`signature policy ${policy}: cannot read key ${file} (${code})`, { kind: 'signature-policy', hint: 'fix the key path in the policy, or the file\'s permissions', cause: err });
  }
  try {
    const publicKey = publicKeyFromPem(text);
    return { publicKey, id: identityString(publicKey), source: file };
  } catch (err) {
    throw new BadInputError(`signature policy ${policy}: key ${file}: ${(err as Error).message}`, { kind: 'signature-policy', hint: 'keyPath names an Ed25519 public key PEM, as `cairn key show` prints', cause: err });
  }
}

/** The keys a cairnSigned requirement names (files read now), or undefined when it means cairn's trusted keys. */
export function requirementKeys(r: CairnSigned, policy: string): PublicKey[] | undefined {
  if (r.keys.kind === 'trusted') return undefined;
  if (r.keys.kind === 'keys') return r.keys.keys;
  return r.keys.paths.map((p) => readPemKey(p, policy));
}

/** The SignatureError of a refusal, naming what was refused. */
export function refusalError(j: Judgement, what: string): SignatureError {
  if (j.ok) throw new TypeError('not a refusal');
  return new SignatureError(`${what}: ${j.message}`, { hint: j.hint });
}

/** Throws unless the policy accepts an image of a transport that carries no cairn signature (oci:, oci-archive:, docker-archive:). */
export function admitUnsignable(transport: string, location: string, ref: string | undefined, explicit?: string): void {
  let real: string;
  try {
    real = realpathSync(location);
  } catch (err) {
    if (!isMissing(err)) throw err;
    real = path.resolve(location);
  }
  const j = judgeUnsignable(requirementsFor(loadPolicy(explicit), transport, pathScopes(real, ref)), transport);
  if (!j.ok) throw refusalError(j, `${transport}:${location}${ref ? `:${ref}` : ''}`);
}
