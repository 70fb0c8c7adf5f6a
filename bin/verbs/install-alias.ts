import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { realpathSync } from 'node:fs';
import { ConflictError, makeDirs } from '../../dsl/index.js';
import { bool, type Parsed, type VerbSpec } from '../args.js';
import type { VerbContext } from '../verb.js';

/** `cairn install-alias`: a `buildah` command that is cairn, for tools that call buildah from PATH. */
export const spec: VerbSpec = {
  name: 'install-alias',
  usage: 'install-alias [--force] DIR',
  summary: 'Create DIR/buildah, a link to cairn, so that tools which run `buildah` from PATH (such as Ansible\'s containers.podman.buildah connection) drive cairn; prints the link.',
  example: 'cairn install-alias ~/.local/bin && PATH=~/.local/bin:$PATH ansible-playbook site.yml',
  flags: { force: { kind: 'bool', alias: ['-f'], help: 'replace an existing DIR/buildah' } },
  min: 1,
  max: 1,
};

/** Creates the link. */
export async function main(p: Parsed, ctx: VerbContext): Promise<void> {
  // The CLI runs from dist/bin or dist/cli: two levels below the project, where bin/cairn is.
  const target = path.resolve(path.dirname(realpathSync(process.argv[1])), '../../bin/cairn');
  const link = path.join(path.resolve(p.args[0]), 'buildah');
  await makeDirs(path.dirname(link));
  const existing = await fsp.lstat(link).catch(() => undefined);
  if (existing) {
    if (!bool(p, 'force')) throw new ConflictError(`${link} exists`, { hint: 'give --force to replace it' });
    await fsp.rm(link);
  }
  await fsp.symlink(target, link);
  ctx.out(link);
}
