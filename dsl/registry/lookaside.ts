import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Dispatcher } from 'undici';
import { BadInputError } from '../core/errors.js';
import { trustedCAs } from '../core/extra-ca.js';
import { isMissing, makeDirs } from '../core/fsutil.js';
import type { RegistryRef } from './reference.js';
import { lookasideUrl } from './registries-d.js';

/*
 * The lookaside storage of OpenPGP simple signatures: `BASE/REPO@sha256=HEX/signature-1`, `signature-2`, …
 * Reading stops at the first that does not exist (file:// or http(s)://); writing goes to file:// only (the
 * staging storage, as containers/image), to the first free number, never over another signature.
 */

/** The largest signature read (containers/image's limit). */
export const SIGNATURE_LIMIT = 4 << 20;
/** Signatures read for one image at most: a server that answers every number is not followed forever. */
const MAX_SIGNATURES = 128;

/** The HTTP connections of one read, made on first use (file:// needs none) and closed after. */
class HttpReader {
  private made?: Promise<Dispatcher>;
  private closeIt?: () => Promise<void>;

  agent(): Promise<Dispatcher> {
    this.made ??= Promise.all([import('undici'), trustedCAs()]).then(([{ Agent, interceptors }, ca]) => {
      const a = new Agent({ headersTimeout: 30_000, bodyTimeout: 30_000, ...(ca ? { connect: { ca } } : {}) });
      this.closeIt = () => a.close();
      return a.compose(interceptors.redirect({ maxRedirections: 3 }));
    });
    return this.made;
  }

  async close(): Promise<void> {
    await this.closeIt?.();
  }
}

/** Reads one lookaside URL: its bytes, or undefined when it does not exist. */
async function readOne(url: string, http: HttpReader): Promise<Buffer | undefined> {
  const u = new URL(url);
  if (u.protocol === 'file:') {
    const file = fileURLToPath(u);
    try {
      const st = await fsp.stat(file);
      if (st.size > SIGNATURE_LIMIT) throw new BadInputError(`signature ${file} is larger than ${SIGNATURE_LIMIT} bytes`, { hint: 'the lookaside storage holds something that is not a signature' });
      return await fsp.readFile(file);
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new BadInputError(`lookaside ${url}: cairn reads file://, http:// and https:// lookaside storage only`, { hint: 'fix the registries.d configuration' });
  let res;
  try {
    res = await (await http.agent()).request({ origin: u.origin, path: u.pathname + u.search, method: 'GET' });
  } catch (err) {
    throw new BadInputError(`cannot read signature ${url}: ${(err as Error).message}`, { hint: 'check the lookaside server in the registries.d configuration', cause: err });
  }
  if (res.statusCode === 404) {
    await res.body.dump();
    return undefined;
  }
  if (res.statusCode !== 200) {
    await res.body.dump();
    throw new BadInputError(`reading signature ${url}: HTTP ${res.statusCode}`, { hint: 'check the lookaside server in the registries.d configuration' });
  }
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of res.body as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > SIGNATURE_LIMIT) {
      res.body.destroy();
      throw new BadInputError(`signature ${url} is larger than ${SIGNATURE_LIMIT} bytes`, { hint: 'the lookaside server sends something that is not a signature' });
    }
    parts.push(c);
  }
  return Buffer.concat(parts);
}

/** The signatures the lookaside at base holds for ref's manifest digest, in order. */
export async function readLookaside(base: string, ref: RegistryRef, digest: string): Promise<Buffer[]> {
  const out: Buffer[] = [];
  const http = new HttpReader();
  try {
    for (let n = 1; n <= MAX_SIGNATURES; n++) {
      const sig = await readOne(lookasideUrl(base, ref, digest, n), http);
      if (!sig) break;
      out.push(sig);
    }
  } finally {
    await http.close();
  }
  return out;
}

/** Adds a signature to the file:// lookaside at base for ref's manifest digest; returns the file written. */
export async function writeLookaside(base: string, ref: RegistryRef, digest: string, sig: Uint8Array): Promise<string> {
  const u = new URL(base);
  if (u.protocol !== 'file:') throw new BadInputError(`cannot write signatures to ${base}: only file:// lookaside storage is written`, { hint: 'set a file:// lookaside-staging for this registry in registries.d, and publish that directory' });
  const first = fileURLToPath(lookasideUrl(base, ref, digest, 1));
  const dir = path.dirname(first);
  await makeDirs(dir);
  const tmp = path.join(dir, `.signature.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  await fsp.writeFile(tmp, sig, { mode: 0o644 });
  try {
    for (let n = 1; n <= MAX_SIGNATURES; n++) {
      const file = path.join(dir, `signature-${n}`);
      try {
        // A hard link never replaces: a number taken meanwhile (another signer) moves on to the next.
        await fsp.link(tmp, file);
        return file;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
  } finally {
    await fsp.rm(tmp, { force: true });
  }
  throw new BadInputError(`${dir} already holds ${MAX_SIGNATURES} signatures`, { hint: 'remove old signatures there' });
}
