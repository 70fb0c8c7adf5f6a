import { registerNameResolver } from '../image/resolve.js';
import type { RegistryOptions } from '../transport/transports.js';

/**
 * Plugs the resolver of names the store lacks into image/ (idempotent). It is cheap: registries.conf and the
 * registry client are loaded only when a name is not in the store (then the docker:// transport is plugged too).
 */
export function plugNames(): void {
  registerNameResolver(async (name: string, registry: RegistryOptions | undefined, docker: boolean) => {
    const [{ plugRegistry }, { nameCandidates }] = await Promise.all([import('./plug.js'), import('./short-names.js')]);
    plugRegistry();
    return nameCandidates(name, registry, docker);
  });
}
