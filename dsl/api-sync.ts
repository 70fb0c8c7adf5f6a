import { BadInputError } from './core/errors.js';
import { checkOptions } from './core/options.js';
import type { SyncDestination, SyncResult, SyncSource } from './registry/sync.js';
import type { RegistryOptions } from './transport/transports.js';

/** What sync did with one image: source, destination, copied / skipped / would copy / failed, and the digest. */
export type { SyncResult, SyncSource, SyncDestination } from './registry/sync.js';

/** Options of sync(): what SRC and DEST are, which tags, how names map, and the registry options of both sides (plain) or one (src, dest). */
export interface SyncCallOptions extends RegistryOptions {
  /** What SRC is: docker (a repository, or one image with a tag), yaml (skopeo's sync YAML file) or dir (a directory of OCI layouts); default from its spelling. */
  srcType?: SyncSource;
  /** What DEST is: docker (a registry prefix) or dir (one OCI layout per repository); default docker for docker://…, else dir. */
  destType?: SyncDestination;
  /** Only tags matching one of these regular expressions. */
  tagRegex?: string[];
  /** Keep the source's registry and repository path under DEST (DEST/host/ns/app, not DEST/app). */
  scoped?: boolean;
  /** Go on after an image fails, and fail at the end naming them. */
  keepGoing?: boolean;
  /** Tell what would be copied, copying nothing. */
  dryRun?: boolean;
  /** Copy every platform of a multi-platform image (not supported yet: cairn copies one platform). */
  all?: boolean;
  /** The signature policy registry sources must satisfy (default: the system's). */
  signaturePolicy?: string;
  /** Registry options of the source only, over the plain ones. */
  src?: RegistryOptions;
  /** Registry options of the destination only, over the plain ones. */
  dest?: RegistryOptions;
  /** Called with each image when it is done (the CLI prints one line each). */
  onImage?: (r: SyncResult) => void;
}

const SIDE = (v: unknown): string | undefined => (v === undefined || (typeof v === 'object' && v !== null && !Array.isArray(v)) ? undefined : 'must be an object of registry options');

/**
 * Copies every image of a registry repository, a skopeo sync YAML file or a directory of OCI layouts to a
 * registry prefix or a directory, like `skopeo sync` (docs/registry-names.md); a tag the destination already
 * holds is skipped. Returns what was done with each image.
 */
export async function sync(src: string, dest: string, opts: SyncCallOptions = {}): Promise<SyncResult[]> {
  checkOptions('sync', opts, {
    srcType: ['docker', 'yaml', 'dir'], destType: ['docker', 'dir'], tagRegex: 'strings', scoped: 'boolean', keepGoing: 'boolean', dryRun: 'boolean', all: 'boolean', signaturePolicy: 'string',
    creds: 'string', authfile: 'string', tlsVerify: 'boolean', certDir: 'string', platform: 'string', registriesD: 'string',
    sign: 'boolean', signKey: 'string', signBy: 'string', signPassphraseFile: 'string', src: SIDE, dest: SIDE, onImage: (v) => (v === undefined || typeof v === 'function' ? undefined : 'must be a function'),
  });
  if (typeof src !== 'string' || typeof dest !== 'string') throw new BadInputError('sync: the source and destination must be strings', { hint: "sync('docker://registry.example.com/app', 'docker://mirror.example.com/team')" });
  if (opts.all) throw new BadInputError('sync --all is not supported: cairn copies one platform of a multi-platform image', { hint: 'leave out --all (this machine\'s platform is copied), or give --platform OS/ARCH' });
  const { creds, authfile, tlsVerify, certDir, platform, registriesD, sign: s, signKey, signBy, signPassphraseFile } = opts;
  const defined = (o: RegistryOptions) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as RegistryOptions;
  const plain = defined({ creds, authfile, tlsVerify, certDir, registriesD });
  // Signing options are the destination's (what is pushed is signed).
  const signing = defined({ sign: s, signKey, signBy, signPassphraseFile });
  const { syncImages } = await import('./registry/sync.js');
  return syncImages(src, dest, {
    srcType: opts.srcType,
    destType: opts.destType,
    tagRegex: opts.tagRegex,
    scoped: opts.scoped,
    keepGoing: opts.keepGoing,
    dryRun: opts.dryRun,
    signaturePolicy: opts.signaturePolicy,
    srcRegistry: { ...plain, ...(platform ? { platform } : {}), ...opts.src },
    destRegistry: { ...plain, ...signing, ...opts.dest },
    onImage: opts.onImage,
  });
}
