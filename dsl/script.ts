/*
 * What build scripts get beyond the engine: zx's `$` for host commands. In a file of its own so that the
 * bundled CLI, which imports dsl/index.ts but never `$`, does not load zx (an external package whose import
 * the bundler keeps wherever the importing file is included).
 */

/** zx's `$` for host commands in build scripts. */
export { $ } from 'zx/core';
