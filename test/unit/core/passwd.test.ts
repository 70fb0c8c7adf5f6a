import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isCairnError } from '../../../dsl/core/errors.js';
import { findGroup, findUser, parseGroup, parsePasswd, readHostPasswd } from '../../../dsl/core/passwd.js';

const PASSWD = [
  'root:x:0:0:root:/root:/bin/bash',
  '# a comment',
  '',
  'daemon:x:1:1::/usr/sbin:/usr/sbin/nologin',
  'short:x:5',
  'nan:x:abc:1::/home/nan:/bin/sh',
  'neg:x:-1:1::/:/bin/sh',
  ':x:7:7::/:/bin/sh',
  'app:x:1000:1000:App,,,:/home/app:/bin/sh',
  'dup:x:1000:5::/home/dup:/bin/sh',
  'minimal:x:42:43',
].join('\n');

describe('parsePasswd', () => {
  const rows = parsePasswd(PASSWD);
  it('keeps well-formed entries in order and skips comments, blank and malformed lines (never a NaN id)', () => {
    expect(rows.map((r) => r.name)).toEqual(['root', 'daemon', 'app', 'dup', 'minimal']);
    for (const r of rows) expect(Number.isInteger(r.uid) && Number.isInteger(r.gid)).toBe(true);
    expect(rows[2]).toEqual({ name: 'app', uid: 1000, gid: 1000, home: '/home/app', shell: '/bin/sh' });
    expect(rows[4]).toEqual({ name: 'minimal', uid: 42, gid: 43, home: '', shell: '' });
  });

  it('findUser by name or uid gives the first match', () => {
    expect(findUser(rows, 'daemon')?.uid).toBe(1);
    expect(findUser(rows, 1000)?.name).toBe('app');
    expect(findUser(rows, 'nan')).toBeUndefined();
    expect(findUser(rows, 5)).toBeUndefined();
  });
});

describe('parseGroup', () => {
  it('parses members and skips malformed lines', () => {
    const g = parseGroup('root:x:0:\nwheel:x:10:app,root\nbad:x:zz:\nshort:x\n');
    expect(g).toEqual([
      { name: 'root', gid: 0, members: [] },
      { name: 'wheel', gid: 10, members: ['app', 'root'] },
    ]);
    expect(findGroup(g, 'wheel')?.gid).toBe(10);
    expect(findGroup(g, 0)?.name).toBe('root');
  });
});

describe('readHostPasswd', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-passwd-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a file; a missing one is empty', () => {
    const f = path.join(dir, 'passwd');
    writeFileSync(f, PASSWD);
    expect(readHostPasswd(f).length).toBe(5);
    expect(readHostPasswd(path.join(dir, 'none'))).toEqual([]);
  });

  it('an unreadable one is an error, not "no users"', () => {
    let err: unknown;
    try {
      readHostPasswd(dir);
    } catch (e) {
      err = e;
    }
    expect(isCairnError(err)).toBe(true);
    expect((err as Error).message).toBe(`cannot read ${dir}: EISDIR`);
  });
});
