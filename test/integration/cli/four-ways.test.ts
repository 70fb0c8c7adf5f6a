import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAIRN, cliKit, type CliKit } from '../../kit/cli.js';

/*
 * docs/four-ways.md: one build written as CLI verbs (build.sh), a build script (four.build.mjs) and a `cairn shell`
 * script (four.cairn), each run against a store of its own with SOURCE_DATE_EPOCH=0, gives one image ID: the same
 * layers, the same config, the same history. (The fourth way, the Dockerfile, is tested when cairn reads Dockerfiles.)
 */

const recipe = path.resolve(__dirname, '../../../recipes/four-ways');
const IMAGE = 'localhost/four-ways:latest';
const env = { SOURCE_DATE_EPOCH: '0' };

/** What a way built: the image ID it printed and the image as `cairn inspect` shows it. */
interface Built {
  printed: string;
  image: { id: string; manifest: { layers: unknown[] }; config: ImageConfig };
}
interface ImageConfig {
  created: string;
  config: { Env?: string[]; Labels?: Record<string, string>; Cmd?: string[] };
  rootfs: { diff_ids: string[] };
  history: { created_by: string; comment?: string; empty_layer?: boolean }[];
}

const kits: Record<string, CliKit> = {};
const built: Record<string, Built> = {};

/** Runs one way in a fresh store; `printed` is the last line of what it printed (the image ID). */
function build(way: string, run: (k: CliKit) => string): Built {
  const k = (kits[way] = cliKit(`cairn-four-ways-${way}-`, env));
  const out = run(k).trim().split('\n');
  return { printed: out[out.length - 1], image: JSON.parse(k.ok(['inspect', IMAGE])) };
}

beforeAll(() => {
  built.cli = build('cli', (k) => {
    const r = spawnSync('sh', [path.join(recipe, 'build.sh'), IMAGE], { encoding: 'utf8', env: { ...process.env, ...env, CAIRN, CAIRN_ROOT: k.root } });
    if (r.status !== 0) throw new Error(`build.sh exited ${r.status}: ${r.stderr}`);
    return r.stdout;
  });
  built.script = build('script', (k) => k.ok(['build', path.join(recipe, 'four.build.mjs'), IMAGE]));
  built.shell = build('shell', (k) => k.ok(['shell', 'four.cairn'], { cwd: recipe }));
}, 180_000);
afterAll(() => {
  for (const k of Object.values(kits)) k.cleanup();
});

describe('one build four ways', () => {
  it('the CLI verbs, the build script and the shell script give the same image ID', () => {
    const { cli, script, shell } = built;
    expect(cli.printed).toBe(cli.image.id);
    expect(script.printed).toBe(script.image.id);
    expect(shell.printed).toBe(shell.image.id);
    expect(script.image.id).toBe(cli.image.id);
    expect(shell.image.id).toBe(cli.image.id);
  });

  it('the image is the one the page shows: two layers, a config and three history entries', () => {
    const { config, manifest } = built.cli.image;
    expect(manifest.layers).toHaveLength(2);
    expect(config.rootfs.diff_ids).toHaveLength(2);
    expect(config.created).toBe('1970-01-01T00:00:00Z');
    expect(config.config.Env).toEqual(['GREETING=hello']);
    expect(config.config.Labels).toEqual({ 'org.opencontainers.image.title': 'four-ways' });
    expect(config.history.map((h) => [h.created_by, h.comment ?? null, h.empty_layer ?? false])).toEqual([
      ['COPY index.html /srv/www/index.html', 'page', false],
      ['COPY motd /etc/motd', 'motd', false],
      ['/bin/sh -c #(nop) ENV GREETING=hello && /bin/sh -c #(nop) LABEL org.opencontainers.image.title=four-ways', null, true],
    ]);
  });

  it("the image holds the context's files where the build put them", () => {
    const k = kits.cli;
    const ctr = k.ok(['from', IMAGE]);
    try {
      const root = k.ok(['mount', ctr]); // a path host tools can read, also for a normal user
      for (const [file, at] of [['index.html', 'srv/www/index.html'], ['motd', 'etc/motd']]) {
        expect(readFileSync(path.join(root, at), 'utf8')).toBe(readFileSync(path.join(recipe, file), 'utf8'));
      }
    } finally {
      k.ok(['rm', ctr]);
    }
  });
});
