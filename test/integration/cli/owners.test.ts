import { chmodSync, chownSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliKit, type CliKit } from '../../kit/cli.js';
import { layersOf } from '../../kit/images.js';
import { tinyRootfsTar } from '../../kit/tiny.js';

let k: CliKit;
let work: string;
beforeAll(() => {
  k = cliKit();
  work = mkdtempSync(path.join(os.tmpdir(), 'cairn-owners-'));
});
afterAll(() => k.cleanup());

describe(`owners and secrets through the CLI (as uid ${process.getuid?.()})`, () => {
  // What these do (owners in layers, one-step mounts, refusals): test/integration/container/owners.test.ts.
  it('run\'s --secret, --tmpfs and --volume reach the step; a bad one is one line, exit 125', async () => {
    const secret = `s3cr3t-${process.pid}-${Date.now()}`;
    const file = path.join(work, 'secret');
    writeFileSync(file, secret, { mode: 0o600 });
    const host = mkdtempSync(path.join(work, 'vol-'));
    writeFileSync(path.join(host, 'in'), 'from host\n');
    const c = k.ok(['from', `tarball:${tinyRootfsTar()}`]);
    const out = k.ok(['run', '--secret', `id=token,src=${file}`, '--tmpfs', '/scratch', '--volume', `${host}:/data:ro`, c, 'sh', '-c',
      'echo t > /scratch/t && cat /scratch/t /data/in /run/secrets/token']);
    expect(out).toBe(`t\nfrom host\n${secret}`);
    const bad = k.cairn(['run', '--secret', `id=token,src=${path.join(work, 'missing')}`, c, 'true']);
    expect(bad.status).toBe(125);
    expect(bad.stderr.split('\n')[0]).toMatch(/^cairn run: secret token: .* is not a readable file/);
    // The step left nothing: the secret in no layer of a commit (as the in-process test checks in depth).
    const layout = path.join(work, 'secret-layout');
    k.ok(['commit', c, 'localhost/secret']);
    k.ok(['push', 'localhost/secret', `oci:${layout}:x`]);
    for (const layer of layersOf(layout)) expect(layer.includes(secret)).toBe(false);
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
});
