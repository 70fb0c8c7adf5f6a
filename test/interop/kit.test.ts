// The interop kit itself: the Debian cache and its failure mode.
import { existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CACHE_DIR, debianCacheName, debianRootfs } from '../kit/debian.js';
import { containersKit, tempDir } from '../kit/peers.js';

describe('debianRootfs', () => {
  it('gives one cached tar to concurrent callers and leaves no temporary files', async () => {
    const [a, b] = await Promise.all([debianRootfs(), debianRootfs()]);
    expect(a).toBe(b);
    expect(a).toBe(path.join(CACHE_DIR, 'debian-bookworm-minbase.tar'));
    expect(readdirSync(CACHE_DIR).filter((n) => n.includes('.tmp-'))).toEqual([]);
  }, 300_000);

  it('names a cache file per include set, order-independent', () => {
    expect(debianCacheName(['python3', 'curl'])).toBe(debianCacheName(['curl', 'python3', 'curl']));
    expect(debianCacheName(['python3'])).not.toBe(debianCacheName());
  });

  it('fails (does not skip) with a clear message when mmdebstrap is missing', async () => {
    const bin = mkdtempSync(path.join(os.tmpdir(), 'cairn-nopath-'));
    symlinkSync('/bin/sh', path.join(bin, 'sh'));
    const saved = process.env.PATH;
    process.env.PATH = bin;
    try {
      await expect(debianRootfs({ include: ['cairn-never-built-package'] })).rejects.toThrow(/mmdebstrap is not installed.*apt-get install -y mmdebstrap/);
    } finally {
      process.env.PATH = saved;
      rmSync(bin, { recursive: true, force: true });
    }
    expect(existsSync(path.join(CACHE_DIR, debianCacheName(['cairn-never-built-package'])))).toBe(false);
  });
});

describe('peers kit', () => {
  it('makes lower-case temporary directories (buildah refuses upper case in oci: paths)', () => {
    const d = tempDir('cairn-kit-');
    try {
      expect(path.basename(d)).toBe(path.basename(d).toLowerCase());
    } finally {
      rmSync(d, { recursive: true });
    }
  });

  it('gives buildah and podman private storage', () => {
    const p = containersKit('cairn-kit-peer-');
    try {
      const info = JSON.parse(p.buildahOk(['info']));
      expect(info.store.GraphRoot).toBe(path.join(p.dir, 'graph'));
      expect(info.store.GraphDriverName).toBe('vfs');
      expect(JSON.parse(p.podmanOk(['info', '--format', 'json'])).store.graphRoot).toBe(path.join(p.dir, 'graph'));
    } finally {
      p.cleanup();
    }
  });
});
