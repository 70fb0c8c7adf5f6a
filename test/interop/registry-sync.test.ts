// cairn sync against a real registry (Debian's docker-registry) that skopeo filled: every tag of a repository,
// a tag regex, one tagged image, skopeo's YAML format, a directory of OCI layouts both ways, scoped names,
// tags already there skipped, dry runs, and failures with and without --keep-going. skopeo reads back what cairn wrote.
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliKit, type CliKit } from '../kit/cli.js';
import { writeTestLayout, type TestImage } from '../kit/images.js';
import { peerOk, removeTree, requirePeers, skopeoInspect, tempDir } from '../kit/peers.js';
import { skopeoPush, startRegistry, type RegistryKit } from '../kit/registry.js';

const INSECURE = '--tls-verify=false';
let work: string;
let k: CliKit;
let src: RegistryKit;
let dst: RegistryKit;
let a: TestImage;
let b: TestImage;
const stops: (() => Promise<void> | void)[] = [];

/**
 * Runs cairn without blocking this process: the registries' logs are read by this process's event loop, and a
 * registry whose log pipe is full stops answering.
 */
async function ok(args: string[]): Promise<string> {
  const r = await k.cairnAsync(args);
  if (r.status !== 0) throw new Error(`cairn ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout.trim();
}

/** The tags skopeo lists for a repository of the destination registry. */
function tagsAt(repo: string): string[] {
  return (JSON.parse(peerOk('skopeo', ['list-tags', INSECURE, `docker://${dst.host}/${repo}`])).Tags as string[]).sort();
}

beforeAll(async () => {
  requirePeers('docker-registry', 'skopeo');
  work = tempDir('cairn-sync-test-');
  k = cliKit('cairn-sync-', { DOCKER_CONFIG: path.join(work, 'no-docker'), REGISTRY_AUTH_FILE: '', CAIRN_REGISTRY_BACKOFF_MS: '50' });
  stops.push(() => k.cleanup());
  a = await writeTestLayout(path.join(work, 'a'), { ref: 'v1' });
  b = await writeTestLayout(path.join(work, 'b'), { ref: 'v1', layers: [[{ name: 'b', content: 'second image' }]] });
  [src, dst] = await Promise.all([startRegistry(), startRegistry()]);
  stops.push(() => src.stop(), () => dst.stop());
  for (const t of ['1.0', '1.1', '2.0']) skopeoPush(`oci:${(t === '2.0' ? b : a).dir}:v1`, `docker://${src.host}/team/app:${t}`, ['--dest-tls-verify=false']);
  skopeoPush(`oci:${b.dir}:v1`, `docker://${src.host}/tools/cli:latest`, ['--dest-tls-verify=false', '--format', 'v2s2']);
}, 60_000);

afterAll(async () => {
  for (const s of stops.reverse()) await s();
  if (work) removeTree(work);
});

describe('cairn sync', () => {
  it('copies every tag of a repository, one line each; a second run skips them all', async () => {
    const out = (await ok(['sync', INSECURE, `docker://${src.host}/team/app`, `docker://${dst.host}/mirror`])).split('\n');
    expect(out).toHaveLength(3);
    for (const t of ['1.0', '1.1', '2.0']) expect(out).toContainEqual(expect.stringMatching(new RegExp(`^copied docker://${src.host}/team/app:${t.replace('.', '\\.')} -> docker://${dst.host}/mirror/app:${t.replace('.', '\\.')} sha256:[0-9a-f]{64}$`)));
    expect(tagsAt('mirror/app')).toEqual(['1.0', '1.1', '2.0']);
    expect(JSON.parse(peerOk('skopeo', ['inspect', '--config', INSECURE, `docker://${dst.host}/mirror/app:2.0`])).rootfs.diff_ids).toEqual(b.layers.map((l) => l.diffID));
    const again = (await ok(['sync', INSECURE, `docker://${src.host}/team/app`, `docker://${dst.host}/mirror`])).split('\n');
    expect(again.every((l) => l.startsWith('skipped '))).toBe(true);
  });

  it('takes only the tags a --tag-regex matches, and one image when SRC has a tag; --scoped keeps the source path', async () => {
    expect((await ok(['sync', INSECURE, '--tag-regex', '^1\\.1$', '--tag-regex', '^2', `docker://${src.host}/team/app`, `docker://${dst.host}/re`])).split('\n')).toHaveLength(2);
    expect(tagsAt('re/app')).toEqual(['1.1', '2.0']);
    const one = await ok(['sync', INSECURE, '--scoped', `docker://${src.host}/tools/cli:latest`, `docker://${dst.host}/scoped`]);
    // A registry's port is written host_port: a name component holds no colon.
    const scoped = `scoped/${src.host.replace(':', '_')}/tools/cli`;
    expect(one).toMatch(new RegExp(`^copied .* -> docker://${dst.host}/${scoped}:latest `));
    expect(tagsAt(scoped)).toEqual(['latest']);
  });

  it('tells what it would copy with --dry-run, and copies nothing', async () => {
    const out = await ok(['sync', INSECURE, '--dry-run', `docker://${src.host}/tools/cli`, `docker://${dst.host}/dry`]);
    expect(out).toMatch(/^would copy docker:\/\/.*\/tools\/cli:latest -> docker:\/\/.*\/dry\/cli:latest sha256:/);
    expect((await k.cairnAsync(['sync', INSECURE, `docker://${dst.host}/dry/cli`, path.join(work, 'nothing')])).status).toBe(125);
  });

  it('reads skopeo\'s YAML format: tag lists, all tags, tag regexes, per-registry tls-verify', async () => {
    const yaml = path.join(work, 'sync.yaml');
    writeFileSync(yaml, [`${src.host}:`, '  tls-verify: false', '  images:', '    team/app: ["1.0"]', '    tools/cli: []', '  images-by-tag-regex:', '    team/app: ^2\\.'].join('\n') + '\n');
    const out = (await ok(['sync', '--dest-tls-verify=false', yaml, `docker://${dst.host}/from-yaml`])).split('\n');
    expect(out).toHaveLength(3);
    expect(tagsAt('from-yaml/app')).toEqual(['1.0', '2.0']);
    expect(tagsAt('from-yaml/cli')).toEqual(['latest']);
  });

  it('writes one OCI layout per repository to a directory, and syncs such a directory back to a registry', async () => {
    const dir = path.join(work, 'layouts');
    await ok(['sync', INSECURE, `docker://${src.host}/team/app`, dir]);
    expect(existsSync(path.join(dir, 'app', 'oci-layout'))).toBe(true);
    expect(skopeoInspect(`oci:${path.join(dir, 'app')}:1.1`, '--config').rootfs.diff_ids).toEqual(a.layers.map((l) => l.diffID));
    expect((await ok(['sync', INSECURE, `docker://${src.host}/team/app`, dir])).split('\n').every((l) => l.startsWith('skipped '))).toBe(true);
    const back = (await ok(['sync', '--src', 'dir', INSECURE, dir, `docker://${dst.host}/back`])).split('\n');
    expect(back).toHaveLength(3);
    expect(tagsAt('back/app')).toEqual(['1.0', '1.1', '2.0']);
  });

  it('fails in one line at the first failure, or with --keep-going after the others', async () => {
    const yaml = path.join(work, 'bad.yaml');
    writeFileSync(yaml, [`${src.host}:`, '  tls-verify: false', '  images:', '    team/app: ["9.9", "1.0"]'].join('\n') + '\n');
    const r = await k.cairnAsync(['sync', '--dest-tls-verify=false', yaml, `docker://${dst.host}/kg`]);
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/^cairn sync: image docker:\/\/.*\/team\/app:9\.9 not found/m);
    const kg = await k.cairnAsync(['sync', '--keep-going', '--dest-tls-verify=false', yaml, `docker://${dst.host}/kg`]);
    expect(kg.status).toBe(125);
    expect(kg.stdout).toMatch(/^failed .*team\/app:9\.9 -> .*\/kg\/app:9\.9: image docker:\/\/.* not found/m);
    expect(kg.stdout).toMatch(/^copied .*team\/app:1\.0 -> /m);
    expect(kg.stderr).toMatch(/^cairn sync: 1 of 2 images failed to sync: docker:\/\/.*team\/app:9\.9$/m);
  });

  it('refuses what it cannot do, in one line', async () => {
    expect((await k.cairnAsync(['sync', '--all', `docker://${src.host}/team/app`, `docker://${dst.host}/x`])).stderr).toMatch(/^cairn sync: sync --all is not supported/m);
    expect((await k.cairnAsync(['sync', `docker://${src.host}/team/app`, `docker://${dst.host}/x:1`])).stderr).toMatch(/^cairn sync: sync destination .* is not a registry prefix$/m);
    expect((await k.cairnAsync(['sync', '--src', 'tape', 'a', 'b'])).stderr).toMatch(/--src tape: must be docker, yaml, dir/);
  });
});
