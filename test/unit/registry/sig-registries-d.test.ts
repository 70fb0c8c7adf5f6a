import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { BadInputError } from '../../../dsl/core/errors.js';
import { parseRegistryRef } from '../../../dsl/registry/reference.js';
import { configuredLookaside, defaultLookaside, loadRegistriesD, lookasideBase, lookasideUrl, mergeRegistriesFile, type RegistriesD } from '../../../dsl/registry/registries-d.js';
import { readLookaside, writeLookaside } from '../../../dsl/registry/lookaside.js';

const D = `sha256:${'d'.repeat(64)}`;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'cairn-regd-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const empty = (): RegistriesD => ({ dir: 'test', docker: new Map() });

describe('registries.d configuration', () => {
  const cfg = empty();
  mergeRegistriesFile(cfg, {
    'default-docker': { lookaside: 'https://default.example/sigs', 'lookaside-staging': 'file:///srv/default' },
    docker: {
      'reg.example.com': { sigstore: 'https://reg-sigs.example/s', 'sigstore-staging': 'file:///srv/reg' },
      'reg.example.com/team': { lookaside: 'https://team.example/s' },
      'reg.example.com/team/app:1': { 'use-sigstore-attachments': true },
      '*.corp.example': { lookaside: 'http://corp/s' },
    },
  }, 'a.yaml');

  it.each([
    ['reg.example.com/team/app:2', false, 'https://team.example/s'],
    ['reg.example.com/team/app:2', true, 'https://team.example/s'],
    ['reg.example.com/other:1', false, 'https://reg-sigs.example/s'],
    ['reg.example.com/other:1', true, 'file:///srv/reg'],
    // A section naming no URL passes to the next namespace.
    ['reg.example.com/team/app:1', false, 'https://team.example/s'],
    ['x.corp.example/app', false, 'http://corp/s'],
    ['quay.io/app', false, 'https://default.example/sigs'],
    ['quay.io/app', true, 'file:///srv/default'],
  ])('%s (write %s) → %s', (ref, write, want) => {
    expect(configuredLookaside(cfg, parseRegistryRef(ref), write)).toBe(want);
  });

  it('falls back to the built-in default, per user', () => {
    expect(configuredLookaside(empty(), parseRegistryRef('quay.io/app'), false)).toBeUndefined();
    expect(defaultLookaside(0, '/home/u')).toBe('file:///var/lib/containers/sigstore');
    expect(defaultLookaside(1000, '/home/u')).toBe('file:///home/u/.local/share/containers/sigstore');
  });

  it('lays signatures out as BASE/REPO@sha256=HEX/signature-N', () => {
    expect(lookasideUrl('https://s.example/base/', parseRegistryRef('reg:5000/team/app:1'), D, 2)).toBe(`https://s.example/base/team/app@sha256=${'d'.repeat(64)}/signature-2`);
    expect(lookasideUrl('file:///srv/sigs', parseRegistryRef('debian'), D, 1)).toBe(`file:///srv/sigs/library/debian@sha256=${'d'.repeat(64)}/signature-1`);
  });

  it.each<[string, unknown]>([
    ['a namespace in two files', { docker: { 'reg.example.com': { lookaside: 'x' } } }],
    ['default-docker in two files', { 'default-docker': { lookaside: 'x' } }],
    ['both lookaside and sigstore', { docker: { other: { lookaside: 'a', sigstore: 'b' } } }],
    ['a URL that is not a string', { docker: { other2: { lookaside: 5 } } }],
    ['a document that is a list', ['x']],
  ])('refuses %s', (_n, doc) => {
    expect(() => mergeRegistriesFile(cfg, doc, 'b.yaml')).toThrow(BadInputError);
  });

  it('reads and merges the *.yaml files of a directory with the YAML parser', async () => {
    const dir = path.join(tmp, 'regd');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'a.yaml'), 'docker:\n  reg.example.com:\n    lookaside: file:///a\n    lookaside-staging: file:///a-staging\n');
    writeFileSync(path.join(dir, 'b.yaml'), '# comment\ndefault-docker:\n  sigstore: https://b/\n');
    writeFileSync(path.join(dir, 'c.yml'), 'not: [read');
    const c = await loadRegistriesD(dir);
    expect(lookasideBase(c, parseRegistryRef('reg.example.com/x'), true)).toBe('file:///a-staging');
    expect(lookasideBase(c, parseRegistryRef('quay.io/x'), false)).toBe('https://b/');
    writeFileSync(path.join(dir, 'd.yaml'), 'docker:\n  reg.example.com:\n    lookaside: file:///twice\n');
    await expect(loadRegistriesD(dir)).rejects.toThrow(/more than one place/);
    writeFileSync(path.join(dir, 'd.yaml'), 'docker: [unclosed\n');
    await expect(loadRegistriesD(dir)).rejects.toThrow(/not valid YAML/);
    expect((await loadRegistriesD(path.join(tmp, 'missing'))).docker.size).toBe(0);
  });
});

describe('the file:// lookaside', () => {
  it('adds signatures at the next free number and reads them back in order', async () => {
    const base = pathToFileURL(path.join(tmp, 'sigs')).href;
    const ref = parseRegistryRef('reg:5000/team/app:1');
    expect(await readLookaside(base, ref, D)).toEqual([]);
    const f1 = await writeLookaside(base, ref, D, Buffer.from('one'));
    const f2 = await writeLookaside(base, ref, D, Buffer.from('two'));
    expect(f1).toBe(path.join(tmp, 'sigs', `team/app@sha256=${'d'.repeat(64)}`, 'signature-1'));
    expect(path.basename(f2)).toBe('signature-2');
    expect(readFileSync(f1, 'utf8')).toBe('one');
    expect((await readLookaside(base, ref, D)).map(String)).toEqual(['one', 'two']);
  });

  it('writes to file:// only', async () => {
    await expect(writeLookaside('https://s.example/x', parseRegistryRef('reg/app'), D, Buffer.from('x'))).rejects.toThrow(BadInputError);
  });
});
