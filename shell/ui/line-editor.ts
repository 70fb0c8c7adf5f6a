/*
 * The prompt's line, edited the readline way: pure functions over { text, cursor } (cursor: an index into the
 * string's code points, so an emoji or accented letter is one step of ←/→).
 */

/** The line being typed and where the cursor is (in code points). */
export interface Line {
  text: string;
  cursor: number;
}

/** An empty line. */
export const EMPTY: Line = { text: '', cursor: 0 };

const chars = (s: string) => [...s];

/** A line of this text with the cursor at its end. */
export function lineOf(text: string): Line {
  return { text, cursor: chars(text).length };
}

/** The text before the cursor. */
export function beforeCursor(l: Line): string {
  return chars(l.text).slice(0, l.cursor).join('');
}

/** Inserts text at the cursor (control characters dropped: a paste keeps only what the line can hold). */
export function insert(l: Line, s: string): Line {
  // eslint-disable-next-line no-control-regex
  const add = chars(s.replace(/\t/g, ' ').replace(/[\x00-\x1f\x7f]/g, ''));
  if (!add.length) return l;
  const c = chars(l.text);
  c.splice(l.cursor, 0, ...add);
  return { text: c.join(''), cursor: l.cursor + add.length };
}

/** Moves the cursor by delta code points, within the line. */
export function move(l: Line, delta: number): Line {
  const n = chars(l.text).length;
  return { ...l, cursor: Math.max(0, Math.min(n, l.cursor + delta)) };
}

/** Home / Ctrl-A. */
export function home(l: Line): Line {
  return { ...l, cursor: 0 };
}

/** End / Ctrl-E. */
export function end(l: Line): Line {
  return { ...l, cursor: chars(l.text).length };
}

/** Backspace: removes the character before the cursor. */
export function backspace(l: Line): Line {
  if (l.cursor === 0) return l;
  const c = chars(l.text);
  c.splice(l.cursor - 1, 1);
  return { text: c.join(''), cursor: l.cursor - 1 };
}

/** Delete (Ctrl-D on a non-empty line): removes the character under the cursor. */
export function del(l: Line): Line {
  const c = chars(l.text);
  if (l.cursor >= c.length) return l;
  c.splice(l.cursor, 1);
  return { text: c.join(''), cursor: l.cursor };
}

/** Ctrl-U: removes everything before the cursor. */
export function killBefore(l: Line): Line {
  return { text: chars(l.text).slice(l.cursor).join(''), cursor: 0 };
}

/** Ctrl-K: removes everything from the cursor on. */
export function killAfter(l: Line): Line {
  return { text: chars(l.text).slice(0, l.cursor).join(''), cursor: l.cursor };
}

/** Ctrl-W: removes the word before the cursor (and the spaces after it), as readline's unix-word-rubout. */
export function killWord(l: Line): Line {
  const c = chars(l.text);
  let i = l.cursor;
  while (i > 0 && c[i - 1] === ' ') i--;
  while (i > 0 && c[i - 1] !== ' ') i--;
  c.splice(i, l.cursor - i);
  return { text: c.join(''), cursor: i };
}

/**
 * Replaces the text from `start` (a UTF-16 index, as the session's completion gives it) to the cursor with
 * `word`; a completed word that is not a directory gets a space after it.
 */
export function replaceWord(l: Line, start: number, word: string, final: boolean): Line {
  const before = beforeCursor(l);
  const after = chars(l.text).slice(l.cursor).join('');
  const from = Math.max(0, Math.min(start, before.length));
  const spaced = final && !word.endsWith('/');
  const add = spaced && !after.startsWith(' ') ? word + ' ' : word;
  const head = before.slice(0, from) + add;
  // A space already there is stepped over, as if typed.
  return { text: head + after, cursor: chars(head).length + (spaced && after.startsWith(' ') ? 1 : 0) };
}

/** The longest prefix all candidates share. */
export function commonPrefix(words: readonly string[]): string {
  if (!words.length) return '';
  let p = words[0];
  for (const w of words) while (!w.startsWith(p)) p = p.slice(0, -1);
  return p;
}

/** The line's text as the prompt shows it in `width` columns: a window around the cursor. */
export function visible(l: Line, width: number): { text: string; cursor: number } {
  const c = chars(l.text);
  const w = Math.max(4, width);
  if (c.length < w) return { text: l.text, cursor: l.cursor };
  // Keep the cursor in view with a little context on its right.
  let from = Math.max(0, l.cursor - w + Math.min(8, Math.floor(w / 4)));
  from = Math.min(from, Math.max(0, c.length - w + 1));
  return { text: c.slice(from, from + w - 1).join(''), cursor: l.cursor - from };
}
