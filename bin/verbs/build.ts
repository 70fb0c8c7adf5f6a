import path from 'node:path';
import { existsSync, realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { BadInputError, NotFoundError } from '../../dsl/index.js';
import { str, type Parsed, type VerbSpec } from '../args.js';
import type { VerbContext } from '../verb.js';
import { attachLogger } from '../log.js';
import { DOCKERFILE_FLAGS, buildFromFlags, dockerfileArgs } from '../dockerfile-flags.js';

/** `cairn build`: build a Dockerfile (docs/dockerfile.md), or run a .build.mjs script. */
export const spec: VerbSpec = {
  name: 'build',
  usage: 'build [-f FILE] [-t NAME]… [--build-arg K=V]… [--secret id=ID,src=PATH]… [--target STAGE] [--layers] [--squash] [--iidfile FILE] [CONTEXT] | build [--rm] [--iidfile FILE] FILE.build.mjs [ARG…]',
  summary: 'Build an image from a Dockerfile (CONTEXT/Dockerfile or Containerfile, -f FILE, -f - for stdin) and print its ID; or run a build script that imports the cairn library (`import { from } from \'cairn\'`), its ARGs reaching it (zx\'s `argv`, and process.argv), the containers a failed run made kept to look into until --rm or the next successful run.',
  example: 'cairn build -t localhost/app:1 --build-arg VERSION=1.2 .',
  flags: {
    ...DOCKERFILE_FLAGS,
    rm: { kind: 'bool', help: 'remove the containers of a script that fails (by default they are kept to look into, until the next successful run); a Dockerfile build always removes its containers' },
    iidfile: { kind: 'string', help: 'write the ID (sha256:…) of the image built (of a script: the last image it committed) to FILE', arg: 'FILE' },
  },
  min: 0,
  max: 1,
  stopAfter: 1,
};

type Lib = typeof import('../../dsl/index.js');

/** Builds a Dockerfile, or runs a script: a FILE.js or FILE.mjs without -f is a script. */
export async function main(p: Parsed, ctx: VerbContext): Promise<number> {
  if (p.flags.file !== undefined || p.args.length === 0 || !/\.(m?js)$/.test(p.args[0])) {
    await buildFromFlags(dockerfileArgs(spec, p), ctx);
    return 0;
  }
  return runScript(p, ctx);
}

/** Runs the script; a failure names the script's line, and the containers it made are kept (or removed with --rm). */
async function runScript(p: Parsed, ctx: VerbContext): Promise<number> {
  const file = path.resolve(p.args[0]);
  if (!existsSync(file)) throw new NotFoundError(`build script ${p.args[0]} does not exist`, { hint: 'check the path (a build script is a FILE.build.mjs)' });
  const script = realpathSync(file);
  if (ctx.root) process.env.CAIRN_ROOT = path.resolve(ctx.root);
  // The CLI runs from dist/cli (bundled) or dist/bin. The library scripts import: its bundle, dist/cli/lib.js, beside
  // the bundled CLI (bin/bundle.mjs), else dist/dsl/index.js.
  const cli = pathToFileURL(realpathSync(process.argv[1]));
  // The script's arguments are in place before the library (and zx, which parses them into argv) is loaded.
  process.argv = [process.argv[0], file, ...(p.rest[0] === '--' ? p.rest.slice(1) : p.rest)];
  const install = path.dirname(path.dirname(cli.pathname));
  const bundled = new URL('./lib.js', cli);
  const libUrl = (existsSync(bundled) ? bundled : new URL('../dsl/index.js', cli)).href;
  // Loaded only for a script (a Dockerfile build needs neither the loader hooks nor the script's failure report).
  // The library first: the hooks, once registered, resolve every import on a thread of their own, and the
  // library's need none (the script's 'cairn' then resolves to the instance loaded here).
  const [{ register }, { printScriptFailure }, lib] = await Promise.all([import('node:module'), import('../script-error.js'), import(libUrl) as Promise<Lib>]);
  register(new URL('./build-hooks.js', cli).href, { parentURL: import.meta.url, data: { url: libUrl } });
  attachLogger({ quiet: ctx.quiet }, lib.events);
  const run = await lib.BuildRun.start(script);
  // The script may set process.exitCode itself; cairn's own default (failure until settled) must not leak into it.
  process.exitCode = undefined;
  try {
    await import(pathToFileURL(file).href);
  } catch (err) {
    const status = printScriptFailure(err, { file, shown: p.args[0], install, exports: Object.keys(lib), usage: spec.usage });
    const { kept, removed } = await run.failed(p.flags.rm === true).catch((e: Error) => {
      process.stderr.write(`cairn build: cannot record the containers the script made: ${e.message}\n`);
      return { kept: [], removed: [] };
    });
    if (removed.length) process.stderr.write(`cairn build: removed the containers the script made (${removed.join(', ')})\n`);
    if (kept.length) {
      process.stderr.write(
        `cairn build: kept the containers the script made, to look into: ${kept.join(', ')}\n` +
          `  hint: \`cairn run NAME sh\` or \`cairn diff NAME\` to look; the next successful run of ${p.args[0]} removes them, --rm removes them at once\n`,
      );
    }
    return status;
  }
  const earlier = await run.succeeded();
  if (earlier.length) process.stderr.write(`cairn build: removed the containers an earlier failed run left (${earlier.join(', ')})\n`);
  const iidfile = str(p, 'iidfile');
  if (iidfile !== undefined) {
    if (!run.lastImage) throw new BadInputError(`--iidfile ${iidfile}: the script committed no image`, { hint: 'commit one in the script (await c.commit(NAME))' });
    await lib.writeFileAtomic(iidfile, `sha256:${run.lastImage}`);
  }
  return typeof process.exitCode === 'number' ? process.exitCode : 0;
}
