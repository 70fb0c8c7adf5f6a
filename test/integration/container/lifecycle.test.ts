import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { container, from, inspect, NotFoundError, RunError, type Container } from '../../../dsl/index.js';
import { IN_PROCESS, mountedTree } from '../../kit/api.js';
import { withEnv } from '../../kit/env.js';
import { cliKit, type CliKit } from '../../kit/cli.js';
import { smallRootfsTar, tinyRootfsTar } from '../../kit/tiny.js';

/*
 * A working container's life on each storage driver, in-process through the public API: from → run → copy →
 * checkpoint → rollback → mount → commit, and the image it gives. The CLI's verbs for the same steps (their
 * flags, output and exit statuses) are test/integration/cli/lifecycle.test.ts.
 */

type Info = { driver: string; config: { config: { Cmd?: string[]; Env?: string[]; Labels?: Record<string, string> }; rootfs: { diff_ids: string[] }; history: { created_by?: string; comment?: string }[] }; manifest: { layers: unknown[] } };

describe.runIf(IN_PROCESS).each(['overlay', 'vfs'])('a working container, in-process (%s driver)', (driver) => {
  let k: CliKit;
  let tiny: string;
  let root: string;
  /** from() with this driver (the engine reads STORAGE_DRIVER when it makes a container). */
  const make = (ref: string, name?: string): Promise<Container> => withEnv({ STORAGE_DRIVER: driver }, () => from(ref, { root, name }));
  const out = async (c: Container, argv: string[]): Promise<string> => (await c.run(argv)).stdout.trimEnd();
  const fails = async (c: Container, argv: string[]): Promise<number> => (await c.run(argv, { nothrow: true })).status;
  beforeAll(() => {
    k = cliKit('cairn-life-');
    root = k.root;
    tiny = tinyRootfsTar();
  });
  afterAll(() => k.cleanup());

  it('uses the driver asked for', async () => {
    const c = await make(`tarball:${smallRootfsTar()}`);
    expect(((await inspect(c.name, { root })) as Info).driver).toBe(driver === 'vfs' ? 'copy' : 'overlay');
  });

  it('builds an image whose layers hold exactly the changes, and runs it', async () => {
    const c = await make(`tarball:${tiny}`, 'life');
    expect(c.name).toBe('life');
    expect(await out(c, ['sh', '-c', 'echo hello > /hello && rm /bin/sleep && mkdir -p /opt/x && echo y > /opt/x/f'])).toBe('');
    expect((await c.diff()).map((d) => `${d.kind} ${d.path}`)).toEqual(expect.arrayContaining(['D /bin/sleep', 'A /hello', 'A /opt', 'A /opt/x', 'A /opt/x/f']));
    const layer1 = await c.checkpoint('first');
    expect(layer1).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await c.diff()).toEqual([]);
    expect(await fails(c, ['ls', '/bin/sleep'])).not.toBe(0);
    await c.config({ cmd: '["/bin/cat","/hello"]', env: ['FOO=bar'], labels: ['a=b'], workingdir: '/opt' });
    const img = await c.commit('localhost/life:1');
    expect(img.id).toMatch(/^[0-9a-f]{64}$/);
    const info = (await inspect('localhost/life:1', { root })) as Info;
    expect(info.config.config.Cmd).toEqual(['/bin/cat', '/hello']);
    expect(info.config.config.Env).toContain('FOO=bar');
    expect(info.config.config.Labels).toEqual({ a: 'b' });
    expect(info.manifest.layers).toHaveLength(2);
    expect(info.config.rootfs.diff_ids[1]).toBe(layer1);
    expect(info.config.history.at(-2)!.created_by).toContain('echo hello > /hello');
    expect(info.config.history.at(-2)!.comment).toBe('first');

    const d = await make('localhost/life:1');
    expect(d.name).toMatch(/^life-working-container/);
    expect(await out(d, ['sh', '-c', 'cat /hello; pwd; echo $FOO; test -e /bin/sleep || echo gone'])).toBe('hello\n/opt\nbar\ngone');
  });

  it('passes exit statuses through and reports a missing command', async () => {
    const c = await make(`tarball:${tiny}`);
    expect(await fails(c, ['sh', '-c', 'exit 7'])).toBe(7);
    await expect(c.run(['sh', '-c', 'exit 7'])).rejects.toMatchObject({ status: 7 });
    await expect(c.run(['sh', '-c', 'exit 7'])).rejects.toBeInstanceOf(RunError);
    const r = await c.run(['no-such-program'], { nothrow: true });
    expect(r.status).toBe(127);
    expect(r.stderr).toMatch(/command not found in the container: no-such-program/);
  });

  it('copies files, directories and globs with an owner and a mode', async () => {
    const c = await make(`tarball:${tiny}`);
    const src = path.join(k.root, '..', `src-${path.basename(k.root)}`);
    mkdirSync(path.join(src, 'dir/sub'), { recursive: true });
    writeFileSync(path.join(src, 'a.txt'), 'A');
    writeFileSync(path.join(src, 'b.txt'), 'B');
    writeFileSync(path.join(src, 'dir/sub/c'), 'C');
    await c.copy(path.join(src, '*.txt'), '/data/');
    await c.copy(path.join(src, 'dir'), '/srv', { chown: 'user:user', chmod: '0600' });
    expect(await out(c, ['sh', '-c', 'cat /data/a.txt /data/b.txt /srv/sub/c; stat -c "%u:%g %a" /srv/sub/c /data/a.txt'])).toBe('ABC1000:1000 600\n0:0 644');
    await expect(c.copy(path.join(src, 'nope'), '/x')).rejects.toThrow(/^copy source .* does not exist$/);
    await expect(c.copy(path.join(src, 'nope'), '/x')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('copies a host program with its shared libraries into scratch and runs it', async () => {
    const c = await make('scratch');
    await c.copy(['/bin/sh', '/bin/ls'], '/bin/', { withDeps: true });
    expect(await out(c, ['/bin/sh', '-c', 'ls /bin'])).toBe('ls\nsh');
  });

  it('rolls back pending changes and checkpoints', async () => {
    const c = await make(`tarball:${tiny}`);
    await c.run(['touch', '/one']);
    await c.checkpoint();
    await c.run(['touch', '/two']);
    await c.rollback();
    expect(await out(c, ['ls', '/one'])).toBe('/one');
    expect(await fails(c, ['ls', '/two'])).not.toBe(0);
    await c.rollback(0);
    expect(await fails(c, ['ls', '/one'])).not.toBe(0);
    await expect(c.rollback(5)).rejects.toThrow('no checkpoint 5: the container has 0');
  });

  it('mounts a tree host tools can write into, landing in the next checkpoint', async () => {
    const c = await make(`tarball:${tiny}`);
    const mnt = await mountedTree(c);
    expect(existsSync(path.join(mnt, 'bin/sh'))).toBe(true);
    // As real root, host tools see the tree where the engine does (a normal user's path goes through the pause process).
    if (!process.env.CAIRN_USERNS) expect(await c.mount()).toBe(mnt);
    if (driver === 'vfs') return;
    execFileSync('sh', ['-c', `mkdir -p ${mnt}/usr/local/bin && echo '#!/bin/sh' > ${mnt}/usr/local/bin/tool`]);
    expect((await c.diff()).map((d) => `${d.kind} ${d.path}`)).toContain('A /usr/local/bin/tool');
    await c.checkpoint();
    expect(readFileSync(path.join(mnt, 'usr/local/bin/tool'), 'utf8')).toBe('#!/bin/sh\n');
    await c.unmount();
    expect(existsSync(path.join(mnt, 'bin/sh'))).toBe(false);
    // The container is whole after its mount ended.
    expect((await container(c.name, { root })).name).toBe(c.name);
  });

  it('leaves no process behind after run', async () => {
    const c = await make(`tarball:${tiny}`);
    // Durations no other test uses, so a test running beside this one cannot be mistaken for a leftover.
    const a = 100000 + Math.floor(Math.random() * 800000);
    const b = a + 1;
    expect(await out(c, ['sh', '-c', `sleep ${a} & echo started`])).toBe('started');
    await c.run(['sh', '-c', `(sleep ${b} &) ; exit 0`]);
    const ps = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
    expect(ps).toMatch(/^ps -eo args$/m);
    expect(ps).not.toMatch(new RegExp(`^sleep (${a}|${b})$`, 'm'));
  });
});
