// Short names resolved as registries.conf says (CONTAINERS_REGISTRIES_CONF points at a file written here, so
// nothing reaches the internet): search registries in order, aliases, [[registry]] prefix rewrites, mirrors,
// blocked and insecure registries, enforcing mode; against a real registry (Debian's docker-registry) that
// skopeo filled, and a front end that answers as a registry without the image.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliKit, type CliKit } from '../kit/cli.js';
import { writeTestLayout, type TestImage } from '../kit/images.js';
import { removeTree, requirePeers, tempDir } from '../kit/peers.js';
import { skopeoPush, startFront, startRegistry, type FrontKit, type RegistryKit } from '../kit/registry.js';

let work: string;
let open: RegistryKit;
let empty: FrontKit;
let img: TestImage;
let confN = 0;
const stops: (() => Promise<void> | void)[] = [];

/** A fresh store whose cairn reads registries.conf from the given text only (HOME and caches are temp dirs). */
function kitWith(conf: string): { k: CliKit; env: NodeJS.ProcessEnv } {
  const dir = path.join(work, `conf-${++confN}`);
  mkdirSync(path.join(dir, 'home'), { recursive: true });
  writeFileSync(path.join(dir, 'registries.conf'), conf);
  const env = {
    CONTAINERS_REGISTRIES_CONF: path.join(dir, 'registries.conf'),
    HOME: path.join(dir, 'home'),
    XDG_CACHE_HOME: path.join(dir, 'cache'),
    DOCKER_CONFIG: path.join(dir, 'no-docker'),
    REGISTRY_AUTH_FILE: '',
    CAIRN_REGISTRY_BACKOFF_MS: '50',
  };
  const k = cliKit('cairn-shortname-', env);
  stops.push(() => k.cleanup());
  return { k, env };
}

/** The plain-HTTP test registries, insecure in registries.conf. */
const insecure = () => `[[registry]]\nlocation = "${open.host}"\ninsecure = true\n[[registry]]\nlocation = "${empty.host}"\ninsecure = true\n`;

/** Runs cairn without blocking this process (the front end answers from its event loop); trimmed stdout, throwing on failure. */
async function okAsync(k: CliKit, args: string[]): Promise<string> {
  const r = await k.cairnAsync(args);
  if (r.status !== 0) throw new Error(`cairn ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout.trim();
}

/** The one line cairn printed for a failure. */
function failure(r: { status: number; stderr: string }): string {
  expect(r.status).toBe(125);
  return r.stderr.trim().split('\n').find((l) => l.startsWith('cairn '))!;
}

beforeAll(async () => {
  requirePeers('docker-registry', 'skopeo');
  work = tempDir('cairn-shortname-test-');
  img = await writeTestLayout(path.join(work, 'app'), { ref: 'v1' });
  open = await startRegistry();
  stops.push(() => open.stop());
  skopeoPush(`oci:${img.dir}:v1`, `docker://${open.host}/team/app:1`, ['--dest-tls-verify=false']);
  // A registry that has nothing: /v2/ answers, every manifest is unknown.
  empty = await startFront(open.host, (s) =>
    s.path === '/v2/' ? { pass: true } : { answer: { status: 404, headers: { 'content-type': 'application/json' }, body: '{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}' } },
  );
  stops.push(() => empty.stop());
}, 60_000);

afterAll(async () => {
  for (const s of stops.reverse()) await s();
  if (work) removeTree(work);
});

describe('short names and registries.conf', () => {
  it('searches the registries in order: the first that has the image wins; then the store has it', async () => {
    const { k } = kitWith(`unqualified-search-registries = ["${empty.host}", "${open.host}"]\n${insecure()}`);
    expect(await okAsync(k, ['from', '--name', 'one', 'team/app:1'])).toBe('one');
    expect(JSON.parse(k.ok(['inspect', 'one'])).imageId).toBe(img.configDigest.slice(7));
    expect(empty.seen.some((s) => s.path === '/v2/team/app/manifests/1')).toBe(true);
    const names = JSON.parse(k.ok(['images', '--json'])).flatMap((i: { names: string[] }) => i.names);
    expect(names).toContain(`${open.host}/team/app:1`);
    // Stored now under its full name: a second from asks no registry.
    const before = open.log().length;
    const seen = empty.seen.length;
    expect(await okAsync(k, ['from', '--name', 'two', 'team/app:1'])).toBe('two');
    expect(open.log().slice(before)).not.toMatch(/GET \/v2\/team\/app\//);
    expect(empty.seen.length).toBe(seen);
    // pull fetches again (as podman pull), to the same image.
    expect(await okAsync(k, ['pull', 'team/app:1'])).toBe(img.configDigest.slice(7));
    expect(open.log().slice(before)).toMatch(/GET \/v2\/team\/app\/manifests\/1/);
  });

  it('prefers a stored local image (localhost/NAME) to any registry, and keeps scratch', () => {
    const { k } = kitWith(`unqualified-search-registries = ["${open.host}"]\n${insecure()}`);
    k.ok(['pull', `${open.host}/team/app:1`]);
    k.ok(['tag', `${open.host}/team/app:1`, 'localhost/mine:1']);
    const before = open.log().length;
    expect(k.ok(['from', '--name', 'local', 'mine:1'])).toBe('local');
    expect(k.ok(['from', '--name', 'empty', 'scratch'])).toBe('empty');
    expect(open.log().slice(before)).not.toMatch(/GET \/v2\/mine\//);
  });

  it('takes an [aliases] entry before the search list', () => {
    const { k } = kitWith(`unqualified-search-registries = ["${empty.host}"]\n${insecure()}[aliases]\n"myapp" = "${open.host}/team/app"\n`);
    expect(k.ok(['pull', 'myapp:1'])).toBe(img.configDigest.slice(7));
    const names = JSON.parse(k.ok(['images', '--json'])).flatMap((i: { names: string[] }) => i.names);
    expect(names).toContain(`${open.host}/team/app:1`);
  });

  it('rewrites a [[registry]] prefix to its location and keeps the name asked for', () => {
    const { k } = kitWith(`${insecure()}[[registry]]\nprefix = "registry.invalid/proxy"\nlocation = "${open.host}/team"\ninsecure = true\n`);
    expect(k.ok(['from', '--name', 'rw', 'registry.invalid/proxy/app:1'])).toBe('rw');
    const names = JSON.parse(k.ok(['images', '--json'])).flatMap((i: { names: string[] }) => i.names);
    expect(names).toContain('registry.invalid/proxy/app:1');
  });

  it('pulls from a [[registry.mirror]] first (the registry itself is never asked when the mirror has it)', () => {
    const { k } = kitWith(`${insecure()}[[registry]]\nlocation = "registry.invalid"\n[[registry.mirror]]\nlocation = "${open.host}"\ninsecure = true\n`);
    expect(k.ok(['pull', 'docker://registry.invalid/team/app:1'])).toBe(img.configDigest.slice(7));
    const names = JSON.parse(k.ok(['images', '--json'])).flatMap((i: { names: string[] }) => i.names);
    expect(names).toContain('registry.invalid/team/app:1');
  });

  it('refuses a blocked registry in one line', () => {
    const { k } = kitWith(`${insecure()}[[registry]]\nlocation = "blocked.invalid"\nblocked = true\n`);
    expect(failure(k.cairn(['from', 'blocked.invalid/x:1']))).toMatch(/^cairn from: blocked\.invalid\/x:1 is blocked: registries\.conf blocks blocked\.invalid \(.*registries\.conf\)$/);
  });

  it('refuses an ambiguous short name in enforcing mode', () => {
    const { k } = kitWith(`short-name-mode = "enforcing"\nunqualified-search-registries = ["${empty.host}", "${open.host}"]\n${insecure()}`);
    expect(failure(k.cairn(['from', 'team/app:1']))).toBe(`cairn from: short name "team/app:1" is ambiguous: short-name-mode is enforcing and it could be any of ${empty.host}/team/app:1, ${open.host}/team/app:1`);
  });

  it('names every place it tried when no place has the image', async () => {
    const { k } = kitWith(`unqualified-search-registries = ["${empty.host}", "${open.host}"]\n${insecure()}`);
    expect(failure(await k.cairnAsync(['from', 'nothere:1']))).toBe(
      `cairn from: image nothere:1 not found: not in the store (localhost/nothere:1), ${empty.host}/nothere:1 (not found), ${open.host}/nothere:1 (not found)`,
    );
    expect(failure(k.cairn(['from', '--pull', 'never', 'nothere:1']))).toBe(
      `cairn from: image nothere:1 is not in the store (localhost/nothere:1, ${empty.host}/nothere:1, ${open.host}/nothere:1) and --pull never was given`,
    );
    expect(failure(k.cairn(['from', 'localhost/nothere:1']))).toBe('cairn from: image localhost/nothere:1 not found in the store');
  });
});
