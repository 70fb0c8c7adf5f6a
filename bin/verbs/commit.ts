import { UsageError, container, writeFileAtomic } from '../../dsl/index.js';
import { bool, str, type Parsed, type VerbSpec } from '../args.js';
import type { VerbContext } from '../verb.js';

/** `cairn commit`: write an image from a container. */
export const spec: VerbSpec = {
  name: 'commit',
  usage: 'commit [--squash] [--rm] [--timestamp EPOCH] [--format oci|docker] [--iidfile FILE] CTR [IMAGE]',
  summary: 'Write an image from the base layers, the checkpoints and the pending changes (sealed first), and print its ID.',
  example: 'SOURCE_DATE_EPOCH=0 cairn commit --rm web localhost/web:1.0',
  flags: {
    squash: { kind: 'bool', help: 'one layer holding the whole tree, base included' },
    rm: { kind: 'bool', help: 'remove the container after committing' },
    iidfile: { kind: 'string', help: 'also write the image ID (sha256:…) to FILE', arg: 'FILE' },
    timestamp: { kind: 'string', help: 'clamp file and history times to EPOCH seconds (reproducible; default $SOURCE_DATE_EPOCH)', arg: 'EPOCH' },
    format: { kind: 'string', alias: ['-f'], help: 'the image\'s form: oci (default) or docker (Docker schema 2 manifest, config and layer types; $BUILDAH_FORMAT sets the default)', arg: 'FORMAT' },
  },
  min: 1,
  max: 2,
};

/** The --format value: oci, docker, or none given. */
function imageFormat(v: string | undefined): 'oci' | 'docker' | undefined {
  if (v === undefined || v === '') return undefined;
  if (v !== 'oci' && v !== 'docker') throw new UsageError(`--format ${v}: use oci or docker`);
  return v;
}

/** Commits and prints the image ID. */
export async function main(p: Parsed, ctx: VerbContext): Promise<void> {
  const c = await container(p.args[0], { root: ctx.root });
  const img = await c.commit({
    names: p.args[1] ? [p.args[1]] : [],
    squash: bool(p, 'squash'),
    timestamp: str(p, 'timestamp'),
    format: imageFormat(str(p, 'format') ?? process.env.BUILDAH_FORMAT),
  });
  const iidfile = str(p, 'iidfile');
  if (iidfile !== undefined) await writeFileAtomic(iidfile, `sha256:${img.id}`);
  if (bool(p, 'rm')) await c.remove();
  ctx.out(img.id);
}
