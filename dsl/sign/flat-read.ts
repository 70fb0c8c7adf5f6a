import { createReadStream } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import tarStream from 'tar-stream';
import { BadInputError, isCairnError } from '../errors.js';
import { decompress } from '../layer/compress.js';
import type { SourceLayer } from '../image/image.js';
import { MediaType, type ImageConfig } from '../image/types.js';
import { sha256 } from '../image/validate.js';
import { FLAT_CONFIG, FLAT_META_DIR } from './flat-format.js';

/** The largest .cairn/config.json cairn reads (a config is a few kilobytes). */
const CONFIG_LIMIT = 4 << 20;

/** What the signature check of a flat tarball found. */
export interface FlatSignature {
  /** The file carries a trailer (and, since checkSignature returned, it verified under a trusted key). */
  signed: boolean;
  /** The signer's identity string. */
  signer?: string;
}

/**
 * Checks a tarball given as tarball:FILE: a signed one (bali trailer) must verify under a trusted key, else
 * SignatureError (tampered, or signed by a key not trusted); an unsigned one passes, as mmdebstrap output does.
 */
export async function checkSignature(file: string): Promise<FlatSignature> {
  const { verifyStream, requireTrusted } = await import('./trailer.js');
  // A first pass with no keys tells whether the file is signed at all, so that reading unsigned tarballs
  // never needs (or creates) the local key.
  const probe = await verifyStream(createReadStream(file), []);
  if (!probe.signed) return { signed: false };
  if (probe.reason?.startsWith('tampered')) requireTrusted(probe, `tarball ${file}`);
  const { trustedKeys } = await import('./keys.js');
  const v = await verifyStream(createReadStream(file), await trustedKeys());
  requireTrusted(v, `tarball ${file}`);
  return { signed: true, signer: v.signer?.id };
}

function badConfig(file: string, why: string): BadInputError {
  return new BadInputError(`${file}: ${FLAT_CONFIG} ${why}`, { hint: 'the flat tarball is damaged; export it again' });
}

const isStrings = (v: unknown): boolean => Array.isArray(v) && v.every((x) => typeof x === 'string');

/** Parses and sanity-checks an embedded config: an object whose run config has the types runtimes rely on. */
function parseConfig(bytes: Buffer, file: string): ImageConfig {
  let c: ImageConfig;
  try {
    c = JSON.parse(bytes.toString('utf8')) as ImageConfig;
  } catch {
    throw badConfig(file, 'is not JSON');
  }
  if (!c || typeof c !== 'object' || Array.isArray(c)) throw badConfig(file, 'is not a JSON object');
  const r = c.config;
  if (r !== undefined && (typeof r !== 'object' || r === null || Array.isArray(r))) throw badConfig(file, 'has an invalid "config"');
  if (r) {
    for (const k of ['Entrypoint', 'Cmd'] as const) if (r[k] !== undefined && r[k] !== null && !isStrings(r[k])) throw badConfig(file, `has an invalid ${k}`);
    if (r.Env !== undefined && !isStrings(r.Env)) throw badConfig(file, 'has an invalid Env');
    for (const k of ['WorkingDir', 'User'] as const) if (r[k] !== undefined && typeof r[k] !== 'string') throw badConfig(file, `has an invalid ${k}`);
  }
  return c;
}

/**
 * The image config a flat tarball carries as its first entry (.cairn/config.json), or undefined when the
 * first entry is anything else (mmdebstrap output, a plain rootfs tar). Reads only the first entry.
 */
export async function embeddedConfig(file: string): Promise<ImageConfig | undefined> {
  const raw = createReadStream(file);
  const tar = decompress(raw);
  const ex = tarStream.extract();
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

let hideBytes: Buffer | undefined;

/**
 * A one-entry layer that whites out /.cairn: stacked on a flat tarball's layer (which keeps the file's bytes
 * as they are, signature included), it keeps cairn's metadata out of the root filesystem for every OCI
 * runtime, not only cairn's. The same bytes every time.
 */
export async function hideMetaLayer(): Promise<SourceLayer> {
  if (!hideBytes) {
    const { packEntries } = await import('../layer/tarwriter.js');
    const chunks: Buffer[] = [];
    for await (const c of packEntries([{ path: `.wh.${FLAT_META_DIR}`, type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 0 }])) chunks.push(c as Buffer);
    hideBytes = Buffer.concat(chunks);
  }
  const bytes = hideBytes;
  const digest = sha256(bytes);
  return { descriptor: { mediaType: MediaType.layerTar, digest, size: bytes.length }, diffID: digest, open: async () => Readable.from([bytes]) };
}

/**
 * The image of a flat tarball with an embedded config: that config's run config, author and platform over
 * the tarball's layer plus the layer hiding /.cairn. `plain` is the config the tarball alone would get
 * (its history entry names the file); `created` is the embedded one when it has one.
 */
export async function flatImage(embedded: ImageConfig, plain: ImageConfig, layer: SourceLayer): Promise<{ config: ImageConfig; layers: SourceLayer[] }> {
  const hide = await hideMetaLayer();
  const created = typeof embedded.created === 'string' ? embedded.created : plain.created;
  const when = created ? { created } : {};
  const config: ImageConfig = {
    ...when,
    ...(typeof embedded.author === 'string' ? { author: embedded.author } : {}),
    architecture: typeof embedded.architecture === 'string' ? embedded.architecture : plain.architecture,
    os: typeof embedded.os === 'string' ? embedded.os : plain.os,
    ...(typeof embedded.variant === 'string' ? { variant: embedded.variant } : {}),
    config: embedded.config ?? plain.config,
    rootfs: { type: 'layers', diff_ids: [layer.diffID, hide.diffID] },
    history: [
      ...(plain.history ?? []).map((h) => ({ ...h, ...when })),
      { ...when, created_by: `cairn: hide /${FLAT_META_DIR} (${path.posix.join('/', FLAT_CONFIG)} is the image config, not part of the root filesystem)` },
    ],
  };
  return { config, layers: [layer, hide] };
}
