import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isCairnError } from '../../../dsl/core/errors.js';
import { inInitUserNs } from '../../../dsl/core/userns.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-userns-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function map(name: string, text: string): string {
  const f = path.join(dir, name);
  writeFileSync(f, text);
  return f;
}

describe('inInitUserNs', () => {
  it('true only for the identity map of the whole id space', () => {
    expect(inInitUserNs(map('init', '         0          0 4294967295\n'))).toBe(true);
    expect(inInitUserNs(map('rootless', '         0       1000          1\n'))).toBe(false);
    expect(inInitUserNs(map('subids', '         0       1000          1\n         1     100000      65536\n'))).toBe(false);
    expect(inInitUserNs(map('empty', ''))).toBe(false);
  });

  it('a uid_map that cannot be read throws a CairnError, never "real root"', () => {
    for (const bad of [path.join(dir, 'missing'), dir]) {
      let err: unknown;
      try {
        inInitUserNs(bad);
      } catch (e) {
        err = e;
      }
      expect(isCairnError(err)).toBe(true);
      expect((err as Error).message).toMatch(new RegExp(`^cannot tell which user namespace cairn runs in: ${bad} cannot be read \\((ENOENT|EISDIR)\\)$`));
      expect((err as { hint?: string }).hint).toMatch(/\/proc/);
    }
  });

  it('this process has an answer', () => {
    expect(typeof inInitUserNs()).toBe('boolean');
  });
});
