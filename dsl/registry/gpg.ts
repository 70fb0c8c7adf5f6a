import { CairnError, NotFoundError } from '../core/errors.js';
import { runCommand } from '../core/spawn.js';

/*
 * OpenPGP simple signatures are made by the user's own gpg, as skopeo's --sign-by has GPGME do it: the payload
 * on stdin, `gpg --sign` (a normal, binary signed message: the payload inside, not detached, not armored) on
 * stdout. GNUPGHOME and the agent are the user's; a passphrase comes from a file through loopback pinentry.
 */

/** Signs payload with the gpg key of fingerprint (or any key ID gpg takes); the OpenPGP message bytes. */
export async function gpgSign(payload: Buffer, fingerprint: string, passphraseFile?: string): Promise<Buffer> {
  const args = ['--batch', '--no-tty', '--quiet', '--sign', '--local-user', fingerprint, '--output', '-'];
  if (passphraseFile !== undefined) args.unshift('--pinentry-mode', 'loopback', '--passphrase-file', passphraseFile);
  let r;
  try {
    r = await runCommand('gpg', args, { input: payload });
  } catch (err) {
    throw new NotFoundError(`cannot run gpg to sign with ${fingerprint}: ${(err as Error).message}`, { hint: 'install gnupg (--sign-by signs with your gpg key)', cause: err });
  }
  if (r.code !== 0 || r.stdout.length === 0) {
    const last = r.stderr.trim().split('\n').pop() || `gpg exited ${r.code}`;
    throw new CairnError(`gpg could not sign with ${fingerprint}: ${last}`, { hint: 'check the fingerprint (`gpg --list-secret-keys`), and give --sign-passphrase-file FILE for a key with a passphrase' });
  }
  return r.stdout;
}
