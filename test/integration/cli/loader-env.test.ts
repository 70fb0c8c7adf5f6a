import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliKit, type CliKit } from '../../kit/cli.js';
import { tinyRootfsTar } from '../../kit/tiny.js';

/*
 * An image's environment reaches its command only, never a host program of the step's launcher: a host program
 * started as root with the image's LD_PRELOAD would load a library the image names from the host (and an image
 * author can predict where the store keeps layer trees). The library here writes a canary when anything loads it.
 */
const cc = ['cc', 'gcc'].find((c) => spawnSync(c, ['--version']).status === 0);
let k: CliKit;
let dir: string;
let lib: string;
let canary: string;

beforeAll(() => {
  k = cliKit();
  dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-preload-'));
  canary = path.join(dir, 'loaded');
  lib = path.join(dir, 'evil.so');
  if (!cc) return;
  const src = path.join(dir, 'evil.c');
  writeFileSync(src, `#include <fcntl.h>\n#include <unistd.h>\n__attribute__((constructor)) static void hit(void) { int fd = open("${canary}", O_WRONLY | O_CREAT | O_APPEND, 0666); if (fd >= 0) { write(fd, "x", 1); close(fd); } }\n`);
  execFileSync(cc, ['-shared', '-fPIC', '-o', lib, src]);
});
afterAll(() => {
  k?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describe('the image environment and host programs', () => {
  it.skipIf(!cc)('an image LD_PRELOAD naming a host library loads nothing on the host; the command still gets the variable', () => {
    const c = k.ok(['from', `tarball:${tinyRootfsTar()}`]);
    k.ok(['config', '--env', `LD_PRELOAD=${lib}`, '--env', `LD_LIBRARY_PATH=${dir}`, '--env', `GCONV_PATH=${dir}`, c]);
    const r = k.cairn(['run', c, '--', 'sh', '-c', 'echo "$LD_PRELOAD"']);
    expect(r.stdout.trim()).toBe(lib);
    expect(r.status).toBe(0);
    // The command's own loader looks for the library inside the root, where it is not: the host file is never loaded.
    expect(existsSync(canary)).toBe(false);
    const e = k.cairn(['run', '-e', `LD_PRELOAD=${lib}`, c, '--', 'true']);
    expect(e.status).toBe(0);
    expect(existsSync(canary)).toBe(false);
  });
});
