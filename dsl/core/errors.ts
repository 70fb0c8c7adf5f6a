/**
 * What an error is about, for code that must tell errors apart: callers compare this, never the message.
 * `signature-policy`: the signature policy file (or a key it names) is unreadable or invalid (its message
 * names the file already); `not-json`: a record or document is not JSON; `malformed`: it is JSON of the
 * wrong shape.
 */
export type ErrorKind = 'signature-policy' | 'not-json' | 'malformed';

/** The error family every cairn failure belongs to; the CLI prints `cairn <verb>: <message>` and the hint. */
export class CairnError extends Error {
  /** The verb or library call that failed, when known. */
  verb?: string;
  /** One line telling the user what to do about it. */
  hint?: string;
  /** What the error is about, when a caller needs to know (ErrorKind). */
  kind?: ErrorKind;
  /** Marks cairn's errors across copies of the library (the bundled CLI and a script's import). */
  readonly cairn = true;
  constructor(message: string, opts: { hint?: string; cause?: unknown; verb?: string; kind?: ErrorKind } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.hint = opts.hint;
    this.verb = opts.verb;
    if (opts.kind !== undefined) this.kind = opts.kind;
  }
}

/** Something named by the user does not exist (image, container, file, key). */
export class NotFoundError extends CairnError {}

/** A name or resource is already taken or held. */
export class ConflictError extends CairnError {}

/** Input that cannot be accepted: a corrupt archive, a wrong digest, an escaping path, a bad flag value. */
export class BadInputError extends CairnError {}

/** A signature is missing, untrusted or does not verify. */
export class SignatureError extends CairnError {}

/** The command-line was malformed (unknown flag, wrong number of arguments). */
export class UsageError extends CairnError {}

/** True when err is a CairnError (from any copy of the library) of the given kind. */
export function isErrorKind(err: unknown, kind: ErrorKind): boolean {
  return isCairnError(err) && err.kind === kind;
}

/** True for a CairnError from any copy of the library. */
export function isCairnError(err: unknown): err is CairnError {
  return err instanceof CairnError || (typeof err === 'object' && err !== null && (err as { cairn?: unknown }).cairn === true);
}

/** What each system call of an errno error was doing, as the start of its one line. */
const DOING: Record<string, string> = {
  open: 'cannot open',
  mkdir: 'cannot create directory',
  rename: 'cannot rename',
  unlink: 'cannot remove',
  rmdir: 'cannot remove',
  rm: 'cannot remove',
  write: 'cannot write',
  read: 'cannot read',
  scandir: 'cannot read directory',
  copyfile: 'cannot copy',
  symlink: 'cannot make link',
  link: 'cannot make link',
  chmod: 'cannot change mode of',
  chown: 'cannot change owner of',
  mkdtemp: 'cannot create a directory in',
  stat: 'cannot look at',
  lstat: 'cannot look at',
};

/** The reason of each common errno, in words, and what to do about it. */
const REASON: Record<string, [string, string]> = {
  ENOENT: ['no such file or directory (or the place does not accept new files)', 'check the path: its directory must exist and be writable'],
  EACCES: ['permission denied', 'choose a place you may write to, or fix its permissions'],
  EPERM: ['operation not permitted', 'choose a place you may write to, or fix its permissions'],
  EROFS: ['read-only file system', 'choose a writable place'],
  ENOTDIR: ['a part of the path is not a directory', 'check the path'],
  EISDIR: ['it is a directory', 'give a file name, not a directory'],
  EEXIST: ['it already exists', 'remove it first, or choose another name'],
  ENAMETOOLONG: ['the name is too long', 'choose a shorter path'],
  ELOOP: ['too many symbolic links', 'check the path'],
  EDQUOT: ['disk quota exceeded', 'free some space and try again'],
};

/** Wraps any error as a CairnError, keeping CairnErrors as they are; a system call's error becomes one plain line. */
export function asCairnError(err: unknown): CairnError {
  if (isCairnError(err)) return err;
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e === 'object' && 'code' in e && e.code === 'ENOSPC') {
    return new CairnError('no space left on device', { cause: err, hint: 'free some disk space and try again' });
  }
  const reason = e && typeof e === 'object' && typeof e.code === 'string' ? REASON[e.code] : undefined;
  if (reason && typeof e.path === 'string') {
    const doing = (e.syscall && DOING[e.syscall]) ?? 'cannot use';
    return new CairnError(`${doing} ${e.path}: ${reason[0]}`, { cause: err, hint: reason[1] });
  }
  return new CairnError(e?.message ?? String(err), { cause: err });
}
