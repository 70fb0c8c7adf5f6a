import { BadInputError } from '../core/errors.js';
import type { Place } from './model.js';

/*
 * RUN --mount=… values, as BuildKit spells them (comma-separated key=value fields; a bare key is `key=true`).
 * Parsed here without touching anything: what each mount binds is decided by the builder.
 */

/** A secret file for one RUN: at target (default /run/secrets/ID), never in a layer. */
export interface SecretMount {
  type: 'secret';
  id: string;
  target?: string;
  /** Fail when the build was given no secret of that ID (else the RUN runs without it, as BuildKit does). */
  required: boolean;
}

/** A directory kept between builds (under the store root), bound at target for one RUN. */
export interface CacheMount {
  type: 'cache';
  /** The cache's name (default: the target). */
  id: string;
  target: string;
  readOnly: boolean;
  /** shared, private or locked: accepted; builds in one store take turns on the step anyway. */
  sharing: string;
  /** The mode, owner and group of a cache directory made new. */
  mode?: number;
  uid?: number;
  gid?: number;
}

/** A read-only bind of the context (or of a stage's or image's root) at target for one RUN. */
export interface BindMount {
  type: 'bind';
  target: string;
  /** The path in the context, stage or image (default: its root). */
  source: string;
  /** A stage name or index, or an image reference. */
  from?: string;
  /** `rw` was asked for: the bind stays read-only (writes would reach the context). */
  rw: boolean;
}

/** A fresh tmpfs at target for one RUN. */
export interface TmpfsMount {
  type: 'tmpfs';
  target: string;
}

/** One RUN --mount. */
export type RunMount = SecretMount | CacheMount | BindMount | TmpfsMount;

const KEYS: Record<RunMount['type'], string[]> = {
  secret: ['id', 'target', 'dst', 'destination', 'required', 'mode', 'uid', 'gid', 'env'],
  cache: ['id', 'target', 'dst', 'destination', 'readonly', 'ro', 'sharing', 'mode', 'uid', 'gid', 'from', 'source', 'src'],
  bind: ['target', 'dst', 'destination', 'source', 'src', 'from', 'readonly', 'ro', 'readwrite', 'rw'],
  tmpfs: ['target', 'dst', 'destination', 'size', 'tmpfs-size', 'tmpfs-mode'],
};

const at = (p: Place) => `${p.file}:${p.line}:${p.column}`;

function truth(v: string, key: string, place: Place): boolean {
  if (v === 'true' || v === '') return true;
  if (v === 'false') return false;
  throw new BadInputError(`${at(place)}: --mount ${key}=${v}: expected true or false`);
}

function num(v: string | undefined, key: string, place: Place, base = 10): number | undefined {
  if (v === undefined) return undefined;
  const n = parseInt(v, base);
  if (!/^\d+$/.test(v) || Number.isNaN(n)) throw new BadInputError(`${at(place)}: --mount ${key}=${v} is not a number`);
  return n;
}

/** Parses one --mount value (already expanded); BadInputError naming the place for an unknown type or field. */
export function parseMount(value: string, place: Place): RunMount {
  const fields = new Map<string, string>();
  for (const part of value.split(',').filter((x) => x !== '')) {
    const eq = part.indexOf('=');
    const k = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
    fields.set(k, eq < 0 ? '' : part.slice(eq + 1));
  }
  const type = (fields.get('type') ?? 'bind') as RunMount['type'];
  fields.delete('type');
  if (!(type in KEYS)) {
    throw new BadInputError(`${at(place)}: --mount type=${type} is not supported`, { hint: 'cairn takes type=bind, cache, secret and tmpfs' });
  }
  for (const k of fields.keys()) {
    if (!KEYS[type].includes(k)) throw new BadInputError(`${at(place)}: --mount type=${type} takes no ${k}`, { hint: `it takes ${KEYS[type].join(', ')}` });
  }
  const get = (...names: string[]) => names.map((n) => fields.get(n)).find((v) => v !== undefined);
  const target = get('target', 'dst', 'destination');
  const needTarget = (): string => {
    if (!target) throw new BadInputError(`${at(place)}: --mount type=${type} needs target=PATH`);
    return target;
  };
  switch (type) {
    case 'secret': {
      if (fields.has('env')) throw new BadInputError(`${at(place)}: --mount type=secret,env=… is not supported`, { hint: 'read the secret from its file (target=PATH)' });
      const id = get('id') ?? (target ? target.split('/').pop() : undefined);
      if (!id) throw new BadInputError(`${at(place)}: --mount type=secret needs id=ID`);
      return { type, id, target, required: truth(get('required') ?? 'false', 'required', place) };
    }
    case 'cache': {
      const t = needTarget();
      if (get('from', 'source', 'src') !== undefined) throw new BadInputError(`${at(place)}: --mount type=cache,from=… is not supported`, { hint: 'a cache starts empty and is kept under the store root' });
      const ro = get('readonly', 'ro');
      return {
        type, id: get('id') || t, target: t, readOnly: ro !== undefined && truth(ro, 'readonly', place), sharing: get('sharing') ?? 'shared',
        mode: num(get('mode'), 'mode', place, 8), uid: num(get('uid'), 'uid', place), gid: num(get('gid'), 'gid', place),
      };
    }
    case 'bind': {
      const rw = get('readwrite', 'rw');
      return { type, target: needTarget(), source: get('source', 'src') ?? '/', from: get('from'), rw: rw !== undefined && truth(rw, 'rw', place) };
    }
    case 'tmpfs':
      return { type, target: needTarget() };
  }
}
