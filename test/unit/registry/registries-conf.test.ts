import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BadInputError, NotFoundError } from '../../../dsl/core/errors.js';
import { confFiles, findRegistry, loadRegistriesConf, matchesPrefix, parseRegistriesConf, searchRegistries } from '../../../dsl/registry/registries-conf.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A fake machine: HOME and /etc/containers under a temp dir, files written as given. */
function machine(files: Record<string, string>): { home: string; etc: string; root: string } {
  const root = mkdtempSync(path.join(os.tmpdir(), 'cairn-regconf-'));
  dirs.push(root);
  for (const [name, text] of Object.entries(files)) {
    const f = path.join(root, name);
    mkdirSync(path.dirname(f), { recursive: true });
    writeFileSync(f, text);
  }
  return { root, home: path.join(root, 'home'), etc: path.join(root, 'etc') };
}

describe('parseRegistriesConf', () => {
  it('reads the v2 keys', () => {
    const c = parseRegistriesConf(
      [
        'unqualified-search-registries = ["quay.io", "docker.io"]',
        'short-name-mode = "enforcing"',
        '[aliases]',
        '"app" = "quay.io/team/app"',
        '"deb" = "docker.io/debian"',
        '[[registry]]',
        'prefix = "example.com/foo"',
        'location = "internal.example.com:5000/bar"',
        'insecure = true',
        '[[registry.mirror]]',
        'location = "mirror.example.com"',
        '[[registry]]',
        'location = "evil.example.com"',
        'blocked = true',
      ].join('\n'),
      'r.conf',
    );
    expect(c.search).toEqual(['quay.io', 'docker.io']);
    expect(c.shortNameMode).toBe('enforcing');
    expect(c.aliases.get('app')?.value).toBe('quay.io/team/app');
    expect(c.aliases.get('deb')?.value).toBe('docker.io/library/debian');
    expect(c.registries).toMatchObject([
      { prefix: 'example.com/foo', location: 'internal.example.com:5000/bar', insecure: true, blocked: false, mirrors: [{ location: 'mirror.example.com', insecure: false, pullFromMirror: 'all' }] },
      { prefix: 'evil.example.com', location: 'evil.example.com', blocked: true },
    ]);
  });

  it('reads the v1 tables', () => {
    const c = parseRegistriesConf('[registries.search]\nregistries = ["a.io"]\n[registries.insecure]\nregistries = ["b.io:5000"]\n[registries.block]\nregistries = ["c.io"]\n', 'v1.conf');
    expect(c.search).toEqual(['a.io']);
    expect(findRegistry(c, 'b.io:5000/x')).toMatchObject({ insecure: true, blocked: false });
    expect(findRegistry(c, 'c.io/x')).toMatchObject({ blocked: true });
  });

  it.each([
    ['not TOML', 'x = ', /not valid TOML/],
    ['a URL location', '[[registry]]\nlocation = "https://x.io"', /URL schemes are not supported/],
    ['a bad mode', 'short-name-mode = "sometimes"', /short-name-mode must be/],
    ['a search entry with a path', 'unqualified-search-registries = ["x.io/ns"]', /is not a host\[:port\]/],
    ['an alias with a tag', '[aliases]\n"a:1" = "x.io/a"', /must be a short name/],
    ['an alias value without registry', '[aliases]\n"a" = "a"', /must name its registry/],
    ['an alias value with a tag', '[aliases]\n"a" = "x.io/a:1"', /must not have a tag/],
    ['v1 and v2 mixed', 'unqualified-search-registries = []\n[registries.search]\nregistries = ["a.io"]', /mixing/],
    ['a wildcard with a location', '[[registry]]\nprefix = "*.x.io"\nlocation = "y.io"', /wildcard prefix takes no location/],
  ])('refuses %s', (_why, text, re) => {
    expect(() => parseRegistriesConf(text, 'bad.conf')).toThrow(BadInputError);
    expect(() => parseRegistriesConf(text, 'bad.conf')).toThrow(re);
  });
});

describe('matchesPrefix and findRegistry', () => {
  it.each([
    ['example.com/foo/bar', 'example.com/foo', true],
    ['example.com/foobar', 'example.com/foo', false],
    ['example.com', 'example.com', true],
    ['a.example.com/x', '*.example.com', true],
    ['example.com/x', '*.example.com', false],
    ['a.example.com:5000/x', '*.example.com', true],
  ])('%s under %s: %s', (ref, prefix, want) => {
    expect(matchesPrefix(ref, prefix)).toBe(want);
  });

  it('takes the longest prefix, and an exact one over a wildcard', () => {
    const c = parseRegistriesConf('[[registry]]\nprefix = "*.example.com"\nblocked = true\n[[registry]]\nlocation = "a.example.com"\n[[registry]]\nlocation = "a.example.com/deep"\n', 'p.conf');
    expect(findRegistry(c, 'a.example.com/deep/x')?.prefix).toBe('a.example.com/deep');
    expect(findRegistry(c, 'a.example.com/x')?.prefix).toBe('a.example.com');
    expect(findRegistry(c, 'b.example.com/x')?.prefix).toBe('*.example.com');
    expect(findRegistry(c, 'other.io/x')).toBeUndefined();
  });
});

describe('loadRegistriesConf', () => {
  it('merges the main file, drop-ins in name order and the alias cache', () => {
    const m = machine({
      'etc/registries.conf': 'unqualified-search-registries = ["a.io"]\n[aliases]\n"x" = "a.io/x"\n"y" = "a.io/y"\n[[registry]]\nlocation = "a.io"\n',
      'etc/registries.conf.d/10-b.conf': 'unqualified-search-registries = ["b.io"]\n[aliases]\n"y" = ""\n',
      'etc/registries.conf.d/20-c.conf': '[[registry]]\nlocation = "a.io"\ninsecure = true\n',
      'etc/registries.conf.d/ignored.txt': 'not = [toml',
      'home/.cache/containers/short-name-aliases.conf': '[aliases]\n"x" = "cache.io/x"\n',
    });
    const c = loadRegistriesConf({ env: {}, home: m.home, etc: m.etc, uid: 1000 });
    expect(searchRegistries(c)).toEqual(['b.io']);
    expect(c.aliases.get('x')?.value).toBe('cache.io/x');
    expect(c.aliases.get('y')?.value).toBeNull();
    expect(c.registries).toHaveLength(1);
    expect(c.registries[0]).toMatchObject({ location: 'a.io', insecure: true });
  });

  it('defaults the search list to docker.io when no file sets it, and keeps an explicit empty list', () => {
    const none = machine({});
    expect(searchRegistries(loadRegistriesConf({ env: {}, home: none.home, etc: none.etc, uid: 1000 }))).toEqual(['docker.io']);
    const silent = machine({ 'etc/registries.conf': '# nothing set\n' });
    expect(searchRegistries(loadRegistriesConf({ env: {}, home: silent.home, etc: silent.etc, uid: 1000 }))).toEqual(['docker.io']);
    const empty = machine({ 'etc/registries.conf': 'unqualified-search-registries = []\n' });
    expect(searchRegistries(loadRegistriesConf({ env: {}, home: empty.home, etc: empty.etc, uid: 1000 }))).toEqual([]);
  });

  it('takes CONTAINERS_REGISTRIES_CONF over the user and system files', () => {
    const m = machine({
      'etc/registries.conf': 'unqualified-search-registries = ["sys.io"]\n',
      'home/.config/containers/registries.conf': 'unqualified-search-registries = ["user.io"]\n',
      'env.conf': 'unqualified-search-registries = ["env.io"]\n',
    });
    expect(searchRegistries(loadRegistriesConf({ env: {}, home: m.home, etc: m.etc, uid: 1000 }))).toEqual(['user.io']);
    const env = { CONTAINERS_REGISTRIES_CONF: path.join(m.root, 'env.conf') };
    expect(searchRegistries(loadRegistriesConf({ env, home: m.home, etc: m.etc, uid: 1000 }))).toEqual(['env.io']);
    expect(confFiles({ env, home: m.home, etc: m.etc, uid: 1000 }).main).toBe(env.CONTAINERS_REGISTRIES_CONF);
  });

  it('refuses a CONTAINERS_REGISTRIES_CONF that is not a file', () => {
    const m = machine({});
    expect(() => loadRegistriesConf({ env: { CONTAINERS_REGISTRIES_CONF: path.join(m.root, 'missing.conf') }, home: m.home, etc: m.etc })).toThrow(NotFoundError);
  });

  it('reads the user drop-ins but not the system ones when the user has a registries.conf', () => {
    const m = machine({
      'etc/registries.conf.d/a.conf': '[aliases]\n"sys" = "sys.io/sys"\n',
      'home/.config/containers/registries.conf': '',
      'home/.config/containers/registries.conf.d/a.conf': '[aliases]\n"usr" = "usr.io/usr"\n',
    });
    const c = loadRegistriesConf({ env: {}, home: m.home, etc: m.etc, uid: 1000 });
    expect([...c.aliases.keys()]).toEqual(['usr']);
  });
});
