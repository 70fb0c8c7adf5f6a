import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CAIRN, cliKit, type CliKit } from '../../kit/cli.js';
import { smallRootfsTar } from '../../kit/tiny.js';

/*
 * An OCI layout is written as containers/image writes one: every blob is on disk (fsync) before it is renamed into
 * blobs/sha256/, so the index.json written last never names a blob a power cut could have left empty. Watched with
 * strace: the system calls themselves, in the order the kernel saw them.
 */

let k: CliKit;
beforeAll(() => {
  k = cliKit();
});
afterAll(() => k.cleanup());

/** Renames into layout's blobs/sha256 directory, each with whether its file was fsynced before (strace's order). */
function blobRenames(log: string, layout: string): { from: string; to: string; synced: boolean }[] {
  const synced = new Set<string>();
  // An fsync another thread interrupted in the log: `PID fsync(FD<PATH> <unfinished ...>`, then `PID <... fsync resumed>) = 0`.
  const pending = new Map<string, string>();
  const renames: { from: string; to: string; synced: boolean }[] = [];
  for (const line of log.split('\n')) {
    const pid = line.split(' ')[0];
    const sync = /\b(?:fsync|fdatasync)\(\d+<([^>]+)>(\)\s+=\s+0| <unfinished)/.exec(line);
    if (sync && sync[2].startsWith(')')) synced.add(sync[1]);
    else if (sync) pending.set(pid, sync[1]);
    if (/<\.\.\. f(?:data)?sync resumed>\)\s+=\s+0/.test(line) && pending.has(pid)) synced.add(pending.get(pid)!);
    // rename(OLD, NEW) or renameat/renameat2(DIRFD, OLD, DIRFD, NEW[, FLAGS]): absolute paths here.
    const ren = /\brename(?:at2?)?\((?:[^,]*<[^>]*>, )?"([^"]+)", (?:[^,]*<[^>]*>, )?"([^"]+)".*=\s+0/.exec(line);
    if (ren && path.dirname(ren[2]) === path.join(layout, 'blobs', 'sha256')) renames.push({ from: ren[1], to: ren[2], synced: synced.has(ren[1]) });
  }
  return renames;
}

it('push to oci: puts each blob on disk before renaming it into the layout', () => {
  expect(spawnSync('strace', ['-V']).status, 'strace is needed (Debian package strace)').toBe(0);
  const id = k.ok(['pull', `tarball:${smallRootfsTar()}`]);
  const dir = path.join(k.root, '..', `layout-${process.pid}`);
  const log = path.join(k.root, '..', `strace-${process.pid}.log`);
  execFileSync('strace', ['-f', '-qq', '-y', '-e', 'trace=fsync,fdatasync,rename,renameat,renameat2', '-o', log, CAIRN, '--root', k.root, 'push', id, `oci:${dir}:t`], { env: process.env });
  // (The store keeps a gzip copy of the layer for the push: its own blob, not the layout's.)
  const renames = blobRenames(readFileSync(log, 'utf8'), dir);
  const blobs = readdirSync(path.join(dir, 'blobs', 'sha256'));
  // The layer, the config and the manifest, each renamed into place once, each after its fsync.
  expect(blobs.length).toBe(3);
  expect(renames.map((r) => path.basename(r.to)).sort()).toEqual([...blobs].sort());
  for (const r of renames) expect(r, `${r.from} was renamed into the layout without an fsync`).toMatchObject({ synced: true });
});
