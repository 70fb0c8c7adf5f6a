// The shape of the hostile corpus: each case is data (what it feeds cairn and the one outcome it expects).
import type { BaliKey } from '../bali.js';

/**
 * The one outcome a case expects. refused: exit 125, one line `cairn VERB: …` (plus a hint line), no new image
 * or container. confined: the verb succeeds (exit 0), what it wrote stays inside the container root, and
 * nothing outside it changed. unsigned: `cairn verify` refuses, saying the file is unsigned. Every case also checks the host.
 */
export type Outcome = 'refused' | 'confined' | 'unsigned';

/** Who a case makes sense for: real root, or a normal user (as root of the user's namespace); both when absent. */
export type Who = 'root' | 'rootless';

/** Where the sources of an image come from: transports, and the storage driver a container gets. */
export type Source = 'tarball' | 'tarball-vfs' | 'oci' | 'oci-vfs' | 'oci-archive' | 'docker-archive' | 'exec';

/** What a case's builder gets: host paths it may aim at, a place for its files, the keys. */
export interface CaseCtx {
  /** A directory outside every root with canary files: victim, secret (0600), fifo (a 0600 file), vdir/keep, etc/. */
  canary: string;
  /** HOME of the cairn calls (with a .bashrc canary). */
  home: string;
  /** The content of canary/secret and canary/fifo: must never reach the store. */
  secret: string;
  /** A scratch directory for the case's input files (not checked). */
  work: string;
  /** A name unique to this row, for containers. */
  name: string;
  /** The key cairn trusts (XDG_CONFIG_HOME of every call trusts it). */
  trusted: BaliKey;
  /** A key cairn does not trust. */
  stranger: BaliKey;
  /** The tiny root filesystem (sh, coreutils and their libraries) as a tar, for images that must run. */
  tiny(): Buffer;
}

/** One cairn call: arguments after `--root ROOT`, extra environment. */
export interface Step {
  args: string[];
  env?: Record<string, string>;
}

/** What a judged call gave, for a case's own extra checks. */
export interface CallResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** What a case may look at after its judged call: the store root and its context. */
export interface AfterCtx extends CaseCtx {
  root: string;
}

/** One row of the corpus. */
export interface HostileCase {
  /** Unique id: class/case@source. */
  id: string;
  /** The class of attack (for the report). */
  klass: string;
  /** What the input tries, in a few words. */
  what: string;
  outcome: Outcome;
  only?: Who;
  /** Writes the input below ctx.work; returns the calls to make: all but the last must succeed, the last is judged. */
  prepare(ctx: CaseCtx): Promise<Step[]> | Step[];
  /** Extra checks after the judged call; returns problems (empty when fine). */
  after?(ctx: AfterCtx, r: CallResult): string[] | Promise<string[]>;
}
