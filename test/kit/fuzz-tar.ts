import fc from 'fast-check';
import { isCairnError } from '../../dsl/core/errors.js';
import { headerBlocks, padding } from '../../dsl/layer/tar-header.js';
import { CANARY, linkTarget, withCanary } from './fuzz-tree.js';
import type { FixEntry } from './tarfix.js';

/** A layer entry, maybe with PAX records of its own (which may contradict the header). */
export type FuzzEntry = FixEntry & { pax?: Record<string, string> };

/**
 * Random layer entries for fuzzing the tar reader and the extractor: files, dirs, symlinks, hardlinks, FIFOs,
 * char devices, whiteouts and opaque markers, named from a small alphabet with '..', '.', empty components,
 * absolute names and trailing slashes; link targets that climb, jump to '/' or aim at the canary.
 */

const component = fc.constantFrom('a', 'b', 'c', 'a', 'b', '..', '.', '');
const plain = fc.constantFrom('a', 'b', 'c');

/** An entry name: maybe absolute or './', a few components, maybe a trailing '/'. */
export const entryName: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom('', '', '', '/', './', '../'), fc.array(component, { minLength: 1, maxLength: 4 }), fc.constantFrom('', '', '', '/'))
  .map(([pre, cs, post]) => pre + cs.join('/') + post);

const dirPrefix = fc.array(fc.oneof({ weight: 4, arbitrary: plain }, { weight: 1, arbitrary: fc.constantFrom('..', '.', '') }), { maxLength: 2 }).map((cs) => cs.map((c) => c + '/').join(''));

/** A whiteout entry name: '.wh.NAME' in some directory, with hostile NAMEs too. */
const whiteoutName = fc
  .tuple(dirPrefix, fc.constantFrom('a', 'b', 'c', '..', '.', '', '.wh..opq', '.wh.a', 'x'))
  .map(([dir, n]) => `${dir}.wh.${n}`);

/** An opaque marker in some directory (the root's own one included). */
const opaqueName = dirPrefix.map((dir) => `${dir}.wh..wh..opq`);

const mode = fc.constantFrom(0o755, 0o644, 0o4755, 0o2755, 0o1777, 0o000, 0o600);

/** A hardlink target: an entry name, or the canary by host path or by climbing. */
const hardlinkTarget = fc.oneof({ weight: 4, arbitrary: entryName }, { weight: 1, arbitrary: fc.constantFrom(`${CANARY}/a`, `${CANARY}/b/a`, '../canary/a', 'canary/a') });

const paxRecords: fc.Arbitrary<Record<string, string>> = fc.dictionary(
  fc.constantFrom('path', 'linkpath', 'size', 'uid', 'gid', 'mtime', 'atime', 'SCHILY.xattr.user.a', 'SCHILY.xattr.trusted.overlay.opaque', 'SCHILY.xattr.security.capability', 'GNU.sparse.major', 'comment'),
  fc.oneof(entryName, fc.constantFrom('-1', '0', '1', '1e400', 'NaN', '0x10', '99999999999999999999', '', '1.5', 'Infinity', '4294967296', '1700000000.123456789'), fc.string({ maxLength: 8 })),
  { maxKeys: 3 },
);

const plainEntry: fc.Arbitrary<FixEntry> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ name: entryName, content: fc.constantFrom('', 'x', 'layer\n'), mode }).map((e): FixEntry => ({ ...e, type: 'file' })) },
  { weight: 3, arbitrary: fc.record({ name: entryName, mode }).map((e): FixEntry => ({ ...e, type: 'directory' })) },
  { weight: 4, arbitrary: fc.record({ name: entryName, linkname: linkTarget }).map((e): FixEntry => ({ ...e, type: 'symlink', mode: 0o777 })) },
  { weight: 2, arbitrary: fc.record({ name: entryName, linkname: hardlinkTarget }).map((e): FixEntry => ({ ...e, type: 'link' })) },
  { weight: 1, arbitrary: fc.record({ name: entryName, mode }).map((e): FixEntry => ({ ...e, type: 'fifo' })) },
  { weight: 1, arbitrary: entryName.map((name): FixEntry => ({ name, type: 'character-device', mode: 0o666 })) },
  { weight: 2, arbitrary: whiteoutName.map((name): FixEntry => ({ name, content: '' })) },
  { weight: 1, arbitrary: opaqueName.map((name): FixEntry => ({ name, content: '' })) },
);

/** One layer entry (before the canary placeholder is replaced: see entriesWithCanary); one in eight has PAX records. */
export const layerEntry: fc.Arbitrary<FuzzEntry> = fc.oneof(
  { weight: 7, arbitrary: plainEntry },
  { weight: 1, arbitrary: fc.tuple(plainEntry, paxRecords).map(([e, pax]): FuzzEntry => ({ ...e, pax })) },
);

/** A random layer: up to max entries. */
export function layerEntries(max = 12): fc.Arbitrary<FuzzEntry[]> {
  return fc.array(layerEntry, { minLength: 1, maxLength: max });
}

/** The entries with the canary placeholder replaced by its host path. */
export function entriesWithCanary(entries: FuzzEntry[], canary: string): FuzzEntry[] {
  return entries.map((e) => ({ ...e, name: withCanary(e.name, canary), linkname: e.linkname === undefined ? undefined : withCanary(e.linkname, canary) }));
}

/** Packs entries into an uncompressed tar, names untouched, PAX records written as given (binary-safe). */
export async function packLayer(entries: FuzzEntry[]): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const type = e.type ?? 'file';
    const body = type === 'file' ? Buffer.from(e.content ?? '') : Buffer.alloc(0);
    const h = { name: e.name, type, mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644), uid: e.uid ?? 0, gid: e.gid ?? 0, mtime: new Date((e.mtime ?? 1_600_000_000) * 1000), linkname: e.linkname, size: body.length, pax: e.pax };
    parts.push(headerBlocks(h), body, padding(body.length));
  }
  return Buffer.concat([...parts, Buffer.alloc(1024)]);
}

/** Recomputes the checksum of every block that looks like a ustar header, so damaged headers get parsed further. */
export function fixChecksums(tar: Buffer): Buffer {
  const b = Buffer.from(tar);
  for (let off = 0; off + 512 <= b.length; off += 512) {
    if (b.toString('latin1', off + 257, off + 262) !== 'ustar') continue;
    b.fill(0x20, off + 148, off + 156);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += b[off + i];
    b.write(sum.toString(8).padStart(6, '0') + '\0 ', off + 148, 'latin1');
  }
  return b;
}

/** A way to damage a valid tar: flip bytes, cut it, append or insert garbage. */
export type Mutation = { kind: 'set'; at: number; byte: number } | { kind: 'cut'; at: number } | { kind: 'append'; bytes: Uint8Array } | { kind: 'insert'; at: number; bytes: Uint8Array };

/** A few mutations; positions are fractions of the length, so they fit any tar. */
export const mutations: fc.Arbitrary<Mutation[]> = fc.array(
  fc.oneof(
    { weight: 5, arbitrary: fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('append' as const), bytes: fc.uint8Array({ maxLength: 1100 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 600 }) }) },
  ),
  { minLength: 1, maxLength: 6 },
);

/** Header fields worth hitting: size, checksum, type flag, link name, magic, mode. */
const HOT = [124, 125, 130, 135, 148, 150, 155, 156, 157, 200, 257, 263, 100, 345];

/** Applies mutations to a tar; a 'set' lands in the first header's hot fields half the time. */
export function mutate(tar: Buffer, ms: Mutation[]): Buffer {
  let b = Buffer.from(tar);
  for (const m of ms) {
    if (b.length === 0) break;
    if (m.kind === 'set') {
      const at = m.at % 2 === 0 ? HOT[(m.at >> 1) % HOT.length] + 512 * ((m.at >> 5) % Math.max(1, b.length >> 9)) : m.at;
      b[at % b.length] = m.byte;
    } else if (m.kind === 'cut') b = b.subarray(0, m.at % b.length);
    else if (m.kind === 'append') b = Buffer.concat([b, m.bytes]);
    else b = Buffer.concat([b.subarray(0, m.at % b.length), m.bytes, b.subarray(m.at % b.length)]);
  }
  return b;
}

/** A failure found by fuzzing that is still open in the extractor: how to recognise its error. */
export interface OpenFailure {
  why: string;
  matches(err: unknown): boolean;
}

/**
 * Extractor failures found by fuzzing and not fixed yet: the random runs tolerate these errors (and count
 * them), the regression tables replay them as expected failures. Delete an entry once its fix lands.
 */
export const OPEN_EXTRACT: OpenFailure[] = [];

/** Tolerated open failures seen so far, by description (printed at the end of a fuzz file). */
export const openSeen = new Map<string, number>();

/** Rethrows err unless it is a CairnError or a known open extractor failure. */
export function onlyCairnOrOpen(err: unknown): void {
  if (isCairnError(err)) return;
  const open = OPEN_EXTRACT.find((o) => o.matches(err));
  if (!open) throw err;
  openSeen.set(open.why, (openSeen.get(open.why) ?? 0) + 1);
}
