import { from, store } from './api.js';
import type { Container } from './api-container.js';
import { CairnError } from './core/errors.js';
import type { ImageConfig } from './oci/types.js';
import type { BuildState, StageState } from './api-dockerfile-steps.js';
import { ensureLive } from './api-dockerfile-cache.js';

/*
 * A stage's FROM. With the step cache in use, the base image is only resolved (by the same rules as from(), pull
 * policy included) and its config read: the stage's working container is made when a step first misses (or a
 * later stage reads this one), so a build whose every step is cached makes no container and mounts nothing.
 */

/** The base a FROM opened: its container when one was made, else the image to make it from. */
export interface OpenedBase {
  c?: Container;
  /** The base image's ID (undefined: scratch). */
  imageId?: string;
  /** The base image's runtime config (Env, Shell, WorkingDir, OnBuild…). */
  config: NonNullable<ImageConfig['config']>;
}

/** Resolves base (a reference or an image ID); makes its container now unless the build can wait (lazy). */
export async function openBase(st: BuildState, base: string, lazy: boolean): Promise<OpenedBase> {
  const o = st.opts;
  const reg = { creds: o.creds, authfile: o.authfile, tlsVerify: o.tlsVerify, certDir: o.certDir, platform: o.platform, registriesD: o.registriesD };
  if (lazy) {
    const [s, { checkPullPolicy, resolveImage }, { loadImage }] = await Promise.all([store({ root: st.root }), import('./image/resolve.js'), import('./image/store-image.js')]);
    if (base.startsWith('docker://')) (await import('./registry/plug.js')).plugRegistry();
    (await import('./registry/names-plug.js')).plugNames();
    const rec = await resolveImage(s, base, checkPullPolicy(o.pull), { signaturePolicy: o.signaturePolicy, registry: reg });
    if (rec) return { imageId: rec.id, config: (await loadImage(s, rec)).config.config ?? {} };
  }
  const c = await from(base, { root: st.root, pull: o.pull, signaturePolicy: o.signaturePolicy, ...reg });
  st.made.push(c);
  const rec = await c.record();
  return { c, imageId: rec.imageId, config: rec.config.config ?? {} };
}

/**
 * Marks c as a Dockerfile build's container (one history entry per instruction) and gives it env, the
 * variables a stage has by default (PATH): as in buildah, they leave no line in the history.
 */
export async function buildContainer(c: Container, env: string[]): Promise<void> {
  const before = (await c.record()).pending.length;
  if (env.length) await c.config({ env });
  const { withContainer } = await import('./container/engine.js');
  await withContainer(c.store, c.id, async (rec) => {
    rec.pending.splice(before);
    rec.historyPerStep = true;
    await c.store.containers.save(rec);
  });
}

/** Removes the ONBUILD triggers from the container's config (they ran: the image built on the base keeps none, as Docker's). */
export async function clearOnBuild(c: Container): Promise<void> {
  const { withContainer } = await import('./container/engine.js');
  await withContainer(c.store, c.id, async (rec) => {
    if (rec.config.config?.OnBuild) delete rec.config.config.OnBuild;
    await c.store.containers.save(rec);
  });
}

/** Marks a stage whose container is not made yet: reading s.c before liveStage is a bug, and says so. */
export function notMadeYet(s: StageState): void {
  Object.defineProperty(s, 'c', {
    configurable: true,
    enumerable: true,
    get() {
      throw new CairnError(`internal error: the container of stage ${s.stage.index} was used before it was made`);
    },
  });
}

/**
 * Makes the stage's container hold its state before a step runs on it or a later stage reads it: made from the
 * base image (FROM was lazy) or from the last cache hit's base with its config and pending history put back.
 */
export async function liveStage(st: BuildState, s: StageState): Promise<void> {
  const lazy = s.lazy;
  if (!lazy) {
    if (st.opts.layers) await ensureLive(st, s);
    return;
  }
  const hit = s.hit;
  const c = await from(hit ? (hit.base ?? 'scratch') : lazy.image, { root: st.root });
  st.made.push(c);
  if (hit) {
    const { withContainer } = await import('./container/engine.js');
    await withContainer(c.store, c.id, async (rec) => {
      rec.config = { ...hit.config, rootfs: rec.config.rootfs, history: rec.config.history } as ImageConfig;
      rec.pending = [...hit.pending];
      rec.historyPerStep = true;
      await c.store.containers.save(rec);
    });
  } else {
    await buildContainer(c, lazy.env);
    if (lazy.clearOnBuild) await clearOnBuild(c);
  }
  Object.defineProperty(s, 'c', { configurable: true, enumerable: true, writable: true, value: c });
  s.lazy = undefined;
  s.hit = undefined;
}
