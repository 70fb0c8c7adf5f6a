import { describe, expect, it } from 'vitest';
import { parseDockerfile } from '../../../dsl/dockerfile/parse.js';
import type { Instruction } from '../../../dsl/dockerfile/model.js';

/** The instructions of the first stage of `FROM a` followed by body. */
function body(text: string): Instruction[] {
  return parseDockerfile(`FROM a\n${text}`, 'Dockerfile').stages[0].instructions;
}

describe('parseDockerfile: instruction kinds and forms', () => {
  it.each([
    ['RUN echo hi', 'RUN', ['echo hi'], false],
    ['run echo hi', 'RUN', ['echo hi'], false],
    ['RUN ["echo", "a\\"b"]', 'RUN', ['echo', 'a"b'], true],
    ['RUN [ "a" ,', 'RUN', ['[ "a" ,'], false],
    ['CMD ["x"]', 'CMD', ['x'], true],
    ['ENTRYPOINT exec x', 'ENTRYPOINT', ['exec x'], false],
    ['SHELL ["/bin/bash", "-c"]', 'SHELL', ['/bin/bash', '-c'], true],
    ['COPY a b /c/', 'COPY', ['a b /c/'], false],
    ['COPY ["a b", "/c/"]', 'COPY', ['a b', '/c/'], true],
    ['ADD x.tgz /', 'ADD', ['x.tgz /'], false],
    ['ENV a=1 b="2 3"', 'ENV', ['a=1 b="2 3"'], false],
    ['ENV a value with spaces', 'ENV', ['a value with spaces'], false],
    ['ARG V=1', 'ARG', ['V=1'], false],
    ['WORKDIR /w', 'WORKDIR', ['/w'], false],
    ['USER 1000:1000', 'USER', ['1000:1000'], false],
    ['LABEL a=b', 'LABEL', ['a=b'], false],
    ['EXPOSE 80/tcp 53/udp', 'EXPOSE', ['80/tcp 53/udp'], false],
    ['VOLUME ["/v"]', 'VOLUME', ['/v'], true],
    ['VOLUME /v /w', 'VOLUME', ['/v /w'], false],
    ['STOPSIGNAL SIGTERM', 'STOPSIGNAL', ['SIGTERM'], false],
    ['HEALTHCHECK --interval=5s CMD ["curl", "x"]', 'HEALTHCHECK', ['curl', 'x'], true],
    ['HEALTHCHECK CMD curl -f x', 'HEALTHCHECK', ['CMD curl -f x'], false],
    ['HEALTHCHECK NONE', 'HEALTHCHECK', ['NONE'], false],
    ['ONBUILD RUN make', 'ONBUILD', ['RUN make'], false],
    ['MAINTAINER me <me@x>', 'MAINTAINER', ['me <me@x>'], false],
  ])('%s', (line, keyword, args, json) => {
    const [ins] = body(line);
    expect(ins).toMatchObject({ keyword, args, json, place: { file: 'Dockerfile', line: 2, column: 1 } });
  });

  it('splits flags off, values unquoted, with their places', () => {
    const [ins] = body('COPY --from=build --chmod=755 --link "--x" a /b');
    expect(ins.flags).toEqual([
      { name: 'from', value: 'build', place: { file: 'Dockerfile', line: 2, column: 6 } },
      { name: 'chmod', value: '755', place: { file: 'Dockerfile', line: 2, column: 19 } },
      { name: 'link', value: undefined, place: { file: 'Dockerfile', line: 2, column: 31 } },
    ]);
    expect(ins.args).toEqual(['"--x" a /b']);
    const [run] = body('RUN --mount=type=cache,target="/root/.cache" --network=none make');
    expect(run.flags.map((f) => [f.name, f.value])).toEqual([['mount', 'type=cache,target=/root/.cache'], ['network', 'none']]);
    expect(run.args).toEqual(['make']);
  });

  it('joins continuations as Docker does, skipping comment and blank lines', () => {
    const [ins, next] = body('RUN apt-get install \\\n  # a comment\n\n  foo \\  \n  bar\nUSER x');
    expect(ins.args).toEqual(['apt-get install   foo   bar']);
    expect(ins.text).toBe('RUN apt-get install   foo   bar');
    expect(next).toMatchObject({ keyword: 'USER', place: { line: 7 } });
  });

  it('honours the escape directive (backtick) and ignores the syntax directive', () => {
    const df = parseDockerfile('# syntax=docker/dockerfile:1\n# escape=`\nFROM a\nRUN dir C:\\ `\n  /s\n', 'Dockerfile');
    expect(df.escape).toBe('`');
    expect(df.stages[0].instructions[0].args).toEqual(['dir C:\\   /s']);
  });

  it('reads heredocs: several on a line, <<- strips tabs, quoted delimiters do not expand', () => {
    const [run, copy, add] = body('RUN <<EOF cat >/x && <<-"END" cat\nhello $X\nEOF\n\tworld\n\tEND\nCOPY <<\'A\' /a\n$v\nA\nADD <<B /b\nB\n');
    expect(run.args).toEqual(['<<EOF cat >/x && <<-"END" cat']);
    expect(run.heredocs).toEqual([
      { name: 'EOF', content: 'hello $X\n', expand: true },
      { name: 'END', content: 'world\n', expand: false },
    ]);
    expect(copy.heredocs).toEqual([{ name: 'A', content: '$v\n', expand: false }]);
    expect(add.heredocs).toEqual([{ name: 'B', content: '', expand: true }]);
  });

  it('turns `# checkpoint MESSAGE` comment lines into CHECKPOINT, anywhere in a stage, not inside a continuation', () => {
    const ins = body('# checkpoint base tools\nRUN a \\\n# checkpoint not one\n b\n#   Checkpoint   second\n# checkpointing is a comment');
    expect(ins.map((i) => [i.keyword, i.args])).toEqual([['CHECKPOINT', ['base tools']], ['RUN', ['a  b']], ['CHECKPOINT', ['second']]]);
    expect(ins[0].place).toEqual({ file: 'Dockerfile', line: 2, column: 1 });
  });

  it('reads CRLF line ends', () => {
    const df = parseDockerfile('FROM a\r\nRUN x \\\r\n  y\r\nCOPY <<EOF /f\r\nhi\r\nEOF\r\n', 'Dockerfile');
    expect(df.stages[0].instructions.map((i) => [i.args, i.heredocs.map((h) => h.content)])).toEqual([[['x   y'], []], [['<<EOF /f'], ['hi\n']]]);
  });

  it('keeps global ARGs and cuts stages with names, platform and AS', () => {
    const df = parseDockerfile('ARG BASE=alpine\nARG V\nFROM --platform=$BUILDPLATFORM ${BASE}:3 AS Build\nRUN x\nFROM scratch\nCOPY --from=build / /\n', 'Dockerfile');
    expect(df.globalArgs.map((a) => a.args)).toEqual([['BASE=alpine'], ['V']]);
    expect(df.stages.map((s) => [s.index, s.name, s.from.args, s.instructions.length])).toEqual([[0, 'build', ['${BASE}:3'], 1], [1, undefined, ['scratch'], 1]]);
    expect(df.stages[0].from.flags).toMatchObject([{ name: 'platform', value: '$BUILDPLATFORM' }]);
  });
});

describe('parseDockerfile: errors name FILE:LINE:COL, with the line and a caret in the hint', () => {
  it.each([
    ['FROM a\nFORM b\n', 'Dockerfile:2:1: unknown instruction FORM', 'FORM b\n^\ndid you mean FROM?'],
    ['FROM a\n  COPPY x y\n', 'Dockerfile:2:3: unknown instruction COPPY', '  COPPY x y\n  ^\ndid you mean COPY?'],
    ['RUN x\nFROM a\n', 'Dockerfile:1:1: RUN before the first FROM', 'RUN x\n^\nonly ARG'],
    ['# checkpoint early\nFROM a\n', 'Dockerfile:1:1: a checkpoint before the first FROM', undefined],
    ['', 'Dockerfile:1:1: the Dockerfile has no instructions', 'start it with FROM'],
    ['ARG a=1\n', 'no FROM instruction', 'at least one FROM'],
    ['FROM a AS x\nFROM b AS X\n', 'Dockerfile:2:11: duplicate stage name "x"', 'FROM b AS X\n          ^\nstage 0 (line 1)'],
    ['FROM a AS 1x\n', 'Dockerfile:1:11: invalid stage name "1x"', undefined],
    ['FROM a b\n', 'Dockerfile:1:1: FROM takes an image and optionally AS NAME', undefined],
    ['FROM a\nSHELL /bin/sh -c\n', 'Dockerfile:2:1: SHELL needs the JSON form', undefined],
    ['FROM a\nCMD ["a", 1]\n', 'Dockerfile:2:1: CMD: the exec form must be a JSON array of strings', undefined],
    ['FROM a\nRUN <<EOF\nx\n', 'Dockerfile:2:1: unterminated heredoc <<EOF', undefined],
    ['FROM a\nONBUILD FROM b\n', 'Dockerfile:2:1: ONBUILD FROM is not allowed', undefined],
    ['FROM a\nWORKDIR\n', 'Dockerfile:2:1: WORKDIR needs arguments', undefined],
    ['# escape=x\nFROM a\n', 'Dockerfile:1:10: invalid escape character "x"', undefined],
  ])('%j', (text, message, hint) => {
    let err: { message: string; hint?: string; name: string } | undefined;
    try {
      parseDockerfile(text, 'Dockerfile');
    } catch (e) {
      err = e as typeof err;
    }
    expect(err?.name).toBe('BadInputError');
    expect(err?.message).toContain(message);
    if (hint) expect(err?.hint).toContain(hint);
  });
});
