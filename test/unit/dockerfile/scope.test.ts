import { describe, expect, it } from 'vitest';
import { parseDockerfile } from '../../../dsl/dockerfile/parse.js';
import { BuildScope, platformArgs } from '../../../dsl/dockerfile/scope.js';

const target = { os: 'linux', arch: 'arm', variant: 'v7' };
const build = { os: 'linux', arch: 'amd64' };

/** Declares the stage's ARGs (and ENVs, as k=v) in order, and answers the lookup of names. */
function stageOf(text: string, buildArgs: Record<string, string> = {}, imageEnv: string[] = []) {
  const df = parseDockerfile(text, 'Dockerfile');
  const scope = BuildScope.create(df, buildArgs, target, build);
  const st = scope.stage(imageEnv);
  for (const ins of df.stages[0].instructions) {
    if (ins.keyword === 'ARG') st.declareArg(ins);
    if (ins.keyword === 'ENV') for (const kv of ins.args[0].split(' ')) st.setEnv(kv.split('=')[0], kv.split('=')[1]);
  }
  return { scope, st };
}

describe('BuildScope and StageScope', () => {
  it.each([
    // [Dockerfile, build args, name, value the stage sees]
    ['ARG G=g\nFROM a\n', {}, 'G', undefined],
    ['ARG G=g\nFROM a\nARG G\n', {}, 'G', 'g'],
    ['ARG G=g\nFROM a\nARG G\n', { G: 'cli' }, 'G', 'cli'],
    ['ARG G=g\nFROM a\nARG G=own\n', {}, 'G', 'own'],
    ['FROM a\nARG S=def\n', {}, 'S', 'def'],
    ['FROM a\nARG S=def\n', { S: 'cli' }, 'S', 'cli'],
    ['FROM a\nARG S\n', {}, 'S', undefined],
    ['FROM a\nARG S\n', { S: '' }, 'S', ''],
    ['FROM a\n', { S: 'cli' }, 'S', undefined],
    ['FROM a\nARG A=1\nARG B=${A}2\n', {}, 'B', '12'],
    ['FROM a\nARG A=1\nENV A=env\n', {}, 'A', 'env'],
    ['FROM a\nENV A=env\nARG A=1\n', { A: 'cli' }, 'A', 'env'],
    ['FROM a\n', {}, 'TARGETARCH', undefined],
    ['FROM a\nARG TARGETARCH\n', {}, 'TARGETARCH', 'arm'],
    ['FROM a\nARG TARGETPLATFORM BUILDOS\n', {}, 'TARGETPLATFORM', 'linux/arm/v7'],
    ['FROM a\nARG BUILDPLATFORM\n', {}, 'BUILDPLATFORM', 'linux/amd64'],
    ['FROM a\n', { HTTP_PROXY: 'http://p' }, 'HTTP_PROXY', undefined],
  ] as [string, Record<string, string>, string, string | undefined][])('%j with %j: %s is %j', (text, args, name, want) => {
    expect(stageOf(text, args).st.lookup(name)).toBe(want);
  });

  it('lets the image env win over an ARG and shows both in the RUN environment, proxies too', () => {
    const { st } = stageOf('FROM a\nARG PATH=/x\nARG V=1\nARG NOVAL\n', { http_proxy: 'http://p' }, ['PATH=/usr/bin']);
    expect(st.lookup('PATH')).toBe('/usr/bin');
    expect(st.runEnv().sort()).toEqual(['PATH=/usr/bin', 'V=1', 'http_proxy=http://p']);
    expect(st.usedArgs()).toEqual({ PATH: '/x', V: '1' });
    expect(st.envList()).toEqual(['PATH=/usr/bin']);
  });

  it('expands global ARGs for FROM lines, with the platform args available undeclared', () => {
    const df = parseDockerfile('ARG BASE=alpine\nARG TAG=${BASE}-3\nARG NONE\nFROM x\n', 'Dockerfile');
    const look = BuildScope.create(df, { BASE: 'debian' }, target, build).fromLookup();
    expect(['BASE', 'TAG', 'NONE', 'BUILDARCH', 'TARGETVARIANT', 'HOME'].map(look)).toEqual(['debian', 'debian-3', undefined, 'amd64', 'v7', undefined]);
  });

  it('reports the build args no ARG declared, never the proxies', () => {
    const { scope } = stageOf('ARG G\nFROM a\nARG S\n', { G: '1', S: '2', extra: '3', HTTPS_PROXY: 'p', TARGETARCH: 'x' });
    expect(scope.unusedBuildArgs()).toEqual(['TARGETARCH', 'extra']);
  });

  it('spells the platform args as Docker does', () => {
    expect(platformArgs({ os: 'linux', arch: 'arm64' }, { os: 'linux', arch: 'arm', variant: 'v6' })).toEqual({
      TARGETPLATFORM: 'linux/arm64', TARGETOS: 'linux', TARGETARCH: 'arm64', TARGETVARIANT: '',
      BUILDPLATFORM: 'linux/arm/v6', BUILDOS: 'linux', BUILDARCH: 'arm', BUILDVARIANT: 'v6',
    });
  });
});
