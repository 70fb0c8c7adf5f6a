import { createReadStream } from 'node:fs';
import { BadInputError, isCairnError } from '../core/errors.js';
import { decompress } from '../layer/compress.js';
import { strictTarExtract } from '../layer/tar-read.js';
import type { ImageConfig } from '../oci/types.js';
import { parseEmbeddedConfig } from '../oci/validate.js';
import { FLAT_CONFIG } from './names.js';
import type { StreamWatch } from './trailer.js';

/** The largest .cairn/config.json cairn reads (a config is a few kilobytes). */
const CONFIG_LIMIT = 4 << 20;

/** What the signature policy decided about a tarball: file. */
export interface FlatSignature {
  /** The file carries a trailer (then it is no plain tar: the trailer follows the end-of-archive blocks). */
  signed: boolean;
  /**
   * `signed`: verified under a key the policy accepts, so its embedded config is trusted; `unsigned-rootfs`:
   * unsigned, read as a plain root filesystem only; `unchecked`: the policy asked for nothing.
   */
  trust: 'signed' | 'unsigned-rootfs' | 'unchecked';
  /** The signer's identity string, when verified. */
  signer?: string;
  /** 'sha256:…' of the file as the check read it. */
  sha256?: string;
}

/**
 * Applies the signature policy (`policy`: a --signature-policy file; else the default places) to a tarball
 * given as tarball:FILE; SignatureError when it refuses the file (a signature that does not verify under a
 * key it accepts, an unsigned file where it wants a signature, a `reject`). A watch is given the bytes the check
 * reads (all of them, unless the policy refuses the file before reading it).
 */
export async function checkSignature(file: string, policy?: string, url?: string, watch?: StreamWatch): Promise<FlatSignature> {
  const [{ fileScopes, refusalError, tarballRequirements }, { judgeFile }] = await Promise.all([import('../sign/trust.js'), import('./judge.js')]);
  // A file downloaded from url (tarball:URL) is judged as that URL, which has no path scopes.
  const a = tarballRequirements(url ? fileScopes(url, true) : fileScopes(file), policy);
  const c = await judgeFile(a, () => createReadStream(file, { highWaterMark: 1 << 20 }), { mode: 'flat', watch });
  const j = c.judgement;
  if (!j.ok) throw refusalError(j, `tarball ${url ?? file}`);
  return { signed: c.verdict?.signed ?? false, trust: j.trust, sha256: c.verdict?.sha256, ...(j.trust === 'signed' ? { signer: j.signer } : {}) };
}

function badConfig(file: string, why: string): BadInputError {
  return new BadInputError(`${file}: ${FLAT_CONFIG} ${why}`, { hint: 'the flat tarball is damaged; export it again' });
}

/** Parses and checks an embedded config (oci/validate.ts parseEmbeddedConfig). */
function parseConfig(bytes: Buffer, file: string): ImageConfig {
  return parseEmbeddedConfig(bytes, `${file}: ${FLAT_CONFIG}`, 'the flat tarball is damaged; export it again');
}

/**
 * The image config a flat tarball carries as its first entry (.cairn/config.json), or undefined when the
 * first entry is anything else (mmdebstrap output, a plain rootfs tar). Reads only the first entry.
 */
export async function embeddedConfig(file: string): Promise<ImageConfig | undefined> {
  const raw = createReadStream(file, { highWaterMark: 1 << 20 });
  const tar = decompress(raw);
  const ex = strictTarExtract();
  tar.on('error', (err) => ex.destroy(err));
  tar.pipe(ex as unknown as NodeJS.WritableStream);
  try {
    for await (const entry of ex) {
      const h = entry.header;
      if (h.name.replace(/^\.\//, '') !== FLAT_CONFIG || h.type !== 'file') return undefined;
      if ((h.size ?? 0) > CONFIG_LIMIT) throw badConfig(file, `is larger than ${CONFIG_LIMIT} bytes`);
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      return parseConfig(Buffer.concat(chunks), file);
    }
    return undefined;
  } catch (err) {
    if (isCairnError(err)) throw err;
    throw new BadInputError(`${file} is not a tar archive: ${(err as Error).message}`, { cause: err, hint: 'give a .tar or .tar.gz of a root filesystem' });
  } finally {
    tar.unpipe(ex as unknown as NodeJS.WritableStream);
    tar.destroy();
    raw.destroy();
    ex.destroy();
  }
}

