import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { check, ConflictError, container, events, from, gc, image, images, inspect, NotFoundError, removeImages, type CairnEvent, type Container } from '../../../dsl/index.js';
import { IN_PROCESS, mountedTree } from '../../kit/api.js';
import { withEnv } from '../../kit/env.js';
import { cliKit, type CliKit } from '../../kit/cli.js';
import { smallRootfsTar, tinyRootfsTar } from '../../kit/tiny.js';

/*
 * Rules of the store: what gc keeps (everything an image or a container still refers to), copy --from another
 * container or an image, removing an image a container was made from, --pull, and the fall-back to the copying
 * driver where overlayfs cannot mount. In-process through the public API; the CLI rows show the flags and the
 * one line each refusal prints.
 */

let k: CliKit;
let tiny: string;
let root: string;
beforeAll(() => {
  k = cliKit();
  root = k.root;
  tiny = tinyRootfsTar();
});
afterAll(() => k.cleanup());

const blobs = (): string[] => readdirSync(path.join(root, 'blobs/sha256')).sort();
const out = async (c: Container, argv: string[]): Promise<string> => (await c.run(argv)).stdout.trimEnd();
/** `commit --rm`: the image, then the container removed. */
async function commitRm(c: Container, name: string): Promise<string> {
  const img = await c.commit(name);
  await c.remove();
  return img.id;
}

describe.runIf(IN_PROCESS)('gc', () => {
  it('removes only what nothing refers to: images, containers and their checkpoints keep their blobs and layers', async () => {
    const base = await from(`tarball:${tiny}`, { root, name: 'gc-base' });
    await base.run(['sh', '-c', 'echo base > /base']);
    const kept = await commitRm(base, 'localhost/gc-kept');
    // A container on the kept image, with a checkpoint of its own and pending changes.
    const user = await from('localhost/gc-kept', { root, name: 'gc-user' });
    await user.run(['sh', '-c', 'echo sealed > /sealed']);
    await user.checkpoint();
    await user.run(['sh', '-c', 'echo pending > /pending']);
    // An image nobody uses once removed.
    const gone = await from(`tarball:${tiny}`, { root, name: 'gc-gone' });
    await gone.run(['sh', '-c', 'echo only-here > /only-here']);
    const goneId = await commitRm(gone, 'localhost/gc-gone');
    const before = blobs();
    expect(await removeImages([goneId], { root })).toEqual([goneId]);
    const after = blobs();
    expect(after.length).toBeLessThan(before.length);
    expect(after.every((b) => before.includes(b))).toBe(true);
    await gc({ root });
    expect(blobs()).toEqual(after);
    expect((await check({ root })).problems).toEqual([]);
    // Everything kept still works: the container's checkpoint and pending change commit, the kept image exports.
    expect(await out(user, ['cat', '/base', '/sealed', '/pending'])).toBe('base\nsealed\npending');
    const id = (await user.commit('localhost/gc-user')).id;
    const c = await from(id, { root });
    expect(await out(c, ['cat', '/sealed'])).toBe('sealed');
    expect(((await inspect(kept, { root })) as { id: string }).id).toBe(kept);
    await c.remove();
    await user.remove();
  });
});

describe.runIf(IN_PROCESS)('copy --from', () => {
  it('copies out of another container (pending changes included) and out of a stored image', async () => {
    const src = await from(`tarball:${tiny}`, { root, name: 'cf-src' });
    await src.run(['sh', '-c', 'mkdir -p /out && echo built > /out/app && chmod 750 /out/app']);
    const img = (await src.commit('localhost/cf-img')).id;
    await src.run(['sh', '-c', 'echo later > /out/later']);
    const dst = await from('scratch', { root, name: 'cf-dst' });
    await dst.copy('/out/later', '/later', { from: src.name });
    await dst.copy('/out/app', '/app', { from: 'localhost/cf-img' });
    await dst.copy('/out', '/dir', { from: img });
    expect((await dst.diff()).map((d) => `${d.kind} ${d.path}`).sort()).toEqual(['A /app', 'A /dir', 'A /dir/app', 'A /later']);
    const mnt = await mountedTree(dst);
    expect(readFileSync(path.join(mnt, 'later'), 'utf8')).toBe('later\n');
    expect(readFileSync(path.join(mnt, 'app'), 'utf8')).toBe('built\n');
    // The image's copy has no pending change of the container it came from.
    expect(readdirSync(path.join(mnt, 'dir'))).toEqual(['app']);
    await expect(dst.copy('/x', '/x', { from: dst.name })).rejects.toThrow('--from names the container being copied into');
    // Through the CLI: the flag, and the one line for a source that is neither a container nor an image.
    const r = k.cairn(['copy', '--from', 'cf-nothing', dst.name, '/x', '/x']);
    expect(r.status).toBe(125);
    expect(r.stderr.split('\n')[0]).toMatch(/^cairn copy: .*cf-nothing/);
    await src.remove();
    await dst.remove();
  });
});

describe.runIf(IN_PROCESS)('removing an image', () => {
  it('refuses an image a container was made from, changing nothing; force removes it and the container lives on', async () => {
    const id = await commitRm(await from(`tarball:${tiny}`, { root, name: 'rmi-src' }), 'localhost/rmi-used');
    const c = await from('localhost/rmi-used', { root, name: 'rmi-user' });
    const listed = (await images({ root })).map((i) => i.id).sort();
    const before = blobs();
    const refusal = removeImages(['localhost/rmi-used'], { root });
    await expect(refusal).rejects.toBeInstanceOf(ConflictError);
    await expect(refusal).rejects.toThrow(`image ${id.slice(0, 12)} is used by container rmi-user`);
    // The CLI prints that refusal as one line and its hint.
    const r = k.cairn(['rmi', 'localhost/rmi-used']);
    expect(r.status).toBe(125);
    expect(r.stderr).toBe(`cairn rmi: image ${id.slice(0, 12)} is used by container rmi-user\n  hint: remove the containers first, or give --force\n`);
    expect((await images({ root })).map((i) => i.id).sort()).toEqual(listed);
    expect(blobs()).toEqual(before);
    expect(k.ok(['rmi', '--force', 'localhost/rmi-used'])).toBe(id);
    await expect(image('localhost/rmi-used', { root })).rejects.toBeInstanceOf(NotFoundError);
    expect(await out(await container('rmi-user', { root }), ['cat', '/etc/passwd'])).toMatch(/^root:/);
    await commitRm(c, 'localhost/rmi-after');
  });
});

describe('--pull', () => {
  it.each([
    [['--pull', 'bogus', 'scratch'], 'cairn from: invalid pull policy bogus'],
    [['--pull', 'never', 'docker://example.invalid/x'], 'cairn from: image docker://example.invalid/x is not in the store and --pull never was given'],
  ])('from %j fails with one line', (args, line) => {
    const r = k.cairn(['from', ...args]);
    expect(r.status).toBe(125);
    expect(r.stderr.split('\n')[0]).toBe(line);
  });

  it.runIf(IN_PROCESS).each(['missing', 'always', 'never'])('%s reads a tarball: source and gives the same image', async (pull) => {
    const first = await from(`tarball:${smallRootfsTar()}`, { root });
    const c = await from(`tarball:${smallRootfsTar()}`, { root, pull });
    const imageOf = async (x: Container) => ((await inspect(x.name, { root })) as { imageId: string }).imageId;
    expect(await imageOf(c)).toBe(await imageOf(first));
    await c.remove();
    await first.remove();
  });
});

// Where overlayfs cannot mount (a store that is itself on overlayfs, as in many containers), `from` falls back
// to the copying driver with one warning, and the container works.
describe.runIf(process.getuid?.() === 0 && !process.env.CAIRN_USERNS)('the fall-back to the copying driver', () => {
  it('warns once and builds with the copying driver when the store is on overlayfs', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-nested-'));
    const [lower, upper, work, merged] = ['l', 'u', 'w', 'm'].map((d) => path.join(dir, d));
    for (const d of [lower, upper, work, merged]) mkdirSync(d);
    execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${upper},workdir=${work}`, merged]);
    const nested = path.join(merged, 'store');
    const warnings: string[] = [];
    const listen = (e: CairnEvent) => void (e.type === 'warn' && warnings.push(e.text));
    events.on('event', listen);
    try {
      const c = await withEnv({ STORAGE_DRIVER: undefined }, () => from(`tarball:${tiny}`, { root: nested }));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/overlayfs is not usable here .*using the copying driver/);
      expect(((await inspect(c.name, { root: nested })) as { driver: string }).driver).toBe('copy');
      await c.run(['sh', '-c', 'echo x > /x']);
      expect((await c.diff()).map((d) => `${d.kind} ${d.path}`)).toEqual(['A /x']);
      await commitRm(c, 'localhost/nested');
      expect(warnings).toHaveLength(1);
    } finally {
      events.off('event', listen);
      execFileSync('sh', ['-c', `grep -F ' ${merged}' /proc/self/mountinfo | cut -d' ' -f5 | sort -r | xargs -r -n1 umount -l`]);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
