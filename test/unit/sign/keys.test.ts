import { createPublicKey } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BadInputError, NotFoundError } from '../../../dsl/core/errors.js';
import { events } from '../../../dsl/core/events.js';
import { publicKeyOf } from '../../../dsl/sign/ed25519ph.js';
import { configDir, generateKey, localKey, parseKeySpec, trustedKeys, trustKey } from '../../../dsl/sign/keys.js';
import { publicKeyFromPem, seedToPem } from '../../../dsl/sign/pem.js';
import { baliKey, tmp } from '../../kit/bali.js';
import { restoreEnv } from '../../kit/env.js';

const saved = { ...process.env };
let cfg: string;
beforeEach(() => {
  cfg = tmp('cairn-keys-');
  process.env.XDG_CONFIG_HOME = cfg;
});
afterEach(() => {
  restoreEnv(saved);
});

/** Warnings emitted while fn runs. */
async function warnings<T>(fn: () => Promise<T>): Promise<[T, string[]]> {
  const seen: string[] = [];
  const on = (ev: { type: string; text?: string }): void => {
    if (ev.type === 'warn') seen.push(ev.text!);
  };
  events.on('event', on);
  try {
    return [await fn(), seen];
  } finally {
    events.off('event', on);
  }
}

describe('configDir', () => {
  it('is $XDG_CONFIG_HOME/cairn, else ~/.config/cairn', () => {
    expect(configDir()).toBe(path.join(cfg, 'cairn'));
    delete process.env.XDG_CONFIG_HOME;
    process.env.HOME = '/home/someone';
    expect(configDir()).toBe('/home/someone/.config/cairn');
    process.env.XDG_CONFIG_HOME = 'relative/dir'; // not absolute: ignored, as the XDG spec says
    expect(configDir()).toBe('/home/someone/.config/cairn');
  });

  it("inside cairn's namespace without HOME, uses the real user's home from /etc/passwd", () => {
    delete process.env.XDG_CONFIG_HOME;
    delete process.env.HOME;
    const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.split(':')[2] !== '0' && l.split(':')[5]);
    if (!line) return;
    const [, , uid, , , home] = line.split(':');
    process.env.CAIRN_ROOTLESS_UID = uid;
    expect(configDir()).toBe(path.join(home, '.config', 'cairn'));
  });
});

describe('the local key', () => {
  it('is created on first use: key.pem mode 0600 (PKCS#8) and key.pub.pem (SPKI), then reused', async () => {
    const k = await localKey();
    const dir = path.join(cfg, 'cairn');
    expect(statSync(path.join(dir, 'key.pem')).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(Buffer.from(publicKeyFromPem(readFileSync(path.join(dir, 'key.pub.pem'), 'utf8')))).toEqual(Buffer.from(k.publicKey));
    expect(createPublicKey(readFileSync(path.join(dir, 'key.pem'))).export({ format: 'der', type: 'spki' }).subarray(12)).toEqual(Buffer.from(k.publicKey));
    expect(k.source).toBe(path.join(dir, 'key.pem'));
    expect((await localKey()).id).toBe(k.id);
    expect(readdirSync(dir).sort()).toEqual(['key.pem', 'key.pub.pem']);
  });

  it('is one key when many first uses race', async () => {
    const ks = await Promise.all(Array.from({ length: 8 }, () => localKey()));
    expect(new Set(ks.map((k) => k.id)).size).toBe(1);
    expect(readdirSync(path.join(cfg, 'cairn')).sort()).toEqual(['key.pem', 'key.pub.pem']);
  });

  it('rewrites a missing or stale key.pub.pem, and warns when key.pem is readable by others', async () => {
    const k = await localKey();
    const pub = path.join(cfg, 'cairn', 'key.pub.pem');
    writeFileSync(pub, 'junk');
    chmodSync(path.join(cfg, 'cairn', 'key.pem'), 0o644);
    const [, warned] = await warnings(() => localKey());
    expect(warned.join()).toMatch(/readable by others/);
    expect(Buffer.from(publicKeyFromPem(readFileSync(pub, 'utf8')))).toEqual(Buffer.from(k.publicKey));
  });

  it('refuses a corrupt key.pem with a hint, and does not replace it', async () => {
    mkdirSync(path.join(cfg, 'cairn'), { recursive: true });
    writeFileSync(path.join(cfg, 'cairn', 'key.pem'), 'not a key');
    await expect(localKey()).rejects.toThrow(BadInputError);
    expect(readFileSync(path.join(cfg, 'cairn', 'key.pem'), 'utf8')).toBe('not a key');
  });

  it('generate makes a new ID and keeps the old key trusted', async () => {
    const old = await localKey();
    const neu = await generateKey();
    expect(neu.id).not.toBe(old.id);
    expect((await localKey()).id).toBe(neu.id);
    const dir = path.join(cfg, 'cairn');
    const kept = path.join(dir, `key-${old.id.slice(0, 12)}.pem`);
    expect(statSync(kept).mode & 0o777).toBe(0o600);
    expect(existsSync(kept.replace(/\.pem$/, '.pub.pem'))).toBe(true);
    const ids = (await trustedKeys()).map((k) => k.id);
    expect(ids).toEqual([neu.id, old.id]);
    const third = await generateKey();
    expect((await trustedKeys()).map((k) => k.id).sort()).toEqual([neu.id, old.id, third.id].sort());
  });

  it('a kept old key whose .pub.pem was removed stays trusted', async () => {
    const old = await localKey();
    await generateKey();
    const { rmSync } = await import('node:fs');
    rmSync(path.join(cfg, 'cairn', `key-${old.id.slice(0, 12)}.pub.pem`));
    expect((await trustedKeys()).map((k) => k.id)).toContain(old.id);
  });

  it('generate works before any key exists', async () => {
    const k = await generateKey();
    expect((await trustedKeys()).map((t) => t.id)).toEqual([k.id]);
  });
});

describe('trust', () => {
  it('trustedKeys makes nothing: a fresh configuration has no keys and stays empty', async () => {
    expect(await trustedKeys()).toEqual([]);
    expect(readdirSync(cfg)).toEqual([]);
  });

  it('trusts a PEM file, PEM text or identity; idempotent; listed by trustedKeys', async () => {
    const a = baliKey();
    const b = baliKey();
    const c = baliKey();
    const f = path.join(cfg, 'a.pub.pem');
    writeFileSync(f, a.pubPem);
    expect((await trustKey(f)).id).toBe(a.id);
    expect((await trustKey(b.pubPem)).id).toBe(b.id);
    const t = await trustKey(c.id);
    expect(t.id).toBe(c.id);
    expect(t.source).toBe(path.join(cfg, 'cairn', 'trusted', `${c.id}.pem`));
    const before = statSync(t.source).mtimeMs;
    await trustKey(c.id);
    expect(statSync(t.source).mtimeMs).toBe(before);
    // The local key comes first once there is one (verifying never makes one).
    await localKey();
    const ids = (await trustedKeys()).map((k) => k.id);
    expect(ids).toHaveLength(4);
    expect(ids.slice(1).sort()).toEqual([a.id, b.id, c.id].sort());
    expect(readdirSync(path.join(cfg, 'cairn', 'trusted')).every((n) => n.endsWith('.pem') && !n.includes('tmp'))).toBe(true);
  });

  it('trusting a private key file keeps only its public key', async () => {
    const k = baliKey();
    const f = path.join(cfg, 'k.pem');
    writeFileSync(f, seedToPem(k.seed));
    const t = await trustKey(f);
    expect(t.id).toBe(k.id);
    expect(readFileSync(t.source, 'utf8')).toContain('PUBLIC KEY');
    expect(readFileSync(t.source, 'utf8')).not.toContain('PRIVATE');
  });

  it('skips, with a warning, a bad file in trusted/', async () => {
    const k = baliKey();
    await trustKey(k.id);
    writeFileSync(path.join(cfg, 'cairn', 'trusted', 'bad.pem'), 'nonsense');
    const [keys, warned] = await warnings(() => trustedKeys());
    expect(keys.map((x) => x.id)).toContain(k.id);
    expect(warned.join()).toMatch(/ignoring .*bad\.pem/);
  });
});

describe('parseKeySpec', () => {
  it.each([
    ['a missing file', '/no/such/key.pem', NotFoundError, /no such file, and not an identity string/],
    ['an identity with a typo', 'cDFXSA73D3H4MOM7HPVUYWUOABQI7D5ERUR7QXOQPJD2HOYYSJCIYFWA', BadInputError, /checksum/],
    ['an identity cut short', 'cDFXSA73D3H4MOM7HPVUYWUOABQI7D5ERUR7QXOQPJD2HOYYSJC', BadInputError, /characters, not 56/],
    ['PEM text of another type', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----', BadInputError, /found "CERTIFICATE"/],
  ])('refuses %s', async (_what, spec, cls, msg) => {
    await expect(parseKeySpec(spec)).rejects.toThrow(cls);
    await expect(parseKeySpec(spec)).rejects.toThrow(msg);
  });

  it('names the file of a bad key file', async () => {
    const f = path.join(cfg, 'x.pem');
    writeFileSync(f, 'hello');
    await expect(parseKeySpec(f)).rejects.toThrow(new RegExp(`^${f}: `));
  });

  it('reads a file holding an identity string', async () => {
    const k = baliKey();
    const f = path.join(cfg, 'id.txt');
    writeFileSync(f, k.id + '\n');
    const p = await parseKeySpec(f);
    expect(p.id).toBe(k.id);
    expect(Buffer.from(p.publicKey)).toEqual(Buffer.from(publicKeyOf(k.seed)));
  });
});
