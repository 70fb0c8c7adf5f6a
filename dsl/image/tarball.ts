import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { CairnError, NotFoundError } from '../errors.js';
import { assemble } from './assemble.js';
import { hashFile } from './hash-file.js';
import type { SourceImage } from './image.js';
import { emptyConfig, type ImageConfig } from './types.js';
import { openVerifiedFile } from './verify-stream.js';

/** The PATH a root-filesystem image gets when its tarball says nothing (as docker's default). */
export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** `created` from SOURCE_DATE_EPOCH when set; otherwise left out, so the same tarball gives the same image ID. */
function created(): string | undefined {
  const e = process.env.SOURCE_DATE_EPOCH;
  if (!e || !/^[0-9]+$/.test(e)) return undefined;
  return new Date(Number(e) * 1000).toISOString().replace(/\.000Z$/, 'Z');
}

/**
 * Reads a flat root-filesystem tarball (.tar or .tar.gz) as a one-layer image: the layer is the
 * file as it is (digest of the file, media type by its magic), the config a default one. A signed file
 * must verify under a trusted key (SignatureError otherwise); one made by `cairn export` gives its
 * embedded config, and a second layer hiding /.cairn.
 */
export async function readTarball(src: string): Promise<SourceImage> {
  if (/^https?:\/\//i.test(src)) {
    throw new CairnError(`tarball URLs are not supported yet (${src})`, { hint: 'download the file first and use tarball:PATH' });
  }
  const st = await fsp.stat(src).catch(() => undefined);
  if (!st) throw new NotFoundError(`tarball ${src} does not exist`, { hint: 'check the path of tarball:PATH' });
  if (!st.isFile()) throw new NotFoundError(`tarball ${src} is not a file`, { hint: 'tarball:PATH takes a .tar or .tar.gz file' });
  // A signed tarball (bali trailer) must verify under a trusted key before anything of it is used; the
  // trailer after the end-of-archive blocks is no tar, so the tar check is the signature check's then.
  const { checkSignature, embeddedConfig, flatImage } = await import('../sign/flat-read.js');
  const sig = await checkSignature(src);
  const info = await hashFile(src, { checkTar: !sig.signed });
  const base = emptyConfig();
  const when = created();
  const config: ImageConfig = {
    ...(when ? { created: when } : {}),
    architecture: base.architecture,
    os: base.os,
    config: { Env: [DEFAULT_PATH] },
    rootfs: { type: 'layers', diff_ids: [info.diffID] },
    history: [{ ...(when ? { created: when } : {}), created_by: `tarball:${path.basename(src)}` }],
  };
  const descriptor = { mediaType: info.mediaType, digest: info.digest, size: info.size };
  const layer = { descriptor, diffID: info.diffID, open: () => openVerifiedFile(src, descriptor) };
  // A flat tarball of `cairn export` carries its image config as its first entry (docs/export.md).
  const embedded = await embeddedConfig(src);
  if (embedded) {
    const flat = await flatImage(embedded, config, layer);
    return assemble(flat.config, Buffer.from(JSON.stringify(flat.config)), flat.layers);
  }
  return assemble(config, Buffer.from(JSON.stringify(config)), [layer]);
}
