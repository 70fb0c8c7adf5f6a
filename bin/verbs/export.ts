import { exportFlat } from '../../dsl/index.js';
import { bool, str, type Parsed, type VerbSpec } from '../args.js';
import type { VerbContext } from '../verb.js';

/** `cairn export`: write a container or image as one flat, signed root filesystem tarball. */
export const spec: VerbSpec = {
  name: 'export',
  usage: 'export [--no-sign] [--no-index] [--chunk-size MIN:AVG:MAX] [--squash-all] [--timestamp EPOCH] CTR|IMAGE FILE',
  summary:
    'Write the whole root filesystem of a container (pending changes included) or image as ONE tarball, the image config in .cairn/config.json, ' +
    'gzip-compressed (a FILE ending in .tar stays plain) and signed with your key (bali format); print its sha256. ' +
    'A gzip FILE gets FILE.cidx beside it, the chunk index with which a later fetch downloads only what changed.',
  example: 'SOURCE_DATE_EPOCH=0 cairn export web web.tar.gz && cairn verify web.tar.gz',
  flags: {
    'no-sign': { kind: 'bool', help: 'write no signature trailer' },
    'no-index': { kind: 'bool', help: 'write no FILE.cidx chunk index beside a gzip FILE (the file itself is the same)' },
    'chunk-size': { kind: 'string', help: 'segment sizes of a gzip FILE, in bytes, K or M; AVG alone means AVG/4:AVG:AVG*4 (default 32K:64K:256K)', arg: 'MIN:AVG:MAX' },
    'squash-all': { kind: 'bool', help: 'accepted for podman compatibility: an export is always one flattened tree' },
    timestamp: { kind: 'string', help: 'clamp file times to EPOCH seconds (default $SOURCE_DATE_EPOCH, else the image\'s created time)', arg: 'EPOCH' },
  },
  min: 2,
  max: 2,
};

/** Exports and prints the file's digest. */
export async function main(p: Parsed, ctx: VerbContext): Promise<void> {
  const [what, file] = p.args;
  const r = await exportFlat(what, file, { root: ctx.root, sign: !bool(p, 'no-sign'), index: !bool(p, 'no-index'), chunkSize: str(p, 'chunk-size'), timestamp: str(p, 'timestamp') });
  ctx.out(r.digest);
}
