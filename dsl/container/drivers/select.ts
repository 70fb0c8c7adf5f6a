import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { warn } from '../../core/events.js';
import { BadInputError } from '../../core/errors.js';
import { overlayOptions, unmount } from '../../core/mounts.js';
import { runTool } from '../../core/spawn.js';
import { which } from '../../core/which.js';
import type { DriverName } from '../../store/containers.js';
import type { Store } from '../../store/store.js';
import { copyDriver } from './copying.js';
import type { Driver } from './driver.js';
import { overlayDriver } from './overlay.js';

/** The driver implementing a driver name. */
export function driverFor(name: DriverName): Driver {
  return name === 'overlay' ? overlayDriver : copyDriver;
}

/** Tries an overlay mount with a whiteout and an opaque dir in the store's own filesystem. */
async function overlayWorks(store: Store): Promise<boolean> {
  const t = await store.layers.tempDir();
  const [l, u, w, m] = ['l', 'u', 'w', 'm'].map((x) => path.join(t, x));
  try {
    await Promise.all([l, u, w, m].map((d) => fsp.mkdir(d)));
    const opts = overlayOptions({ lower: [l], upper: u, work: w, userxattr: store.flavor === 'user', sealable: true });
    await runTool('mount', ['-t', 'overlay', 'overlay', '-o', opts, m]);
    await unmount(m);
    // The seal writes overlay xattrs with setfattr: it must be there (looked up, not run: a spawn per new store).
    if (!which('setfattr')) return false;
    return true;
  } catch {
    return false;
  } finally {
    await unmount(m).catch(() => undefined);
    await fsp.rm(t, { recursive: true, force: true });
  }
}

/** Stores (by root) found unable to use overlayfs in this process: probed and warned about once, not per container. */
const noOverlay = new Set<string>();

/**
 * The driver for new containers: $STORAGE_DRIVER (overlay, or vfs/copy for the copying driver, as buildah
 * spells it), else overlay where a test mount works, else the copying driver with a warning.
 */
export async function chooseDriver(store: Store): Promise<DriverName> {
  const want = process.env.STORAGE_DRIVER;
  if (want === 'vfs' || want === 'copy') return 'copy';
  if (want && want !== 'overlay') throw new BadInputError(`unknown storage driver ${want}`, { hint: 'use STORAGE_DRIVER=overlay or STORAGE_DRIVER=vfs' });
  const cache = path.join(store.paths.root, `overlay-${store.flavor}.ok`);
  try {
    await fsp.access(cache);
    return 'overlay';
  } catch {
    /* not known yet */
  }
  // A failed probe is not cached on disk (installing setfattr must be enough), only for this process.
  if (want !== 'overlay' && noOverlay.has(store.paths.root)) return 'copy';
  if (await overlayWorks(store)) {
    await fsp.writeFile(cache, '');
    return 'overlay';
  }
  if (want === 'overlay') throw new BadInputError('overlayfs is not usable here', { hint: 'unset STORAGE_DRIVER to fall back to the copying driver' });
  noOverlay.add(store.paths.root);
  warn('overlayfs is not usable here (or setfattr is missing): using the copying driver, which is slower');
  return 'copy';
}
