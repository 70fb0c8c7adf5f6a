import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readJson, writeFileAtomic, writeFileAtomicSync, writeJsonAtomic } from '../../../dsl/core/atomic.js';
import { isErrorKind } from '../../../dsl/core/errors.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-atomic-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const mask = process.umask();

describe('writeFileAtomic and writeFileAtomicSync', () => {
  for (const [name, write] of [
    ['async', (f: string, d: string, o?: { mode?: number }) => writeFileAtomic(f, d, o)],
    ['sync', async (f: string, d: string, o?: { mode?: number }) => writeFileAtomicSync(f, d, o)],
  ] as const) {
    it(`${name}: makes the directory, writes with the mode, replaces, and leaves no temp file`, async () => {
      const sub = path.join(dir, name, 'deep');
      const f = path.join(sub, 'f');
      await write(f, 'one', { mode: 0o600 });
      expect(readFileSync(f, 'utf8')).toBe('one');
      expect(statSync(f).mode & 0o777).toBe(0o600 & ~mask);
      await write(f, 'two');
      expect(readFileSync(f, 'utf8')).toBe('two');
      expect(statSync(f).mode & 0o777).toBe(0o644 & ~mask);
      expect(readdirSync(sub)).toEqual(['f']);
    });

    it(`${name}: replaces a symlink at the target without writing through it`, async () => {
      const victim = path.join(dir, `${name}-victim`);
      writeFileSync(victim, 'keep');
      const f = path.join(dir, `${name}-link`);
      symlinkSync(victim, f);
      await write(f, 'new');
      expect(readFileSync(victim, 'utf8')).toBe('keep');
      expect(readFileSync(f, 'utf8')).toBe('new');
      expect(statSync(f).isFile()).toBe(true);
    });

    it(`${name}: a failed write leaves the old file and no temp file`, async () => {
      const sub = path.join(dir, `${name}-fail`);
      await write(path.join(sub, 'f'), 'old');
      // A directory where the file is: the rename fails (EISDIR) after the temp file was written.
      const target = path.join(sub, 'd');
      await write(path.join(target, 'x'), 'x');
      await expect(write(target, 'data')).rejects.toMatchObject({ code: expect.stringMatching(/^E(ISDIR|NOTEMPTY|EXIST)$/) });
      expect(readdirSync(sub).sort()).toEqual(['d', 'f']);
    });
  }
});

describe('readJson', () => {
  it('absent → undefined; not JSON → a CairnError of kind not-json naming the file', async () => {
    expect(await readJson(path.join(dir, 'none.json'))).toBeUndefined();
    const f = path.join(dir, 'bad.json');
    writeFileSync(f, '{"a":');
    const err = await readJson(f).catch((e: unknown) => e);
    expect(isErrorKind(err, 'not-json')).toBe(true);
    expect((err as Error).message).toContain(f);
    await writeJsonAtomic(f, { a: 1 });
    expect(await readJson(f)).toEqual({ a: 1 });
  });

  it('a directory is not "absent": it throws', async () => {
    await expect(readJson(dir)).rejects.toThrow(/cannot read/);
  });
});
