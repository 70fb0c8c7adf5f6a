import { registerDockerDestination, registerDockerSource, type TransportOptions } from '../transport/transports.js';
import type { SourceImage } from '../transport/source.js';

/**
 * Opens docker://text for reading, as the signature policy allows: a `reject` refuses before anything is
 * fetched; signature requirements are checked once the manifest (and its digest) is known, before any layer
 * is fetched, so a refused image leaves nothing behind.
 */
async function openDocker(text: string, opts: TransportOptions): Promise<SourceImage> {
  const [{ admitRegistry, enforceRegistryPolicy }, { openRegistrySource }] = await Promise.all([import('./signature-policy.js'), import('./source.js')]);
  const admission = await admitRegistry(text, opts.signaturePolicy);
  const img = await openRegistrySource(text, opts.registry);
  try {
    await enforceRegistryPolicy(admission, img, opts.registry);
  } catch (err) {
    await img.close();
    throw err;
  }
  return img;
}

/** Writes an image to docker://text (pushes it), then signs it as the registry options ask (--sign, --sign-by). */
async function writeDocker(text: string, img: SourceImage, opts: TransportOptions): Promise<void> {
  const [{ pushToRegistry }, { checkSignOptions, signPushed, wantsSignature }] = await Promise.all([import('./push.js'), import('./sign-push.js')]);
  const o = opts.registry ?? {};
  checkSignOptions(o);
  const { digest } = await pushToRegistry(text, img, o);
  if (wantsSignature(o)) await signPushed(text, digest, o);
}

/** Plugs the registry's docker:// reader and writer into the transports (idempotent); callers above registry/ call it before using a docker:// reference. */
export function plugRegistry(): void {
  registerDockerSource(openDocker);
  registerDockerDestination(writeDocker);
}
