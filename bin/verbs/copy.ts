import { BadInputError, container } from '../../dsl/index.js';
import { bool, list, str, type Parsed, type VerbSpec } from '../args.js';
import type { VerbContext } from '../verb.js';

/** `cairn copy`: copy files into a container. */
export const spec: VerbSpec = {
  name: 'copy',
  usage: 'copy [--chown U[:G]] [--chmod MODE] [--from CTR|IMAGE] [--with-deps [--extra-lib LIB]…] CTR SRC… DEST',
  summary: 'Copy files, directories or globs into the container (a directory copies its contents); --with-deps brings ELF programs\' shared libraries and loader along, and --extra-lib the libraries they dlopen().',
  example: 'cairn copy --with-deps web /usr/bin/curl /usr/bin/',
  flags: {
    chown: { kind: 'string', help: 'owner of the copied files (default 0:0)', arg: 'U[:G]' },
    chmod: { kind: 'string', help: 'mode of the copied files', arg: 'MODE' },
    from: { kind: 'string', help: 'copy from another container or image', arg: 'CTR|IMAGE' },
    'with-deps': { kind: 'bool', help: 'also copy the shared libraries ELF programs need' },
    'extra-lib': { kind: 'list', help: 'with --with-deps: a library the programs dlopen() (soname or absolute path), with its own libraries', arg: 'LIB' },
    'add-history': { kind: 'bool', help: 'accepted for buildah compatibility (history is always kept)' },
  },
  min: 3,
  max: Infinity,
};

/** Copies the sources. */
export async function main(p: Parsed, ctx: VerbContext): Promise<void> {
  const extraLibs = list(p, 'extra-lib');
  if (extraLibs.length > 0 && !bool(p, 'with-deps')) throw new BadInputError('--extra-lib needs --with-deps', { hint: 'add --with-deps: extra libraries are copied with the programs that load them' });
  const [name, ...rest] = p.args;
  const dest = rest.pop()!;
  const c = await container(name, { root: ctx.root });
  await c.copy(rest, dest, {
    chown: str(p, 'chown'),
    chmod: str(p, 'chmod'),
    from: str(p, 'from'),
    withDeps: bool(p, 'with-deps'),
    extraLibs,
  });
}
