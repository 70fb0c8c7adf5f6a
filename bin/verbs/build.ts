import { register } from 'node:module';
import path from 'node:path';
import { existsSync, realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { BadInputError, NotFoundError, isCairnError, type CairnEvent } from '../../dsl/index.js';
import { str, type Parsed, type VerbSpec } from '../args.js';
import type { VerbContext } from '../verb.js';
import { attachLogger } from '../log.js';
import { printFailure } from '../dispatch.js';
import { sourceLines, syntaxPlace, userFrame } from '../script-error.js';

/** `cairn build`: run a .build.mjs script. */
export const spec: VerbSpec = {
  name: 'build',
  usage: 'build [--keep] [--iidfile FILE] FILE.build.mjs [ARG…]',
  summary: 'Run a build script that imports the cairn library (`import { from } from \'cairn\'`); ARGs reach it in process.argv. When it fails, the containers it made are removed.',
  example: 'cairn build recipes/hello.build.mjs',
  flags: {
    keep: { kind: 'bool', help: 'keep the containers of a script that fails (to look into them)' },
    iidfile: { kind: 'string', help: 'write the ID (sha256:…) of the last image the script committed to FILE', arg: 'FILE' },
  },
  min: 1,
  max: 1,
  stopAfter: 1,
};

type Lib = typeof import('../../dsl/index.js');

/** Runs the script; a failure names the script's line, and the containers it made are removed unless --keep. */
export async function main(p: Parsed, ctx: VerbContext): Promise<number> {
  const file = path.resolve(p.args[0]);
  if (!/\.(m?js)$/.test(file)) {
    throw new BadInputError(`${p.args[0]} is not a build script`, { hint: 'give a FILE.build.mjs script; Dockerfile builds take -f and a context directory' });
  }
  if (!existsSync(file)) throw new NotFoundError(`build script ${p.args[0]} does not exist`, { hint: 'check the path (a build script is a FILE.build.mjs)' });
  if (ctx.root) process.env.CAIRN_ROOT = path.resolve(ctx.root);
  // The CLI runs from dist/bin or dist/cli; the library scripts import is dist/dsl/index.js beside them.
  const cli = pathToFileURL(realpathSync(process.argv[1]));
  const install = path.dirname(path.dirname(cli.pathname));
  const libUrl = new URL('../dsl/index.js', cli).href;
  register(new URL('./build-hooks.js', cli).href, { parentURL: import.meta.url, data: { url: libUrl } });
  const lib = (await import(libUrl)) as Lib;
  attachLogger({ quiet: ctx.quiet }, lib.events);
  const made = new Map<string, { name: string; root: string }>();
  let last: string | undefined;
  const track = (ev: CairnEvent) => {
    if (ev.type === 'image') last = ev.id;
    if (ev.type !== 'container') return;
    if (ev.action === 'created') made.set(ev.id, { name: ev.name, root: ev.root });
    else made.delete(ev.id);
  };
  lib.events.on('event', track);
  process.argv = [process.argv[0], file, ...(p.rest[0] === '--' ? p.rest.slice(1) : p.rest)];
  // The script may set process.exitCode itself; cairn's own default (failure until settled) must not leak into it.
  process.exitCode = undefined;
  try {
    await import(pathToFileURL(file).href);
  } catch (err) {
    lib.events.off('event', track);
    const status = report(err, file, p.args[0], install);
    const names = p.flags.keep ? [] : await removeAll(lib, made);
    if (names.length) process.stderr.write(`cairn build: removed the containers the script made (${names.join(', ')}); --keep keeps them\n`);
    return status;
  }
  lib.events.off('event', track);
  const iidfile = str(p, 'iidfile');
  if (iidfile !== undefined) {
    if (!last) throw new BadInputError(`--iidfile ${iidfile}: the script committed no image`, { hint: 'commit one in the script (await c.commit(NAME))' });
    await lib.writeFileAtomic(iidfile, `sha256:${last}`);
  }
  return typeof process.exitCode === 'number' ? process.exitCode : 0;
}

/** Prints a script's failure at its place in the user's code; returns the status (125 for cairn's errors, 1 for the script's). */
function report(err: unknown, file: string, shown: string, install: string): number {
  const place = userFrame(err, file, shown, install);
  if (isCairnError(err)) {
    if (place) err.message = `${place.file}:${place.line}: ${err.message}`;
    printFailure('build', err, spec.usage);
    return 125;
  }
  const e = err as Error | undefined;
  const what = e instanceof Error ? `${e.name}: ${e.message}` : String(err);
  const syntax = !place && e instanceof SyntaxError ? syntaxPlace(file, shown) : undefined;
  const where = place ? `${place.file}:${place.line}` : syntax?.where;
  process.stderr.write(`cairn build: ${where ? `${where}: ` : `${shown} failed: `}${what}\n`);
  const lines = place ? sourceLines(place) : syntax?.lines ?? [];
  if (lines.length) process.stderr.write(lines.join('\n') + '\n');
  if (!where || process.env.CAIRN_DEBUG === '1') process.stderr.write(`${e?.stack ?? ''}\n`);
  return 1;
}

/** Removes the containers a failed script made and left (best effort); returns their names. */
async function removeAll(lib: Lib, made: Map<string, { name: string; root: string }>): Promise<string[]> {
  const names: string[] = [];
  for (const [id, c] of made) {
    try {
      await (await lib.container(id, { root: c.root })).remove();
      names.push(c.name);
    } catch {
      // Gone already, or held by another process: left as it is.
    }
  }
  return names;
}
