// Test fixtures for image transports: small OCI images and archives built in code, plus peer helpers.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import zlib from 'node:zlib';
import tar from 'tar-stream';

/** sha256 of bytes as `sha256:<hex>`. */
export function sha(b: Uint8Array | string): string {
  return 'sha256:' + createHash('sha256').update(b).digest('hex');
}

/** One tar member to build. */
export interface Member {
  name: string;
  content?: string | Buffer;
  type?: 'file' | 'directory' | 'symlink' | 'link';
  linkname?: string;
  mode?: number;
}

/** A tar (uncompressed) of members, built with tar-stream. */
export async function makeTar(members: Member[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    pack.on('data', (c: Buffer) => chunks.push(c));
    pack.on('end', () => resolve());
    pack.on('error', reject);
  });
  for (const m of members) {
    const type = m.type ?? 'file';
    const body = type === 'file' ? Buffer.from(m.content ?? '') : Buffer.alloc(0);
    await new Promise<void>((res, rej) =>
      pack.entry({ name: m.name, type, linkname: m.linkname, mode: m.mode ?? (type === 'directory' ? 0o755 : 0o644), mtime: new Date(1_700_000_000_000), size: body.length }, body, (e) => (e ? rej(e) : res())),
    );
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** gzip of bytes (deterministic). */
export function gzip(b: Buffer): Buffer {
  return zlib.gzipSync(b, { level: 6 });
}

/** A fresh temporary directory and a function removing it. */
export function tempDir(prefix = 'cairn-img-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The default file sets of the test image's two layers. */
export const DEFAULT_LAYERS: Member[][] = [
  [
    { name: 'etc/', type: 'directory' },
    { name: 'etc/os-release', content: 'ID=cairn-test\n' },
    { name: 'bin/', type: 'directory' },
    { name: 'bin/hello', content: '#!/bin/sh\necho hello\n', mode: 0o755 },
  ],
  [
    { name: 'etc/motd', content: 'layer two\n' },
    { name: 'srv/', type: 'directory' },
    { name: 'srv/data.txt', content: 'x'.repeat(5000) },
  ],
];

/** What a test image is made of, to compare readers' results against. */
export interface TestImage {
  dir: string;
  ref: string;
  configBytes: Buffer;
  configDigest: string;
  manifestDigest: string;
  layers: { digest: string; diffID: string; size: number; tar: Buffer; blob: Buffer; mediaType: string }[];
}

/** Builds the config of a test image with these diff IDs. */
export function testConfig(diffIDs: string[]): Record<string, unknown> {
  return {
    created: '2024-01-01T00:00:00Z',
    architecture: process.arch === 'x64' ? 'amd64' : process.arch,
    os: 'linux',
    config: { Env: ['PATH=/usr/bin:/bin'], Cmd: ['/bin/hello'] },
    rootfs: { type: 'layers', diff_ids: diffIDs },
    history: diffIDs.map((_, i) => ({ created: '2024-01-01T00:00:00Z', created_by: `test layer ${i}` })),
  };
}

function putBlob(dir: string, bytes: Buffer): string {
  const d = sha(bytes);
  writeFileSync(path.join(dir, 'blobs', 'sha256', d.slice(7)), bytes);
  return d;
}

/**
 * Writes a small OCI image as an image layout at dir (by hand, independent of the code under test):
 * gzip layers by default, index.json naming it ref.
 */
export async function writeTestLayout(dir: string, opts: { ref?: string; gzip?: boolean; layers?: Member[][] } = {}): Promise<TestImage> {
  const ref = opts.ref ?? 'test';
  const useGzip = opts.gzip ?? true;
  mkdirSync(path.join(dir, 'blobs', 'sha256'), { recursive: true });
  writeFileSync(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const layers: TestImage['layers'] = [];
  for (const members of opts.layers ?? DEFAULT_LAYERS) {
    const t = await makeTar(members);
    const blob = useGzip ? gzip(t) : t;
    const mediaType = useGzip ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.oci.image.layer.v1.tar';
    layers.push({ digest: putBlob(dir, blob), diffID: sha(t), size: blob.length, tar: t, blob, mediaType });
  }
  const configBytes = Buffer.from(JSON.stringify(testConfig(layers.map((l) => l.diffID))));
  const configDigest = putBlob(dir, configBytes);
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: configBytes.length },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const manifestDigest = putBlob(dir, manifestBytes);
  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [{ mediaType: manifest.mediaType, digest: manifestDigest, size: manifestBytes.length, annotations: { 'org.opencontainers.image.ref.name': ref } }],
  };
  writeFileSync(path.join(dir, 'index.json'), JSON.stringify(index));
  return { dir, ref, configBytes, configDigest, manifestDigest, layers };
}

/** Writes bytes as a blob of the layout at dir; returns its digest. */
export function addBlob(dir: string, bytes: Buffer | string): string {
  return putBlob(dir, Buffer.from(bytes));
}

/**
 * A `docker save` archive built by hand: config and layers under the given member names
 * (layers given as the bytes to store: plain or gzip).
 */
export async function makeDockerArchive(items: { config: Buffer; configName?: string; layers: { name: string; bytes: Buffer }[]; repoTags?: string[] }[], extra: Member[] = []): Promise<Buffer> {
  const members: Member[] = [];
  const seen = new Set<string>();
  const add = (m: Member) => {
    if (!seen.has(m.name)) members.push(m);
    seen.add(m.name);
  };
  const manifest = items.map((it) => {
    const configName = it.configName ?? `${sha(it.config).slice(7)}.json`;
    add({ name: configName, content: it.config });
    for (const l of it.layers) add({ name: l.name, content: l.bytes });
    return { Config: configName, RepoTags: it.repoTags ?? [], Layers: it.layers.map((l) => l.name) };
  });
  return makeTar([...members, ...extra, { name: 'manifest.json', content: JSON.stringify(manifest) }]);
}

/** Reads a stream to the end. */
export async function readAll(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Runs a peer tool, returning stdout; throws with its stderr when it fails. */
export function run(cmd: string, args: string[], env?: NodeJS.ProcessEnv): string {
  return execFileSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** `skopeo inspect [--raw|--config] REF` parsed. */
export function skopeoInspect(ref: string, flag?: '--raw' | '--config'): any {
  return JSON.parse(run('skopeo', ['inspect', ...(flag ? [flag] : []), ref]));
}

/** True when cmd is on PATH. */
export function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

/** The uncompressed layers of the one image of an OCI layout. */
export function layersOf(layout: string): Buffer[] {
  const index = JSON.parse(readFileSync(path.join(layout, 'index.json'), 'utf8'));
  const blob = (d: string) => readFileSync(path.join(layout, 'blobs/sha256', d.slice(7)));
  const manifest = JSON.parse(blob(index.manifests[0].digest).toString());
  return manifest.layers.map((l: { digest: string }) => {
    const b = blob(l.digest);
    return b[0] === 0x1f && b[1] === 0x8b ? zlib.gunzipSync(b) : b;
  });
}
