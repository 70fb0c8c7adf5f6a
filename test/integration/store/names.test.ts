import { chmodSync, lstatSync, mkdirSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, from } from '../../../dsl/api.js';
import { check, container, containers, NotFoundError } from '../../../dsl/index.js';
import { gc } from '../../../dsl/store/gc.js';
import { openStore } from '../../../dsl/store/store.js';
import { cliKit, type CliKit } from '../../kit/cli.js';
import { smallRootfsTar } from '../../kit/tiny.js';

let k: CliKit;
/** The base: a few KB, as nothing runs in these containers. */
let small: string;
beforeAll(() => {
  k = cliKit('cairn-names-');
  small = smallRootfsTar();
});
afterAll(() => k.cleanup());

// The library runs in-process: a normal user runs this file inside its namespace (`cairn unshare npx vitest …`).
const inProcess = process.getuid?.() === 0 || !!process.env.CAIRN_USERNS;

const cairnAsync = (args: string[], env: NodeJS.ProcessEnv = {}) => k.cairnAsync(args, env);

const deadId = (c: string) => c.repeat(64);

// The verbs race as separate `cairn` processes (what they share is the store and its locks); what they left is
// read in-process through the public API.
describe.runIf(inProcess)('container names across processes', () => {
  it('gives 6 parallel `cairn from` 6 distinct names and 6 distinct records', async () => {
    const rs = await Promise.all(Array.from({ length: 6 }, () => cairnAsync(['from', `tarball:${small}`])));
    expect(rs.map((r) => r.status)).toEqual(Array(6).fill(0));
    const names = rs.map((r) => r.stdout.trim());
    expect(new Set(names).size).toBe(6);
    for (const n of names) expect(n).toMatch(/^small-working-container(-\d+)?$/);
    const listed = await containers({ root: k.root });
    expect(new Set(listed.map((c) => c.id)).size).toBe(listed.length);
    expect(listed.map((c) => c.name).sort()).toEqual([...names].sort());
    for (const c of listed) expect(readlinkSync(path.join(k.root, 'containers/names', c.name))).toBe(c.id);
    expect((await check({ root: k.root })).problems).toEqual([]);
  });

  it('leaves nothing published by a `from` killed before its name is, and the next `from` just works', async () => {
    const root = path.join(k.root, '..', path.basename(k.root) + '-crash');
    const r = await k.cairnAsync(['--root', root, 'from', '--name', 'crashed', `tarball:${small}`], { CAIRN_CRASH_AT: 'store.name.before-publish' });
    expect(r.status).toBe(137);
    await expect(container('crashed', { root })).rejects.toBeInstanceOf(NotFoundError);
    expect((await containers({ root })).map((c) => c.name)).not.toContain('crashed');
    expect((await check({ root })).problems.join('\n')).toMatch(/container crashed was never published/);
    expect(k.ok(['--root', root, 'from', '--name', 'crashed', `tarball:${small}`])).toBe('crashed');
    await check({ root, repair: true });
    expect((await check({ root })).problems).toEqual([]);
    rmSync(root, { recursive: true, force: true });
  });

  it('takes over a name whose container is gone (a killed `rm`), exactly once among 5 parallel verbs', async () => {
    const root = path.join(k.root, '..', path.basename(k.root) + '-takeover');
    mkdirSync(path.join(root, 'containers/names'), { recursive: true });
    chmodSync(root, 0o700);
    symlinkSync(deadId('d'), path.join(root, 'containers/names/contested'));
    const rs = await Promise.all(Array.from({ length: 5 }, () => k.cairnAsync(['--root', root, 'from', '--name', 'contested', `tarball:${small}`])));
    expect(rs.filter((r) => r.status === 0)).toHaveLength(1);
    for (const r of rs.filter((x) => x.status !== 0)) {
      expect(r.status).toBe(125);
      expect(r.stderr.split('\n')[0]).toMatch(/the container name contested is already in use/);
    }
    const winner = await container('contested', { root });
    expect(readlinkSync(path.join(root, 'containers/names/contested'))).toBe(winner.id);
    // The losers saved records under that name before they lost: none of them is left anywhere.
    expect((await check({ root })).problems).toEqual([]);
    rmSync(root, { recursive: true, force: true });
  });
});

describe.runIf(inProcess)('container names in one process', () => {
  it('gives 16 concurrent from() calls 16 distinct names', async () => {
    const root = path.join(k.root, '..', path.basename(k.root) + '-inproc');
    const cs = await Promise.all(Array.from({ length: 16 }, () => from(`tarball:${small}`, { root })));
    expect(new Set(cs.map((c) => c.name)).size).toBe(16);
    const s = await openStore(root);
    const recs = await s.containers.list();
    expect(recs.map((r) => r.name).sort()).toEqual(cs.map((c) => c.name).sort());
    await Promise.all(cs.map((c) => c.remove()));
    expect(await s.containers.list()).toEqual([]);
    await gc(s);
    const { rmSync } = await import('node:fs');
    rmSync(root, { recursive: true, force: true });
  });

  it('refuses a name a live container holds, and frees a dead one', async () => {
    const s = await openStore(k.root);
    await from(`tarball:${small}`, { root: k.root, name: 'held' });
    await expect(from(`tarball:${small}`, { root: k.root, name: 'held' })).rejects.toBeInstanceOf(ConflictError);
    symlinkSync(deadId('e'), path.join(s.containers.namesDir, 'dead-name'));
    expect(await s.containers.find('dead-name')).toBeUndefined();
    expect((await gc(s)).leftovers).toBeGreaterThanOrEqual(1);
    // Name links point at IDs, not paths: lstat, not exists.
    expect(lstatSync(path.join(s.containers.namesDir, 'dead-name'), { throwIfNoEntry: false })).toBeUndefined();
    expect(lstatSync(path.join(s.containers.namesDir, 'held')).isSymbolicLink()).toBe(true);
  });
});
