import { createHash } from 'node:crypto';
import { BadInputError, CairnError } from '../core/errors.js';
import { isDigest } from './digest.js';
import type { Descriptor, ImageConfig, Index, Manifest } from './types.js';
import { MediaType } from './types.js';

/** sha256 digest of some bytes, as `sha256:<hex>`. */
export function sha256(bytes: Uint8Array | string): string {
  return 'sha256:' + createHash('sha256').update(bytes).digest('hex');
}

function bad(label: string, what: string): BadInputError {
  return new BadInputError(`${label} ${what}`, { hint: 'the image is corrupt or was not written by an OCI tool' });
}

/** Parses JSON, naming label (a file) in the BadInputError when it does not parse. */
export function parseJson(bytes: Buffer | string, label: string): unknown {
  try {
    return JSON.parse(bytes.toString());
  } catch (err) {
    throw bad(label, `is not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * True for errors that mean "the bytes are malformed" (tar-stream's code-less errors, zlib's Z_*
 * codes), as opposed to system errors (EIO, ENOSPC) and errors already classified.
 */
export function isFormatError(err: unknown): boolean {
  if (err instanceof CairnError || !(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code;
  return code === undefined || code.startsWith('Z_') || code === 'ERR_ZLIB_INITIALIZATION_FAILED';
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/*
 * Field types (OCI image spec descriptor.md, config.md): the code after a validator trusts the TypeScript
 * types its value is returned as, so a field of another type is refused here, naming the field, rather than
 * failing later as a TypeError. Each check gives what the field must be, or undefined when it is fine.
 */
type Check = (v: unknown) => string | undefined;

const isString = (v: unknown): v is string => typeof v === 'string';
const isStrings = (v: unknown): boolean => Array.isArray(v) && v.every(isString);
const str: Check = (v) => (isString(v) ? undefined : 'a string');
const strings: Check = (v) => (isStrings(v) ? undefined : 'an array of strings');
const stringMap: Check = (v) => (isObject(v) && Object.values(v).every(isString) ? undefined : 'an object of strings');
const objectMap: Check = (v) => (isObject(v) && Object.values(v).every(isObject) ? undefined : 'an object of objects');
const bool: Check = (v) => (typeof v === 'boolean' ? undefined : 'true or false');
const count: Check = (v) => (Number.isInteger(v) && (v as number) >= 0 ? undefined : 'a non-negative integer');
// RFC 3339 date-time (section 5.6; "t" and "z" may be lowercase).
const RFC3339 = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt]([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)$/;
const dateTime: Check = (v) => (isString(v) && RFC3339.test(v) ? undefined : 'an RFC 3339 date-time string');

/** The first of fields (name, check) of o that is present and wrong: `has an invalid PREFIXname (must be …)`. */
function fieldProblem(o: Record<string, unknown>, fields: [string, Check][], prefix: string, nullable = false): string | undefined {
  for (const [name, check] of fields) {
    if (o[name] === undefined || (nullable && o[name] === null)) continue;
    const want = check(o[name]);
    if (want !== undefined) return `has an invalid ${prefix}${name} (must be ${want})`;
  }
  return undefined;
}

const HEALTHCHECK: [string, Check][] = [['Test', strings], ['Interval', count], ['Timeout', count], ['StartPeriod', count], ['StartInterval', count], ['Retries', count]];
const healthcheck: Check = (v) =>
  isObject(v) && fieldProblem(v, HEALTHCHECK, '', true) === undefined ? undefined : 'an object with a Test array of strings and integer Interval, Timeout, StartPeriod, Retries';

/** Run-config fields; null is allowed for each (Docker writes it for absent ones, "Volumes": null). */
const RUN_CONFIG: [string, Check][] = [
  ['User', str], ['Env', strings], ['Entrypoint', strings], ['Cmd', strings], ['WorkingDir', str], ['StopSignal', str],
  ['Labels', stringMap], ['ExposedPorts', objectMap], ['Volumes', objectMap], ['Healthcheck', healthcheck],
];

const HISTORY: [string, Check][] = [['created', dateTime], ['created_by', str], ['author', str], ['comment', str], ['empty_layer', bool]];

const PLATFORM: [string, Check][] = [['architecture', str], ['os', str], ['variant', str], ['os.version', str], ['os.features', strings]];

/**
 * What is wrong with the run config of an image config (the `config` field: User, Env, Entrypoint, Cmd,
 * WorkingDir, Labels, ExposedPorts, Volumes, StopSignal, Healthcheck), as `has an invalid config.X (must be
 * …)`; undefined when nothing is. Absent and null fields are fine.
 */
export function runConfigProblem(rc: unknown): string | undefined {
  if (rc === undefined || rc === null) return undefined;
  if (!isObject(rc)) return 'has an invalid config (must be an object)';
  return fieldProblem(rc, RUN_CONFIG, 'config.', true);
}

/**
 * Parses the image config a flat file carries (.cairn/config.json): a JSON object whose run config has the
 * OCI field types (runConfigProblem), the one check of it for `tarball:` reading and for `exec`. Anything
 * else is a BadInputError naming `label` (`LABEL is not JSON`, `LABEL has an invalid config.Env (must be …)`).
 */
export function parseEmbeddedConfig(bytes: Buffer | string, label: string, hint: string): ImageConfig {
  let c: unknown;
  try {
    c = JSON.parse(bytes.toString());
  } catch {
    throw new BadInputError(`${label} is not JSON`, { hint, kind: 'not-json' });
  }
  if (!isObject(c)) throw new BadInputError(`${label} is not a JSON object`, { hint, kind: 'malformed' });
  const problem = runConfigProblem(c.config);
  if (problem) throw new BadInputError(`${label} ${problem}`, { hint, kind: 'malformed' });
  return c as unknown as ImageConfig;
}

function annotationsProblem(o: Record<string, unknown>, what: string): string | undefined {
  return o.annotations !== undefined && stringMap(o.annotations) !== undefined ? `has ${what} annotations that are not an object of strings` : undefined;
}

/** Checks a descriptor's required fields (the digest is validated, so it may later become a path). */
export function checkDescriptor(v: unknown, label: string): Descriptor {
  if (!isObject(v)) throw bad(label, 'has a descriptor that is not an object');
  if (typeof v.mediaType !== 'string') throw bad(label, 'has a descriptor without a mediaType');
  if (!isDigest(v.digest)) throw bad(label, `has a descriptor with an invalid digest ${JSON.stringify(v.digest)}`);
  if (!Number.isSafeInteger(v.size) || (v.size as number) < 0) throw bad(label, `has a descriptor of ${v.digest} with an invalid size`);
  const annotations = annotationsProblem(v, 'descriptor');
  if (annotations) throw bad(label, `${annotations} (${v.digest})`);
  if (v.platform !== undefined) {
    const p = v.platform;
    if (!isObject(p) || !isString(p.architecture) || !isString(p.os)) throw bad(label, `has a descriptor of ${v.digest} whose platform is not an object with architecture and os strings`);
    const problem = fieldProblem(p, PLATFORM, 'platform.');
    if (problem) throw bad(label, `has a descriptor of ${v.digest} that ${problem}`);
  }
  return v as unknown as Descriptor;
}

/** Checks an image index. */
export function checkIndex(v: unknown, label: string): Index {
  if (!isObject(v) || v.schemaVersion !== 2 || !Array.isArray(v.manifests)) throw bad(label, 'is not an OCI image index (schemaVersion 2 with manifests)');
  v.manifests.forEach((d) => checkDescriptor(d, label));
  const annotations = annotationsProblem(v, 'index');
  if (annotations) throw bad(label, annotations);
  return v as unknown as Index;
}

/** Checks an image manifest (OCI or Docker schema 2). */
export function checkManifest(v: unknown, label: string): Manifest {
  if (!isObject(v) || v.schemaVersion !== 2 || !Array.isArray(v.layers)) throw bad(label, 'is not an image manifest (schemaVersion 2 with config and layers)');
  if (v.mediaType !== undefined && v.mediaType !== MediaType.manifest && v.mediaType !== MediaType.dockerManifest) {
    throw bad(label, `has unsupported mediaType ${JSON.stringify(v.mediaType)}`);
  }
  checkDescriptor(v.config, label);
  v.layers.forEach((d) => checkDescriptor(d, label));
  const annotations = annotationsProblem(v, 'manifest');
  if (annotations) throw bad(label, annotations);
  return v as unknown as Manifest;
}

const CONFIG_FIELDS: [string, Check][] = [
  ['created', dateTime], ['author', str], ['variant', str], ['os.version', str], ['os.features', strings],
  ['history', (v) => (Array.isArray(v) ? undefined : 'an array')],
];

/**
 * Checks an image config: os, architecture and rootfs.diff_ids (one per layer when layers is given), and the
 * types of its other fields (created, author, variant, history entries, the run config's).
 */
export function checkConfig(v: unknown, label: string, layers?: number): ImageConfig {
  if (!isObject(v)) throw bad(label, 'is not a JSON object');
  if (typeof v.architecture !== 'string' || typeof v.os !== 'string') throw bad(label, 'lacks architecture or os');
  const rootfs = v.rootfs;
  if (!isObject(rootfs) || rootfs.type !== 'layers' || !Array.isArray(rootfs.diff_ids)) throw bad(label, 'lacks rootfs.diff_ids');
  for (const d of rootfs.diff_ids) if (!isDigest(d)) throw bad(label, `has an invalid diff ID ${JSON.stringify(d)}`);
  if (layers !== undefined && rootfs.diff_ids.length !== layers) {
    throw bad(label, `lists ${rootfs.diff_ids.length} diff IDs for ${layers} layers`);
  }
  const problem = fieldProblem(v, CONFIG_FIELDS, '') ?? runConfigProblem(v.config);
  if (problem) throw bad(label, problem);
  if (Array.isArray(v.history)) {
    v.history.forEach((h, i) => {
      if (!isObject(h)) throw bad(label, `has an invalid history[${i}] (must be an object)`);
      const p = fieldProblem(h, HISTORY, `history[${i}].`);
      if (p) throw bad(label, p);
    });
  }
  return v as unknown as ImageConfig;
}

/** True for media types of image indexes (OCI index, Docker manifest list). */
export function isIndexType(mt: string | undefined): boolean {
  return mt === MediaType.index || mt === MediaType.dockerManifestList;
}

const TO_OCI = new Map<string, string>([
  [MediaType.dockerLayerGzip, MediaType.layerGzip],
  [MediaType.dockerLayerTar, MediaType.layerTar],
  [MediaType.dockerConfig, MediaType.config],
  [MediaType.dockerManifest, MediaType.manifest],
]);

/** The OCI equivalent of a Docker media type (others unchanged): an oci: layout holds OCI types only. */
export function ociMediaType(mt: string): string {
  // A Map: a media type read from an image ("toString") never finds a member of Object.prototype.
  return TO_OCI.get(mt) ?? mt;
}
