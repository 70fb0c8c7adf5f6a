import os from 'node:os';
import path from 'node:path';

/** The storage root: --root, else $CAIRN_ROOT, else /var/lib/cairn for root and the XDG data dir for others. */
export function defaultRoot(): string {
  if (process.env.CAIRN_ROOT) return path.resolve(process.env.CAIRN_ROOT);
  if (process.getuid?.() === 0 && !process.env.CAIRN_ROOTLESS_UID) return '/var/lib/cairn';
  const data = process.env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share');
  return path.join(data, 'cairn');
}

/** The fixed layout below a storage root. */
export class StorePaths {
  constructor(readonly root: string) {}
  /** Directory of content-addressed blobs. */
  get blobs(): string { return path.join(this.root, 'blobs', 'sha256'); }
  /** Path of one blob, by hex. */
  blob(hex: string): string { return path.join(this.blobs, hex); }
  /** Directory of extracted layers. */
  get layers(): string { return path.join(this.root, 'layers'); }
  /** Directory of one extracted layer, by diffID hex. */
  layer(hex: string): string { return path.join(this.layers, hex); }
  /** Directory of image records. */
  get images(): string { return path.join(this.root, 'images'); }
  /** Directory of container records and their trees. */
  get containers(): string { return path.join(this.root, 'containers'); }
  /** Directory of one container. */
  container(id: string): string { return path.join(this.containers, id); }
  /** Directory of lock files. */
  get locks(): string { return path.join(this.root, 'locks'); }
  /** Directory of the records of build scripts whose last run failed (the containers it left). */
  get builds(): string { return path.join(this.root, 'builds'); }
  /** Directory for temporary files (same filesystem as everything else, so renames are atomic). */
  get tmp(): string { return path.join(this.root, 'tmp'); }
}
