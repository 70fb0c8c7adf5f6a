import { register } from 'node:module';
import path from 'node:path';
import { existsSync, realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { BadInputError, NotFoundError, isCairnError, type CairnEvent } from '../../dsl/index.js';
import { str, type Parsed, type VerbSpec } from '../args.js';
import type { VerbContext } from '../verb.js';
import { attachLogger } from '../log.js';
import { printFailure } from '../dispatch.js';
import { linkPlace, sourceLines, syntaxPlace, userFrame } from '../script-error.js';

/** `cairn build`: run a .build.mjs script. */
export const spec: VerbSpec = {
  name: 'build',
  usage: 'build [--rm] [--iidfile FILE] FILE.build.mjs [ARG…]',
  summary: 'Run a build script that imports the cairn library (`import { from } from \'cairn\'`); ARGs reach it (zx\'s `argv`, and process.argv). The containers a failed run made are kept to look into, until --rm or the next successful run.',
  example: 'cairn build recipes/hello.build.mjs',
  flags: {
    rm: { kind: 'bool', help: 'remove the containers of a script that fails (by default they are kept to look into, until the next successful run)' },
    iidfile: { kind: 'string', help: 'write the ID (sha256:…) of the last image the script committed to FILE', arg: 'FILE' },
  },
  min: 1,
  max: 1,
  stopAfter: 1,
};

type Lib = typeof import('../../dsl/index.js');
type Made = Map<string, { id: string; name: string; root: string }>;

/** Runs the script; a failure names the script's line, and the containers it made are kept (or removed with --rm). */
export async function main(p: Parsed, ctx: VerbContext): Promise<number> {
  const file = path.resolve(p.args[0]);
  if (!/\.(m?js)$/.test(file)) {
    throw new BadInputError(`${p.args[0]} is not a build script`, { hint: 'give a FILE.build.mjs script; Dockerfile builds take -f and a context directory' });
  }
  if (!existsSync(file)) throw new NotFoundError(`build script ${p.args[0]} does not exist`, { hint: 'check the path (a build script is a FILE.build.mjs)' });
  const script = realpathSync(file);
  if (ctx.root) process.env.CAIRN_ROOT = path.resolve(ctx.root);
  // The CLI runs from dist/bin or dist/cli; the library scripts import is dist/dsl/index.js beside them.
  const cli = pathToFileURL(realpathSync(process.argv[1]));
  // The script's arguments are in place before the library (and zx, which parses them into argv) is loaded.
  process.argv = [process.argv[0], file, ...(p.rest[0] === '--' ? p.rest.slice(1) : p.rest)];
  const install = path.dirname(path.dirname(cli.pathname));
  const libUrl = new URL('../dsl/index.js', cli).href;
  register(new URL('./build-hooks.js', cli).href, { parentURL: import.meta.url, data: { url: libUrl } });
  const lib = (await import(libUrl)) as Lib;
  attachLogger({ quiet: ctx.quiet }, lib.events);
  // The containers an earlier failed run left keep their content but give up their names, which this run may want.
  await lib.setAsideFailedBuild(script);
  const made: Made = new Map();
  let last: string | undefined;
  const track = (ev: CairnEvent) => {
    if (ev.type === 'image') last = ev.id;
    if (ev.type !== 'container') return;
    if (ev.action === 'created') made.set(ev.id, { id: ev.id, name: ev.name, root: ev.root });
    else made.delete(ev.id);
  };
  lib.events.on('event', track);
  // The script may set process.exitCode itself; cairn's own default (failure until settled) must not leak into it.
  process.exitCode = undefined;
  try {
    await import(pathToFileURL(file).href);
  } catch (err) {
    lib.events.off('event', track);
    const status = report(err, file, p.args[0], install, lib);
    await leave(lib, script, made, p.flags.rm === true, p.args[0]);
    return status;
  }
  lib.events.off('event', track);
  // A successful run removes what the failed runs before it left, in every store it used.
  const roots = new Set([await lib.storeRoot(), ...[...made.values()].map((c) => c.root)]);
  for (const root of roots) {
    const left = await lib.failedBuildContainers(script, { root });
    if (!left.length) continue;
    const names = await lib.removeBuildContainers(script, left, { root });
    if (names.length) process.stderr.write(`cairn build: removed the containers an earlier failed run left (${names.join(', ')})\n`);
  }
  const iidfile = str(p, 'iidfile');
  if (iidfile !== undefined) {
    if (!last) throw new BadInputError(`--iidfile ${iidfile}: the script committed no image`, { hint: 'commit one in the script (await c.commit(NAME))' });
    await lib.writeFileAtomic(iidfile, `sha256:${last}`);
  }
  return typeof process.exitCode === 'number' ? process.exitCode : 0;
}

/** What a failed run leaves: its containers kept and listed for inspection, or removed (--rm). */
async function leave(lib: Lib, script: string, made: Made, rm: boolean, shown: string): Promise<void> {
  const byRoot = new Map<string, { id: string; name: string }[]>();
  for (const c of made.values()) byRoot.set(c.root, [...(byRoot.get(c.root) ?? []), { id: c.id, name: c.name }]);
  for (const [root, left] of byRoot) {
    try {
      if (rm) {
        const names = await lib.removeBuildContainers(undefined, left, { root });
        if (names.length) process.stderr.write(`cairn build: removed the containers the script made (${names.join(', ')})\n`);
      } else {
        await lib.keepFailedBuildContainers(script, left, { root });
        process.stderr.write(
          `cairn build: kept the containers the script made, to look into: ${left.map((c) => c.name).join(', ')}\n` +
            `  hint: \`cairn run NAME sh\` or \`cairn diff NAME\` to look; the next successful run of ${shown} removes them, --rm removes them at once\n`,
        );
      }
    } catch (err) {
      process.stderr.write(`cairn build: cannot record the containers the script made: ${(err as Error).message}\n`);
    }
  }
}

/** Prints a script's failure at its place in the user's code; returns the status (125 for cairn's errors, 1 for the script's). */
function report(err: unknown, file: string, shown: string, install: string, lib: Lib): number {
  const place = userFrame(err, file, shown, install);
  if (isCairnError(err)) {
    if (place) err.message = `${place.file}:${place.line}: ${err.message}`;
    printFailure('build', err, spec.usage);
    return 125;
  }
  const e = err as Error | undefined;
  const what = e instanceof Error ? `${e.name}: ${e.message}` : String(err);
  const syntax = !place && e instanceof SyntaxError ? (linkPlace(e, file, shown) ?? syntaxPlace(file, shown)) : undefined;
  const where = place ? `${place.file}:${place.line}` : syntax?.where;
  process.stderr.write(`cairn build: ${where ? `${where}: ` : `${shown} failed: `}${what}\n`);
  const lines = place ? sourceLines(place) : syntax?.lines ?? [];
  if (lines.length) process.stderr.write(lines.join('\n') + '\n');
  // An import of a name the library does not export: the closest one it does.
  const missing = e instanceof SyntaxError ? /module 'cairn' does not provide an export named '([^']+)'/.exec(e.message) : null;
  if (missing) {
    const near = lib.didYouMean(missing[1], Object.keys(lib));
    process.stderr.write(`  hint: ${near ? `did you mean \`${near}\`? ` : ''}the library's exports are listed in docs/api\n`);
  }
  if (!where || process.env.CAIRN_DEBUG === '1') process.stderr.write(`${e?.stack ?? ''}\n`);
  return 1;
}
