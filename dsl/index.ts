/** The cairn library: working containers, images and transports, for build scripts and the CLI. */
export * from './api.js';
/** zx's `$` for host commands in build scripts. */
export { $ } from 'zx/core';
