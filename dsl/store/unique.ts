let counter = 0;

/** A name part unique within this host for temporary files (used with exclusive creation, so never clobbers). */
export function uniqueSuffix(): string {
  return `${process.pid}-${Date.now().toString(36)}-${(counter++).toString(36)}${Math.random().toString(36).slice(2, 8)}`;
}
