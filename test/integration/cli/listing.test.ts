import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliKit, type CliKit } from '../../kit/cli.js';
import { smallRootfsTar } from '../../kit/tiny.js';

/* What scripts read from the listing verbs: -q, --format json and templates, --filter, as buildah's. */

let k: CliKit;
let labelled: string;
let plain: string;
let c: string;
beforeAll(() => {
  k = cliKit();
  c = k.ok(['from', '--name', 'lister', `tarball:${smallRootfsTar()}`]);
  k.ok(['config', '--label', 'tier=web', c]);
  labelled = k.ok(['commit', c, 'localhost/web:1']);
  plain = k.ok(['commit', c]);
  k.ok(['config', '--label', 'tier=db', c]);
  k.ok(['commit', c, 'other/db:2']);
});
afterAll(() => k.cleanup());

describe('images', () => {
  it('-q prints the IDs, --no-trunc whole', () => {
    const ids = k.ok(['images', '-q']).split('\n');
    // The three commits and the tarball base from stores.
    expect(ids).toHaveLength(4);
    expect(ids).toContain(labelled.slice(0, 12));
    expect(k.ok(['images', '-q', '--no-trunc']).split('\n')).toContain(labelled);
  });

  it('--filter reference, dangling and label keep what matches', () => {
    expect(k.ok(['images', '-q', '--filter', 'reference=localhost/w*'])).toBe(labelled.slice(0, 12));
    expect(k.ok(['images', '-q', '--filter', 'reference=other/db:2'])).not.toBe('');
    // Unnamed: the commit without a name, and the tarball base.
    expect(k.ok(['images', '-q', '--filter', 'dangling=true']).split('\n')).toEqual(expect.arrayContaining([plain.slice(0, 12)]));
    expect(k.ok(['images', '-q', '--filter', 'dangling=false']).split('\n')).toHaveLength(2);
    expect(k.ok(['images', '-q', '--filter', 'label=tier=web']).split('\n').sort()).toEqual([labelled.slice(0, 12), plain.slice(0, 12)].sort());
    expect(k.ok(['images', '-q', '--filter', 'label=tier=db', '--filter', 'dangling=false'])).toBe(k.ok(['images', '-q', '--filter', 'reference=other/db']));
    expect(k.ok(['images', '-q', '--filter', 'label=tier']).split('\n')).toHaveLength(3);
    expect(k.cairn(['images', '--filter', 'size=1']).status).toBe(125);
  });

  it('--format renders a template per name, or JSON', () => {
    expect(k.ok(['images', '--filter', 'reference=localhost/web', '--format', '{{.ID}} {{.Name}}:{{.Tag}}'])).toBe(`${labelled.slice(0, 12)} localhost/web:1`);
    expect(JSON.parse(k.ok(['images', '--format', 'json']))).toEqual(JSON.parse(k.ok(['images', '--json'])));
    const size = JSON.parse(k.ok(['inspect', 'localhost/web:1'])).manifest.layers.reduce((n: number, l: { size: number }) => n + l.size, 0);
    expect(k.ok(['images', '--filter', 'reference=localhost/web', '--format', '{{.Size}} {{.ReadOnly}}'])).toBe(`${size} false`);
  });
});

describe('containers and inspect', () => {
  it('containers -q, --filter and --format as buildah names the fields', () => {
    const id = JSON.parse(k.ok(['inspect', c])).id as string;
    expect(k.ok(['containers', '-q'])).toBe(id.slice(0, 12));
    expect(k.ok(['containers', '--filter', 'name=lister', '--format', '{{.ContainerName}} {{.ImageName}} {{.Builder}}'])).toBe(`lister tarball:${smallRootfsTar()} *`);
    expect(k.ok(['containers', '--filter', 'name=nobody', '-q'])).toBe('');
  });

  it('config --annotation is written into the committed manifest; --arch and --os into the config', () => {
    const c2 = k.ok(['from', `tarball:${smallRootfsTar()}`]);
    k.ok(['config', '--annotation', 'org.opencontainers.image.source=https://example.com/x', '--arch', 'arm64', '--os', 'linux', c2]);
    k.ok(['commit', '--rm', c2, 'localhost/annotated']);
    expect(k.ok(['inspect', '--format', '{{json .Manifest.annotations}} {{.Config.architecture}}', 'localhost/annotated'])).toBe('{"org.opencontainers.image.source":"https://example.com/x"} arm64');
  });

  it('inspect --format reaches into the JSON', () => {
    expect(k.ok(['inspect', '--format', '{{.Config.Config.Labels}}', 'localhost/web:1'])).toBe('{"tier":"web"}');
    expect(k.ok(['inspect', '--format', '{{json .Name}}', 'lister'])).toBe('"lister"');
  });
});
