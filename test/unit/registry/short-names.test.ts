import { describe, expect, it } from 'vitest';
import { BadInputError } from '../../../dsl/core/errors.js';
import { emptyConf, parseRegistriesConf } from '../../../dsl/registry/registries-conf.js';
import { BlockedRegistryError, pullSources, resolveShortName, ShortNameError } from '../../../dsl/registry/short-names.js';

const conf = (text: string) => parseRegistriesConf(text, 'test.conf');

describe('resolveShortName', () => {
  it('takes Docker Hub when there is no registries.conf at all', () => {
    expect(resolveShortName(emptyConf(), 'debian:bookworm')).toEqual({ how: 'search', candidates: ['docker.io/library/debian:bookworm'], origin: undefined });
    expect(resolveShortName(emptyConf(), 'team/app').candidates).toEqual(['docker.io/team/app:latest']);
  });

  it.each([
    ['a qualified name as it is', '', 'quay.io/team/app:1', 'qualified', ['quay.io/team/app:1']],
    ['Docker Hub spelled short', '', 'docker.io/debian', 'qualified', ['docker.io/library/debian:latest']],
    ['a digest', '', 'alpine@sha256:' + 'a'.repeat(64), 'search', ['docker.io/library/alpine@sha256:' + 'a'.repeat(64)]],
    ['the search list in order', 'unqualified-search-registries = ["q.io", "docker.io"]', 'app:2', 'search', ['q.io/app:2', 'docker.io/library/app:2']],
    ['an alias first', 'unqualified-search-registries = ["q.io"]\n[aliases]\n"app" = "r.io/team/app"', 'app:3', 'alias', ['r.io/team/app:3']],
    ['a reset alias as no alias', '[aliases]\n"app" = ""', 'app', 'search', ['docker.io/library/app:latest']],
    ['permissive mode: every registry', 'short-name-mode = "permissive"\nunqualified-search-registries = ["a.io", "b.io"]', 'x', 'search', ['a.io/x:latest', 'b.io/x:latest']],
    ['enforcing with one registry', 'short-name-mode = "enforcing"\nunqualified-search-registries = ["a.io"]', 'x', 'search', ['a.io/x:latest']],
    ['enforcing with an alias', 'short-name-mode = "enforcing"\nunqualified-search-registries = ["a.io", "b.io"]\n[aliases]\n"x" = "b.io/x"', 'x', 'alias', ['b.io/x:latest']],
  ])('resolves %s', (_why, text, name, how, candidates) => {
    const r = resolveShortName(conf(text), name);
    expect(r.how).toBe(how);
    expect(r.candidates).toEqual(candidates);
  });

  it('refuses an ambiguous short name in enforcing mode, naming the candidates', () => {
    const c = conf('short-name-mode = "enforcing"\nunqualified-search-registries = ["a.io", "b.io"]');
    expect(() => resolveShortName(c, 'x:1')).toThrow(ShortNameError);
    expect(() => resolveShortName(c, 'x:1')).toThrow('short name "x:1" is ambiguous: short-name-mode is enforcing and it could be any of a.io/x:1, b.io/x:1');
  });

  it('refuses a short name when the search list is empty', () => {
    expect(() => resolveShortName(conf('unqualified-search-registries = []'), 'x')).toThrow(/no unqualified-search registries are set in test.conf/);
  });
});

describe('pullSources', () => {
  it('rewrites the prefix to the location, mirrors first, insecure kept', () => {
    const c = conf([
      '[[registry]]',
      'prefix = "example.com/foo"',
      'location = "internal.io:5000/bar"',
      '[[registry.mirror]]',
      'location = "m1.io/mirror"',
      'insecure = true',
      '[[registry.mirror]]',
      'location = "m2.io"',
      'pull-from-mirror = "digest-only"',
    ].join('\n'));
    expect(pullSources(c, 'example.com/foo/app:1')).toEqual([
      { ref: 'm1.io/mirror/app:1', insecure: true, mirror: true },
      { ref: 'internal.io:5000/bar/app:1', insecure: false, mirror: false },
    ]);
    const d = 'sha256:' + 'b'.repeat(64);
    expect(pullSources(c, `example.com/foo/app@${d}`).map((s) => s.ref)).toEqual([`m1.io/mirror/app@${d}`, `m2.io/app@${d}`, `internal.io:5000/bar/app@${d}`]);
  });

  it('leaves a name no [[registry]] matches as it is', () => {
    expect(pullSources(emptyConf(), 'docker.io/library/debian:bookworm')).toEqual([{ ref: 'docker.io/library/debian:bookworm', insecure: false, mirror: false }]);
  });

  it('keeps the host of a wildcard prefix, and refuses a blocked registry', () => {
    const c = conf('[[registry]]\nprefix = "*.example.com"\ninsecure = true\n[[registry]]\nlocation = "bad.io"\nblocked = true\n');
    expect(pullSources(c, 'a.example.com/x:1')).toEqual([{ ref: 'a.example.com/x:1', insecure: true, mirror: false }]);
    expect(() => pullSources(c, 'bad.io/x:1')).toThrow(BlockedRegistryError);
    expect(() => pullSources(c, 'bad.io/x:1')).toThrow(BadInputError);
    expect(() => pullSources(c, 'bad.io/x:1')).toThrow('bad.io/x:1 is blocked: registries.conf blocks bad.io (test.conf)');
  });
});
