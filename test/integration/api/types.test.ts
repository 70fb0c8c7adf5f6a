import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// The script API's types, checked by the TypeScript compiler: test/types/api.types.ts compiles, and each of its
// @ts-expect-error lines (wrong option types, values that cannot be interpolated) is an error.

const REPO = path.resolve(__dirname, '../../..');
const TSC = path.join(REPO, 'node_modules', '.bin', 'tsc');
const tsc = (args: string[]) => spawnSync(TSC, args, { cwd: REPO, encoding: 'utf8' });

describe('the API types', () => {
  it('accept what the API takes and reject what it refuses (test/types/api.types.ts)', () => {
    const r = tsc(['-p', 'test/types']);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('are checked for real: a script interpolating undefined does not compile', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-types-'));
    const file = path.join(dir, 'script.ts');
    writeFileSync(file, `import { from } from ${JSON.stringify(path.join(REPO, 'dsl', 'index.js'))};\nconst c = await from('scratch');\nawait c.run\`echo \${undefined}\`;\nexport {};\n`);
    const config = { extends: path.join(REPO, 'tsconfig.json'), compilerOptions: { noEmit: true, rootDir: '/', typeRoots: [path.join(REPO, 'node_modules', '@types')] }, files: [file] };
    writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(config));
    const r = tsc(['-p', dir]);
    expect(r.status).not.toBe(0);
    expect(r.stdout).toMatch(/script\.ts\(3,\d+\): error TS\d+: /);
    expect(r.stdout).toMatch(/undefined/);
  });
});
