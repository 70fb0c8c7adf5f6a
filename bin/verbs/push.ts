import { image, UsageError, writeFileAtomic } from '../../dsl/index.js';
import { str, type Parsed, type VerbSpec } from '../args.js';
import type { VerbContext } from '../verb.js';

/** `cairn push`: write a stored image to a transport. */
export const spec: VerbSpec = {
  name: 'push',
  usage: 'push [--compression-format gzip|zstd|none] [--digestfile FILE] IMAGE DEST',
  summary: 'Write a stored image to DEST: oci:DIR[:REF], oci-archive:FILE[:REF] or docker-archive:FILE[:NAME:TAG]; print the digest of the manifest written.',
  example: 'cairn push web oci-archive:web.tar:latest',
  flags: {
    'compression-format': { kind: 'string', help: 'layer compression: gzip (default), zstd or none', arg: 'FMT' },
    digestfile: { kind: 'string', help: 'also write the digest of the manifest written to FILE', arg: 'FILE' },
  },
  min: 2,
  max: 2,
};

/** Pushes. */
export async function main(p: Parsed, ctx: VerbContext): Promise<void> {
  const fmt = str(p, 'compression-format');
  if (fmt !== undefined && fmt !== 'gzip' && fmt !== 'zstd' && fmt !== 'none') throw new UsageError('--compression-format must be gzip, zstd or none');
  const { digest } = await (await image(p.args[0], { root: ctx.root })).push(p.args[1], { compression: fmt });
  const digestfile = str(p, 'digestfile');
  if (digestfile !== undefined) await writeFileAtomic(digestfile, digest);
  ctx.out(digest);
}
