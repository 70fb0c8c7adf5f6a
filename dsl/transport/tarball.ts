import path from 'node:path';
import { BadInputError, CairnError, NotFoundError } from '../core/errors.js';
import { warn } from '../core/events.js';
import { FLAT_CONFIG } from '../flat/names.js';
import { assemble } from './assemble.js';
import { LayerFileWatch, hashFile } from './hash-file.js';
import type { SourceImage } from './source.js';
import { emptyConfig, type ImageConfig } from '../oci/types.js';
import { buildTimestamp, isoDate } from '../core/timestamp.js';
import { DEFAULT_PATH_ENV } from '../core/which.js';
import { statOrUndefined } from '../core/fsutil.js';
import { openVerifiedFile } from '../store/verify-stream.js';

/** `created` from SOURCE_DATE_EPOCH when set (a bad value is refused); otherwise left out, so the same tarball gives the same image ID. */
function created(): string | undefined {
  const ts = buildTimestamp();
  return ts === undefined ? undefined : isoDate(ts);
}

/** Options of readTarball. */
export interface TarballOptions {
  /** A signature policy file (--signature-policy); else the default places (docs/signing.md). */
  signaturePolicy?: string;
  /** Where a tarball:URL is downloaded to (a private directory below it, removed by close()). */
  tmpDir?: string;
  /** The URL src was downloaded from: the name in messages and the signature policy's scope. */
  url?: string;
}

/**
 * Reads a flat root-filesystem tarball (.tar or .tar.gz) as a one-layer image: the layer is the
 * file as it is (digest of the file, media type by its magic), the config a default one. The signature
 * policy decides first (SignatureError when it refuses the file). A file made by `cairn export` whose
 * signature the policy verified gives its embedded config, and a second layer hiding /.cairn; an unsigned
 * one is a plain root filesystem, its embedded config ignored, unless the policy accepts anything here.
 */
export async function readTarball(src: string, opts: TarballOptions = {}): Promise<SourceImage> {
  if (/^https?:\/\//i.test(src)) {
    if (!opts.tmpDir) throw new CairnError(`tarball URLs need a temporary directory (${src})`, { hint: 'download the file first and use tarball:PATH' });
    const { fetchTarball } = await import('./tarball-url.js');
    const got = await fetchTarball(src, opts.tmpDir);
    try {
      const img = await readTarball(got.file, { ...opts, url: src });
      const close = img.close;
      img.close = async () => {
        await close.call(img);
        await got.remove();
      };
      return img;
    } catch (err) {
      await got.remove();
      throw err;
    }
  }
  const name = opts.url ?? src;
  const st = await statOrUndefined(src);
  if (!st) throw new NotFoundError(`tarball ${name} does not exist`, { hint: 'check the path of tarball:PATH' });
  if (!st.isFile()) throw new NotFoundError(`tarball ${name} is not a file`, { hint: 'tarball:PATH takes a .tar or .tar.gz file' });
  // The policy judges the file before anything of it is used; the trailer of a signed file follows the
  // end-of-archive blocks and is no tar, so the tar check is the signature check's then.
  const [{ checkSignature, embeddedConfig }, { flatImage }] = await Promise.all([import('../flat/read.js'), import('./tarball-flat.js')]);
  // The layer is described from the bytes the policy's check read (from a pass of hashFile's own where they cannot tell).
  const watch = new LayerFileWatch();
  const sig = await checkSignature(src, opts.signaturePolicy, opts.url, watch);
  const info = (await watch.info(sig.sha256, !sig.signed)) ?? (await hashFile(src, { checkTar: !sig.signed }));
  if (sig.sha256 && sig.sha256 !== info.digest) throw new BadInputError(`tarball ${name} changed while it was read`, { hint: 'let whatever writes it finish, then try again' });
  const base = emptyConfig();
  const when = created();
  const config: ImageConfig = {
    ...(when ? { created: when } : {}),
    architecture: base.architecture,
    os: base.os,
    // The PATH a root-filesystem image gets when its tarball says nothing (as docker's default).
    config: { Env: [DEFAULT_PATH_ENV] },
    rootfs: { type: 'layers', diff_ids: [info.diffID] },
    history: [{ ...(when ? { created: when } : {}), created_by: `tarball:${path.basename(name)}` }],
  };
  const descriptor = { mediaType: info.mediaType, digest: info.digest, size: info.size };
  const layer = { descriptor, diffID: info.diffID, open: () => openVerifiedFile(src, descriptor) };
  const plain = () => assemble(config, Buffer.from(JSON.stringify(config)), [layer]);
  if (sig.trust === 'unsigned-rootfs') {
    // An unsigned file says nothing cairn can believe: its config (Entrypoint, Env, User…) is not used.
    const claims = await embeddedConfig(src).then((c) => c !== undefined, () => true);
    if (claims) warn(`tarball ${name} is not signed: its ${FLAT_CONFIG} is ignored and the file is read as a plain root filesystem (a flat image whose signature was cut off looks like this)`);
    return plain();
  }
  // A flat tarball of `cairn export` carries its image config as its first entry (docs/export.md).
  const embedded = await embeddedConfig(src);
  if (embedded) {
    if (sig.trust !== 'signed') warn(`tarball ${name}: its ${FLAT_CONFIG} is used unverified, as the signature policy accepts anything here`);
    const flat = await flatImage(embedded, config, layer);
    return assemble(flat.config, Buffer.from(JSON.stringify(flat.config)), flat.layers);
  }
  return plain();
}
