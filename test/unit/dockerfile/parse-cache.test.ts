import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseDockerfile } from '../../../dsl/dockerfile/parse.js';
import { parseRemembered } from '../../../dsl/dockerfile/parse-cache.js';

/*
 * Parsed Dockerfiles remembered by text: a second parse of the same text by the same build is read back (the
 * same model the parser makes), another build, another name or another text is parsed again, a parse that
 * failed is not remembered, and an entry that is not a model is parsed again.
 */

const roots: string[] = [];
afterEach(() => {
  for (const d of roots.splice(0)) rmSync(d, { recursive: true, force: true });
});

function store(): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'cairn-parsecache-'));
  roots.push(root);
  return root;
}

const dir = (root: string) => path.join(root, 'cache', 'dockerfile-parsed');
/** Every entry, as BUILD/KEY.json. */
const entries = (root: string) => (readdirSync(dir(root), { recursive: true }) as string[]).filter((n) => n.endsWith('.json')).sort();

/** Changes the remembered model's first stage name, so a read of the entry shows. */
function mark(root: string): void {
  const f = path.join(dir(root), entries(root)[0]);
  const j = JSON.parse(readFileSync(f, 'utf8'));
  j.stages[0].name = 'marked';
  writeFileSync(f, JSON.stringify(j));
}

const TEXT = [
  '# syntax=docker/dockerfile:1',
  'ARG BASE=debian',
  'FROM ${BASE} AS build',
  'RUN --mount=type=cache,target=/var/cache/apt \\',
  '    apt-get update',
  'COPY --chmod=0755 <<EOF /usr/local/bin/hello',
  '#!/bin/sh',
  'echo hi',
  'EOF',
  '# checkpoint deps',
  'FROM scratch',
  'COPY --from=build /usr/local/bin/hello /hello',
  'CMD ["/hello"]',
  '',
].join('\n');

describe('parseRemembered', () => {
  it("gives the parser's model, then reads it back for the same build, name and text", async () => {
    const root = store();
    const first = await parseRemembered(TEXT, 'Dockerfile', root, 'b1');
    expect(first).toEqual(parseDockerfile(TEXT, 'Dockerfile'));
    expect(first.stages[0].instructions.map((i) => i.keyword)).toEqual(['RUN', 'COPY', 'CHECKPOINT']);
    expect(entries(root)).toHaveLength(1);
    expect(await parseRemembered(TEXT, 'Dockerfile', root, 'b1')).toEqual(first);
    mark(root);
    expect((await parseRemembered(TEXT, 'Dockerfile', root, 'b1')).stages[0].name).toBe('marked');
  });

  it('parses again for another build, another name or another text', async () => {
    const root = store();
    await parseRemembered(TEXT, 'Dockerfile', root, 'b1');
    mark(root);
    expect((await parseRemembered(TEXT, 'Dockerfile', root, 'b2')).stages[0].name).toBe('build');
    expect((await parseRemembered(TEXT, 'other/Dockerfile', root, 'b1')).stages[0].from.place.file).toBe('other/Dockerfile');
    expect((await parseRemembered(`${TEXT}USER nobody\n`, 'Dockerfile', root, 'b1')).stages[1].instructions.at(-1)?.text).toBe('USER nobody');
    // Each build's parse dropped the other's entries: b1's last two are left.
    expect(entries(root)).toHaveLength(2);
  });

  it("a build that parses drops the other builds' entries, and keeps its own", async () => {
    const root = store();
    await parseRemembered(TEXT, 'Dockerfile', root, 'old');
    await parseRemembered(`${TEXT}USER nobody\n`, 'Dockerfile', root, 'old');
    const old = entries(root);
    expect(old).toHaveLength(2);
    await parseRemembered(TEXT, 'Dockerfile', root, 'new');
    const mine = entries(root).filter((e) => !old.includes(e));
    expect(mine).toHaveLength(1);
    expect(entries(root)).toEqual(mine);
    // A read of its own entry (no parse) changes nothing.
    mark(root);
    expect((await parseRemembered(TEXT, 'Dockerfile', root, 'new')).stages[0].name).toBe('marked');
    expect(entries(root)).toEqual(mine);
  });

  it('remembers nothing without a build ID, nor a parse that failed', async () => {
    const root = store();
    await parseRemembered(TEXT, 'Dockerfile', root, undefined);
    await expect(parseRemembered('FROM scratch\nBOGUS x\n', 'Dockerfile', root, 'b1')).rejects.toThrow(/Dockerfile:2:1: unknown instruction BOGUS/);
    expect(() => entries(root)).toThrow(/ENOENT/);
  });

  it('parses again over an entry that is not a model', async () => {
    const root = store();
    await parseRemembered(TEXT, 'Dockerfile', root, 'b1');
    writeFileSync(path.join(dir(root), entries(root)[0]), '{"file": "Dockerfile", "stages": 3}');
    expect(await parseRemembered(TEXT, 'Dockerfile', root, 'b1')).toEqual(parseDockerfile(TEXT, 'Dockerfile'));
  });
});
