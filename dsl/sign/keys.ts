import { writeFileAtomic } from '../core/atomic.js';
import { isMissing, makeDirs, readTextOrUndefined } from '../core/fsutil.js';
import { randomBytes } from 'node:crypto';
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { BadInputError, NotFoundError } from '../core/errors.js';
import { configDir } from '../core/config-dir.js';
import { warn } from '../core/events.js';
import { publicKeyOf } from './ed25519ph.js';
import { identityString, looksLikeIdentity, parseIdentity } from './identity.js';
import { publicKeyFromPem, publicKeyToPem, seedFromPem, seedToPem } from './pem.js';

/** A public key cairn knows: its bytes, its bali identity string and the file (or text) it came from. */
export interface PublicKey {
  publicKey: Uint8Array;
  /** The bali identity string ("c…", 56 characters). */
  id: string;
  /** The file it came from, or what it was given as. */
  source: string;
}

/** A signing key: a public key plus its 32-byte Ed25519 seed. */
export interface KeyPair extends PublicKey {
  seed: Uint8Array;
}

export { configDir } from '../core/config-dir.js';

const KEY = 'key.pem';
const PUB = 'key.pub.pem';
const TRUSTED = 'trusted';

/** The file name prefix that keeps a replaced local key: key-<first 12 characters of its ID>. */
function keptName(id: string): string {
  return `key-${id.slice(0, 12)}`;
}

/** Writes a file atomically (core/atomic.ts). */
const writeAtomic = (file: string, text: string, mode: number): Promise<void> => writeFileAtomic(file, text, { mode });

function pair(seed: Uint8Array, source: string): KeyPair {
  const publicKey = publicKeyOf(seed);
  return { seed, publicKey, id: identityString(publicKey), source };
}

async function readPair(file: string): Promise<KeyPair> {
  const text = await fsp.readFile(file, 'utf8');
  try {
    return pair(seedFromPem(text), file);
  } catch (err) {
    throw new BadInputError(`${file}: ${(err as Error).message}`, { hint: `move ${file} away and cairn makes a new key on next use`, cause: err });
  }
}

/** Writes key.pub.pem next to key.pem when it is missing or does not match. */
async function ensurePub(dir: string, k: KeyPair): Promise<void> {
  const file = path.join(dir, PUB);
  const want = publicKeyToPem(k.publicKey);
  const have = await readTextOrUndefined(file);
  if (have !== want) await writeAtomic(file, want, 0o644);
}

/**
 * Installs a fresh seed as key.pem. With `replace` false it never overwrites: hard-linking the complete
 * temp file to key.pem fails when a concurrent first use won the race, and then that key is used.
 */
async function installNew(dir: string, replace: boolean): Promise<KeyPair> {
  await makeDirs(dir, 0o700);
  const k = pair(new Uint8Array(randomBytes(32)), path.join(dir, KEY));
  const tmp = path.join(dir, `${KEY}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  await fsp.writeFile(tmp, seedToPem(k.seed), { mode: 0o600, flag: 'wx' });
  try {
    if (replace) await fsp.rename(tmp, k.source);
    else {
      try {
        await fsp.link(tmp, k.source);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') return await readPair(k.source);
        throw err;
      }
    }
  } finally {
    await fsp.rm(tmp, { force: true });
  }
  await ensurePub(dir, k);
  return k;
}

/** This user's signing key, created on first use: key.pem (PKCS#8, mode 0600) and key.pub.pem (SPKI) in configDir(). */
export async function localKey(): Promise<KeyPair> {
  const dir = configDir();
  const file = path.join(dir, KEY);
  let k: KeyPair;
  try {
    k = await readPair(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return installNew(dir, false);
  }
  const st = await fsp.stat(file);
  if (st.mode & 0o077) warn(`${file} is readable by others (mode ${(st.mode & 0o777).toString(8)}): chmod 600 it`);
  await ensurePub(dir, k);
  return k;
}

/** Makes a new local key; the old pair is kept as key-<ID prefix>.pem/.pub.pem and stays trusted. */
export async function generateKey(): Promise<KeyPair> {
  const dir = configDir();
  const file = path.join(dir, KEY);
  if (existsSync(file)) {
    const old = await readPair(file);
    const kept = path.join(dir, keptName(old.id));
    await writeAtomic(`${kept}.pem`, seedToPem(old.seed), 0o600);
    await writeAtomic(`${kept}.pub.pem`, publicKeyToPem(old.publicKey), 0o644);
  }
  return installNew(dir, true);
}

/** Reads a public key PEM file of the trust directory (or a kept old key), warning and skipping a bad one. */
async function readTrusted(file: string): Promise<PublicKey | undefined> {
  try {
    const publicKey = publicKeyFromPem(await fsp.readFile(file, 'utf8'));
    return { publicKey, id: identityString(publicKey), source: file };
  } catch (err) {
    warn(`ignoring ${file}: ${(err as Error).message}`);
    return undefined;
  }
}

/** This user's signing key when there is one (nothing is created or written: verifying has no side effects). */
async function existingLocalKey(dir: string): Promise<KeyPair | undefined> {
  try {
    return await readPair(path.join(dir, KEY));
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

/** The keys whose signatures verify: the local key, kept old local keys and configDir()/trusted/*.pem (none may exist). */
export async function trustedKeys(): Promise<PublicKey[]> {
  const dir = configDir();
  const local = await existingLocalKey(dir);
  const out: PublicKey[] = local ? [{ publicKey: local.publicKey, id: local.id, source: local.source }] : [];
  const files: string[] = [];
  const names = (await fsp.readdir(dir).catch((e) => (isMissing(e) ? ([] as string[]) : Promise.reject(e)))).sort();
  for (const name of names) {
    if (/^key-.+\.pub\.pem$/.test(name)) files.push(path.join(dir, name));
    else if (/^key-.+\.pem$/.test(name) && !names.includes(name.replace(/\.pem$/, '.pub.pem'))) {
      // A kept key whose public half was removed: derive it.
      const k = await readPair(path.join(dir, name)).catch((err: Error) => void warn(`ignoring ${path.join(dir, name)}: ${err.message}`));
      if (k && !out.some((o) => o.id === k.id)) out.push({ publicKey: k.publicKey, id: k.id, source: k.source });
    }
  }
  const tdir = path.join(dir, TRUSTED);
  const trusted = await fsp.readdir(tdir).catch((e) => (isMissing(e) ? ([] as string[]) : Promise.reject(e)));
  for (const name of trusted.sort()) if (name.endsWith('.pem')) files.push(path.join(tdir, name));
  for (const f of files) {
    const k = await readTrusted(f);
    if (k && !out.some((o) => o.id === k.id)) out.push(k);
  }
  return out;
}

/** A public key from a PEM file path, PEM text (public or private) or a bali identity string. */
export async function parseKeySpec(spec: string): Promise<PublicKey> {
  const s = spec.trim();
  if (s.includes('-----BEGIN')) return fromText(s, 'PEM text');
  let text: string;
  try {
    text = await fsp.readFile(s, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && (looksLikeIdentity(s) || /^c[A-Za-z2-7]{40,}$/.test(s))) {
      const publicKey = parseIdentity(s);
      return { publicKey, id: identityString(publicKey), source: 'identity' };
    }
    if (code === 'ENOENT') {
      throw new NotFoundError(`key ${s}: no such file, and not an identity string`, { hint: 'give a public key PEM file (as `cairn key show` prints) or an identity string ("c" + 55 characters)' });
    }
    throw new BadInputError(`key ${s}: ${(err as Error).message}`, { cause: err });
  }
  try {
    return fromText(text.trim(), path.resolve(s));
  } catch (err) {
    throw new BadInputError(`${s}: ${(err as Error).message}`, { hint: (err as { hint?: string }).hint, cause: err });
  }
}

/** A public key from PEM text (a private key PEM gives its public key) or an identity string. */
function fromText(text: string, source: string): PublicKey {
  let publicKey: Uint8Array;
  if (text.includes('-----BEGIN PRIVATE KEY-----')) publicKey = publicKeyOf(seedFromPem(text));
  else if (text.includes('-----BEGIN')) publicKey = publicKeyFromPem(text);
  else publicKey = parseIdentity(text);
  return { publicKey, id: identityString(publicKey), source };
}

/** Trusts a key (PEM file, PEM text or identity): writes configDir()/trusted/<id>.pem atomically; trusting twice is a no-op. */
export async function trustKey(spec: string): Promise<PublicKey> {
  const k = await parseKeySpec(spec);
  const tdir = path.join(configDir(), TRUSTED);
  await makeDirs(tdir, 0o700);
  const file = path.join(tdir, `${k.id}.pem`);
  const pem = publicKeyToPem(k.publicKey);
  const have = await readTextOrUndefined(file);
  if (have !== pem) await writeAtomic(file, pem, 0o644);
  return { ...k, source: file };
}
