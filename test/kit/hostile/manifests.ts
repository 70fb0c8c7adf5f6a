// Hostile image metadata, end to end through `cairn from oci:/oci-archive:/docker-archive:`: oversized or
// nested manifests, uppercase, slashed or foreign digests, blobs that are links, FIFOs or lies, archive members
// that climb out. (Unit tests of dsl/image/* live with that code.)
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { F } from './entries.js';
import { archiveOf, configOf, dockerArchiveOf, layoutFiles, putBlob, writeIndex } from './sources.js';
import { gz, gzipBomb, sha, tarOf, type RawEntry } from './tar.js';
import type { CaseCtx, HostileCase, Outcome, Step } from './types.js';

const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const INDEX = 'application/vnd.oci.image.index.v1+json';
const CONFIG = 'application/vnd.oci.image.config.v1+json';
const LAYER = 'application/vnd.oci.image.layer.v1.tar';
const REF = { 'org.opencontainers.image.ref.name': 'hostile' };
const ARCH = process.arch === 'x64' ? 'amd64' : process.arch;

/** The parts of a small valid layout, written to dir; cases change one thing. */
interface Parts {
  dir: string;
  layerTar: Buffer;
  layer: { mediaType: string; digest: string; size: number };
  config: { mediaType: string; digest: string; size: number };
}

function parts(dir: string): Parts {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const layerTar = tarOf([F('a', 'a\n')]);
  return { dir, layerTar, layer: { mediaType: LAYER, ...putBlob(dir, layerTar) }, config: { mediaType: CONFIG, ...putBlob(dir, configOf([layerTar])) } };
}

const manifestJson = (config: object, layers: object[], pad = ''): string => JSON.stringify({ schemaVersion: 2, mediaType: MANIFEST, config, layers }) + pad;

/** Writes the manifest and an index.json naming it; returns the manifest descriptor. */
function finish(p: Parts, manifest: string, entry: (d: { digest: string; size: number }) => object = (d) => d): void {
  const d = putBlob(p.dir, manifest);
  writeIndex(p.dir, [{ mediaType: MANIFEST, ...entry(d), annotations: REF }]);
}

const blobFile = (dir: string, digest: string): string => path.join(dir, 'blobs', 'sha256', digest.slice(7));

/** A case over a hand-made layout at ctx.work/layout (from oci:), or over an archive file the build returns. */
function metaCase(id: string, what: string, outcome: Outcome, build: (ctx: CaseCtx, dir: string) => Step[] | void, env?: Record<string, string>): HostileCase {
  return {
    id: `metadata/${id}`,
    klass: 'metadata',
    what,
    outcome,
    prepare(ctx) {
      const dir = path.join(ctx.work, 'layout');
      const steps = build(ctx, dir) ?? [{ args: ['from', '--name', ctx.name, `oci:${dir}:hostile`] }];
      return steps.map((s) => ({ ...s, env: { ...s.env, ...env } }));
    },
  };
}

/** An oci-archive of a valid image plus extra (hostile) members. */
function ociArchive(ctx: CaseCtx, extra: RawEntry[], over: (files: Record<string, Buffer | string>) => void = () => undefined): Step[] {
  const files = layoutFiles({ layers: [tarOf([F('a', 'a\n')])] });
  over(files);
  const f = path.join(ctx.work, 'image.oci.tar');
  writeFileSync(f, archiveOf(files, extra));
  return [{ args: ['from', '--name', ctx.name, `oci-archive:${f}:hostile`] }];
}

/** A docker archive written from raw files. */
function dockerFiles(ctx: CaseCtx, files: Record<string, Buffer | string>, extra: RawEntry[] = []): Step[] {
  const f = path.join(ctx.work, 'image.docker.tar');
  writeFileSync(f, archiveOf(files, extra));
  return [{ args: ['from', '--name', ctx.name, `docker-archive:${f}`] }];
}

const layerTar = (): Buffer => tarOf([F('a', 'a\n')]);

/** OCI layouts, oci-archives and docker archives with hostile metadata. */
export const manifests: HostileCase[] = [
  metaCase('manifest-declared-huge', 'index.json declares the manifest 1 TiB large', 'refused', (_c, dir) => {
    const p = parts(dir);
    finish(p, manifestJson(p.config, [p.layer]), (d) => ({ ...d, size: 2 ** 40 }));
  }),
  metaCase('manifest-oversized', 'a 17 MiB manifest (valid JSON, right digest and size)', 'refused', (_c, dir) => {
    const p = parts(dir);
    finish(p, manifestJson(p.config, [p.layer], ' '.repeat(17 << 20)));
  }),
  metaCase('config-oversized', 'a 17 MiB config', 'refused', (_c, dir) => {
    const p = parts(dir);
    const cfg = Buffer.concat([configOf([p.layerTar]), Buffer.alloc(17 << 20, ' ')]);
    finish(p, manifestJson({ mediaType: CONFIG, ...putBlob(dir, cfg) }, [p.layer]));
  }),
  metaCase('index-json-oversized', 'a 20 MiB index.json', 'refused', (_c, dir) => {
    const p = parts(dir);
    finish(p, manifestJson(p.config, [p.layer]));
    const f = path.join(dir, 'index.json');
    writeFileSync(f, Buffer.concat([Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [] }).slice(0, -1)), Buffer.alloc(20 << 20, ' '), Buffer.from('}')]));
  }),
  metaCase('index-nested-deep', 'six image indexes nested in one another', 'refused', (_c, dir) => {
    const p = parts(dir);
    let d = { mediaType: MANIFEST, ...putBlob(dir, manifestJson(p.config, [p.layer])), platform: { os: 'linux', architecture: ARCH } };
    for (let i = 0; i < 6; i++) d = { mediaType: INDEX, ...putBlob(dir, JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests: [d] })), platform: d.platform };
    writeIndex(dir, [{ ...d, annotations: REF }]);
  }),
  metaCase('config-is-an-index', 'the manifest\'s config descriptor names an image index', 'refused', (_c, dir) => {
    const p = parts(dir);
    const idx = putBlob(dir, JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests: [] }));
    finish(p, manifestJson({ mediaType: CONFIG, ...idx }, [p.layer]));
  }),
  metaCase('layer-is-the-config', 'the layer descriptor names the config blob (JSON, not a tar)', 'refused', (_c, dir) => {
    const p = parts(dir);
    // The config's diff ID is the config's own digest, so only the tar check can tell.
    const json = configOf([]);
    const inner = putBlob(dir, json);
    const cfg = { mediaType: CONFIG, ...putBlob(dir, configOf([json])) };
    finish(p, manifestJson(cfg, [{ mediaType: LAYER, ...inner }]));
  }),
  metaCase('digest-uppercase', 'index.json names the manifest by an uppercase digest (a file of that name exists)', 'refused', (_c, dir) => {
    const p = parts(dir);
    const m = manifestJson(p.config, [p.layer]);
    const d = putBlob(dir, m);
    const upper = 'sha256:' + d.digest.slice(7).toUpperCase();
    writeFileSync(blobFile(dir, upper), m);
    writeIndex(dir, [{ mediaType: MANIFEST, digest: upper, size: d.size, annotations: REF }]);
  }),
  metaCase('digest-slashed', 'index.json names the manifest sha256:../../…/CANARY/secret', 'refused', (c, dir) => {
    parts(dir);
    writeIndex(dir, [{ mediaType: MANIFEST, digest: `sha256:${'../'.repeat(12)}${c.canary.slice(1)}/secret`, size: 10, annotations: REF }]);
  }),
  metaCase('layer-digest-slashed', 'a layer descriptor with digest sha256:../../…/CANARY/secret', 'refused', (c, dir) => {
    const p = parts(dir);
    finish(p, manifestJson(p.config, [{ mediaType: LAYER, digest: `sha256:${'../'.repeat(12)}${c.canary.slice(1)}/secret`, size: 10 }]));
  }),
  metaCase('digest-other-algorithm', 'a manifest named by a sha512 digest', 'refused', (_c, dir) => {
    const p = parts(dir);
    const m = manifestJson(p.config, [p.layer]);
    const d = 'sha512:' + 'ab'.repeat(64);
    mkdirSync(path.join(dir, 'blobs', 'sha512'), { recursive: true });
    writeFileSync(path.join(dir, 'blobs', 'sha512', d.slice(7)), m);
    writeIndex(dir, [{ mediaType: MANIFEST, digest: d, size: m.length, annotations: REF }]);
  }),
  metaCase('blob-link-to-dev-zero', 'the manifest blob is a symlink to /dev/zero', 'refused', (_c, dir) => {
    const p = parts(dir);
    const m = manifestJson(p.config, [p.layer]);
    finish(p, m);
    const f = blobFile(dir, sha(m));
    rmSync(f);
    symlinkSync('/dev/zero', f);
  }),
  metaCase('blob-fifo', 'the manifest blob is a FIFO (no writer ever comes)', 'refused', (_c, dir) => {
    const p = parts(dir);
    const m = manifestJson(p.config, [p.layer]);
    finish(p, m);
    const f = blobFile(dir, sha(m));
    rmSync(f);
    spawnSync('mkfifo', [f]);
  }),
  metaCase('layer-blob-link-out', 'the layer blob is a symlink to an identical file outside the layout', 'refused', (c, dir) => {
    const p = parts(dir);
    finish(p, manifestJson(p.config, [p.layer]));
    const outside = path.join(c.work, 'outside.tar');
    writeFileSync(outside, p.layerTar);
    rmSync(blobFile(dir, p.layer.digest));
    symlinkSync(outside, blobFile(dir, p.layer.digest));
  }),
  metaCase('layer-digest-mismatch', 'the layer blob was changed (same size)', 'refused', (_c, dir) => {
    const p = parts(dir);
    finish(p, manifestJson(p.config, [p.layer]));
    const b = Buffer.from(p.layerTar);
    b[600] ^= 1;
    writeFileSync(blobFile(dir, p.layer.digest), b);
  }),
  metaCase('diff-id-mismatch', 'the config\'s diff ID is not the layer\'s', 'refused', (_c, dir) => {
    const p = parts(dir);
    const cfg = { mediaType: CONFIG, ...putBlob(dir, configOf([tarOf([F('other')])])) };
    finish(p, manifestJson(cfg, [p.layer]));
  }),
  metaCase('oci-archive-dotdot-member', 'an oci-archive with a member ../../…/CANARY/victim', 'refused', (c) =>
    ociArchive(c, [F(`${'../'.repeat(12)}${c.canary.slice(1)}/victim`)])),
  metaCase('oci-archive-absolute-member', 'an oci-archive with a member /CANARY/victim', 'refused', (c) => ociArchive(c, [F(`${c.canary}/victim`)])),
  metaCase('oci-archive-blob-link-out', 'an oci-archive whose layer blob is a symlink to CANARY/secret', 'refused', (c) => {
    const t = layerTar();
    return ociArchive(c, [{ name: `blobs/sha256/${sha(t).slice(7)}`, type: 'symlink', linkname: `${c.canary}/secret` }], (files) => delete files[`blobs/sha256/${sha(t).slice(7)}`]);
  }),
  metaCase('oci-archive-hardlink-out', 'an oci-archive whose layer blob is a hardlink to /CANARY/secret', 'refused', (c) => {
    const t = layerTar();
    return ociArchive(c, [{ name: `blobs/sha256/${sha(t).slice(7)}`, type: 'link', linkname: `${c.canary}/secret` }], (files) => delete files[`blobs/sha256/${sha(t).slice(7)}`]);
  }),
  metaCase('oci-archive-bomb', 'an oci-archive that is a gzip bomb, with CAIRN_MAX_LAYER_SIZE=8M', 'refused', (c) => {
    const f = path.join(c.work, 'bomb.oci.tar.gz');
    writeFileSync(f, gzipBomb(64 << 20));
    return [{ args: ['from', '--name', c.name, `oci-archive:${f}`] }];
  }, { CAIRN_MAX_LAYER_SIZE: '8M' }),
  metaCase('docker-archive-layer-dotdot', 'manifest.json names a layer ../../…/CANARY/secret', 'refused', (c) =>
    dockerFilesRaw(c, { Layers: [`${'../'.repeat(12)}${c.canary.slice(1)}/secret`] })),
  metaCase('docker-archive-config-absolute', 'manifest.json names the config /CANARY/secret', 'refused', (c) => dockerFilesRaw(c, { Config: `${c.canary}/secret` })),
  metaCase('docker-archive-manifest-oversized', 'a 20 MiB manifest.json', 'refused', (c) => {
    const t = layerTar();
    const cfg = configOf([t]);
    const m = JSON.stringify([{ Config: 'c.json', RepoTags: [], Layers: ['l/layer.tar'] }]) + ' '.repeat(20 << 20);
    return dockerFiles(c, { 'c.json': cfg, 'l/layer.tar': t, 'manifest.json': m });
  }),
  metaCase('docker-archive-layer-link-out', 'the layer member is a symlink to CANARY/secret', 'refused', (c) => {
    const t = layerTar();
    const m = JSON.stringify([{ Config: 'c.json', RepoTags: [], Layers: ['l/layer.tar'] }]);
    return dockerFiles(c, { 'c.json': configOf([t]), 'manifest.json': m }, [{ name: 'l/layer.tar', type: 'symlink', linkname: `${c.canary}/secret` }]);
  }),
  metaCase('docker-archive-dotdot-member', 'a member ../../…/CANARY/victim beside a valid image', 'refused', (c) => {
    const f = path.join(c.work, 'image.docker.tar');
    const img = dockerArchiveOf({ layers: [layerTar()] });
    writeFileSync(f, Buffer.concat([tarOf([F(`${'../'.repeat(12)}${c.canary.slice(1)}/victim`)], { end: false }), img]));
    return [{ args: ['from', '--name', c.name, `docker-archive:${f}`] }];
  }),
  metaCase('docker-archive-diff-id-mismatch', 'the config\'s diff ID is not the layer\'s', 'refused', (c) => {
    const m = JSON.stringify([{ Config: 'c.json', RepoTags: [], Layers: ['l/layer.tar'] }]);
    return dockerFiles(c, { 'c.json': configOf([tarOf([F('other')])]), 'l/layer.tar': gz(layerTar()), 'manifest.json': m });
  }),
];

/** A docker archive of a valid one-layer image whose manifest.json entry is overridden. */
function dockerFilesRaw(ctx: CaseCtx, over: Record<string, unknown>): Step[] {
  const t = layerTar();
  const m = JSON.stringify([{ Config: 'c.json', RepoTags: [], Layers: ['l/layer.tar'], ...over }]);
  return dockerFiles(ctx, { 'c.json': configOf([t]), 'l/layer.tar': t, 'manifest.json': m });
}
