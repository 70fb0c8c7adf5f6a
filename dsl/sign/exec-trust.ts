import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { identityString, looksLikeIdentity, parseIdentity } from './identity.js';
import { publicKeyFromPem } from './pem.js';
import type { ExecSigner } from './exec-cache.js';

/*
 * The trust check of a cached start, without @noble/curves: keys.ts derives the local public key from its
 * seed (tens of milliseconds of curve arithmetic) and loads the curve library, which a cached start cannot
 * afford. Here a cached image is accepted when the key that verified it is still one cairn would use, read
 * from public key files only. Anything this cannot decide answers false, and the caller verifies the file
 * again the full way (keys.ts), which is authoritative.
 */

/** cairn's key directory as keys.ts configDir() computes it (kept in step with it; see that function). */
function configDir(): string {
  const x = process.env.XDG_CONFIG_HOME;
  if (x && path.isAbsolute(x)) return path.join(x, 'cairn');
  let home = process.env.HOME;
  const uid = process.env.CAIRN_ROOTLESS_UID;
  if (!home && uid) {
    try {
      home = readFileSync('/etc/passwd', 'utf8').split('\n').map((l) => l.split(':')).find((f) => f[2] === uid && f[5])?.[5];
    } catch {
      /* fall through */
    }
  }
  return path.join(home || os.homedir(), '.config', 'cairn');
}

function idOfPemFile(file: string): string | undefined {
  try {
    return identityString(publicKeyFromPem(readFileSync(file, 'utf8')));
  } catch {
    return undefined;
  }
}

/** The identity of a --key PUB given as an identity string or a public key PEM file; undefined for anything else. */
function idOfSpec(spec: string): string | undefined {
  const s = spec.trim();
  if (looksLikeIdentity(s)) {
    try {
      return identityString(parseIdentity(s));
    } catch {
      return undefined;
    }
  }
  if (s.includes('-----BEGIN')) return undefined;
  return idOfPemFile(s);
}

/**
 * True when a cached image verified by `signer` may start without verifying the file again: with --key,
 * when it is that key; else when the signer's public key file is still in the trust directory (for the
 * local key: key.pub.pem beside key.pem) and still holds that key.
 */
export function stillTrusted(signer: ExecSigner | null, keySpec: string | undefined): boolean {
  if (!signer) return false;
  if (keySpec !== undefined) return idOfSpec(keySpec) === signer.id;
  const dir = configDir();
  const src = path.resolve(signer.source);
  let pub: string | undefined;
  if (src === path.join(dir, 'key.pem')) pub = path.join(dir, 'key.pub.pem');
  else if (path.dirname(src) === dir && /^key-.+\.pub\.pem$/.test(path.basename(src))) pub = src;
  else if (path.dirname(src) === path.join(dir, 'trusted') && src.endsWith('.pem')) pub = src;
  return pub !== undefined && idOfPemFile(pub) === signer.id;
}
