import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliKit, type CliKit } from '../../kit/cli.js';
import { smallRootfsTar, tinyRootfsTar } from '../../kit/tiny.js';

/*
 * The verbs of a container's life through the CLI, on the default storage driver: their flags, what they
 * print and their exit statuses. What the engine does on each driver is test/integration/container/lifecycle.test.ts.
 */

describe('from → run → copy → checkpoint → commit through the CLI', () => {
  let k: CliKit;
  let tiny: string;
  beforeAll(() => {
    k = cliKit('cairn-test-');
    tiny = tinyRootfsTar();
  });
  afterAll(() => k.cleanup());

  it('builds an image whose layers hold exactly the changes, and runs it; passes exit statuses through', () => {
    const c = k.ok(['from', '--name', 'life', `tarball:${tiny}`]);
    expect(c).toBe('life');
    expect(k.ok(['run', c, '--', 'sh', '-c', 'echo hello > /hello && rm /bin/sleep && mkdir -p /opt/x && echo y > /opt/x/f'])).toBe('');
    const diff = k.ok(['diff', c]).split('\n');
    expect(diff).toEqual(expect.arrayContaining(['D /bin/sleep', 'A /hello', 'A /opt', 'A /opt/x', 'A /opt/x/f']));
    const layer1 = k.ok(['checkpoint', '-m', 'first', c]);
    expect(layer1).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(k.ok(['diff', c])).toBe('');
    expect(k.cairn(['run', c, 'sh', '-c', 'exit 7']).status).toBe(7);
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
    expect(info.manifest.layers).toHaveLength(2);
    expect(info.config.rootfs.diff_ids[1]).toBe(layer1);
    expect(info.config.history.at(-2).comment).toBe('first');

    const d = k.ok(['from', 'localhost/life:1']);
    expect(d).toMatch(/^life-working-container/);
    expect(k.ok(['run', d, 'sh', '-c', 'cat /hello; pwd; echo $FOO'])).toBe('hello\n/opt\nbar');
  });

  it('uses the driver asked for, by STORAGE_DRIVER or by --storage-driver', () => {
    const driverOf = (c: string) => JSON.parse(k.ok(['inspect', c])).driver;
    expect(driverOf(k.ok(['from', `tarball:${smallRootfsTar()}`], { env: { STORAGE_DRIVER: 'vfs' } }))).toBe('copy');
    expect(driverOf(k.ok(['--storage-driver', 'vfs', 'from', `tarball:${smallRootfsTar()}`]))).toBe('copy');
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
    const c = k.ok(['from', `tarball:${tiny}`]);
    k.ok(['run', c, 'touch', '/one']);
    k.ok(['checkpoint', c]);
    k.ok(['run', c, 'touch', '/two']);
    k.ok(['rollback', c]);
    expect(k.ok(['run', c, 'ls', '/one'])).toBe('/one');
    expect(k.cairn(['run', c, 'ls', '/two']).status).not.toBe(0);
    k.ok(['rollback', '--to', '0', c]);
    expect(k.cairn(['run', c, 'ls', '/one']).status).not.toBe(0);
    const r = k.cairn(['rollback', '--to', '5', c]);
    expect(r.status).toBe(125);
    expect(r.stderr.split('\n')[0]).toBe('cairn rollback: no checkpoint 5: the container has 0');
  });

  it('mounts a tree host tools can write into, and umount prints the container', () => {
    const c = k.ok(['from', `tarball:${tiny}`]);
    const mnt = k.ok(['mount', c]);
    expect(existsSync(path.join(mnt, 'bin/sh'))).toBe(true);
    // (The copying driver's tree: what a host tool writes there is the container's own, as the in-process test shows.)
    if (JSON.parse(k.ok(['inspect', c])).driver !== 'overlay') return void expect(k.ok(['umount', c])).toBe(c);
    execFileSync('sh', ['-c', `echo tool > ${mnt}/tool`]);
    expect(k.ok(['diff', c])).toContain('A /tool');
    k.ok(['checkpoint', c]);
    expect(readFileSync(path.join(mnt, 'tool'), 'utf8')).toBe('tool\n');
    expect(k.ok(['umount', c])).toBe(c);
    expect(existsSync(path.join(mnt, 'bin/sh'))).toBe(false);
  });

  it('leaves no process behind after run', () => {
    const c = k.ok(['from', `tarball:${tiny}`]);
    // Durations no other test uses, so a test running beside this one cannot be mistaken for a leftover.
    const a = 100000 + Math.floor(Math.random() * 800000);
    const b = a + 1;
    expect(k.ok(['run', c, 'sh', '-c', `sleep ${a} & echo started`])).toBe('started');
    k.ok(['run', c, 'sh', '-c', `(sleep ${b} &) ; exit 0`]);
    const ps = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
    expect(ps).toMatch(/^ps -eo args$/m);
    expect(ps).not.toMatch(new RegExp(`^sleep (${a}|${b})$`, 'm'));
  });
});
