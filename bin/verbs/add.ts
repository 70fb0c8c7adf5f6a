import { container } from '../../dsl/index.js';
import { bool, str, type Parsed, type VerbSpec } from '../args.js';
import type { VerbContext } from '../verb.js';

/** `cairn add`: copy files, fetch URLs and unpack archives into a container. */
export const spec: VerbSpec = {
  name: 'add',
  usage: 'add [--chown U[:G]] [--chmod MODE] [--with-deps] CTR SRC… DEST',
  summary: 'As copy, and as buildah\'s add: an http(s) URL is fetched (mode 0600 unless --chmod), a local tar archive (plain, gzip, bzip2, xz or zstd) is unpacked into DEST with its own owners and modes.',
  example: 'cairn add web ./site.tar.gz /var/www/',
  flags: {
    chown: { kind: 'string', help: 'owner of the copied files (default 0:0; not for archives)', arg: 'U[:G]' },
    chmod: { kind: 'string', help: 'mode of the copied files (not for archives)', arg: 'MODE' },
    'with-deps': { kind: 'bool', help: 'also copy the shared libraries ELF programs need' },
    'add-history': { kind: 'bool', help: 'accepted for buildah compatibility (history is always kept)' },
  },
  min: 3,
  max: Infinity,
};

/** Adds the sources. */
export async function main(p: Parsed, ctx: VerbContext): Promise<void> {
  const [name, ...rest] = p.args;
  const dest = rest.pop()!;
  await (await container(name, { root: ctx.root })).add(rest, dest, { chown: str(p, 'chown'), chmod: str(p, 'chmod'), withDeps: bool(p, 'with-deps') });
}
