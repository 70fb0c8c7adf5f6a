import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { BadInputError, NotFoundError } from '../core/errors.js';
import { judgeSigned } from '../flat/judge.js';
import { refusalError } from '../sign/trust.js';
import { isUrl } from './exec.js';

/*
 * `cairn verify FILE|URL`: is a flat tarball signed by a key cairn trusts (or the one given), and does the
 * signature policy accept it? The bytes are streamed once, from the file or straight from the server;
 * nothing is kept.
 */

/** Options of verifyFlat. */
export interface VerifyOptions {
  /** Accept signatures by this key only: a public key PEM file or an identity string. */
  key?: string;
  /** Also apply this signature policy file (else the default places); a valid signature is always required. */
  signaturePolicy?: string;
}

/** What a successful verification found. */
export interface VerifyResult {
  /** The key that vouches for the file: its identity string and where cairn knows it from. */
  signer: { id: string; source: string };
  /** The sha256 of the signed content. */
  sha256: string;
  /** The size of the tar inside. */
  tarSize: number;
}

const WHERE = 'give the path of a flat tarball (cairn export writes one) or an http(s) URL';

/** Opens FILE or an http(s) URL as a byte stream. */
async function openFlat(source: string, url: boolean): Promise<Readable> {
  if (url) return (await import('../core/fetch.js')).openUrl(source);
  try {
    if ((await stat(source)).isDirectory()) throw new BadInputError('is a directory, not a file', { hint: WHERE });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError('no such file', { hint: WHERE });
    throw err;
  }
  return createReadStream(source, { highWaterMark: 1 << 20 });
}

/**
 * Verifies a flat tarball (gzip or plain, a file or an http(s) URL): a valid signature by a key that
 * o.key (or else the trusted keys) and the signature policy accept. Throws a SignatureError naming the
 * file when it is refused.
 */
export async function verifyFlat(source: string, o: VerifyOptions = {}): Promise<VerifyResult> {
  const url = isUrl(source);
  const c = await judgeSigned({ source, url, what: source, key: o.key, signaturePolicy: o.signaturePolicy }, () => openFlat(source, url));
  if (!c.judgement.ok) throw refusalError(c.judgement, source);
  const v = c.verdict!;
  return { signer: { id: v.signer!.id, source: v.signer!.source }, sha256: v.sha256, tarSize: v.tarSize };
}
