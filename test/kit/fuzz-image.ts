import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { hostArch } from '../../dsl/oci/types.js';
import { tarOf } from './tarfix.js';

/**
 * Image documents for fuzzing what parses them: a small valid image (index, manifest, config, one layer),
 * JSON mutations that replace, delete, duplicate or wrap any node of a document, and writers of the
 * mutated documents as an OCI layout or a docker archive, with digests re-linked (or not) so that the
 * damage reaches the parsers behind the digest checks.
 */

const sha = (b: Buffer): string => 'sha256:' + createHash('sha256').update(b).digest('hex');

/** Any JSON value. */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** The documents of one image, and its layer. */
export interface ImageDocs {
  index: Json;
  manifest: Json;
  config: Json;
  /** docker save's manifest.json. */
  save: Json;
  layer: Buffer;
  diffID: string;
}

/** A valid one-layer image for this platform. */
export async function validDocs(): Promise<ImageDocs> {
  const tar = await tarOf([{ name: 'etc/', type: 'directory' }, { name: 'etc/hello', content: 'hi\n' }, { name: 'bin', type: 'symlink', linkname: 'usr/bin' }]);
  const layer = gzipSync(tar);
  const diffID = sha(tar);
  const config = {
    architecture: hostArch(), os: 'linux', created: '2024-01-01T00:00:00Z',
    config: { Env: ['PATH=/usr/bin:/bin'], Cmd: ['/bin/sh'], WorkingDir: '/', Labels: { a: 'b' }, ExposedPorts: { '80/tcp': {} }, User: '0:0' },
    rootfs: { type: 'layers', diff_ids: [diffID] },
    history: [{ created: '2024-01-01T00:00:00Z', created_by: 'fuzz' }],
  };
  const manifest = {
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: '', size: 0 },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha(layer), size: layer.length }],
    annotations: { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z' },
  };
  const index = {
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: '', size: 0, annotations: { 'org.opencontainers.image.ref.name': 'fuzz' }, platform: { architecture: hostArch(), os: 'linux' } }],
  };
  const save = [{ Config: 'config.json', RepoTags: ['localhost/fuzz:1'], Layers: ['layer/layer.tar'] }];
  return { index, manifest, config, save, layer, diffID };
}

/** One edit of a JSON document: at the node chosen by `at` (modulo the number of nodes). */
export type JsonEdit = { at: number; op: 'set'; value: Json } | { at: number; op: 'delete' | 'dup' | 'wrap' | 'stringify' };

/** A few edits with values from fc.jsonValue, plus the type confusions parsers trip on. */
export const jsonEdits: fc.Arbitrary<JsonEdit[]> = fc.array(
  fc.oneof(
    { weight: 3, arbitrary: fc.record({ at: fc.nat(), op: fc.constant('set' as const), value: fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json> }) },
    {
      weight: 2,
      arbitrary: fc.record({
        at: fc.nat(), op: fc.constant('set' as const),
        // (Shared instances: editJson clones every value it sets.)
        value: fc.constantFrom<Json>(null, 0, -1, 1.5, 2 ** 53, 1e308, '', 'x', [], {}, [null], { '': null }, true, '__proto__', 'constructor', 'toString', 'sha256:' + '0'.repeat(64), 'SHA256:' + 'A'.repeat(64), '../../etc/passwd', 'sha256:../../x'),
      }),
    },
    { weight: 2, arbitrary: fc.record({ at: fc.nat(), op: fc.constantFrom('delete' as const, 'dup' as const, 'wrap' as const, 'stringify' as const) }) },
  ),
  { minLength: 1, maxLength: 4 },
);

type Slot = { parent: Json[] | { [k: string]: Json }; key: string | number };

function slots(v: Json, out: Slot[] = []): Slot[] {
  if (Array.isArray(v)) v.forEach((c, i) => (out.push({ parent: v, key: i }), slots(c, out)));
  else if (v !== null && typeof v === 'object') for (const k of Object.keys(v)) (out.push({ parent: v, key: k }), slots(v[k], out));
  return out;
}

/** Applies edits to a copy of doc (an edit of the whole document replaces it). */
export function editJson(doc: Json, edits: JsonEdit[]): Json {
  let root: Json = structuredClone(doc);
  for (const e of edits) {
    const all = slots(root);
    const i = e.at % (all.length + 1);
    const get = (): Json => (i === all.length ? root : (all[i].parent as Record<string | number, Json>)[all[i].key]);
    const set = (v: Json | undefined): void => {
      if (i === all.length) root = v === undefined ? null : v;
      else if (v === undefined) {
        const { parent, key } = all[i];
        if (Array.isArray(parent)) parent.splice(key as number, 1);
        else delete parent[key as string];
      } else (all[i].parent as Record<string | number, Json>)[all[i].key] = v;
    };
    const cur = get();
    if (e.op === 'set') set(structuredClone(e.value));
    else if (e.op === 'delete') set(undefined);
    else if (e.op === 'dup') set(Array.isArray(cur) ? [...cur, ...structuredClone(cur)] : cur);
    else if (e.op === 'wrap') set([cur]);
    else set(JSON.stringify(cur));
  }
  return root;
}

const isObj = (v: Json): v is { [k: string]: Json } => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The mutated documents as bytes, each parent re-pointed at its child's digest and size when relink is set. */
export function linked(docs: ImageDocs, relink: boolean): { index: Buffer; manifest: Buffer; config: Buffer } {
  const config = Buffer.from(JSON.stringify(docs.config));
  const m = structuredClone(docs.manifest);
  if (relink && isObj(m) && isObj(m.config)) Object.assign(m.config, { digest: sha(config), size: config.length });
  const manifest = Buffer.from(JSON.stringify(m));
  const ix = structuredClone(docs.index);
  if (relink && isObj(ix) && Array.isArray(ix.manifests) && isObj(ix.manifests[0])) Object.assign(ix.manifests[0], { digest: sha(manifest), size: manifest.length });
  return { index: Buffer.from(JSON.stringify(ix)), manifest, config };
}

/** Writes docs as an OCI layout at dir (config and manifest stored under their digests, whatever the documents say). */
export function writeLayoutDocs(dir: string, docs: ImageDocs, relink: boolean): void {
  const b = linked(docs, relink);
  mkdirSync(path.join(dir, 'blobs', 'sha256'), { recursive: true });
  writeFileSync(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(path.join(dir, 'index.json'), b.index);
  for (const blob of [b.manifest, b.config, docs.layer]) writeFileSync(path.join(dir, 'blobs', 'sha256', sha(blob).slice(7)), blob);
}

/** Writes docs as a docker archive (manifest.json, config.json, layer/layer.tar uncompressed). */
export async function dockerArchiveDocs(docs: ImageDocs): Promise<Buffer> {
  return tarOf([
    { name: 'manifest.json', content: JSON.stringify(docs.save) },
    { name: 'config.json', content: JSON.stringify(docs.config) },
    { name: 'layer/', type: 'directory' },
    { name: 'layer/layer.tar', content: gunzipSync(docs.layer) },
  ]);
}

const str = (v: unknown): boolean => typeof v === 'string';
const strs = (v: unknown): boolean => Array.isArray(v) && v.every(str);
const rec = (v: unknown, val: (x: unknown) => boolean): boolean => typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every(val);
const opt = (v: unknown, ok: (x: unknown) => boolean): boolean => v === undefined || ok(v);
// Docker writes null for absent run-config fields ("Volumes": null); the code reading them allows it.
const optNull = (v: unknown, ok: (x: unknown) => boolean): boolean => v === undefined || v === null || ok(v);
const obj = (x: unknown): boolean => typeof x === 'object' && x !== null && !Array.isArray(x);

function descriptorProblems(d: Record<string, unknown>, where: string): string[] {
  const out: string[] = [];
  if (!opt(d.annotations, (a) => rec(a, str))) out.push(`${where}.annotations`);
  if (!opt(d.platform, (p) => obj(p) && str((p as Record<string, unknown>).architecture) && str((p as Record<string, unknown>).os) && opt((p as Record<string, unknown>).variant, str))) out.push(`${where}.platform`);
  return out;
}

/**
 * Where a value that a validator accepted differs from the TypeScript type it is returned as (the code after
 * the validator trusts that type): one category per kind of difference, e.g. 'config.config.Env'.
 */
export function typeProblems(kind: 'index' | 'manifest' | 'descriptor' | 'config', v: unknown): string[] {
  const o = v as Record<string, unknown>;
  const out: string[] = [];
  if (kind === 'descriptor') return descriptorProblems(o, 'descriptor');
  if (kind === 'index' || kind === 'manifest') {
    if (!opt(o.annotations, (a) => rec(a, str))) out.push(`${kind}.annotations`);
    const ds = kind === 'index' ? (o.manifests as Record<string, unknown>[]) : [o.config as Record<string, unknown>, ...(o.layers as Record<string, unknown>[])];
    for (const d of ds) out.push(...descriptorProblems(d, `${kind} descriptor`));
    return [...new Set(out)];
  }
  for (const k of ['variant', 'created', 'author'] as const) if (!opt(o[k], str)) out.push(`config.${k}`);
  if (!opt(o.history, (h) => Array.isArray(h) && h.every((e) => obj(e) && ['created', 'created_by', 'author', 'comment'].every((k) => opt((e as Record<string, unknown>)[k], str)) && opt((e as Record<string, unknown>).empty_layer, (b) => typeof b === 'boolean')))) out.push('config.history');
  const rc = o.config;
  if (rc === undefined || rc === null) return out;
  if (!obj(rc)) return [...out, 'config.config'];
  const r = rc as Record<string, unknown>;
  const checks: Record<string, (x: unknown) => boolean> = {
    User: str, Env: strs, Entrypoint: strs, Cmd: strs, WorkingDir: str, StopSignal: str,
    Labels: (x) => rec(x, str), ExposedPorts: (x) => rec(x, obj), Volumes: (x) => rec(x, obj),
  };
  for (const [k, ok] of Object.entries(checks)) if (!optNull(r[k], ok)) out.push(`config.config.${k}`);
  return out;
}

/** Writes docs as an oci-archive (a tar of the layout writeLayoutDocs makes). */
export async function ociArchiveDocs(docs: ImageDocs, relink: boolean): Promise<Buffer> {
  const b = linked(docs, relink);
  return tarOf([
    { name: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' },
    { name: 'index.json', content: b.index },
    { name: 'blobs/', type: 'directory' },
    { name: 'blobs/sha256/', type: 'directory' },
    ...[b.manifest, b.config, docs.layer].map((blob) => ({ name: `blobs/sha256/${sha(blob).slice(7)}`, content: blob })),
  ]);
}
