import { describe, expect, it } from 'vitest';
import { parseDockerfile } from '../../../dsl/dockerfile/parse.js';
import { neededStages, stageRef } from '../../../dsl/dockerfile/stages.js';

const DF = [
  'ARG BASE=base',
  'FROM alpine AS base', // 0
  'FROM base AS build', // 1
  'FROM golang AS tools', // 2
  'FROM scratch AS unused', // 3
  'FROM alpine AS test', // 4
  'COPY --from=1 /out /out',
  'RUN --mount=type=bind,from=tools,target=/t make test',
  'FROM ${BASE} AS final', // 5
  'COPY --from=build /out /',
  'COPY --from=docker.io/library/busybox /bin/sh /sh',
].join('\n');

describe('neededStages', () => {
  const df = parseDockerfile(DF, 'Dockerfile');
  it.each([
    [undefined, ['base', 'build', 'final'], (n: string) => (n === 'BASE' ? 'base' : undefined)],
    ['test', ['base', 'build', 'tools', 'test'], undefined],
    ['TOOLS', ['tools'], undefined],
    ['unused', ['unused'], undefined],
  ] as const)('--target %s needs %j', (target, want, lookup) => {
    expect(neededStages(df, target, lookup).map((s) => s.name)).toEqual(want);
  });

  it('expands FROM references with the global ARGs only when given them', () => {
    const d = parseDockerfile('ARG B=x\nFROM alpine AS x\nFROM alpine AS y\nFROM ${B}\n', 'Dockerfile');
    expect(neededStages(d, undefined, (n) => (n === 'B' ? 'x' : undefined)).map((s) => s.index)).toEqual([0, 2]);
    expect(neededStages(d).map((s) => s.index)).toEqual([2]);
  });

  it('names the stages when the target is unknown', () => {
    expect(() => neededStages(df, 'nope')).toThrow(expect.objectContaining({
      message: 'Dockerfile: no stage named "nope" (--target)',
      hint: 'the stages are named: base, build, tools, unused, test, final',
    }));
  });

  it.each([
    ['FROM a AS x\nFROM x AS x2\nCOPY --from=x2 / /\n', undefined, 'Dockerfile:3:1: stage "x2" refers to itself'],
    ['FROM a AS x\nCOPY --from=y / /\nFROM a AS y\n', 'x', 'Dockerfile:2:1: stage "y" is defined later (a cycle)'],
    ['FROM a AS x\nFROM x\nFROM y AS y\n', undefined, 'Dockerfile:3:1: stage "y" refers to itself'],
    ['FROM a\nCOPY --from=0 / /\n', undefined, 'Dockerfile:2:1: stage 0 is not an earlier stage'],
    ['FROM a\nFROM b\nRUN --mount=from=5 x\n', undefined, 'Dockerfile:3:1: stage 5 is not an earlier stage'],
  ])('%j (target %s) is an error', (text, target, message) => {
    expect(() => neededStages(parseDockerfile(text, 'Dockerfile'), target)).toThrow(message);
  });
});

describe('stageRef', () => {
  const df = parseDockerfile(DF, 'Dockerfile');
  it.each([
    ['base', 5, 'base'],
    ['BUILD', 5, 'build'],
    ['2', 5, 'tools'],
    ['alpine', 5, undefined],
    ['docker.io/library/busybox', 5, undefined],
  ])('%s before stage %i is %s', (ref, before, want) => {
    const s = stageRef(df, ref, before);
    expect(s?.name).toBe(want);
  });
});
