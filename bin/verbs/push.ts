import { image, UsageError, writeFileAtomic } from '../../dsl/index.js';
import { str, type Parsed, type VerbSpec } from '../args.js';
import type { VerbContext } from '../verb.js';
import { REGISTRY_FLAGS, registryOptions } from '../registry-flags.js';
import { SIGN_FLAGS, signOptions } from '../sign-flags.js';

/** The registry flags that apply to a push (an image is pushed as it is: no platform to choose). */
const { platform: _platform, ...PUSH_REGISTRY_FLAGS } = REGISTRY_FLAGS;

/** `cairn push`: write a stored image to a transport. */
export const spec: VerbSpec = {
  name: 'push',
  usage: 'push [--compression-format gzip|zstd|none] [--digestfile FILE] [--creds USER:PASS] [--authfile FILE] [--tls-verify=false] [--cert-dir DIR] [--sign [--sign-key FILE]] [--sign-by FPR [--sign-passphrase-file FILE] [--registries.d DIR]] IMAGE DEST',
  summary: 'Write a stored image to DEST: oci:DIR[:REF], oci-archive:FILE[:REF], docker-archive:FILE[:NAME:TAG] or docker://HOST/REPO[:TAG]; print the digest of the manifest written.',
  example: 'cairn push web docker://registry.example.com/team/web:1',
  flags: {
    'compression-format': { kind: 'string', help: 'layer compression: gzip (default), zstd or none', arg: 'FMT' },
    digestfile: { kind: 'string', help: 'also write the digest of the manifest written to FILE', arg: 'FILE' },
    ...PUSH_REGISTRY_FLAGS,
    ...SIGN_FLAGS,
  },
  min: 2,
  max: 2,
};

/** Pushes. */
export async function main(p: Parsed, ctx: VerbContext): Promise<void> {
  const fmt = str(p, 'compression-format');
  if (fmt !== undefined && fmt !== 'gzip' && fmt !== 'zstd' && fmt !== 'none') throw new UsageError('--compression-format must be gzip, zstd or none');
  const { platform: _p, ...registry } = registryOptions(p);
  const sign = signOptions(p);
  if (Object.keys(sign).length > 0 && !p.args[1].startsWith('docker://')) throw new UsageError('--sign, --sign-key, --sign-by and --registries.d apply to docker:// destinations only');
  const { digest } = await (await image(p.args[0], { root: ctx.root })).push(p.args[1], { compression: fmt, ...registry, ...sign });
  const digestfile = str(p, 'digestfile');
  if (digestfile !== undefined) await writeFileAtomic(digestfile, digest);
  ctx.out(digest);
}
