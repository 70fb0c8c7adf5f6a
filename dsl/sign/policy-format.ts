import path from 'node:path';
import { BadInputError } from '../core/errors.js';
import { identityString, parseIdentity } from './identity.js';
import type { PublicKey } from './keys.js';
import { publicKeyFromPem } from './pem.js';

/*
 * The signature policy file: containers-policy.json(5), parsed as strictly as containers/image parses it
 * (unknown or duplicated fields, unknown requirement types and empty requirement lists refuse the whole
 * file), plus cairn's own requirement for its ed25519 flat-image signatures:
 *   {"type": "cairnSigned", "keyPath" | "keyPaths" | "keyData" | "keyIdentity" | "keyIdentities": …, "unsigned": "reject" | "rootfs"}
 * Pure: no file is read here (trust.ts finds the file and resolves key paths); policy-judge.ts applies a
 * parsed policy. Every table a key from the file indexes is a Map: a key such as "__proto__" or "toString"
 * must find nothing, not a member of Object.prototype.
 */

/** Where a cairnSigned requirement takes its keys from: cairn's trusted keys, public key files, or keys given inline. */
export type KeySource = { kind: 'trusted' } | { kind: 'paths'; paths: string[] } | { kind: 'keys'; keys: PublicKey[] };

/** cairn's requirement: a valid ed25519 flat-image signature by one of the keys; what an unsigned file gets. */
export interface CairnSigned {
  type: 'cairnSigned';
  keys: KeySource;
  /** `reject` (the default) or `rootfs`: an unsigned file is read as a plain root filesystem, its embedded config ignored. */
  unsigned: 'reject' | 'rootfs';
}

/** One policy requirement. signedBy, sigstoreSigned and signedBaseLayer are kept as parsed (the registry transport reads them). */
export type Requirement = { type: 'insecureAcceptAnything' } | { type: 'reject' } | CairnSigned | { type: 'signedBy' | 'sigstoreSigned' | 'signedBaseLayer'; raw: Record<string, unknown> };

/** A parsed policy: the global default and, per transport, requirements by scope ("" = the transport's default). */
export interface Policy {
  /** The file it was read from, or "built-in default". */
  source: string;
  default: Requirement[];
  transports: Map<string, Map<string, Requirement[]>>;
}

/** The policy cairn applies when no policy file exists (docs/signing.md, "Trust policy"). */
export const BUILTIN_POLICY_JSON = `{
  "default": [{ "type": "insecureAcceptAnything" }],
  "transports": {
    "tarball": { "": [{ "type": "cairnSigned", "unsigned": "rootfs" }] }
  }
}`;

/** The largest policy file cairn reads. */
export const POLICY_LIMIT = 1 << 20;

/** Transports whose scopes are absolute paths (as containers/image's dir: and oci:), with whether `:ref` is allowed. */
const PATH_SCOPES = new Map<string, boolean>([['tarball', false], ['dir', false], ['oci', true], ['oci-archive', true], ['docker-archive', true]]);
const KEY_TYPES = ['GPGKeys', 'signedByGPGKeys', 'X509Certificates', 'signedByX509CAs'];
/** Identity match types (signedIdentity, baseLayerIdentity) and the fields each takes. */
const IDENTITY_FIELDS = new Map<string, string[]>([
  ['matchExact', []],
  ['matchRepoDigestOrExact', []],
  ['matchRepository', []],
  ['exactReference', ['dockerReference']],
  ['exactRepository', ['dockerRepository']],
  ['remapIdentity', ['prefix', 'signedPrefix']],
]);
const DOCKER_SCOPE = /^(\*\.([a-z0-9-]+\.)*[a-z0-9-]+|[A-Za-z0-9.-]+(:[0-9]+)?(\/[a-z0-9._/-]+)?(:[\w][\w.-]{0,127}|@sha256:[0-9a-f]{64})?)$/;

class Bad extends Error {}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The first key that appears twice in one object of (syntactically valid) JSON text, if any. */
export function duplicateKey(text: string): string | undefined {
  const stack: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        const seen = stack[stack.length - 1]!;
        if (seen.has(key)) return key;
        seen.add(key);
        expectKey = false;
      }
      i = j;
    } else if (c === '{') {
      stack.push(new Set());
      expectKey = true;
    } else if (c === '[') {
      stack.push(null);
      expectKey = false;
    } else if (c === '}' || c === ']') {
      stack.pop();
      expectKey = false;
    } else if (c === ',') {
      expectKey = stack[stack.length - 1] instanceof Set;
    }
  }
  return undefined;
}

/** Checks that o has only the fields allowed (and `type`). */
function fields(o: Record<string, unknown>, allowed: string[], where: string): void {
  for (const k of Object.keys(o)) if (k !== 'type' && !allowed.includes(k)) throw new Bad(`${where}: unknown field ${JSON.stringify(k)}`);
}

function str(v: unknown, where: string): string {
  if (typeof v !== 'string' || v === '') throw new Bad(`${where} must be a non-empty string`);
  return v;
}

function strings(v: unknown, where: string): string[] {
  if (!Array.isArray(v) || v.length === 0) throw new Bad(`${where} must be a non-empty array of strings`);
  return v.map((s, i) => str(s, `${where}[${i}]`));
}

function absolute(p: string, where: string): string {
  if (!path.isAbsolute(p)) throw new Bad(`${where} must be an absolute path, not ${JSON.stringify(p)}`);
  return p;
}

function identityMatch(v: unknown, where: string): void {
  if (!isObject(v) || typeof v.type !== 'string') throw new Bad(`${where} must be an object with a "type"`);
  const want = IDENTITY_FIELDS.get(v.type);
  if (!want) throw new Bad(`${where}: unknown identity match type ${JSON.stringify(v.type)}`);
  fields(v, want, where);
  for (const f of want) str(v[f], `${where}.${f}`);
}

/** Exactly one (or, with optional, at most one) of the fields named is present; its name. */
function oneOf(o: Record<string, unknown>, names: string[], where: string, optional = false): string | undefined {
  const got = names.filter((n) => o[n] !== undefined);
  if (got.length > 1 || (got.length === 0 && !optional)) throw new Bad(`${where}: ${optional ? 'at most' : 'exactly'} one of ${names.join(', ')} must be given${got.length ? ` (got ${got.join(', ')})` : ''}`);
  return got[0];
}

function inlineKey(pem: string, source: string, where: string): PublicKey {
  try {
    const publicKey = publicKeyFromPem(pem);
    return { publicKey, id: identityString(publicKey), source };
  } catch (err) {
    throw new Bad(`${where}: ${(err as Error).message}`);
  }
}

function cairnSigned(o: Record<string, unknown>, where: string): CairnSigned {
  fields(o, ['keyPath', 'keyPaths', 'keyData', 'keyIdentity', 'keyIdentities', 'unsigned'], where);
  const unsigned = o.unsigned ?? 'reject';
  if (unsigned !== 'reject' && unsigned !== 'rootfs') throw new Bad(`${where}.unsigned must be "reject" or "rootfs"`);
  let keys: KeySource = { kind: 'trusted' };
  switch (oneOf(o, ['keyPath', 'keyPaths', 'keyData', 'keyIdentity', 'keyIdentities'], where, true)) {
    case 'keyPath':
      keys = { kind: 'paths', paths: [absolute(str(o.keyPath, `${where}.keyPath`), `${where}.keyPath`)] };
      break;
    case 'keyPaths':
      keys = { kind: 'paths', paths: strings(o.keyPaths, `${where}.keyPaths`).map((p, i) => absolute(p, `${where}.keyPaths[${i}]`)) };
      break;
    case 'keyData': {
      const b64 = str(o.keyData, `${where}.keyData`);
      if (!/^[A-Za-z0-9+/]+=*$/.test(b64)) throw new Bad(`${where}.keyData must be the base64 of a public key PEM file`);
      keys = { kind: 'keys', keys: [inlineKey(Buffer.from(b64, 'base64').toString('utf8'), 'keyData', `${where}.keyData`)] };
      break;
    }
    case 'keyIdentity':
    case 'keyIdentities': {
      const ids = o.keyIdentity !== undefined ? [str(o.keyIdentity, `${where}.keyIdentity`)] : strings(o.keyIdentities, `${where}.keyIdentities`);
      keys = {
        kind: 'keys',
        keys: ids.map((s) => {
          try {
            const publicKey = parseIdentity(s);
            return { publicKey, id: identityString(publicKey), source: 'identity' };
          } catch (err) {
            throw new Bad(`${where}: ${(err as Error).message}`);
          }
        }),
      };
      break;
    }
  }
  return { type: 'cairnSigned', keys, unsigned };
}

/** Checks the key fields of a signedBy or sigstoreSigned requirement: paths and base64 data, one or a list. */
function keyFields(o: Record<string, unknown>, where: string): void {
  const base64 = (v: string, w: string) => {
    if (!/^[A-Za-z0-9+/\s]+=*\s*$/.test(v)) throw new Bad(`${w} must be base64`);
  };
  for (const k of ['keyPath', 'rekorPublicKeyPath']) if (o[k] !== undefined) str(o[k], `${where}.${k}`);
  for (const k of ['keyPaths', 'rekorPublicKeyPaths']) if (o[k] !== undefined) strings(o[k], `${where}.${k}`);
  for (const k of ['keyData', 'rekorPublicKeyData']) if (o[k] !== undefined) base64(str(o[k], `${where}.${k}`), `${where}.${k}`);
  for (const k of ['keyDatas', 'rekorPublicKeyDatas']) if (o[k] !== undefined) strings(o[k], `${where}.${k}`).forEach((v, i) => base64(v, `${where}.${k}[${i}]`));
}

/** Validates the requirement types cairn knows but cannot check, as containers/image would. */
function foreign(o: Record<string, unknown>, where: string): Requirement {
  switch (o.type) {
    case 'signedBy':
      fields(o, ['keyType', 'keyPath', 'keyPaths', 'keyData', 'signedIdentity'], where);
      if (!KEY_TYPES.includes(o.keyType as string)) throw new Bad(`${where}: invalid keyType ${JSON.stringify(o.keyType)}`);
      oneOf(o, ['keyPath', 'keyPaths', 'keyData'], where);
      break;
    case 'sigstoreSigned':
      fields(o, ['keyPath', 'keyPaths', 'keyData', 'keyDatas', 'fulcio', 'pki', 'rekorPublicKeyPath', 'rekorPublicKeyPaths', 'rekorPublicKeyData', 'rekorPublicKeyDatas', 'signedIdentity'], where);
      oneOf(o, ['keyPath', 'keyPaths', 'keyData', 'keyDatas', 'fulcio', 'pki'], where);
      oneOf(o, ['rekorPublicKeyPath', 'rekorPublicKeyPaths', 'rekorPublicKeyData', 'rekorPublicKeyDatas'], where, true);
      if (o.fulcio !== undefined && !isObject(o.fulcio)) throw new Bad(`${where}.fulcio must be an object`);
      if (o.pki !== undefined && !isObject(o.pki)) throw new Bad(`${where}.pki must be an object`);
      break;
    case 'signedBaseLayer':
      fields(o, ['baseLayerIdentity'], where);
      identityMatch(o.baseLayerIdentity, `${where}.baseLayerIdentity`);
      return { type: 'signedBaseLayer', raw: o };
  }
  keyFields(o, where);
  if (o.signedIdentity !== undefined) identityMatch(o.signedIdentity, `${where}.signedIdentity`);
  return { type: o.type as 'signedBy' | 'sigstoreSigned', raw: o };
}

function requirement(v: unknown, where: string): Requirement {
  if (!isObject(v)) throw new Bad(`${where} must be an object`);
  switch (v.type) {
    case 'insecureAcceptAnything':
    case 'reject':
      fields(v, [], where);
      return { type: v.type };
    case 'cairnSigned':
      return cairnSigned(v, where);
    case 'signedBy':
    case 'sigstoreSigned':
    case 'signedBaseLayer':
      return foreign(v, where);
    default:
      throw new Bad(`${where}: unknown policy requirement type ${JSON.stringify(v.type)}`);
  }
}

function requirements(v: unknown, where: string): Requirement[] {
  if (!Array.isArray(v)) throw new Bad(`${where} must be an array of requirements`);
  if (v.length === 0) throw new Bad(`${where} must not be empty (use [{"type": "insecureAcceptAnything"}] to accept anything)`);
  return v.map((r, i) => requirement(r, `${where}[${i}]`));
}

function checkScope(transport: string, scope: string, where: string): void {
  if (scope === '') return;
  if (transport === 'docker') {
    if (!DOCKER_SCOPE.test(scope)) throw new Bad(`${where}: ${JSON.stringify(scope)} is not a docker: scope (a fully expanded reference, repository, namespace, host or *.domain)`);
    return;
  }
  const withRef = PATH_SCOPES.get(transport);
  if (withRef === undefined) return; // a transport cairn does not read: its scopes are not cairn's to judge
  let p = scope;
  const colon = scope.indexOf(':');
  if (withRef && colon >= 0) {
    p = scope.slice(0, colon);
    if (colon === scope.length - 1) throw new Bad(`${where}: ${JSON.stringify(scope)} has an empty reference after ":"`);
  }
  if (!path.isAbsolute(p)) throw new Bad(`${where}: ${JSON.stringify(scope)} is not an absolute path`);
  if (p === '/') throw new Bad(`${where}: "/" is not a scope; use "" for the whole transport`);
  if (path.posix.normalize(p) !== p || p.endsWith('/')) throw new Bad(`${where}: ${JSON.stringify(scope)} is not a normalized path (no "//", ".", ".." or trailing "/")`);
}

/** Parses a policy file's text; BadInputError naming the file and the faulty part. */
export function parsePolicy(text: string, source: string): Policy {
  const fail = (why: string): BadInputError =>
    new BadInputError(`signature policy ${source}: ${why}`, { kind: 'signature-policy', hint: 'fix the file: containers-policy.json(5) format plus cairnSigned, see docs/signing.md "Trust policy"' });
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw fail(`is not valid JSON (${(err as Error).message})`);
  }
  try {
    const dup = duplicateKey(text);
    if (dup !== undefined) throw new Bad(`field ${JSON.stringify(dup)} appears twice in one object`);
    if (!isObject(v)) throw new Bad('is not a JSON object');
    for (const k of Object.keys(v)) if (k !== 'default' && k !== 'transports') throw new Bad(`unknown top-level field ${JSON.stringify(k)}`);
    if (v.default === undefined) throw new Bad('has no "default" requirements (they are mandatory)');
    const policy: Policy = { source, default: requirements(v.default, 'default'), transports: new Map() };
    if (v.transports !== undefined) {
      if (!isObject(v.transports)) throw new Bad('"transports" must be an object');
      for (const [t, scopes] of Object.entries(v.transports)) {
        if (!isObject(scopes)) throw new Bad(`transports.${t} must be an object of scopes`);
        const m = new Map<string, Requirement[]>();
        for (const [scope, reqs] of Object.entries(scopes)) {
          const where = `transports.${t}[${JSON.stringify(scope)}]`;
          checkScope(t, scope, where);
          m.set(scope, requirements(reqs, where));
        }
        policy.transports.set(t, m);
      }
    }
    return policy;
  } catch (err) {
    if (err instanceof Bad) throw fail(err.message);
    throw err;
  }
}

/** The built-in policy (BUILTIN_POLICY_JSON). */
export function builtinPolicy(): Policy {
  return parsePolicy(BUILTIN_POLICY_JSON, 'built-in default');
}
