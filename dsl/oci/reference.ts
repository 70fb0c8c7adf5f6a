import { BadInputError } from '../core/errors.js';

/** A parsed image reference: where an image comes from or goes to (containers-transports(5)). */
export type ImageRef =
  | { transport: 'scratch' }
  | { transport: 'store'; name: string }
  | { transport: 'oci'; dir: string; ref?: string }
  | { transport: 'oci-archive'; file: string; ref?: string }
  | { transport: 'docker-archive'; file: string; ref?: string }
  | { transport: 'tarball'; path: string }
  | { transport: 'docker'; ref: string };

// Docker reference grammar (distribution/reference), sha256 digests only.
const HOST = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?$/;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;
// The oci: REF grammar of containers/image (an OCI ref.name annotation value).
const OCI_REF = /^(?:[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*)(?:\/(?:[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*))*$/;

/** Transports of containers-transports(5) that cairn does not implement: named, so the error is clear. */
const FOREIGN = new Set(['dir', 'containers-storage', 'docker-daemon', 'ostree', 'sif']);

/** A docker-style name split into its parts. */
export interface NameParts {
  host?: string;
  path: string;
  tag?: string;
  digest?: string;
}

function badRef(s: string, why: string): BadInputError {
  return new BadInputError(`invalid image reference ${JSON.stringify(s)}: ${why}`, {
    hint: 'use NAME[:TAG], scratch, oci:DIR[:REF], oci-archive:FILE[:REF], docker-archive:FILE[:NAME:TAG] or tarball:PATH',
  });
}

/** Splits and validates a docker-style reference `[HOST[:PORT]/]PATH[:TAG][@sha256:HEX]`. */
export function splitName(s: string): NameParts {
  let rest = s;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw badRef(s, 'the digest must be sha256:<64 lowercase hex>');
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw badRef(s, `bad tag ${JSON.stringify(tag)}`);
  }
  const parts = rest.split('/');
  let host: string | undefined;
  // As docker: the first component is a registry host when it has a '.' or ':' or is 'localhost'.
  if (parts.length > 1 && (/[.:]/.test(parts[0]) || parts[0] === 'localhost')) {
    host = parts.shift()!;
    if (!HOST.test(host)) throw badRef(s, `bad registry host ${JSON.stringify(host)}`);
  }
  for (const p of parts) {
    if (!PATH_COMPONENT.test(p)) throw badRef(s, `bad name component ${JSON.stringify(p)} (lowercase letters, digits and . _ - only)`);
  }
  const path = parts.join('/');
  if ((host ? host.length + 1 : 0) + path.length > 255) throw badRef(s, 'the name is longer than 255 characters');
  return { host, path, tag, digest };
}

/** The full name of a store image: `alpine` → `localhost/alpine:latest`, `quay.io/x/y` → `quay.io/x/y:latest`. */
export function normalizeName(name: string): string {
  const p = splitName(name);
  const tag = p.tag ? ':' + p.tag : p.digest ? '' : ':latest';
  return `${p.host ?? 'localhost'}/${p.path}${tag}${p.digest ? '@' + p.digest : ''}`;
}

/** Splits `LOCATION[:REST]` at the first colon (paths may not contain ':', as in containers/image). */
function splitFirst(s: string): [string, string | undefined] {
  const i = s.indexOf(':');
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)];
}

function parseOciLike(s: string, body: string): { loc: string; ref?: string } {
  const [loc, ref] = splitFirst(body);
  if (!loc) throw badRef(s, 'the path is empty');
  if (ref === undefined || ref === '') return { loc };
  if (!OCI_REF.test(ref)) throw badRef(s, `bad REF ${JSON.stringify(ref)}`);
  return { loc, ref };
}

function parseDockerArchive(s: string, body: string): { file: string; ref?: string } {
  const [file, ref] = splitFirst(body);
  if (!file) throw badRef(s, 'the path is empty');
  if (ref === undefined || ref === '') return { file };
  if (ref.startsWith('@')) {
    if (!/^@[0-9]{1,6}$/.test(ref)) throw badRef(s, 'an image index is @N with N a number');
    return { file, ref: `@${Number(ref.slice(1))}` };
  }
  const p = splitName(ref);
  if (p.digest) throw badRef(s, 'docker-archive names are NAME:TAG, not digests');
  return { file, ref: p.tag ? ref : ref + ':latest' };
}

/** Parses an image reference as the CLI takes it; BadInputError when it is malformed. */
export function parseReference(s: string): ImageRef {
  if (typeof s !== 'string' || s === '') throw badRef(String(s), 'it is empty');
  if (s === 'scratch') return { transport: 'scratch' };
  if (s.startsWith('docker://')) {
    const ref = s.slice('docker://'.length);
    if (!ref) throw badRef(s, 'the registry reference is empty');
    splitName(ref);
    return { transport: 'docker', ref };
  }
  const [prefix, body] = splitFirst(s);
  if (body !== undefined) {
    switch (prefix) {
      case 'oci': {
        const { loc, ref } = parseOciLike(s, body);
        return ref ? { transport: 'oci', dir: loc, ref } : { transport: 'oci', dir: loc };
      }
      case 'oci-archive': {
        const { loc, ref } = parseOciLike(s, body);
        return ref ? { transport: 'oci-archive', file: loc, ref } : { transport: 'oci-archive', file: loc };
      }
      case 'docker-archive': {
        const { file, ref } = parseDockerArchive(s, body);
        return ref ? { transport: 'docker-archive', file, ref } : { transport: 'docker-archive', file };
      }
      case 'tarball':
        if (!body) throw badRef(s, 'the path is empty');
        return { transport: 'tarball', path: body };
      case 'docker':
        throw badRef(s, 'registry references are written docker://HOST/REPO[:TAG]');
    }
    if (FOREIGN.has(prefix)) throw badRef(s, `cairn does not implement the ${prefix}: transport`);
  }
  splitName(s);
  return { transport: 'store', name: s };
}

/** Formats a reference back to the string parseReference takes. */
export function formatReference(r: ImageRef): string {
  switch (r.transport) {
    case 'scratch':
      return 'scratch';
    case 'store':
      return r.name;
    case 'oci':
      return `oci:${r.dir}${r.ref ? ':' + r.ref : ''}`;
    case 'oci-archive':
      return `oci-archive:${r.file}${r.ref ? ':' + r.ref : ''}`;
    case 'docker-archive':
      return `docker-archive:${r.file}${r.ref ? ':' + r.ref : ''}`;
    case 'tarball':
      return `tarball:${r.path}`;
    case 'docker':
      return `docker://${r.ref}`;
  }
}
