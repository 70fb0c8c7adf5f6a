import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CairnError, from } from '../../../dsl/api.js';
import { holdEntry } from '../../../dsl/exec/cache.js';
import { checkStore } from '../../../dsl/store/check.js';
import { gc } from '../../../dsl/store/gc.js';
import { isLocked, lockFile } from '../../../dsl/store/lock.js';
import { imageNeeds } from '../../../dsl/store/refs.js';
import { openStore, type Store } from '../../../dsl/store/store.js';
import { tinyRootfsTar } from '../../kit/tiny.js';

// The library runs in-process: a normal user runs this file inside its namespace (`cairn unshare npx vitest …`).
const inProcess = process.getuid?.() === 0 || !!process.env.CAIRN_USERNS;

const root = path.join(os.tmpdir(), `cairn-check-${process.pid}`);
let s: Store;
let keepId: string;
const children: ChildProcess[] = [];

/** A PID that no process has right now (one that just exited). */
const deadPid = () => spawnSync('true').pid;
/** A temporary name as uniqueSuffix makes it, for creator pid. */
const tempName = (prefix: string, pid: number) => `${prefix}-${pid}-${Date.now().toString(36)}-0abc123`;

beforeAll(async () => {
  if (!inProcess) return;
  const c = await from(`tarball:${tinyRootfsTar()}`, { root, name: 'base' });
  keepId = (await c.commit('localhost/keep')).id;
  s = await openStore(root);
});
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  spawnSync('sh', ['-c', `grep -F ' ${root}/' /proc/self/mountinfo | cut -d' ' -f5 | sort -r | xargs -r -n1 umount -l`]);
  rmSync(root, { recursive: true, force: true });
});
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

/** Asserts that image keepId is listed and every blob it needs is present. */
async function keptWhole(): Promise<void> {
  const rec = await s.images.get(keepId);
  expect(rec?.names).toContain('localhost/keep:latest');
  const n = await imageNeeds(s, rec!);
  for (const d of [n.manifest, n.config, ...n.layers.map((l) => l.digest)]) expect(await s.blobs.has(d)).toBe(true);
}

describe.runIf(inProcess)('cairn check', () => {
  it('finds nothing in a store verbs left alone', async () => {
    expect((await checkStore(s)).problems).toEqual([]);
  });

  it('finds a corrupt blob, dangling references and a stale temporary file; --repair fixes them and the image stays', async () => {
    const spare = await s.blobs.put(Buffer.from('spare blob'));
    writeFileSync(s.blobs.path(spare.digest), 'tampered');
    writeFileSync(path.join(s.paths.blobs, 'not-a-digest'), 'x');
    const rec = (await s.images.get(keepId))!;
    const diffID = (await imageNeeds(s, rec)).layers[0].diffID;
    writeFileSync(path.join(s.paths.layers, `${diffID.slice(7)}.gzip.json`), JSON.stringify({ diffID, digest: 'sha256:' + 'f'.repeat(64), size: 1, mediaType: 'x' }));
    symlinkSync('c'.repeat(64), path.join(s.containers.namesDir, 'gone'));
    mkdirSync(s.paths.tmp, { recursive: true });
    const stale = path.join(s.paths.tmp, tempName('blob', deadPid()));
    const live = path.join(s.paths.tmp, tempName('blob', process.pid));
    writeFileSync(stale, 'half');
    writeFileSync(live, 'being written');

    const found = (await checkStore(s)).problems;
    expect(found).toEqual(expect.arrayContaining([
      `blob ${spare.digest}: corrupt: its content hashes to sha256:${createHash('sha256').update('tampered').digest('hex')}`,
      'blobs/sha256/not-a-digest: not a blob (its name is no sha256 digest)',
      expect.stringMatching(new RegExp(`^layers/${diffID.slice(7)}\\.gzip\\.json: the gzip copy of layer .* is missing$`)),
      expect.stringMatching(/^containers\/names\/gone: the name points at container cccccccccccc, which no longer exists/),
      `tmp/${path.basename(stale)}: left by an interrupted verb`,
    ]));
    expect(found).toHaveLength(5);

    const repaired = await checkStore(s, { repair: true });
    expect(repaired.repaired).toBe(5);
    expect(repaired.problems.every((l) => / \[(removed|freed)\]$/.test(l))).toBe(true);
    expect((await checkStore(s)).problems).toEqual([]);
    expect(existsSync(live)).toBe(true);
    expect(existsSync(stale)).toBe(false);
    rmSync(live);
    await keptWhole();
  });

  it('removes a corrupt blob an image needs but never the image record: that one stays reported', async () => {
    const c = await from('localhost/keep', { root, name: 'second' });
    await c.config({ env: ['SECOND=1'] });
    const other = await c.commit('localhost/other');
    await c.remove();
    const needs = await imageNeeds(s, (await s.images.get(other.id))!);
    writeFileSync(s.blobs.path(needs.config), '{"tampered":true}');
    const first = (await checkStore(s, { repair: true })).problems;
    expect(first).toEqual(expect.arrayContaining([
      expect.stringMatching(new RegExp(`^blob ${needs.config}: corrupt: .* \\[removed\\]$`)),
      expect.stringMatching(/^image localhost\/other:latest .* is broken: its config .* is corrupt \[not repaired\]$/),
    ]));
    expect(await s.images.get(other.id)).toBeDefined();
    expect((await checkStore(s)).problems).toEqual([expect.stringMatching(/^image localhost\/other:latest .* is broken: its config .* is missing$/)]);
    await keptWhole();
    await s.images.remove(other.id);
    expect((await checkStore(s)).problems).toEqual([]);
  });

  it('moves a record it cannot read to lost+found and removes containers a killed `from` never published', async () => {
    writeFileSync(path.join(s.paths.images, 'e'.repeat(64) + '.json'), '{"id": ');
    const id = 'a'.repeat(64);
    mkdirSync(s.paths.container(id), { recursive: true });
    writeFileSync(s.containers.file(id), JSON.stringify({ id, name: 'never', from: 'x', driver: 'copy', baseLayers: [], config: {}, baseHistory: [], checkpoints: [], pending: [], created: new Date().toISOString() }));
    const lines = (await checkStore(s, { repair: true })).problems;
    expect(lines).toEqual([
      expect.stringMatching(/^images\/e{64}\.json: the image record cannot be read .* \[moved to lost\+found\]$/),
      `containers/${id}: container never was never published (an interrupted \`cairn from\`) [removed]`,
    ]);
    expect(readdirSync(path.join(root, 'lost+found'))).toEqual([expect.stringMatching(/^e{64}\.json-/)]);
    expect(existsSync(s.paths.container(id))).toBe(false);
    expect((await checkStore(s)).problems).toEqual([]);
  });
});

describe.runIf(inProcess)('cairn gc', () => {
  it('fails closed: an unreadable record stops it before it removes anything', async () => {
    const spare = await s.blobs.put(Buffer.from('unreferenced'));
    const bad = path.join(s.paths.images, 'b'.repeat(64) + '.json');
    for (const breakIt of [() => mkdirSync(bad), () => writeFileSync(bad, 'not json'), () => writeFileSync(bad, '{}')]) {
      breakIt();
      await expect(gc(s)).rejects.toBeInstanceOf(CairnError);
      expect(await s.blobs.has(spare.digest)).toBe(true);
      rmSync(bad, { recursive: true, force: true });
    }
    // A record that reads well but whose manifest is gone: gc cannot know what its layers are, so it stops too.
    writeFileSync(bad, JSON.stringify({ id: 'b'.repeat(64), names: ['localhost/broken'], manifest: 'sha256:' + '1'.repeat(64), created: new Date().toISOString() }));
    await expect(gc(s)).rejects.toThrow(/image localhost\/broken .* is broken: its manifest .* is missing/);
    expect(await s.blobs.has(spare.digest)).toBe(true);
    rmSync(bad);
    expect((await gc(s)).blobs).toBeGreaterThanOrEqual(1);
    expect(await s.blobs.has(spare.digest)).toBe(false);
    await keptWhole();
  });

  it('keeps the layer of a checkpoint a killed verb journaled but did not finish', async () => {
    const c = await from('localhost/keep', { root, name: 'journaled' });
    const rec = (await s.containers.find('journaled'))!;
    const blob = await s.blobs.put(Buffer.from('sealed layer'));
    const layer = { diffID: blob.digest, digest: blob.digest, size: blob.size, mediaType: 'application/vnd.oci.image.layer.v1.tar', uncompressedSize: blob.size };
    writeFileSync(path.join(s.paths.container(rec.id), 'seal.json'), JSON.stringify({ checkpoint: { ...layer, message: '', createdBy: 'x', created: '' }, layer }));
    await gc(s);
    expect(await s.blobs.has(blob.digest)).toBe(true);
    rmSync(path.join(s.paths.container(rec.id), 'seal.json'));
    await c.remove();
  });

  it('clears a run step\'s scratch only once no container lock is held', async () => {
    const scratch = path.join(s.paths.tmp, 'run-Ab12Cd');
    mkdirSync(path.join(scratch, 'dev'), { recursive: true });
    const lock = path.join(s.paths.locks, 'container-' + '9'.repeat(64) + '.lock');
    const release = await lockFile(lock, false);
    await gc(s);
    expect(existsSync(scratch)).toBe(true);
    release!();
    // The kernel lock goes with its holder process: wait until it is gone.
    for (let i = 0; i < 500 && isLocked(lock); i++) await new Promise((r) => setTimeout(r, 10));
    await gc(s);
    expect(existsSync(scratch)).toBe(false);
    expect(existsSync(lock)).toBe(false);
  });

  it('removes exec cache entries no running service holds, and what killed starts left', async () => {
    const exec = path.join(root, 'exec');
    const entry = (c: string) => {
      const dir = path.join(exec, c.repeat(64));
      mkdirSync(path.join(dir, 'rootfs'), { recursive: true });
      writeFileSync(path.join(dir, 'meta.json'), '{}');
      return { dir, hex: c.repeat(64), meta: { digest: 'sha256:' + c.repeat(64), signer: null, mounts: {} }, config: {} };
    };
    const used = entry('1');
    const unused = entry('2');
    mkdirSync(path.join(exec, 'files'), { recursive: true });
    writeFileSync(path.join(exec, 'files', 'f.json'), JSON.stringify({ digest: unused.meta.digest }));
    mkdirSync(path.join(exec, 'tmp', tempName('x', deadPid())), { recursive: true });
    const argv = holdEntry(used, ['sleep', '60']);
    const svc = spawn(argv[0], argv.slice(1), { stdio: 'ignore' });
    children.push(svc);
    for (let i = 0; i < 100 && !isLocked(used.dir + '.lock'); i++) await new Promise((r) => setTimeout(r, 20));
    expect(isLocked(used.dir + '.lock')).toBe(true);
    expect((await gc(s)).execEntries).toBe(1);
    expect(existsSync(used.dir)).toBe(true);
    expect(existsSync(unused.dir)).toBe(false);
    expect(readdirSync(exec).sort()).toEqual([path.basename(used.dir), path.basename(used.dir) + '.lock', 'files', 'tmp']);
    expect(readdirSync(path.join(exec, 'files'))).toEqual([]);
    expect(readdirSync(path.join(exec, 'tmp'))).toEqual([]);
    svc.kill('SIGKILL');
    await new Promise((r) => svc.once('exit', r));
    expect((await gc(s)).execEntries).toBe(1);
    expect(existsSync(used.dir)).toBe(false);
  });

  it('makes a start whose entry gc removed meanwhile fail with one clear line', () => {
    const dir = path.join(root, 'exec', '3'.repeat(64));
    const argv = holdEntry({ dir, hex: '3'.repeat(64), meta: { digest: '', signer: null, mounts: {} }, config: {} }, ['true']);
    const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
    expect(r.status).toBe(125);
    expect(r.stderr).toBe('cairn exec: the cached image was removed meanwhile (cairn gc): start it again\n');
  });
});
