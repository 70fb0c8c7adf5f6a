import { chmodSync, chownSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import tarStream from 'tar-stream';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliKit, type CliKit } from '../../kit/cli.js';
import { tinyRootfsTar } from '../../kit/tiny.js';

let k: CliKit;
let work: string;
beforeAll(() => {
  k = cliKit();
  work = mkdtempSync(path.join(os.tmpdir(), 'cairn-owners-'));
});
afterAll(() => k.cleanup());

/** Entries (name, uid, gid) of a layer tar. */
async function entries(tar: Buffer): Promise<{ name: string; uid: number; gid: number }[]> {
  const out: { name: string; uid: number; gid: number }[] = [];
  const ex = tarStream.extract();
  ex.on('entry', (h, s, next) => {
    out.push({ name: h.name, uid: h.uid ?? -1, gid: h.gid ?? -1 });
    s.resume();
    s.on('end', next);
  });
  await new Promise((resolve, reject) => {
    ex.on('finish', resolve);
    ex.on('error', reject);
    Readable.from([tar]).pipe(ex);
  });
  return out;
}

function layersOf(layout: string): Buffer[] {
  const index = JSON.parse(readFileSync(path.join(layout, 'index.json'), 'utf8'));
  const blob = (d: string) => readFileSync(path.join(layout, 'blobs/sha256', d.slice(7)));
  const manifest = JSON.parse(blob(index.manifests[0].digest).toString());
  return manifest.layers.map((l: { digest: string }) => {
    const b = blob(l.digest);
    return b[0] === 0x1f && b[1] === 0x8b ? gunzipSync(b) : b;
  });
}

describe(`owners and secrets (as uid ${process.getuid?.()})`, () => {
  it('keeps owners in committed layers: a chowned file and one made by a second in-container user', async () => {
    const c = k.ok(['from', `tarball:${tinyRootfsTar()}`]);
    k.ok(['run', c, 'sh', '-c', 'echo a > /owned && chown 1000:1000 /owned']);
    k.ok(['run', '--user', 'user', c, 'sh', '-c', 'echo b > /tmp/by-user']);
    k.ok(['run', '--user', '2000:3000', c, 'sh', '-c', 'echo c > /tmp/by-2000']);
    const out = path.join(work, 'owners');
    k.ok(['commit', c, 'localhost/owners']);
    k.ok(['push', 'localhost/owners', `oci:${out}:x`]);
    const top = await entries(layersOf(out).at(-1)!);
    expect(top.find((e) => e.name === 'owned')).toMatchObject({ uid: 1000, gid: 1000 });
    expect(top.find((e) => e.name === 'tmp/by-user')).toMatchObject({ uid: 1000, gid: 1000 });
    expect(top.find((e) => e.name === 'tmp/by-2000')).toMatchObject({ uid: 2000, gid: 3000 });
    expect(top.find((e) => e.name === 'tmp/')).toMatchObject({ uid: 0, gid: 0 });
  });

  it('mounts a secret for one step only: its content is in no layer, history or config', async () => {
    const secret = `s3cr3t-${process.pid}-${Date.now()}`;
    const file = path.join(work, 'secret');
    writeFileSync(file, secret, { mode: 0o600 });
    const c = k.ok(['from', `tarball:${tinyRootfsTar()}`]);
    expect(k.ok(['run', '--secret', `id=token,src=${file}`, c, 'sh', '-c', 'cat /run/secrets/token'])).toBe(secret);
    k.ok(['run', '--secret', `id=token,src=${file}`, c, 'sh', '-c', 'ls -l /run/secrets > /tmp/listing; echo x > /tmp/other']);
    expect(k.cairn(['run', c, 'cat', '/run/secrets/token']).status).not.toBe(0);
    const out = path.join(work, 'secret-layout');
    k.ok(['commit', c, 'localhost/secret']);
    k.ok(['push', 'localhost/secret', `oci:${out}:x`]);
    for (const layer of layersOf(out)) expect(layer.includes(secret)).toBe(false);
    for (const b of readdirSync(path.join(out, 'blobs/sha256'))) {
      expect(readFileSync(path.join(out, 'blobs/sha256', b)).includes(secret)).toBe(false);
    }
    expect(k.ok(['inspect', 'localhost/secret'])).not.toContain(secret);
    const bad = k.cairn(['run', '--secret', `id=token,src=${path.join(work, 'missing')}`, c, 'true']);
    expect(bad.status).toBe(125);
    expect(bad.stderr.split('\n')[0]).toMatch(/secret token: .* is not a readable file/);
  });

  it('mounts --tmpfs and --volume for one step only', () => {
    const c = k.ok(['from', `tarball:${tinyRootfsTar()}`]);
    const host = mkdtempSync(path.join(work, 'vol-'));
    writeFileSync(path.join(host, 'in'), 'from host\n');
    const out = k.ok(['run', '--tmpfs', '/scratch', '--volume', `${host}:/data:ro`, c, 'sh', '-c',
      'echo t > /scratch/t && cat /scratch/t /data/in && (echo x > /data/new 2>/dev/null || echo read-only)']);
    expect(out).toBe('t\nfrom host\nread-only');
    expect(k.ok(['run', c, 'sh', '-c', 'ls /scratch /data 2>&1 || true'])).toMatch(/No such file/);
    expect(k.ok(['diff', c])).toBe('');
  });

  it('refuses a store that belongs to another user', () => {
    const other = process.getuid?.() === 0 ? 1234 : 0;
    const dir = mkdtempSync(path.join(work, 'foreign-'));
    if (process.getuid?.() === 0) chownSync(dir, other, other);
    const r = k.cairn(['--root', process.getuid?.() === 0 ? dir : '/', 'images']);
    expect(r.status).toBe(125);
    expect(r.stderr.split('\n')[0]).toMatch(/belongs to another user/);
  });

  it('refuses a store that other users can write to', () => {
    const dir = mkdtempSync(path.join(work, 'shared-'));
    chmodSync(dir, 0o777);
    const r = k.cairn(['--root', dir, 'images']);
    expect(r.status).toBe(125);
    expect(r.stderr.split('\n')[0]).toMatch(/is writable by other users \(mode 777\)/);
    chmodSync(dir, 0o700);
    expect(k.cairn(['--root', dir, 'images']).status).toBe(0);
  });

  it('refuses a --volume source that does not exist, leaving nothing mounted', () => {
    const c = k.ok(['from', `tarball:${tinyRootfsTar()}`]);
    const r = k.cairn(['run', '--volume', `${path.join(work, 'nope')}:/data`, c, 'true']);
    expect(r.status).toBe(125);
    expect(r.stderr.split('\n')[0]).toMatch(/--volume source .* does not exist/);
    expect(k.ok(['diff', c])).toBe('');
  });
});
