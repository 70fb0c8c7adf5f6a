import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliKit, type CliKit } from '../../kit/cli.js';
import { smallRootfsTar, tinyRootfsTar } from '../../kit/tiny.js';

/*
 * The verbs of a container's life through the CLI, on the default storage driver: their flags, what they
 * print and their exit statuses, one call per behaviour. What the engine does on each driver (the image's
 * content, rollback's and mount's effects on the tree) is test/integration/container/lifecycle.test.ts.
 */

describe('from → run → copy → checkpoint → commit through the CLI', () => {
  let k: CliKit;
  let tiny: string;
  let small: string;
  /** Containers of this file as `cairn containers --json` lists them. */
  const listed = (): { name: string; driver: string; checkpoints: number }[] => JSON.parse(k.ok(['containers', '--json']));
  beforeAll(() => {
    k = cliKit('cairn-test-');
    tiny = tinyRootfsTar();
    small = smallRootfsTar();
  });
  afterAll(() => k.cleanup());

  it('builds an image whose layers hold exactly the changes; passes exit statuses through and leaves no process behind', () => {
    const c = k.ok(['from', '--name', 'life', `tarball:${tiny}`]);
    expect(c).toBe('life');
    expect(k.ok(['run', c, '--', 'sh', '-c', 'echo hello > /hello && rm /bin/sleep && mkdir -p /opt/x && echo y > /opt/x/f'])).toBe('');
    const diff = k.ok(['diff', c]).split('\n');
    expect(diff).toEqual(expect.arrayContaining(['D /bin/sleep', 'A /hello', 'A /opt', 'A /opt/x', 'A /opt/x/f']));
    const layer1 = k.ok(['checkpoint', '-m', 'first', c]);
    expect(layer1).toMatch(/^sha256:[0-9a-f]{64}$/);
    // Durations no other test uses, so a test running beside this one cannot be mistaken for a leftover.
    const a = 100000 + Math.floor(Math.random() * 800000);
    expect(k.cairn(['run', c, 'sh', '-c', `cp /bin/true /bin/sleep; sleep ${a} & (sleep ${a + 1} &) ; exit 7`]).status).toBe(7);
    const ps = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
    expect(ps).toMatch(/^ps -eo args$/m);
    expect(ps).not.toMatch(new RegExp(`^sleep (${a}|${a + 1})$`, 'm'));
    const r = k.cairn(['run', c, 'no-such-program']);
    expect(r.status).toBe(127);
    expect(r.stderr).toMatch(/command not found in the container: no-such-program/);
    k.ok(['config', '--cmd', '["/bin/cat","/hello"]', '--env', 'FOO=bar', '--label', 'a=b', '--workingdir', '/opt', c]);
    const id = k.ok(['commit', c, 'localhost/life:1']);
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    const info = JSON.parse(k.ok(['inspect', 'localhost/life:1']));
    expect(info.id).toBe(id);
    expect(info.config.config.Cmd).toEqual(['/bin/cat', '/hello']);
    expect(info.config.config.Env).toContain('FOO=bar');
    expect(info.config.config.Labels).toEqual({ a: 'b' });
    expect(info.config.config.WorkingDir).toBe('/opt');
    // The checkpoint, and the pending changes of the last run (the copied /bin/sleep): two layers over the base.
    expect(info.manifest.layers).toHaveLength(3);
    expect(info.config.rootfs.diff_ids[1]).toBe(layer1);
    expect(info.config.history.filter((h: { empty_layer?: boolean }) => !h.empty_layer)[1].comment).toBe('first');
  });

  it('uses the driver asked for, by STORAGE_DRIVER or by --storage-driver', () => {
    const a = k.ok(['from', `tarball:${small}`], { env: { STORAGE_DRIVER: 'vfs' } });
    const b = k.ok(['--storage-driver', 'vfs', 'from', `tarball:${small}`]);
    const drivers = new Map(listed().map((c) => [c.name, c.driver]));
    expect([drivers.get(a), drivers.get(b)]).toEqual(['copy', 'copy']);
  });

  it('copies globs and directories with --chown and --chmod, and host programs with --with-deps; a missing source is one line', () => {
    const c = k.ok(['from', 'scratch']);
    const src = path.join(k.root, '..', `src-${path.basename(k.root)}`);
    mkdirSync(path.join(src, 'dir/sub'), { recursive: true });
    writeFileSync(path.join(src, 'a.txt'), 'A');
    writeFileSync(path.join(src, 'b.txt'), 'B');
    writeFileSync(path.join(src, 'dir/sub/c'), 'C');
    k.ok(['copy', '--with-deps', c, '/bin/sh', '/bin/ls', '/bin/stat', '/bin/']);
    k.ok(['copy', c, path.join(src, '*.txt'), '/data/']);
    k.ok(['copy', '--chown', '1000:1000', '--chmod', '0600', c, path.join(src, 'dir'), '/srv']);
    const out = k.ok(['run', c, '/bin/sh', '-c', 'ls /bin; for f in /data/a.txt /data/b.txt /srv/sub/c; do IFS= read -r l < $f; printf %s "$l"; done; echo; stat -c "%u:%g %a" /srv/sub/c /data/a.txt']);
    expect(out).toBe('ls\nsh\nstat\nABC\n1000:1000 600\n0:0 644');
    const missing = k.cairn(['copy', c, path.join(src, 'nope'), '/x']);
    expect(missing.status).toBe(125);
    expect(missing.stderr.trim().split('\n')[0]).toMatch(/^cairn copy: copy source .* does not exist$/);
  });

  it('rolls back pending changes and checkpoints; --to a checkpoint that is not there fails with exit 125', () => {
    // Files copied in: what rollback undoes is the same as for run's changes (container/lifecycle.test.ts).
    const one = path.join(k.root, '..', `one-${path.basename(k.root)}`);
    writeFileSync(one, '1');
    const c = k.ok(['from', `tarball:${small}`]);
    k.ok(['copy', c, one, '/one']);
    k.ok(['checkpoint', c]);
    k.ok(['copy', c, one, '/two']);
    k.ok(['rollback', c]);
    expect(k.ok(['diff', c])).toBe('');
    k.ok(['rollback', '--to', '0', c]);
    const r = k.cairn(['rollback', '--to', '5', c]);
    expect(r.status).toBe(125);
    // The checkpoint is gone: the container has none left.
    expect(r.stderr.split('\n')[0]).toBe('cairn rollback: no checkpoint 5: the container has 0');
  });

  it('mounts a tree host tools can write into, and umount prints the container', () => {
    const c = k.ok(['from', `tarball:${small}`]);
    const mnt = k.ok(['mount', c]);
    expect(existsSync(path.join(mnt, 'etc/hostname'))).toBe(true);
    // (The copying driver's tree: what a host tool writes there is the container's own, as the in-process test shows.)
    if (listed().find((x) => x.name === c)!.driver !== 'overlay') return void expect(k.ok(['umount', c])).toBe(c);
    execFileSync('sh', ['-c', `echo tool > ${mnt}/tool`]);
    expect(k.ok(['diff', c])).toContain('A /tool');
    expect(k.ok(['umount', c])).toBe(c);
    expect(existsSync(path.join(mnt, 'etc/hostname'))).toBe(false);
  });
});
