import { lstatSync, mkdirSync, readlinkSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, from } from '../../../dsl/api.js';
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

describe('container names', () => {
  it('gives 8 parallel `cairn from` 8 distinct names and 8 distinct records', async () => {
    const rs = await Promise.all(Array.from({ length: 8 }, () => cairnAsync(['from', `tarball:${small}`])));
    expect(rs.map((r) => r.status)).toEqual(Array(8).fill(0));
    const names = rs.map((r) => r.stdout.trim());
    expect(new Set(names).size).toBe(8);
    for (const n of names) expect(n).toMatch(/^small-working-container(-\d+)?$/);
    const listed = JSON.parse(k.ok(['containers', '--json'])) as { id: string; name: string }[];
    expect(new Set(listed.map((c) => c.id)).size).toBe(listed.length);
    expect(listed.map((c) => c.name).sort()).toEqual([...names].sort());
    for (const c of listed) expect(readlinkSync(path.join(k.root, 'containers/names', c.name))).toBe(c.id);
    expect(k.cairn(['check']).status).toBe(0);
  });

  it('leaves nothing published by a `from` killed before its name is, and the next `from` just works', async () => {
    const r = await cairnAsync(['from', '--name', 'crashed', `tarball:${small}`], { CAIRN_CRASH_AT: 'store.name.before-publish' });
    expect(r.status).toBe(137);
    expect(k.cairn(['inspect', '--type', 'container', 'crashed']).status).toBe(125);
    expect(k.ok(['containers', '--json'])).not.toContain('"crashed"');
    const check = k.cairn(['check']);
    expect(check.status).toBe(1);
    expect(check.stdout).toMatch(/container crashed was never published/);
    expect(k.ok(['from', '--name', 'crashed', `tarball:${small}`])).toBe('crashed');
    expect(k.cairn(['check', '--repair']).status).toBe(0);
    expect(k.cairn(['check']).status).toBe(0);
  });

  it('takes over a name whose container is gone (a killed `rm`), exactly once among 6 parallel verbs', async () => {
    mkdirSync(path.join(k.root, 'containers/names'), { recursive: true });
    symlinkSync(deadId('d'), path.join(k.root, 'containers/names/contested'));
    const rs = await Promise.all(Array.from({ length: 6 }, () => cairnAsync(['from', '--name', 'contested', `tarball:${small}`])));
    expect(rs.filter((r) => r.status === 0)).toHaveLength(1);
    for (const r of rs.filter((x) => x.status !== 0)) {
      expect(r.status).toBe(125);
      expect(r.stderr.split('\n')[0]).toMatch(/the container name contested is already in use/);
    }
    const winner = JSON.parse(k.ok(['inspect', 'contested']));
    expect(readlinkSync(path.join(k.root, 'containers/names/contested'))).toBe(winner.id);
    // The losers saved records under that name before they lost: none of them is left anywhere.
    expect(k.cairn(['check']).stdout).toBe('');
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
    await expect(from(`tarball:${small}`, { root: k.root, name: 'contested' })).rejects.toBeInstanceOf(ConflictError);
    symlinkSync(deadId('e'), path.join(s.containers.namesDir, 'dead-name'));
    expect(await s.containers.find('dead-name')).toBeUndefined();
    expect((await gc(s)).leftovers).toBeGreaterThanOrEqual(1);
    // Name links point at IDs, not paths: lstat, not exists.
    expect(lstatSync(path.join(s.containers.namesDir, 'dead-name'), { throwIfNoEntry: false })).toBeUndefined();
    expect(lstatSync(path.join(s.containers.namesDir, 'contested')).isSymbolicLink()).toBe(true);
  });
});
