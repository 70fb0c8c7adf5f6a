import { statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliKit, type CliKit } from '../../kit/cli.js';
import { tinyRootfsTar } from '../../kit/tiny.js';

/*
 * `cairn tag`: a name moves to the image tagged, away from the image that had it; tagging an image with names it
 * already has writes nothing (a rebuild that reused every step ends so).
 */
let k: CliKit;
let a: string;
let b: string;

beforeAll(() => {
  k = cliKit('cairn-tag-');
  a = k.ok(['pull', `tarball:${tinyRootfsTar()}`]);
  const c = k.ok(['from', a]);
  k.ok(['config', '--label', 'second=1', c]);
  b = k.ok(['commit', '--rm', c]);
});
afterAll(() => k?.cleanup());

const names = (id: string): string[] => JSON.parse(k.ok(['inspect', id])).names;
const record = (id: string) => path.join(k.root, 'images', `${id}.json`);

describe('tag', () => {
  it('moves a name from the image that had it', () => {
    expect(a).not.toBe(b);
    k.ok(['tag', a, 'localhost/app:1']);
    expect(names(a)).toContain('localhost/app:1');
    k.ok(['tag', b, 'localhost/app:1']);
    expect(names(b)).toContain('localhost/app:1');
    expect(names(a)).not.toContain('localhost/app:1');
  });

  it('writes nothing when the image already has the names', () => {
    k.ok(['tag', b, 'localhost/app:2']);
    const before = statSync(record(b), { bigint: true });
    k.ok(['tag', b, 'localhost/app:1', 'app:2']);
    const after = statSync(record(b), { bigint: true });
    expect([after.ino, after.mtimeNs]).toEqual([before.ino, before.mtimeNs]);
    // A name it lacks is still written.
    k.ok(['tag', b, 'localhost/app:3']);
    expect(statSync(record(b), { bigint: true }).ino).not.toBe(before.ino);
    expect(names(b)).toEqual(expect.arrayContaining(['localhost/app:1', 'localhost/app:2', 'localhost/app:3']));
  });
});
