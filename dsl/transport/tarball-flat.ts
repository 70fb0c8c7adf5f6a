import path from 'node:path';
import { Readable } from 'node:stream';
import type { SourceLayer } from './source.js';
import { MediaType, type ImageConfig } from '../oci/types.js';
import { sha256 } from '../oci/validate.js';
import { FLAT_CONFIG, FLAT_META_DIR } from '../flat/names.js';

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
