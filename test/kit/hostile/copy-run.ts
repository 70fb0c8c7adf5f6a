// Image symlinks met by `copy --from` (reading), `copy` (writing) and `run` (its working directory and
// scaffolding: resolv.conf, hosts, volume, tmpfs and secret mount points): nothing may be read or made on the host.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { D, L, TRICK } from './entries.js';
import { rel } from './layer-case.js';
import { writeLayout } from './sources.js';
import { tarOf, type RawEntry } from './tar.js';
import type { CaseCtx, HostileCase, Outcome, Step } from './types.js';

/** `from` of an OCI image of entries (on the tiny rootfs when it must run), named name. */
function image(ctx: CaseCtx, entries: RawEntry[], name: string, opts: { runnable?: boolean; run?: Record<string, unknown> } = {}): Step {
  const dir = path.join(ctx.work, `layout-${name}`);
  writeLayout(dir, { layers: [...(opts.runnable ? [ctx.tiny()] : []), tarOf(entries)], run: opts.run });
  return { args: ['from', '--name', name, `oci:${dir}:hostile`] };
}

/** `copy --from` a container whose image has entries, reading src. */
function copyFrom(id: string, what: string, entries: (c: CaseCtx) => RawEntry[], src: (c: CaseCtx) => string, outcome: Outcome = 'confined'): HostileCase {
  return {
    id: `copy/${id}`,
    klass: 'copy',
    what,
    outcome,
    prepare: (c) => [
      image(c, entries(c), `${c.name}s`),
      { args: ['from', '--name', `${c.name}d`, 'scratch'] },
      { args: ['copy', '--from', `${c.name}s`, `${c.name}d`, src(c), '/got'] },
    ],
  };
}

/** `copy` a host file into a container whose image has entries, to dest. */
function copyInto(id: string, what: string, entries: (c: CaseCtx) => RawEntry[], dest: (c: CaseCtx) => string): HostileCase {
  return {
    id: `copy/${id}`,
    klass: 'copy',
    what,
    outcome: 'confined',
    prepare: (c) => {
      const f = path.join(c.work, 'file.txt');
      writeFileSync(f, 'copied\n');
      const d = path.join(c.work, 'dir');
      mkdirSync(d);
      writeFileSync(path.join(d, 'victim'), 'copied\n');
      return [image(c, entries(c), c.name), { args: ['copy', c.name, dest(c).endsWith('/') ? d : f, dest(c)] }];
    },
  };
}

/** `run` in a container whose image has entries (on the tiny rootfs). */
function runIn(id: string, what: string, entries: (c: CaseCtx) => RawEntry[], flags: (c: CaseCtx) => string[] = () => [], run?: (c: CaseCtx) => Record<string, unknown>, outcome: Outcome = 'confined'): HostileCase {
  return {
    id: `run/${id}`,
    klass: 'run',
    what,
    outcome,
    prepare: (c) => [image(c, entries(c), c.name, { runnable: true, run: run?.(c) }), { args: ['run', ...flags(c), c.name, '--', '/bin/true'] }],
  };
}

/** Reading and writing through image symlinks. */
export const copyRun: HostileCase[] = [
  copyFrom('from-absolute-link', 'copy --from a file that is a link to CANARY/secret', (c) => [L('leak', `${c.canary}/secret`)], () => '/leak', 'refused'),
  copyFrom('from-link-parent', 'copy --from d/secret where d → CANARY', (c) => [L('d', c.canary)], () => '/d/secret', 'refused'),
  copyFrom('from-missing-component', 'copy --from a/CANARY/secret through the missing-component trick', () => TRICK, (c) => `/a/${rel(c.canary)}/secret`, 'refused'),
  copyFrom('from-dir-with-link', 'copy --from a directory holding a link to CANARY/secret and a link to CANARY', (c) => [D('data/'), L('data/s', `${c.canary}/secret`), L('data/c', c.canary)], () => '/data'),
  copyFrom('from-glob-through-link', 'copy --from d/* where d → CANARY', (c) => [L('d', c.canary)], () => '/d/*', 'refused'),
  copyInto('into-link-dir', 'copy a file to /dest/ where dest → CANARY', (c) => [L('dest', c.canary)], () => '/dest/victim'),
  copyInto('into-link-file', 'copy a file to /dest where dest → CANARY/victim', (c) => [L('dest', `${c.canary}/victim`)], () => '/dest'),
  copyInto('into-missing-component', 'copy a file to a/CANARY/new through the missing-component trick', () => TRICK, (c) => `/a/${rel(c.canary)}/new`),
  copyInto('into-home', 'copy a file to /d/.bashrc where d → HOME', (c) => [L('d', c.home)], () => '/d/.bashrc'),
  runIn('workdir-flag-link', 'run --workingdir /w/sub where w → CANARY/wd', (c) => [L('w', `${c.canary}/wd`)], () => ['--workingdir', '/w/sub']),
  runIn('workdir-config-link', 'run with the config\'s WorkingDir /w/x where w → CANARY', (c) => [L('w', c.canary)], () => [], () => ({ WorkingDir: '/w/x' })),
  runIn('workdir-missing-component', 'run --workingdir through the missing-component trick', () => TRICK, (c) => ['--workingdir', `/a/${rel(c.canary)}/wd`]),
  runIn('etc-link', 'run with /etc → CANARY/etc (resolv.conf and hosts stubs)', (c) => [L('etc', `${c.canary}/etc`)]),
  runIn('resolv-conf-link', 'run with /etc/resolv.conf → CANARY/victim and /etc/hosts → CANARY/secret', (c) => [D('etc/'), L('etc/resolv.conf', `${c.canary}/victim`), L('etc/hosts', `${c.canary}/secret`)]),
  runIn('etc-missing-component', 'run with etc → /nonexistent/../h/CANARY/etc', (c) => [L('h', '/'), L('etc', `/nonexistent/../h${c.canary}/etc`)]),
  runIn('volume-point-link', 'run -v HOST:/vol/mnt where vol → CANARY', (c) => [L('vol', c.canary)], (c) => {
    mkdirSync(path.join(c.work, 'hostdir'));
    return ['--volume', `${path.join(c.work, 'hostdir')}:/vol/mnt`];
  }),
  runIn('secret-point-link', 'run --secret where /run → CANARY', (c) => [L('run', c.canary)], (c) => {
    writeFileSync(path.join(c.work, 's.txt'), 'top secret\n');
    return ['--secret', `id=s,src=${path.join(c.work, 's.txt')}`];
  }),
  runIn('tmpfs-point-link', 'run --tmpfs /t/x where t → CANARY', (c) => [L('t', c.canary)], () => ['--tmpfs', '/t/x']),
  runIn('volume-over-home', 'run -v HOST:/h/.bashrc where h → HOME', (c) => [L('h', c.home)], (c) => {
    writeFileSync(path.join(c.work, 'rc'), 'rc\n');
    return ['--volume', `${path.join(c.work, 'rc')}:/h/.bashrc`];
  }, undefined, 'refused'),
];
