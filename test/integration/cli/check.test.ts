import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAIRN, cliKit, type CliKit } from '../../kit/cli.js';
import { tinyRootfsTar } from '../../kit/tiny.js';

let k: CliKit;
let tiny: string;
beforeAll(() => {
  k = cliKit('cairn-check-cli-');
  tiny = tinyRootfsTar();
});
afterAll(() => k.cleanup());

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const blobs = () => readdirSync(path.join(k.root, 'blobs/sha256')).sort();

describe('cairn check', () => {
  it('is silent with exit 0 on a clean store, one line per problem with exit 1, and --repair cleans up', () => {
    const c = k.ok(['from', '--name', 'base', `tarball:${tiny}`]);
    k.ok(['commit', c, 'localhost/keep']);
    const clean = k.cairn(['check']);
    expect(clean.status).toBe(0);
    expect(clean.stdout).toBe('');
    expect(clean.stderr).toMatch(/the store is clean/);

    writeFileSync(path.join(k.root, 'blobs/sha256', sha('original')), 'tampered');
    const bad = k.cairn(['check']);
    expect(bad.status).toBe(1);
    expect(bad.stdout).toBe(`blob sha256:${sha('original')}: corrupt: its content hashes to sha256:${sha('tampered')}\n`);

    const fixed = k.cairn(['check', '--repair']);
    expect(fixed.status).toBe(0);
    expect(fixed.stdout).toMatch(/ \[removed\]\n$/);
    expect(k.cairn(['check']).status).toBe(0);
    expect(k.ok(['images', '--json'])).toContain('localhost/keep:latest');
  });

  it('finds what a commit killed at a crash point left, repairs it, and the commit simply runs again', () => {
    const images = k.ok(['images', '--json']);
    for (const point of ['store.blob.before-rename', 'store.record.before-rename', 'store.image.before-move-names']) {
      const r = k.cairn(['commit', 'base', 'localhost/again'], { env: { CAIRN_CRASH_AT: point } });
      expect(r.status, point).not.toBe(0);
      expect(k.cairn(['check', '--repair']).status, point).toBe(0);
      expect(k.cairn(['check']).status).toBe(0);
      const now = k.ok(['images', '--json']);
      for (const img of JSON.parse(images) as { id: string }[]) expect(now).toContain(img.id);
    }
    k.ok(['commit', 'base', 'localhost/again']);
    expect(k.cairn(['check']).status).toBe(0);
  });

  it('makes gc fail closed, with one line, on a record it cannot read', () => {
    const bad = path.join(k.root, 'images', 'b'.repeat(64) + '.json');
    writeFileSync(bad, '{"id":');
    const before = blobs();
    const r = k.cairn(['gc']);
    expect(r.status).toBe(125);
    expect(r.stderr.split('\n')[0]).toMatch(/^cairn gc: .*images\/b{64}\.json is not valid JSON/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(blobs()).toEqual(before);
    rmSync(bad);
    k.ok(['gc']);
  });

  it('ends a wait for a lock held too long with one line naming the holder\'s PID', async () => {
    const id = JSON.parse(k.ok(['inspect', 'base'])).id as string;
    const lock = path.join(k.root, 'locks', `container-${id}.lock`);
    const holder = spawn(CAIRN, ['--root', k.root, 'run', 'base', 'sleep', '4'], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 100 && spawnSync('flock', ['-n', lock, 'true']).status === 0; i++) await new Promise((r) => setTimeout(r, 50));
      const r = k.cairn(['run', 'base', 'true'], { env: { CAIRN_LOCK_TIMEOUT: '0.5' } });
      expect(r.status).toBe(125);
      const [line, hint] = r.stderr.split('\n');
      expect(line).toMatch(new RegExp(`^cairn run: gave up after 0\\.5 s waiting for the lock container-${id}, held by PID ${holder.pid} \\((node .*cairn\\.js .*run base sleep 4|node .*\\.\\.\\.)\\)$`));
      expect(hint).toMatch(/CAIRN_LOCK_TIMEOUT/);
    } finally {
      holder.kill('SIGKILL');
    }
  });
});
