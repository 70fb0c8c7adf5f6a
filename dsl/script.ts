/*
 * What build scripts get beyond the engine: zx's `$` for host commands. In a file of its own so that the
 * bundled CLI, which imports dsl/index.ts but never `$`, does not load zx (an external package whose import
 * the bundler keeps wherever the importing file is included).
 */

import minimist from 'minimist';

/** zx's `$` for host commands in build scripts, its `cd` (the working directory of later commands) and `within` (settings for a callback's commands). */
export { $, cd, within } from 'zx/core';
// minimist itself rather than zx's main module (whose argv it is), which would load all of zx's extras.
/** The script's arguments (those after FILE in `cairn build FILE ARG…`), parsed as zx parses them: flags by name, the rest in `argv._`. */
export const argv = minimist(process.argv.slice(2));
