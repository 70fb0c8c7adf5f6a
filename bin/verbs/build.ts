import { register } from 'node:module';
import path from 'node:path';
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { BadInputError, NotFoundError, isCairnError } from '../../dsl/index.js';
import { existsSync } from 'node:fs';
import type { Parsed, VerbSpec } from '../args.js';
import type { VerbContext } from '../verb.js';
import { attachLogger } from '../log.js';

/** `cairn build`: run a .build.mjs script. */
export const spec: VerbSpec = {
  name: 'build',
  usage: 'build FILE.build.mjs [ARG…]',
  summary: 'Run a build script that imports the cairn library (`import { from } from \'cairn\'`); ARGs reach it in process.argv.',
  example: 'cairn build recipes/hello.build.mjs',
  flags: {},
  min: 1,
  max: 1,
  stopAfter: 1,
};

/** Runs the script. */
export async function main(p: Parsed, ctx: VerbContext): Promise<number> {
  const file = path.resolve(p.args[0]);
  if (!/\.(m?js)$/.test(file)) {
    throw new BadInputError(`${p.args[0]} is not a build script`, { hint: 'give a FILE.build.mjs script; Dockerfile builds take -f and a context directory' });
  }
  if (!existsSync(file)) throw new NotFoundError(`build script ${p.args[0]} does not exist`);
  if (ctx.root) process.env.CAIRN_ROOT = path.resolve(ctx.root);
  // The CLI runs from dist/bin or dist/cli; the library scripts import is dist/dsl/index.js beside them.
  const cli = pathToFileURL(realpathSync(process.argv[1]));
  const lib = new URL('../dsl/index.js', cli).href;
  register(new URL('./build-hooks.js', cli).href, { parentURL: import.meta.url, data: { url: lib } });
  attachLogger({ quiet: ctx.quiet }, ((await import(lib)) as typeof import('../../dsl/index.js')).events);
  process.argv = [process.argv[0], file, ...(p.rest[0] === '--' ? p.rest.slice(1) : p.rest)];
  // The script may set process.exitCode itself; cairn's own default (failure until settled) must not leak into it.
  process.exitCode = undefined;
  try {
    await import(pathToFileURL(file).href);
  } catch (err) {
    if (isCairnError(err)) throw err;
    process.stderr.write(`cairn build: ${p.args[0]} failed: ${(err as Error)?.stack ?? String(err)}\n`);
    return 1;
  }
  return typeof process.exitCode === 'number' ? process.exitCode : 0;
}
