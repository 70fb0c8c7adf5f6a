// The Debian base of the recipes: `mmdebstrap --variant=minbase bookworm` as a root filesystem tarball, made
// once and reused. Kept at $DEBIAN_BASE, else recipes/.cache/debian-bookworm-minbase.tar.
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { $ } from 'cairn';

/** The path of the cached base tarball, made by mmdebstrap (temporary name, then renamed) when it is missing. */
export async function debianBase() {
  const file = process.env.DEBIAN_BASE || fileURLToPath(new URL('.cache/debian-bookworm-minbase.tar', import.meta.url));
  if (existsSync(file)) return file;
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}.tar`;
  try {
    // unshare mode works for root and, through cairn's user namespace, for a normal user.
    await $`mmdebstrap --variant=minbase --mode=unshare --quiet bookworm ${tmp}`;
    renameSync(tmp, file);
  } finally {
    rmSync(tmp, { force: true });
  }
  return file;
}
