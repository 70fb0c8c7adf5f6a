// Signing fixtures for the registry signature tests: a throw-away GnuPG home with keys made by gpg itself, policy
// and registries.d files, plain-HTTP reads of a registry (independent of cairn's client), and an Ed25519 check
// by openssl — so that what cairn writes is judged by code that is not cairn's.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { peerOk, requirePeers, runPeer, tempDir } from './peers.js';

/** A GnuPG home of its own: its environment, the keys made in it, and how to end its agent. */
export interface GpgHome {
  home: string;
  env: { GNUPGHOME: string };
  /** Makes an Ed25519 signing key without passphrase for `name`; its fingerprint (upper-case hex). */
  newKey(name: string): string;
  /** Writes the public key of fpr to file as `gpg --export` does (binary keyring); returns file. */
  exportKey(fpr: string, file: string): string;
  /** Ends the agent and removes the home. */
  close(): void;
}

/** A fresh GNUPGHOME (mode 0700, short path: the agent's socket lives in it). */
export function gpgHome(): GpgHome {
  requirePeers('gpg', 'gpgconf');
  const home = tempDir('cairn-gpg-');
  const env = { GNUPGHOME: home };
  const gpg = (args: string[]) => peerOk('gpg', ['--batch', '--no-tty', ...args], { env });
  return {
    home,
    env,
    newKey(name) {
      const uid = `${name} <${name.toLowerCase().replace(/\W+/g, '')}@cairn.test>`;
      gpg(['--passphrase', '', '--quick-gen-key', uid, 'ed25519', 'sign', 'never']);
      const fpr = gpg(['--with-colons', '--list-secret-keys', uid]).split('\n').find((l) => l.startsWith('fpr:'));
      if (!fpr) throw new Error(`gpg made no key for ${uid}`);
      return fpr.split(':')[9];
    },
    exportKey(fpr, file) {
      const r = spawnSync('gpg', ['--batch', '--export', fpr], { env: { ...process.env, ...env } });
      if (r.status !== 0 || r.stdout.length === 0) throw new Error(`gpg --export ${fpr} failed: ${r.stderr}`);
      writeFileSync(file, r.stdout);
      return file;
    },
    close() {
      runPeer('gpgconf', ['--kill', 'gpg-agent'], { env });
      spawnSync('rm', ['-rf', home]);
    },
  };
}

/** Writes a containers-policy.json: `docker` scopes as given, everything else rejected; returns its path. */
export function writePolicy(file: string, docker: Record<string, unknown[]>, other: Record<string, unknown> = {}): string {
  writeFileSync(file, JSON.stringify({ default: [{ type: 'reject' }], transports: { docker, oci: { '': [{ type: 'insecureAcceptAnything' }] }, ...other } }, null, 2));
  return file;
}

/** A signedBy requirement for a GPG keyring file. */
export function signedBy(keyPath: string, signedIdentity?: unknown): Record<string, unknown> {
  return { type: 'signedBy', keyType: 'GPGKeys', keyPath, ...(signedIdentity ? { signedIdentity } : {}) };
}

/** A sigstoreSigned requirement for a PEM public key file. */
export function sigstoreSigned(keyPath: string, signedIdentity?: unknown): Record<string, unknown> {
  return { type: 'sigstoreSigned', keyPath, ...(signedIdentity ? { signedIdentity } : {}) };
}

/** Makes a registries.d directory saying the lookaside of host is dir (read and write), sigstore attachments on. */
export function writeRegistriesD(regd: string, host: string, lookasideDir: string): string {
  mkdirSync(regd, { recursive: true });
  mkdirSync(lookasideDir, { recursive: true });
  writeFileSync(path.join(regd, 'test.yaml'), [`docker:`, `  ${host}:`, `    lookaside: file://${lookasideDir}`, `    lookaside-staging: file://${lookasideDir}`, `    use-sigstore-attachments: true`, ''].join('\n'));
  return regd;
}

/** GETs http://host/path (an open registry) with plain node:http: status and body. */
export function plainGet(host: string, p: string, accept?: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.get(`http://${host}${p}`, { headers: accept ? { accept } : {} }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/** True when openssl says sig is the pure Ed25519 signature of the file payloadFile by the PEM public key pubFile. */
export function opensslVerifies(pubFile: string, payloadFile: string, sigFile: string): boolean {
  requirePeers('openssl');
  const r = runPeer('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', pubFile, '-rawin', '-in', payloadFile, '-sigfile', sigFile]);
  return r.status === 0 && /Signature Verified Successfully/.test(r.stdout);
}
