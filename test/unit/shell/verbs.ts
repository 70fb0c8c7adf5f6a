// The CLI's verb table as `cairn shell` hands it to shell/ (bin/verbs/shell.ts), for the shell's unit tests.
import { helpText, parseArgs } from '../../../bin/args.js';
import { VERB_MODULES } from '../../../bin/verb-modules.js';
import type { VerbTable } from '../../../shell/types.js';

/** The verb table of the CLI. */
export const VERBS: VerbTable = { verbs: VERB_MODULES, parse: parseArgs, help: helpText };
