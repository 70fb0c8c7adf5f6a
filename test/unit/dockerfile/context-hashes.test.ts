import { lstatSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ContextHashes } from '../../../dsl/dockerfile/context-hashes.js';

/*
 * The digests of context files remembered by stat: a remembered digest is taken only while the file's device,
 * inode, size, mtime and ctime are all unchanged, and a file changed a moment ago is not remembered.
 */

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const FAR = () => BigInt(Date.now() + 3_600_000) * 1_000_000n;

function setup(): { dir: string; cache: string; file: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-ctxhash-'));
  dirs.push(dir);
  const file = path.join(dir, 'a.txt');
  writeFileSync(file, 'one\n');
  // Whole seconds: a time put back with utimes is then exactly the one read before.
  utimesSync(file, 1_000_000_000, 1_000_000_000);
  return { dir, cache: path.join(dir, 'cache', 'c.json'), file };
}

async function digest(h: ContextHashes, file: string): Promise<string> {
  const d = await h.digest('a.txt', file, lstatSync(file, { bigint: true }));
  await h.save();
  return d;
}

/** Replaces the remembered digest of a.txt in the cache file (what the stamp path would then return). */
function tamper(cache: string, value: string): void {
  const j = JSON.parse(readFileSync(cache, 'utf8'));
  j.files['a.txt'].sha256 = value;
  writeFileSync(cache, JSON.stringify(j));
}

describe('ContextHashes', () => {
  it('takes the remembered digest while the stamp is unchanged (the file is not read again)', async () => {
    const { dir, cache, file } = setup();
    expect(await digest(new ContextHashes(cache, dir, FAR), file)).toBe(sha('one\n'));
    tamper(cache, 'remembered');
    expect(await digest(new ContextHashes(cache, dir, FAR), file)).toBe('remembered');
  });

  it('same size and mtime put back: the ctime differs, so the new content is read', async () => {
    const { dir, cache, file } = setup();
    const before = statSync(file);
    await digest(new ContextHashes(cache, dir, FAR), file);
    tamper(cache, 'stale');
    writeFileSync(file, 'two\n');
    utimesSync(file, before.atime, before.mtime);
    expect(statSync(file).size).toBe(before.size);
    expect(statSync(file).mtimeMs).toBe(before.mtimeMs);
    expect(await digest(new ContextHashes(cache, dir, FAR), file)).toBe(sha('two\n'));
  });

  it('a file replaced by another (new inode) is read again', async () => {
    const { dir, cache, file } = setup();
    await digest(new ContextHashes(cache, dir, FAR), file);
    tamper(cache, 'stale');
    // Same size and times, another inode (made while the old one still exists).
    writeFileSync(file + '.new', 'six\n');
    utimesSync(file + '.new', 1_000_000_000, 1_000_000_000);
    renameSync(file + '.new', file);
    expect(await digest(new ContextHashes(cache, dir, FAR), file)).toBe(sha('six\n'));
  });

  it('a file changed within the last two seconds is not remembered; a cache of another directory is not taken', async () => {
    const { dir, cache, file } = setup();
    await digest(new ContextHashes(cache, dir), file);
    expect(() => statSync(cache)).toThrow();
    await digest(new ContextHashes(cache, dir, FAR), file);
    tamper(cache, 'other');
    expect(await digest(new ContextHashes(cache, path.join(dir, 'elsewhere'), FAR), file)).toBe(sha('one\n'));
  });
});
