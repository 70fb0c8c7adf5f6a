// Imports the Debian tar into both stores as localhost/debian:bench (setup; timed for information only).
import { log } from '../log.mjs';
import { flush } from '../sh.mjs';

/** The base image name both tools store. */
export const BASE = 'localhost/debian:bench';

/**
 * buildah: `from scratch` + `add CTR debian.tar /` + `commit`; cairn: `pull tarball:debian.tar` + `tag`.
 * Then one `from` + `rm` on each side, so layers are unpacked before anything is measured; the result
 * also tells which storage driver cairn's containers use.
 */
export function importBase({ cairn, buildah, debianTar }) {
  log('base: importing the Debian tar into buildah…');
  const t0 = performance.now();
  const b = buildah.run(['from', 'scratch']);
  buildah.run(['add', '--quiet', b, debianTar, '/']);
  buildah.run(['commit', '--quiet', b, BASE]);
  buildah.run(['rm', b]);
  const bs = (performance.now() - t0) / 1000;
  flush();
  log('base: importing the Debian tar into cairn…');
  const t1 = performance.now();
  const id = cairn.run(['pull', `tarball:${debianTar}`]);
  cairn.run(['tag', id, BASE]);
  const cs = (performance.now() - t1) / 1000;
  for (const t of [buildah, cairn]) t.run(['rm', t.run(['from', BASE])]);
  const probe = cairn.run(['from', BASE]);
  const driver = JSON.parse(cairn.run(['containers', '--json'])).find((c) => c.name === probe)?.driver ?? 'unknown';
  cairn.run(['rm', probe]);
  flush();
  return {
    cairnDriver: driver,
    title: 'Base image import (setup, one run, not a goal)',
    rows: [{ what: 'Debian tar → stored image (buildah: from scratch + add + commit; cairn: pull tarball: + tag)', cairn: cs, buildah: bs }],
  };
}
