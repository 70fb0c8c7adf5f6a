import type { Stats } from 'node:fs';
import path from 'node:path';
import { BadInputError, CairnError, NotFoundError } from '../core/errors.js';
import { statOrUndefined } from '../core/fsutil.js';

/** A parsed `--volume HOST:CTR[:OPTIONS]`, its source checked on the host. */
export interface VolumeSpec {
  /** The host path, absolute. */
  source: string;
  /** The path in the container or image, as given. */
  target: string;
  ro: boolean;
  /** The source's stat (symlinks followed): a directory is bound on a directory, a file on a file. */
  stat: Stats;
}

/** The options `run --volume` takes (z and Z, SELinux relabelling, are accepted and ignored, as buildah's chroot isolation does). */
export const RUN_VOLUME_OPTIONS = ['ro', 'rw', 'z', 'Z'];

/**
 * Parses `HOST:CTR[:OPT[,OPT…]]` with options among `allowed`, and stats HOST: BadInputError for a malformed
 * spec, NotFoundError when HOST does not exist (only then: any other failure to stat it is thrown as such).
 */
export async function parseVolume(spec: string, allowed: readonly string[] = RUN_VOLUME_OPTIONS): Promise<VolumeSpec> {
  const parts = spec.split(':');
  // An empty option field (`HOST:CTR:`) means no options.
  const opts = parts[2] ? parts[2].split(',') : [];
  if (parts.length < 2 || parts.length > 3 || !parts[0] || !parts[1] || opts.some((o) => !allowed.includes(o))) {
    throw new BadInputError(`invalid --volume ${spec}`, { hint: 'use HOST:CONTAINER[:ro]' });
  }
  const source = path.resolve(parts[0]);
  let stat: Stats | undefined;
  try {
    stat = await statOrUndefined(source);
  } catch (err) {
    throw new CairnError(`--volume source ${source} cannot be used: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { hint: 'check the path and its permissions', cause: err });
  }
  if (!stat) throw new NotFoundError(`--volume source ${source} does not exist`, { hint: 'create it first, or fix the path' });
  return { source, target: parts[1], ro: opts.includes('ro'), stat };
}
