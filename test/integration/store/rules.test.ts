import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAIRN, cliKit, type CliKit } from '../../kit/cli.js';
import { tinyRootfsTar } from '../../kit/tiny.js';

/*
 * Rules of the store a user meets through the CLI: what gc keeps (everything an image or a container still
 * refers to), copy --from another container or an image, rmi refusing an image a container was made from,
 * --pull, and the fall-back to the copying driver where overlayfs cannot mount.
 */

let k: CliKit;
let tiny: string;
beforeAll(() => {
  k = cliKit();
  tiny = tinyRootfsTar();
});
afterAll(() => k.cleanup());

const blobs = (): string[] => readdirSync(path.join(k.root, 'blobs/sha256')).sort();

describe('gc', () => {
  it('removes only what nothing refers to: images, containers and their checkpoints keep their blobs and layers', () => {
    const base = k.ok(['from', '--name', 'gc-base', `tarball:${tiny}`]);
    k.ok(['run', base, 'sh', '-c', 'echo base > /base']);
    const kept = k.ok(['commit', '--rm', base, 'localhost/gc-kept']);
    // A container on the kept image, with a checkpoint of its own and pending changes.
    const user = k.ok(['from', '--name', 'gc-user', 'localhost/gc-kept']);
    k.ok(['run', user, 'sh', '-c', 'echo sealed > /sealed']);
    k.ok(['checkpoint', user]);
    k.ok(['run', user, 'sh', '-c', 'echo pending > /pending']);
    // An image nobody uses once removed.
    const gone = k.ok(['from', '--name', 'gc-gone', `tarball:${tiny}`]);
    k.ok(['run', gone, 'sh', '-c', 'echo only-here > /only-here']);
    const goneId = k.ok(['commit', '--rm', gone, 'localhost/gc-gone']);
    const before = blobs();
    k.ok(['rmi', goneId]);
    const after = blobs();
    expect(after.length).toBeLessThan(before.length);
    expect(after.every((b) => before.includes(b))).toBe(true);
    k.ok(['gc']);
    expect(blobs()).toEqual(after);
    expect(k.ok(['check'])).toBe('');
    // Everything kept still works: the container's checkpoint and pending change commit, the kept image exports.
    expect(k.ok(['run', user, 'cat', '/base', '/sealed', '/pending'])).toBe('base\nsealed\npending');
    const id = k.ok(['commit', user, 'localhost/gc-user']);
    const c = k.ok(['from', id]);
    expect(k.ok(['run', c, 'cat', '/sealed'])).toBe('sealed');
    expect(k.ok(['inspect', kept])).toContain(kept);
    k.ok(['rm', c, user]);
  });
});

describe('copy --from', () => {
  it('copies out of another container (pending changes included) and out of a stored image', () => {
    const src = k.ok(['from', '--name', 'cf-src', `tarball:${tiny}`]);
    k.ok(['run', src, 'sh', '-c', 'mkdir -p /out && echo built > /out/app && chmod 750 /out/app']);
    const img = k.ok(['commit', src, 'localhost/cf-img']);
    k.ok(['run', src, 'sh', '-c', 'echo later > /out/later']);
    const dst = k.ok(['from', '--name', 'cf-dst', 'scratch']);
    k.ok(['copy', '--from', src, dst, '/out/later', '/later']);
    k.ok(['copy', '--from', 'localhost/cf-img', dst, '/out/app', '/app']);
    k.ok(['copy', '--from', img, dst, '/out', '/dir']);
    expect(k.ok(['diff', dst]).split('\n').sort()).toEqual(['A /app', 'A /dir', 'A /dir/app', 'A /later']);
    const root = k.ok(['mount', dst]);
    expect(readFileSync(path.join(root, 'later'), 'utf8')).toBe('later\n');
    expect(readFileSync(path.join(root, 'app'), 'utf8')).toBe('built\n');
    // The image's copy has no pending change of the container it came from.
    expect(readdirSync(path.join(root, 'dir'))).toEqual(['app']);
    const r = k.cairn(['copy', '--from', 'cf-nothing', dst, '/x', '/x']);
    expect(r.status).toBe(125);
    expect(r.stderr.split('\n')[0]).toMatch(/cf-nothing/);
    k.ok(['rm', src, dst]);
  });
});

describe('rmi', () => {
  it('refuses an image a container was made from, changing nothing; --force removes it and the container lives on', () => {
    const c0 = k.ok(['from', '--name', 'rmi-src', `tarball:${tiny}`]);
    const id = k.ok(['commit', '--rm', c0, 'localhost/rmi-used']);
    const c = k.ok(['from', '--name', 'rmi-user', 'localhost/rmi-used']);
    const images = k.ok(['images', '--json']);
    const before = blobs();
    const r = k.cairn(['rmi', 'localhost/rmi-used']);
    expect(r.status).toBe(125);
    expect(r.stderr).toBe(`cairn rmi: image ${id.slice(0, 12)} is used by container rmi-user\n  hint: remove the containers first, or give --force\n`);
    expect(k.ok(['images', '--json'])).toBe(images);
    expect(blobs()).toEqual(before);
    expect(k.ok(['rmi', '--force', 'localhost/rmi-used'])).toBe(id);
    expect(k.cairn(['inspect', '--type', 'image', 'localhost/rmi-used']).status).toBe(125);
    expect(k.ok(['run', c, 'cat', '/etc/passwd'])).toMatch(/^root:/);
    k.ok(['commit', '--rm', c, 'localhost/rmi-after']);
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

  it.each(['missing', 'always', 'never'])('--pull %s reads a tarball: source and gives the same image', (policy) => {
    const c = k.ok(['from', '--pull', policy, `tarball:${tiny}`]);
    expect(JSON.parse(k.ok(['inspect', c])).name).toBe(c);
    k.ok(['rm', c]);
  });
});

// Where overlayfs cannot mount (a store that is itself on overlayfs, as in many containers), `from` falls back
// to the copying driver with one warning, and the container works.
describe.runIf(process.getuid?.() === 0 && !process.env.CAIRN_USERNS)('the fall-back to the copying driver', () => {
  it('warns once and builds with the copying driver when the store is on overlayfs', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-nested-'));
    const [lower, upper, work, merged] = ['l', 'u', 'w', 'm'].map((d) => path.join(dir, d));
    for (const d of [lower, upper, work, merged]) mkdirSync(d);
    execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${upper},workdir=${work}`, merged]);
    const root = path.join(merged, 'store');
    try {
      const env = { ...process.env, STORAGE_DRIVER: '' };
      const run = (args: string[]) => spawnSync(CAIRN, ['--root', root, ...args], { encoding: 'utf8', env });
      const from = run(['from', `tarball:${tiny}`]);
      expect(from.status).toBe(0);
      expect(from.stderr).toMatch(/overlayfs is not usable here .*using the copying driver/);
      const c = from.stdout.trim();
      expect(run(['run', c, 'sh', '-c', 'echo x > /x']).status).toBe(0);
      expect(run(['diff', c]).stdout).toBe('A /x\n');
      expect(run(['commit', '--rm', c, 'localhost/nested']).status).toBe(0);
    } finally {
      spawnSync('sh', ['-c', `grep -F ' ${merged}' /proc/self/mountinfo | cut -d' ' -f5 | sort -r | xargs -r -n1 umount -l`]);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
