// Writes a case's layers as each source cairn reads (by hand, independent of the code under test).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { baliTrailer, type BaliKey } from '../bali.js';
import { gz, sha, tarBody, tarOf, type RawEntry } from './tar.js';
import type { CaseCtx, Source, Step } from './types.js';

/** An image to write: layer tars (uncompressed, base first) and run config. */
export interface ImageSpec {
  layers: Buffer[];
  /** The config's `config` (Env, WorkingDir, Cmd…). */
  run?: Record<string, unknown>;
  /** Store the layers gzip-compressed (default: plain tar). */
  gzip?: boolean;
  /** The layer files exactly as stored (broken gzip, bombs), instead of the tars or their gzip; diff IDs stay those of layers. */
  blobs?: Buffer[];
}

/** The bytes stored for layer i of img. */
function stored(img: ImageSpec, i: number): Buffer {
  return img.blobs?.[i] ?? (img.gzip ? gz(img.layers[i]) : img.layers[i]);
}

function mediaTypeOf(b: Buffer): string {
  return b[0] === 0x1f && b[1] === 0x8b ? LAYER_GZIP : LAYER_TAR;
}

/** The OCI config of an image with these layers. */
export function configOf(layers: Buffer[], run: Record<string, unknown> = {}): Buffer {
  return Buffer.from(JSON.stringify({
    architecture: process.arch === 'x64' ? 'amd64' : process.arch,
    os: 'linux',
    config: { Env: ['PATH=/bin:/usr/bin'], ...run },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => sha(l)) },
    history: layers.map(() => ({ created_by: 'hostile corpus' })),
  }));
}

/** Writes blob bytes into a layout; returns their descriptor fields. */
export function putBlob(dir: string, bytes: Buffer | string): { digest: string; size: number } {
  const b = Buffer.from(bytes);
  const digest = sha(b);
  mkdirSync(path.join(dir, 'blobs', 'sha256'), { recursive: true });
  writeFileSync(path.join(dir, 'blobs', 'sha256', digest.slice(7)), b);
  return { digest, size: b.length };
}

const LAYER_TAR = 'application/vnd.oci.image.layer.v1.tar';
const LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

/** Writes an OCI layout at dir holding img, named `ref` in index.json. */
export function writeLayout(dir: string, img: ImageSpec, ref = 'hostile'): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const layers = img.layers.map((_, i) => ({ mediaType: mediaTypeOf(stored(img, i)), ...putBlob(dir, stored(img, i)) }));
  const config = { mediaType: 'application/vnd.oci.image.config.v1+json', ...putBlob(dir, configOf(img.layers, img.run)) };
  const manifest = putBlob(dir, JSON.stringify({ schemaVersion: 2, mediaType: MANIFEST, config, layers }));
  writeIndex(dir, [{ mediaType: MANIFEST, ...manifest, annotations: { 'org.opencontainers.image.ref.name': ref } }]);
}

/** Writes index.json of a layout with these descriptors. */
export function writeIndex(dir: string, manifests: object[]): void {
  writeFileSync(path.join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }));
}

/** A tar of the files below a layout directory, given as name → bytes (an oci-archive). */
export function archiveOf(files: Record<string, Buffer | string>, extra: RawEntry[] = []): Buffer {
  const dirs = new Set<string>();
  for (const f of Object.keys(files)) for (let d = path.posix.dirname(f); d !== '.'; d = path.posix.dirname(d)) dirs.add(d);
  const entries: RawEntry[] = [...[...dirs].sort().map((d) => ({ name: d + '/', type: 'dir' as const }))];
  for (const [name, body] of Object.entries(files)) entries.push({ name, body: Buffer.from(body) });
  return tarOf([...entries, ...extra]);
}

/** The files of an OCI layout of img, as archiveOf takes them. */
export function layoutFiles(img: ImageSpec, ref = 'hostile'): Record<string, Buffer | string> {
  const files: Record<string, Buffer | string> = { 'oci-layout': '{"imageLayoutVersion":"1.0.0"}' };
  const blob = (b: Buffer | string) => {
    const d = sha(b);
    files[`blobs/sha256/${d.slice(7)}`] = b;
    return { digest: d, size: Buffer.byteLength(b) };
  };
  const layers = img.layers.map((_, i) => ({ mediaType: mediaTypeOf(stored(img, i)), ...blob(stored(img, i)) }));
  const config = { mediaType: 'application/vnd.oci.image.config.v1+json', ...blob(configOf(img.layers, img.run)) };
  const manifest = blob(JSON.stringify({ schemaVersion: 2, mediaType: MANIFEST, config, layers }));
  files['index.json'] = JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: MANIFEST, ...manifest, annotations: { 'org.opencontainers.image.ref.name': ref } }] });
  return files;
}

/** A `docker save` archive of img: manifest.json, config and layers as `<n>/layer.tar`. */
export function dockerArchiveOf(img: ImageSpec, over: { layerNames?: string[]; configName?: string } = {}): Buffer {
  const config = configOf(img.layers, img.run);
  const configName = over.configName ?? `${sha(config).slice(7)}.json`;
  const names = img.layers.map((_, i) => over.layerNames?.[i] ?? `l${i}/layer.tar`);
  const files: Record<string, Buffer | string> = {};
  files[`${sha(config).slice(7)}.json`] = config;
  img.layers.forEach((_, i) => {
    if (!names[i].includes('..') && !names[i].startsWith('/')) files[names[i]] = stored(img, i);
  });
  files['manifest.json'] = JSON.stringify([{ Config: configName, RepoTags: ['localhost/hostile:1'], Layers: names }]);
  return archiveOf(files);
}

/** A signed flat file (bali format): tar ‖ trailer signed by key, gzipped unless told not to. */
export function flatOf(tar: Buffer, key: BaliKey | null, opts: { gzip?: boolean } = {}): Buffer {
  const plain = key ? Buffer.concat([tar, baliTrailer(tar, key)]) : tar;
  return opts.gzip === false ? plain : gz(plain);
}

/** One tar of a runnable image: the tiny rootfs, then the layers' entries in order. */
export function flattened(ctx: CaseCtx, layers: Buffer[]): Buffer {
  return Buffer.concat([tarBody(ctx.tiny()), ...layers.map(tarBody), Buffer.alloc(1024)]);
}

/** The calls that make a container (or, for exec, run the image) of layers from a source. */
export function fromSource(ctx: CaseCtx, source: Source, img: ImageSpec): Step[] {
  const w = (name: string, bytes: Buffer): string => {
    const f = path.join(ctx.work, name);
    writeFileSync(f, bytes);
    return f;
  };
  const from = (ref: string, driver?: 'vfs'): Step[] => [{ args: ['from', '--name', ctx.name, ref], env: driver ? { STORAGE_DRIVER: driver } : undefined }];
  switch (source) {
    case 'tarball':
    case 'tarball-vfs': {
      if (img.layers.length !== 1) throw new Error('a tarball holds one layer');
      const b = stored(img, 0);
      const f = w(mediaTypeOf(b) === LAYER_GZIP ? 'image.tar.gz' : 'image.tar', b);
      return from(`tarball:${f}`, source === 'tarball-vfs' ? 'vfs' : undefined);
    }
    case 'oci':
    case 'oci-vfs': {
      const dir = path.join(ctx.work, 'layout');
      writeLayout(dir, img);
      return from(`oci:${dir}:hostile`, source === 'oci-vfs' ? 'vfs' : undefined);
    }
    case 'oci-archive':
      return from(`oci-archive:${w('image.oci.tar', archiveOf(layoutFiles(img)))}:hostile`);
    case 'docker-archive':
      return from(`docker-archive:${w('image.docker.tar', dockerArchiveOf(img))}`);
    case 'exec':
      return [{ args: ['exec', w('image.flat.tar.gz', flatOf(flattened(ctx, img.layers), ctx.trusted)), '--', '/bin/true'] }];
  }
}
