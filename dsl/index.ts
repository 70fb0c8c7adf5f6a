/** The cairn library: working containers, images and transports, for build scripts and the CLI. */
export * from './api.js';
/** zx's `$` for host commands in build scripts. */
export { $ } from 'zx/core';
/** Verifies the whole store (blobs, references, leftovers of interrupted verbs); `repair: true` removes what is broken. */
export { check, type CheckOptions, type CheckResult } from './store/check.js';
/** What `gc()` removed. */
export type { GcResult } from './store/gc.js';
