import { existsSync, promises as fsp } from 'node:fs';
import { BadInputError } from '../core/errors.js';
import { buildTimestamp } from '../core/timestamp.js';
import type { RegistryOptions } from '../transport/transports.js';
import { RegistryClient } from './client.js';
import { formatRegistryRef, parseRegistryRef, type RegistryRef } from './reference.js';
import { atomicPayload, cosignPayload } from './simple-signing.js';

/*
 * Signing an image just pushed (docs/registry-signatures.md): `--sign` attaches a sigstore signature made with
 * cairn's Ed25519 key (or --sign-key) under the `sha256-HEX.sig` tag; `--sign-by FPR` has gpg make an OpenPGP
 * simple signature and stores it in the lookaside staging storage registries.d names. Both sign the manifest
 * digest together with the destination reference (`host/repo:tag`), which is what signedIdentity checks.
 */

/** The signatures a push made: the sigstore tag written and the lookaside file written, when asked for. */
export interface PushSignatures {
  sigstoreTag?: string;
  lookasideFile?: string;
}

/** True when the options ask for a signature. */
export function wantsSignature(o: RegistryOptions): boolean {
  return o.sign === true || o.signKey !== undefined || o.signBy !== undefined;
}

/** Refuses sign options that cannot work, before anything is pushed. */
export function checkSignOptions(o: RegistryOptions): void {
  if (o.signPassphraseFile !== undefined && o.signBy === undefined) throw new BadInputError('--sign-passphrase-file is for the --sign-by key', { hint: 'give --sign-by FINGERPRINT too, or leave the passphrase file out' });
  if (o.signBy !== undefined && !/^[A-Za-z0-9@.<>_+ -]+$/.test(o.signBy)) throw new BadInputError(`--sign-by ${JSON.stringify(o.signBy)} is not a key fingerprint`, { hint: 'give the fingerprint gpg --list-secret-keys shows' });
  for (const [flag, file] of [['--sign-key', o.signKey], ['--sign-passphrase-file', o.signPassphraseFile]] as const) {
    if (file !== undefined && !existsSync(file)) throw new BadInputError(`${flag} ${file}: no such file`, { hint: 'check the path' });
  }
}

/** The private key a sigstore signature is made with: --sign-key FILE, else the user's cairn key (made on first use). */
async function sigstoreKey(o: RegistryOptions) {
  const { sigstorePrivateKey } = await import('./sigstore-crypto.js');
  if (o.signKey !== undefined) {
    let pem: string;
    try {
      pem = await fsp.readFile(o.signKey, 'utf8');
    } catch (err) {
      throw new BadInputError(`cannot read --sign-key ${o.signKey}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { hint: 'give a private key PEM file (cairn\'s key.pem, or one of `openssl genpkey`)', cause: err });
    }
    return sigstorePrivateKey(pem, o.signKey);
  }
  const [{ localKey }, { seedToPem }] = await Promise.all([import('../sign/keys.js'), import('../sign/pem.js')]);
  const k = await localKey();
  return sigstorePrivateKey(seedToPem(k.seed), k.source);
}

/** Attaches a sigstore signature of digest (pushed to ref) made with the key the options name. */
async function signSigstore(ref: RegistryRef, digest: string, o: RegistryOptions): Promise<string> {
  const [{ signPayload }, { attachSigstoreSignature }] = await Promise.all([import('./sigstore-crypto.js'), import('./sigstore.js')]);
  const key = await sigstoreKey(o);
  const payload = cosignPayload(formatRegistryRef(ref), digest);
  const signature = signPayload(payload, key);
  const client = await RegistryClient.open(ref, o, { push: true });
  try {
    return await attachSigstoreSignature(client, digest, { payload, signature }, `docker://${formatRegistryRef(ref)}`);
  } finally {
    await client.close();
  }
}

/** Has gpg sign digest (pushed to ref) with the --sign-by key and writes it to the lookaside staging storage. */
async function signGpg(ref: RegistryRef, digest: string, o: RegistryOptions): Promise<string> {
  const [{ gpgSign }, { loadRegistriesD, registriesDir, lookasideBase }, { writeLookaside }] = await Promise.all([import('./gpg.js'), import('./registries-d.js'), import('./lookaside.js')]);
  // Where it goes is known before gpg asks for anything: a configuration error costs no signing.
  const base = lookasideBase(await loadRegistriesD(registriesDir(o.registriesD)), ref, true);
  const payload = atomicPayload(formatRegistryRef(ref), digest, 'cairn', buildTimestamp() ?? Math.floor(Date.now() / 1000));
  return writeLookaside(base, ref, digest, await gpgSign(payload, o.signBy!, o.signPassphraseFile));
}

/** Signs the image pushed to `docker://TEXT` (manifest digest given) as the options ask: sigstore, OpenPGP, or both. */
export async function signPushed(text: string, digest: string, o: RegistryOptions): Promise<PushSignatures> {
  const ref = parseRegistryRef(text);
  const out: PushSignatures = {};
  if (o.sign === true || o.signKey !== undefined) out.sigstoreTag = await signSigstore(ref, digest, o);
  if (o.signBy !== undefined) out.lookasideFile = await signGpg(ref, digest, o);
  return out;
}
