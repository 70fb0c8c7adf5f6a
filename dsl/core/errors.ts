/** The error family every cairn failure belongs to; the CLI prints `cairn <verb>: <message>` and the hint. */
export class CairnError extends Error {
  /** The verb or library call that failed, when known. */
  verb?: string;
  /** One line telling the user what to do about it. */
  hint?: string;
  /** Marks cairn's errors across copies of the library (the bundled CLI and a script's import). */
  readonly cairn = true;
  constructor(message: string, opts: { hint?: string; cause?: unknown; verb?: string } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.hint = opts.hint;
    this.verb = opts.verb;
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
