import { container } from '../../dsl/index.js';
import { bool, list, str, type Parsed, type VerbSpec } from '../args.js';
import type { VerbContext } from '../verb.js';
import { spec as copySpec } from './copy.js';

/** `cairn add`: copy files, fetch URLs and unpack archives into a container. */
export const spec: VerbSpec = {
  name: 'add',
  usage: 'add [--chown U[:G]] [--chmod MODE] [--with-deps [--extra-lib LIB]…] CTR SRC… DEST',
  summary: 'As copy, and as buildah\'s add: an http(s) URL is fetched (mode 0600 unless --chmod), a local tar archive (plain, gzip, bzip2, xz or zstd) is unpacked into DEST with its own owners and modes.',
  example: 'cairn add web ./site.tar.gz /var/www/',
  // copy's flags but --from (a URL or an archive comes from the host).
  flags: (({ from: _from, ...rest }) => rest)(copySpec.flags),
  min: 3,
  max: Infinity,
};

/** Adds the sources. */
export async function main(p: Parsed, ctx: VerbContext): Promise<void> {
  const [name, ...rest] = p.args;
  const dest = rest.pop()!;
  await (await container(name, { root: ctx.root })).add(rest, dest, { chown: str(p, 'chown'), chmod: str(p, 'chmod'), withDeps: bool(p, 'with-deps'), extraLibs: list(p, 'extra-lib') });
}
