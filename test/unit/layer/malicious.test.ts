import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { BadInputError } from '../../../dsl/core/errors.js';
import { decompress } from '../../../dsl/layer/compress.js';
import { extractLayer } from '../../../dsl/layer/extract.js';
import { fileHash, tarOf, tmpDir, withLyingSize, type FixEntry } from '../../kit/tarfix.js';

const tmp = tmpDir('evil');
afterAll(tmp.cleanup);

const HOST_FILES = ['/etc/passwd', '/etc/hostname'].filter((p) => existsSync(p));
const hostBefore = HOST_FILES.map(fileHash);

type Outcome = { throws: true } | { throws: false; check: (dest: string) => void };
const isFile = (p: string, content?: string) => (dest: string): void => {
  expect(lstatSync(path.join(dest, p)).isFile()).toBe(true);
  if (content !== undefined) expect(readFileSync(path.join(dest, p), 'utf8')).toBe(content);
};

const file = (name: string, content = 'evil'): FixEntry => ({ name, content });
const symlink = (name: string, linkname: string): FixEntry => ({ name, type: 'symlink', linkname });
const hardlink = (name: string, linkname: string): FixEntry => ({ name, type: 'link', linkname });

const cases: [string, () => Promise<Buffer>, Outcome][] = [
  ['a name climbing out with ../..', () => tarOf([file('../../etc/evil')]), { throws: true }],
  ['a name climbing out midway', () => tarOf([file('a/../../evil')]), { throws: true }],
  ['an absolute name', () => tarOf([file('/etc/evil')]), { throws: false, check: isFile('etc/evil', 'evil') }],
  ['a file below a symlink to /etc', () => tarOf([symlink('evil', '/etc'), file('evil/passwd', 'pwned')]), { throws: false, check: isFile('etc/passwd', 'pwned') }],
  ['a file below a symlink to ../../..', () => tarOf([symlink('up', '../../..'), file('up/escaped')]), { throws: false, check: isFile('escaped') }],
  ['a file below a chain of symlinks', () => tarOf([symlink('a', 'b/../../c'), symlink('c', '/../../../etc'), file('a/evil')]), { throws: false, check: isFile('etc/evil') }],
  ['a file replacing a symlink to the host', () => tarOf([symlink('x', '/etc/evil'), file('x', 'plain')]), { throws: false, check: isFile('x', 'plain') }],
  ['a dir replacing a symlink to the host', () => tarOf([symlink('d', '/etc'), { name: 'd/', type: 'directory' }, file('d/evil')]), {
    throws: false,
    check: (dest) => {
      expect(lstatSync(path.join(dest, 'd')).isDirectory()).toBe(true);
      isFile('d/evil')(dest);
    },
  }],
  ['a hardlink to /etc/passwd', () => tarOf([hardlink('h', '/etc/passwd')]), { throws: true }],
  ['a hardlink to ../../x', () => tarOf([hardlink('h', '../../x')]), { throws: true }],
  ['a hardlink through a symlink to /etc', () => tarOf([symlink('evil', '/etc'), hardlink('h', 'evil/passwd')]), { throws: true }],
  ['a symlink loop as parent', () => tarOf([symlink('loop', 'loop'), file('loop/x')]), { throws: true }],
  ['a file below a file', () => tarOf([file('f'), file('f/x')]), { throws: true }],
  ['a truncated tar', async () => (await tarOf([file('big', 'x'.repeat(5000)), file('next')])).subarray(0, 1500), { throws: true }],
  ['a tar cut after a header', async () => (await tarOf([file('big', 'x'.repeat(5000))])).subarray(0, 512), { throws: true }],
  ['a file size that is too big', async () => withLyingSize(await tarOf([file('a', 'x'.repeat(600)), file('b')]), 'a', 100_000), { throws: true }],
  ['a file size that is too small', async () => withLyingSize(await tarOf([file('a', 'x'.repeat(2000)), file('b')]), 'a', 10), { throws: true }],
  ['random bytes', async () => Buffer.from(Array.from({ length: 2048 }, (_, i) => (i * 37 + 11) & 255)), { throws: true }],
  ['a truncated gzip', async () => {
    const gz = gzipSync(await tarOf([{ name: 'a', content: randomBytes(20_000) }, file('b')]));
    return gz.subarray(0, gz.length >> 1);
  }, { throws: true }],
  ['a gzip without its trailer', async () => {
    const gz = gzipSync(await tarOf([file('a', 'y'.repeat(20_000))]));
    return gz.subarray(0, gz.length - 4);
  }, { throws: true }],
  // A missing component must not stop the checks: '..' leads back to existing components, which may be links.
  ['a link through a missing component and .. to a climbing link', () => tarOf([symlink('h', '../../..'), symlink('l', '/nonexistent/../h'), file('l/escaped')]), { throws: false, check: isFile('escaped') }],
  ['a directory entry through a missing component', () => tarOf([symlink('h', '../../..'), symlink('l', 'nope/../h'), { name: 'l/newdir/', type: 'directory' }, file('l/newdir/x')]), { throws: false, check: isFile('newdir/x') }],
  ['a whiteout through a missing component', () => tarOf([symlink('h', '../../..'), symlink('l', '/nonexistent/../h'), file('l/.wh.a')]), { throws: false, check: () => undefined }],
  ['an opaque marker through a missing component', () => tarOf([symlink('h', '../../..'), symlink('l', '/nonexistent/../h'), file('l/.wh..wh..opq')]), { throws: true }],
  ['a hardlink target through a missing component', () => tarOf([symlink('h', '../../..'), symlink('l', '/x/../h'), hardlink('k', 'l/a/b/dest/../../../keep')]), { throws: true }],
  // Deferred special files and links to them are placed again at the end: a parent swapped for a link meanwhile is followed inside the root.
  ['a deferred hardlink to a FIFO whose parent became a link', () => tarOf([{ name: 'd/', type: 'directory' }, { name: 'd/f', type: 'fifo' }, hardlink('d/g', 'd/f'), symlink('d', '../../..'), file('f', 'plain')]), {
    throws: false,
    check: (dest) => {
      expect(lstatSync(path.join(dest, 'd')).isSymbolicLink()).toBe(true);
      isFile('f', 'plain')(dest);
      expect(existsSync(path.join(dest, 'g'))).toBe(false);
    },
  }],
  ['a FIFO whose parent became a link', () => tarOf([{ name: 'd/', type: 'directory' }, { name: 'd/p', type: 'fifo' }, symlink('d', '../../..')]), {
    throws: false,
    check: (dest) => expect(existsSync(path.join(dest, 'p'))).toBe(false),
  }],
  ['a corrupt gzip', async () => {
    const gz = gzipSync(await tarOf([file('a', 'y'.repeat(20_000))]));
    gz.fill(0x41, 30, 60);
    return gz;
  }, { throws: true }],
];

describe.each(['apply', 'overlay'] as const)('extractLayer (%s) with a hostile layer', (whiteouts) => {
  it.each(cases)('%s: fails or stays inside dest', async (name, build, outcome) => {
    const sandbox = path.join(tmp.dir, whiteouts, name.replace(/\W+/g, '-'));
    const dest = path.join(sandbox, 'a', 'b', 'dest');
    mkdirSync(dest, { recursive: true });
    const run = extractLayer(decompress(Readable.from([await build()])), dest, { whiteouts });
    if (outcome.throws) await expect(run).rejects.toBeInstanceOf(BadInputError);
    else {
      await run;
      outcome.check(dest);
    }
    expect(readdirSync(sandbox)).toEqual(['a']);
    expect(readdirSync(path.join(sandbox, 'a'))).toEqual(['b']);
    expect(readdirSync(path.join(sandbox, 'a', 'b'))).toEqual(['dest']);
    expect(existsSync('/etc/evil')).toBe(false);
    expect(existsSync('/escaped')).toBe(false);
    expect(HOST_FILES.map(fileHash)).toEqual(hostBefore);
  });
});
