/*
 * Which build of cairn is running: bin/bundle.mjs replaces __CAIRN_BUILD_ID__ in the bundled CLI with a digest
 * of the compiled code and the locked dependencies. Code run from dist/ unbundled (tests, the library a build
 * script imports) has none.
 */

declare const __CAIRN_BUILD_ID__: string | undefined;

/** The running build's digest (hex), undefined when cairn runs unbundled: what a cache of cairn's own results is keyed by. */
export const BUILD_ID: string | undefined = typeof __CAIRN_BUILD_ID__ === 'string' ? __CAIRN_BUILD_ID__ : undefined;
