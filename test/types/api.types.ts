/*
 * Type tests of the script API: this file must compile (`tsc -p test/types`), and every line marked
 * @ts-expect-error must be an error (else the directive itself is one). test/unit/api/types.test.ts runs it.
 */
import { expectTypeOf } from 'vitest';
import type { ProcessPromise } from 'zx/core';
import {
  $, argv, cd, containers, copyImage, from, image, images, keys, pull, verify, within,
  type Container, type Image, type RunOutput, type RunPromise, type ExportResult,
} from '../../dsl/index.js';

const c = await from('scratch', { name: 'typed', pull: 'never' });
expectTypeOf(c).toEqualTypeOf<Container>();

// Template runs: what may be interpolated.
expectTypeOf(c.run`echo ${'text'} ${42} ${true} ${['a', 'b']}`).toEqualTypeOf<RunPromise>();
const out = await c.run`echo hi`.nothrow().quiet();
expectTypeOf(out).toEqualTypeOf<RunOutput>();
expectTypeOf(out.exitCode).toEqualTypeOf<number>();
expectTypeOf(out.lines()).toEqualTypeOf<string[]>();
expectTypeOf(out.json<{ a: number }>()).toEqualTypeOf<{ a: number }>();
await c.run`echo ${out}`;
// @ts-expect-error undefined has no text to interpolate
await c.run`echo ${undefined}`;
// @ts-expect-error an object has no text to interpolate
await c.run`echo ${{ a: 1 }}`;
// @ts-expect-error null has no text to interpolate
await c.run`echo ${null}`;

// Array runs and options.
await c.run(['ls', '-l'], { env: { A: '1' }, workdir: '/', user: '1000', volumes: ['/h:/c:ro'], secrets: { token: '/f' }, network: 'none', stdin: 'in' });
await c.run({ env: ['A=1'], nothrow: true })`echo $A`;
// @ts-expect-error a misspelt option
await c.run(['ls'], { workDir: '/' });
// @ts-expect-error network is 'host' or 'none'
await c.run(['ls'], { network: 'bridge' });
// @ts-expect-error env values are strings
await c.run(['ls'], { env: { A: 1 } });
// @ts-expect-error a command is an array of strings
await c.run([1, 2]);
// @ts-expect-error a command is a template or an array, not a string
await c.run('ls -l');

// Pipes: into a stream (the same step), another step or a $ command (that one).
expectTypeOf(c.run`ls`.pipe(process.stdout)).toEqualTypeOf<RunPromise>();
expectTypeOf(c.run`ls`.pipe(c.run(['cat']))).toEqualTypeOf<RunPromise>();
expectTypeOf(c.run`ls`.pipe($`wc -l`)).toEqualTypeOf<ProcessPromise>();

// copy, config, commit, export.
const img = await c.commit('localhost/typed:1', { squash: true, timestamp: 0 });
expectTypeOf(img).toEqualTypeOf<Image>();
await c.copy(['a', 'b'], '/srv/', { chown: '1000:1000', chmod: 0o755, from: c, withDeps: true, extraLibs: ['libnss_dns.so.2'] });
await c.copy('a', '/a', { from: img });
await c.copy('a', '/a', { from: 'localhost/other:1', chmod: '0644' });
// @ts-expect-error from takes a Container, an Image or a reference
await c.copy('a', '/a', { from: 42 });
// @ts-expect-error chmod is a number or octal text
await c.copy('a', '/a', { chmod: true });
await c.config({ env: { PATH: '/bin' }, cmd: ['/bin/app'], entrypoint: '/bin/sh -c', labels: ['a=b'], workingdir: '/srv' });
// @ts-expect-error cmd is a string or an array of strings
await c.config({ cmd: 5 });
// @ts-expect-error squash is a boolean
await c.commit('x', { squash: 'yes' });
expectTypeOf(await img.export('/tmp/x.tar', { sign: true })).toEqualTypeOf<ExportResult>();
// @ts-expect-error sign is a boolean
await img.export('/tmp/x.tar', { sign: 'yes' });
await c.checkpoint('message');
await c.rollback(1);
expectTypeOf(await c.mount()).toEqualTypeOf<string>();
await c.unmount();
await img.tag('localhost/typed:2');
await img.push('oci:/tmp/layout:typed');

// The rest of the library, and zx's helpers.
expectTypeOf(await images()).toEqualTypeOf<Image[]>();
expectTypeOf(await containers()).toEqualTypeOf<Container[]>();
expectTypeOf(await image('localhost/typed:1')).toEqualTypeOf<Image>();
expectTypeOf(await pull('oci:/tmp/layout:typed')).toEqualTypeOf<Image>();
await copyImage('oci:/tmp/layout:typed', 'oci-archive:/tmp/typed.tar');
await verify('/tmp/x.tar');
await keys.list();
expectTypeOf(argv._).toEqualTypeOf<string[]>();
cd('/tmp');
within(() => $`true`);
// @ts-expect-error from takes a reference string
await from(42);
