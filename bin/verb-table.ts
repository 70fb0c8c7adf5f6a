import type { VerbModule } from './verb.js';
import { VERB_MODULES } from './verb-modules.js';

/** Every verb (and alias: unmount) and how to load its module; a verb loads only when it is run. */
export const VERBS: Record<string, () => Promise<VerbModule>> = {
  ...VERB_MODULES,
  shell: () => import('./verbs/shell.js'),
  completion: () => import('./verbs/completion.js'),
};

/** Names that are another verb's alias (left out of the verb list). */
export const ALIASES = new Set(['unmount']);
