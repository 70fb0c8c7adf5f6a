/** The path, inside a flat tarball, of the image config (OCI config JSON), its first entry. */
export const FLAT_CONFIG = '.cairn/config.json';
/** The top directory of cairn's metadata in a flat tarball; not part of the root filesystem. */
export const FLAT_META_DIR = '.cairn';
