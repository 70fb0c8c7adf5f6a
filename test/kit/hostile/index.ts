// The hostile corpus: every case, by class (see types.ts for what a case is and runner.ts for how it is judged).
import { copyRun } from './copy-run.js';
import { deferred, hardlinks } from './hardlinks.js';
import { manifests } from './manifests.js';
import { names, symlinks } from './names-links.js';
import { signatures } from './signatures.js';
import { duplicates, special } from './special.js';
import { gzipStreams, longNames, pax, tarStreams } from './stream.js';
import type { HostileCase } from './types.js';
import { whiteouts } from './whiteouts.js';

/** Every row of the corpus (a case once per source it applies to). */
export const CORPUS: HostileCase[] = [
  ...names, ...symlinks, ...hardlinks, ...deferred, ...whiteouts, ...special, ...duplicates,
  ...pax, ...longNames, ...tarStreams, ...gzipStreams, ...manifests, ...signatures, ...copyRun,
];

export type { HostileCase, Outcome, Source, Who } from './types.js';
