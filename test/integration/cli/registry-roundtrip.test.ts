// A registry round trip as whoever runs the suite: CI runs this tier as root and as a normal user with
// subordinate ids, so this is the rootless push and pull. Files owned by other users (mapped ids when
// rootless) and set-uid modes must come back as they went, and the image ID must not change.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliKit, type CliKit } from '../../kit/cli.js';
import { have, removeTree, tempDir } from '../../kit/peers.js';
import { startRegistry, type RegistryKit } from '../../kit/registry.js';
import { tinyRootfsTar } from '../../kit/tiny.js';

const INSECURE = '--tls-verify=false';
const ENV = { REGISTRY_AUTH_FILE: '', DOCKER_CONFIG: '/nonexistent' };
const peers = have('docker-registry');

let k: CliKit;
let back: CliKit;
let reg: RegistryKit;
let work: string;

beforeAll(async () => {
  if (!peers) return;
  work = tempDir('cairn-reg-roundtrip-');
  k = cliKit('cairn-reg-rt-', ENV);
  back = cliKit('cairn-reg-rt-back-', ENV);
  reg = await startRegistry();
}, 60_000);

afterAll(async () => {
  await reg?.stop();
  k?.cleanup();
  back?.cleanup();
  if (work) removeTree(work);
});

describe.skipIf(!peers)('a registry round trip (rootless when the suite runs as a normal user)', () => {
  it('push, then pull into another store: same image ID, owners and modes kept, runs', async () => {
    const c = k.ok(['from', `tarball:${tinyRootfsTar()}`]);
    k.ok(['run', c, '--', 'sh', '-c', 'mkdir /data && echo hi > /data/f && chown 1000:1000 /data/f && chmod 4755 /data/f && ln -s f /data/l']);
    const id = k.ok(['commit', '--rm', c, 'localhost/roundtrip:1']);
    const pushed = await k.cairnAsync(['push', INSECURE, 'localhost/roundtrip:1', `docker://${reg.host}/team/roundtrip:1`]);
    expect(pushed.status, pushed.stderr).toBe(0);
    expect(pushed.stdout.trim()).toMatch(/^sha256:[0-9a-f]{64}$/);

    const pulled = await back.cairnAsync(['pull', INSECURE, `docker://${reg.host}/team/roundtrip:1`]);
    expect(pulled.status, pulled.stderr).toBe(0);
    expect(pulled.stdout.trim()).toBe(id.replace(/^sha256:/, ''));
    const d = back.ok(['from', `${reg.host}/team/roundtrip:1`]);
    expect(back.ok(['run', d, '--', 'stat', '-c', '%u:%g %a %F', '/data/f', '/data/l'])).toBe('1000:1000 4755 regular file\n0:0 777 symbolic link'.trim());
    expect(back.ok(['run', d, '--', 'cat', '/data/f'])).toBe('hi');
    // A second push of what was pulled sends the same manifest.
    const again = await back.cairnAsync(['push', INSECURE, `${reg.host}/team/roundtrip:1`, `docker://${reg.host}/team/roundtrip:2`]);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout.trim()).toBe(pushed.stdout.trim());
  });
});

