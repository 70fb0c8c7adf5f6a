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

/** Wraps any error as a CairnError, keeping CairnErrors as they are. */
export function asCairnError(err: unknown): CairnError {
  if (isCairnError(err)) return err;
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e === 'object' && 'code' in e && e.code === 'ENOSPC') {
    return new CairnError('no space left on device', { cause: err, hint: 'free some disk space and try again' });
  }
  return new CairnError(e?.message ?? String(err), { cause: err });
}
