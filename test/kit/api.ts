// In-process use of the engine through its public API (dsl/index.ts), for tests of what the engine does rather
// than of the CLI's surface: no Node.js start-up per call. test/kit/env.ts sets the variables a call reads.
import { inspect, type Container } from '../../dsl/index.js';

/**
 * True when the engine can run in this process: as root on the host, or inside a normal user's cairn namespace
 * (test/run.sh runs every tier but test/integration/cli inside `cairn unshare`).
 */
export const IN_PROCESS = process.getuid?.() === 0 || !!process.env.CAIRN_USERNS;

/**
 * Mounts a container's tree and returns its path as this process sees it. (Container.mount() returns the path for
 * host tools: for a normal user, through the namespace's pause process, /proc/PID/root/…; this process is inside
 * that namespace already, and the path it needs does not depend on that process.)
 */
export async function mountedTree(c: Container): Promise<string> {
  await c.mount();
  const { mountPoint } = (await inspect(c.id, { root: c.store.paths.root, type: 'container' })) as { mountPoint: string | null };
  if (!mountPoint) throw new Error(`container ${c.name} is mounted but inspect names no mount point`);
  return mountPoint;
}
