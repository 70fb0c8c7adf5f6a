import { removeImages, UsageError } from '../../dsl/index.js';
import { bool, type Parsed, type VerbSpec } from '../args.js';
import type { VerbContext } from '../verb.js';

/** `cairn rmi`: remove stored images. */
export const spec: VerbSpec = {
  name: 'rmi',
  usage: 'rmi [--force] [--all] IMAGE…',
  summary: 'Remove images from the store, printing the ID of each; unreferenced blobs and layers are collected.',
  example: 'cairn rmi localhost/web:1.0',
  flags: {
    force: { kind: 'bool', alias: ['-f'], help: 'remove even when containers were made from it' },
    all: { kind: 'bool', alias: ['-a'], help: 'remove every image' },
  },
  min: 0,
  max: Infinity,
};

/** Removes the images (printing each ID as it goes), then collects garbage. */
export async function main(p: Parsed, ctx: VerbContext): Promise<void> {
  if (!bool(p, 'all') && p.args.length === 0) throw new UsageError('name an image, or give --all');
  await removeImages(p.args, { root: ctx.root, force: bool(p, 'force'), all: bool(p, 'all'), onRemoved: (id) => ctx.out(id) });
}
