import { createWriteStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream';
import { pipeline as pipe } from 'node:stream/promises';
import { BadInputError, NotFoundError } from '../core/errors.js';
import { decompress } from '../layer/compress.js';
import type { TarHeader } from '../layer/tar-header.js';
import { strictTarExtract, type TarEntryStream } from '../layer/tar-read.js';
import { isFormatError } from '../oci/validate.js';

/** A member's content stream. */
export type TarEntry = TarEntryStream;

/** One member of an archive being walked. */
export interface TarMember {
  /** The member's name, normalized by memberName (no leading `./`, no trailing `/`). */
  name: string;
  header: TarHeader;
  entry: TarEntry;
}

/**
 * Normalizes a member name of an image archive, refusing absolute names and `..` components
 * (an image archive never needs them; they are how hostile archives escape).
 */
export function memberName(raw: string, archive: string): string {
  let n = raw.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
  if (n === '.') n = '';
  if (raw.startsWith('/') || n.split('/').some((c) => c === '..')) {
    throw new BadInputError(`${archive} has an entry escaping the archive: ${JSON.stringify(raw)}`, { hint: 'the archive is hostile or corrupt; do not use it' });
  }
  return n;
}

/**
 * Streams the members of a tar (plain, gzip or zstd) to visit, one at a time; members visit leaves
 * unread are skipped. Tar-level corruption and truncation become BadInputError naming the file. Settles once
 * the file is closed, whether the walk ended or failed.
 */
export async function walkTar(file: string, visit: (m: TarMember) => Promise<void>): Promise<void> {
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`${file} does not exist`, { hint: 'check the archive path' });
    throw err;
  }
  const raw = fh.createReadStream();
  // The stream's 'close' comes once its file is closed (the handle's own comes when closing starts), after an
  // error too: waited for as an event, not with once(), which would reject (unheard, until the walk ends) on one.
  const closed = new Promise<void>((resolve) => raw.once('close', resolve));
  const ex = strictTarExtract();
  pipeline(decompress(raw), ex as unknown as NodeJS.WritableStream, () => undefined);
  const label = path.basename(file);
  try {
    for await (const entry of ex) {
      const name = memberName(entry.header.name, label);
      await visit({ name, header: entry.header, entry });
      entry.resume();
    }
  } catch (err) {
    if (!isFormatError(err)) throw err;
    throw new BadInputError(`${file} is not a valid tar archive: ${(err as Error).message}`, { cause: err, hint: 'the archive is truncated or corrupt; copy it again' });
  } finally {
    // Ended or not, the pipeline is torn down, which closes the file (decompress releases its source).
    ex.destroy();
    await closed;
  }
}

/** Copies a member's bytes to a new file (refusing to overwrite anything). */
export async function saveMember(entry: TarEntry, dest: string): Promise<void> {
  await pipe(entry as unknown as NodeJS.ReadableStream, createWriteStream(dest, { flags: 'wx', mode: 0o644 }));
}
