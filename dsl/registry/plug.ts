import { registerDockerDestination, registerDockerSource, type TransportOptions } from '../transport/transports.js';
import type { SourceImage } from '../transport/source.js';
import { formatRegistryRef, parseRegistryRef, policyScopes } from './reference.js';

/**
 * Applies the signature policy to a registry image before anything of it is fetched: cairn verifies no
 * registry signatures yet, so a policy that requires one for this scope refuses it (a policy that rejects
 * it refuses it too); `insecureAcceptAnything` admits it.
 */
export async function admitRegistryImage(text: string, policy: string | undefined): Promise<void> {
  const [{ loadPolicy, refusalError }, { judgeUnsignable, requirementsFor }] = await Promise.all([import('../sign/trust.js'), import('../sign/policy-judge.js')]);
  const ref = parseRegistryRef(text);
  const j = judgeUnsignable(requirementsFor(loadPolicy(policy), 'docker', policyScopes(ref)), 'docker');
  if (!j.ok) throw refusalError(j, `docker://${formatRegistryRef(ref)}`);
}

/** Opens docker://text for reading, as the signature policy allows. */
async function openDocker(text: string, opts: TransportOptions): Promise<SourceImage> {
  await admitRegistryImage(text, opts.signaturePolicy);
  const { openRegistrySource } = await import('./source.js');
  return openRegistrySource(text, opts.registry);
}

/** Writes an image to docker://text (pushes it), with the registry options of opts. */
async function writeDocker(text: string, img: SourceImage, opts: TransportOptions): Promise<void> {
  const { pushToRegistry } = await import('./push.js');
  await pushToRegistry(text, img, opts.registry);
}

/** Plugs the registry's docker:// reader and writer into the transports (idempotent); callers above registry/ call it before using a docker:// reference. */
export function plugRegistry(): void {
  registerDockerSource(openDocker);
  registerDockerDestination(writeDocker);
}
