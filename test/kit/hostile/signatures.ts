// Signed flat tarballs tampered with: a stranger's key, a signature moved to another file, a trailer shifted or
// cut off, a changed byte; each through `cairn verify`, `cairn from tarball:` and `cairn exec`.
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { baliTrailer } from '../bali.js';
import { D, F } from './entries.js';
import { flatOf } from './sources.js';
import { gz, tarOf } from './tar.js';
import type { AfterCtx, CaseCtx, HostileCase, Outcome, Step } from './types.js';

type Verb = 'verify' | 'from' | 'exec';
const VERBS: Verb[] = ['verify', 'from', 'exec'];

/** A flat image's tar: the embedded config first (as `cairn export` writes it), then a few files. */
function flatTar(marker: string): Buffer {
  const config = { architecture: 'amd64', os: 'linux', config: { Env: [`MARKER=${marker}`], Cmd: ['/bin/true'] } };
  return tarOf([F('.cairn/config.json', JSON.stringify(config)), D('etc/'), F('etc/motd', `${marker}\n`)]);
}

/** The calls of a verb on the flat file f. */
function verbSteps(verb: Verb, ctx: CaseCtx, f: string, env?: Record<string, string>): Step[] {
  if (verb === 'verify') return [{ args: ['verify', f], env }];
  if (verb === 'from') return [{ args: ['from', '--name', ctx.name, `tarball:${f}`], env }];
  return [{ args: ['exec', f, '--', '/bin/true'], env }];
}

/** A tampered flat file, judged by each verb. */
function sigCase(id: string, what: string, outcome: Outcome | ((v: Verb) => Outcome), make: (ctx: CaseCtx) => Buffer, verbs = VERBS): HostileCase[] {
  return verbs.map((verb) => ({
    id: `signatures/${id}@${verb}`,
    klass: 'signatures',
    what,
    outcome: typeof outcome === 'function' ? outcome(verb) : outcome,
    prepare(ctx: CaseCtx) {
      const f = path.join(ctx.work, 'image.tar.gz');
      writeFileSync(f, make(ctx));
      return verbSteps(verb, ctx, f);
    },
  }));
}

const marker = (): string => `EMBEDDED-${randomBytes(6).toString('hex')}`;

/** The configs of every image of a store (to see whether an embedded config was taken). */
function imageConfigs(root: string): string[] {
  const dir = path.join(root, 'images');
  if (!existsSync(dir)) return [];
  const blob = (d: string): string => readFileSync(path.join(root, 'blobs', 'sha256', d.replace(/^sha256:/, '')), 'utf8');
  return readdirSync(dir).flatMap((n) => {
    try {
      const rec = JSON.parse(readFileSync(path.join(dir, n), 'utf8'));
      return [blob(JSON.parse(blob(rec.manifest)).config.digest)];
    } catch {
      return [];
    }
  });
}

/** Signature tampering. */
export const signatures: HostileCase[] = [
  ...sigCase('stranger-key', 'a flat file signed by a key nobody trusts', 'refused', (c) => flatOf(flatTar(marker()), c.stranger)),
  ...sigCase('moved-signature', 'the trailer of one signed file appended to another file', 'refused', (c) => {
    const donor = flatTar(marker());
    return gz(Buffer.concat([flatTar(marker()), baliTrailer(donor, c.trusted)]));
  }),
  ...sigCase('shifted-trailer', 'a signed file with a zero block after its trailer', 'refused', (c) => {
    const t = flatTar(marker());
    return gz(Buffer.concat([t, baliTrailer(t, c.trusted), Buffer.alloc(512)]));
  }),
  ...sigCase('flipped-byte', 'a signed file with one byte of a file changed', 'refused', (c) => {
    const t = flatTar(marker());
    const trailer = baliTrailer(t, c.trusted);
    const changed = Buffer.from(t);
    changed[changed.indexOf('EMBEDDED-', 1024)] ^= 0x20;
    return gz(Buffer.concat([changed, trailer]));
  }),
  ...sigCase('half-trailer', 'a signed file with the last 40 bytes of its trailer cut', 'refused', (c) => {
    const t = flatTar(marker());
    return gz(Buffer.concat([t, baliTrailer(t, c.trusted).subarray(0, 40)]));
  }, ['verify']),
  ...sigCase('cut-trailer', 'a signed flat file with its 80-byte trailer cut off', (v) => (v === 'verify' ? 'unsigned' : 'refused'), (c) => gz(flatTar(marker())), ['verify', 'exec']),
  {
    id: 'signatures/cut-trailer@from-signature-required',
    klass: 'signatures',
    what: 'the trailer cut off, under a policy requiring signed tarballs',
    outcome: 'refused',
    prepare(ctx: CaseCtx) {
      const f = path.join(ctx.work, 'image.tar.gz');
      writeFileSync(f, gz(flatTar(marker())));
      const policy = path.join(ctx.work, 'policy.json');
      writeFileSync(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }], transports: { tarball: { '': [{ type: 'cairnSigned', unsigned: 'reject' }] } } }));
      return verbSteps('from', ctx, f, { CAIRN_SIGNATURE_POLICY: policy });
    },
  },
  {
    id: 'signatures/cut-trailer@from-default-policy',
    klass: 'signatures',
    what: 'the trailer cut off, default policy: read as a plain root filesystem, its embedded config never taken',
    outcome: 'confined',
    prepare(ctx: CaseCtx) {
      const f = path.join(ctx.work, 'image.tar.gz');
      writeFileSync(f, gz(flatTar(`EMBEDDED-${ctx.name}`)));
      return verbSteps('from', ctx, f);
    },
    after(ctx: AfterCtx) {
      return imageConfigs(ctx.root).some((c) => c.includes(`MARKER=EMBEDDED-${ctx.name}`)) ? ['the embedded config of an unsigned file became the image config'] : [];
    },
  },
];
