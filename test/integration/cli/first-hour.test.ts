import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliKit, type CliKit, type CliResult } from '../../kit/cli.js';
import { smallRootfsTar, tinyRootfsTar } from '../../kit/tiny.js';

/*
 * What a buildah user meets in the first hour: bad input and unwritable places answered with one line and
 * exit 125 (no stack trace, no endless loop), and the conveniences they reach for.
 */

let k: CliKit;
beforeAll(() => {
  k = cliKit();
});
afterAll(() => k.cleanup());

/** A failure as the CLI contract wants it: exit 125, `cairn VERB: …` first, at most a hint after, no stack trace. */
function oneLine(r: CliResult, verb: string): string {
  expect(r.signal).toBeNull();
  expect(r.status, r.stderr).toBe(125);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines[0].startsWith(`cairn ${verb}: `), r.stderr).toBe(true);
  expect(lines.length, r.stderr).toBeLessThanOrEqual(2);
  if (lines[1]) expect(lines[1]).toMatch(/^ {2}hint: /);
  return lines[0];
}

describe('bad input and unwritable places', () => {
  it('a truncated plain tarball as a base is refused, and the store is as it was', () => {
    const whole = readFileSync(tinyRootfsTar());
    const cut = path.join(k.root, '..', `cut-${process.pid}.tar`);
    writeFileSync(cut, whole.subarray(0, Math.floor(whole.length / 2)));
    const images = k.ok(['images', '--json']);
    expect(oneLine(k.cairn(['from', `tarball:${cut}`]), 'from')).toMatch(/not a tar archive|truncated|unexpected end/i);
    expect(k.ok(['images', '--json'])).toBe(images);
    expect(k.ok(['containers', '--json'])).toBe('[]');
  });

  it('push to a place that takes no files ends with one line, for every transport', () => {
    const id = k.ok(['pull', `tarball:${smallRootfsTar()}`]);
    for (const dest of ['oci-archive:/proc/x.tar', 'oci:/proc/cairn-layout', 'docker-archive:/proc/x.tar']) {
      const line = oneLine(k.cairn(['push', id, dest], { timeout: 30_000 }), 'push');
      expect(line).toMatch(/^cairn push: cannot (write|create directory) \/proc\/(x\.tar|cairn-layout): /);
      expect(line).not.toMatch(/\.tmp-/);
    }
  });
});

describe('run in an image without /etc', () => {
  it('gets the host\'s resolv.conf and hosts and its own hostname, and the step leaves no /etc behind', () => {
    const tree = path.join(k.root, '..', `noetc-${process.pid}`);
    mkdirSync(tree, { recursive: true });
    copyFileSync('/bin/busybox', path.join(tree, 'busybox'));
    const tar = `${tree}.tar`;
    execFileSync('tar', ['--numeric-owner', '-C', tree, '-cf', tar, '.']);
    const c = k.ok(['from', '--name', 'noetc', `tarball:${tar}`]);
    const r = k.cairn(['run', c, '--', '/busybox', 'cat', '/etc/resolv.conf', '/etc/hosts', '/etc/hostname']);
    const host = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8') : '');
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(host('/etc/resolv.conf') + host('/etc/hosts') + 'noetc\n');
    expect(k.ok(['diff', c])).toBe('');
  });
});
