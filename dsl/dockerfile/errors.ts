/*
 * The shape of every error a Dockerfile causes, so the user can jump to the spot:
 *
 *   message: `Dockerfile:7:1: unknown instruction FORM`           (FILE:LINE:COL: what is wrong, one line)
 *   hint:    `FORM alpine`                                         (the source line, when there is one)
 *            `^`                                                   (a caret under the column)
 *            `did you mean FROM? …`                                (what to do)
 *
 * The message stays one line (logs, `--json`); the hint carries the picture. Lines and columns are 1-based.
 */
import { BadInputError } from '../core/errors.js';
import type { Place } from './model.js';

/** `FILE:LINE:COL`, as messages start. */
export function where(place: Place): string {
  return `${place.file}:${place.line}:${place.column}`;
}

/** The source line with a caret under column (1-based); tabs are kept so the caret lines up in a terminal. */
export function caret(sourceLine: string, column: number): string {
  const pad = sourceLine.slice(0, Math.max(0, column - 1)).replace(/[^\t]/g, ' ');
  return `${sourceLine}\n${pad}^`;
}

/** A BadInputError `FILE:LINE:COL: what`, its hint the source line and a caret (when given) and then what to do. */
export function dockerfileError(place: Place, what: string, todo: string, sourceLine?: string): BadInputError {
  const hint = sourceLine === undefined ? todo : `${caret(sourceLine, place.column)}\n${todo}`;
  return new BadInputError(`${where(place)}: ${what}`, { hint });
}
