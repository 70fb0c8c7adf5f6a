import { image, store } from '../../dsl/api.js';
import { ConflictError, UsageError } from '../../dsl/core/errors.js';
import { bool, type Parsed, type VerbSpec } from '../args.js';
import { out, type VerbContext } from '../verb.js';

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

/** Removes the images, then collects garbage. */
export async function main(p: Parsed, ctx: VerbContext): Promise<void> {
  const s = await store({ root: ctx.root });
  if (!bool(p, 'all') && p.args.length === 0) throw new UsageError('name an image, or give --all');
  const ids = bool(p, 'all') ? (await s.images.list()).map((r) => r.id) : await Promise.all(p.args.map(async (n) => (await image(n, { root: ctx.root })).id));
  const ctrs = await s.containers.list();
  for (const id of ids) {
    const users = ctrs.filter((c) => c.imageId === id);
    if (users.length && !bool(p, 'force')) {
      throw new ConflictError(`image ${id.slice(0, 12)} is used by container ${users.map((c) => c.name).join(', ')}`, { hint: 'remove the containers first, or give --force' });
    }
  }
  for (const id of ids) {
    await (await image(id, { root: ctx.root })).remove();
    out(id);
  }
  const { gc } = await import('../../dsl/store/gc.js');
  await gc(s);
}
