import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BadInputError, NotFoundError, isCairnError } from '../../../dsl/core/errors.js';
import { parseVolume, RUN_VOLUME_OPTIONS } from '../../../dsl/sandbox/volume.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-volume-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const d = path.join(dir, 'd');
const f = path.join(dir, 'f');
mkdirSync(d);
writeFileSync(f, '');
symlinkSync('loop', path.join(dir, 'loop'));

describe('parseVolume', () => {
  it.each([
    [`${d}:/data`, RUN_VOLUME_OPTIONS, { source: d, target: '/data', ro: false }],
    [`${d}:/data:ro`, RUN_VOLUME_OPTIONS, { source: d, target: '/data', ro: true }],
    [`${d}:/data:rw`, RUN_VOLUME_OPTIONS, { source: d, target: '/data', ro: false }],
    [`${d}:/data:z,ro`, RUN_VOLUME_OPTIONS, { source: d, target: '/data', ro: true }],
    [`${d}:/data:`, RUN_VOLUME_OPTIONS, { source: d, target: '/data', ro: false }],
    [`${f}:/etc/x:ro`, ['ro', 'rw'], { source: f, target: '/etc/x', ro: true }],
  ])('%s', async (spec, allowed, want) => {
    const v = await parseVolume(spec, allowed);
    expect(v).toMatchObject(want);
    expect(v.stat.isDirectory()).toBe(want.source === d);
  });

  it('a relative source is made absolute from the current directory', async () => {
    expect((await parseVolume(`${path.relative(process.cwd(), d)}:/x`)).source).toBe(d);
  });

  it.each([[`${d}`], [`${d}:`], [`:/x`], [`${d}:/x:ro:extra`], [`${d}:/x:bogus`], [`${d}:/x:ro,`]])('refuses %j as malformed', async (spec) => {
    const err = await parseVolume(spec).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadInputError);
    expect((err as Error).message).toBe(`invalid --volume ${spec}`);
  });

  it('options outside the allowed set are refused (exec takes ro and rw only)', async () => {
    await expect(parseVolume(`${d}:/x:z`, ['ro', 'rw'])).rejects.toThrow(BadInputError);
  });

  it('a missing source is NotFoundError; a source that cannot be examined is another error, not "missing"', async () => {
    await expect(parseVolume(`${path.join(dir, 'none')}:/x`)).rejects.toThrow(NotFoundError);
    const err = await parseVolume(`${path.join(dir, 'loop')}:/x`).catch((e: unknown) => e);
    expect(isCairnError(err) && !(err instanceof NotFoundError)).toBe(true);
    expect((err as Error).message).toMatch(/cannot be used: ELOOP$/);
  });
});
