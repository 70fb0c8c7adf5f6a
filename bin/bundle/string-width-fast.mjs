// string-width for the shell's screen, with a fast path: a string made only of code points that are one column
// wide whatever the context (printable ASCII, Latin-1, punctuation, arrows, box drawing, geometric shapes,
// braille, and the few dingbats the screen draws) is as wide as it is long in code points. Anything else (ANSI
// escapes, combining marks, emoji, East Asian wide characters) goes to the real string-width, whose first use
// builds an Intl.Segmenter: a tenth of the time to the shell's first prompt, for the status line's `●` alone.
import realStringWidth from 'string-width';

/** True for a code point that is always one column (see above). */
function narrow(c) {
  if (c >= 0x20 && c <= 0x7e) return true;
  if (c >= 0xa0 && c <= 0x2ff) return c !== 0xad;
  if (c >= 0x2010 && c <= 0x2027) return true;
  if (c >= 0x2030 && c <= 0x205e) return true;
  if (c >= 0x2190 && c <= 0x21ff) return true;
  if (c >= 0x2500 && c <= 0x25fc) return true;
  if (c >= 0x2800 && c <= 0x28ff) return true;
  return c === 0x2713 || c === 0x2717 || c === 0x276f;
}

/** The columns a string takes in a terminal. */
export default function stringWidth(text, options) {
  // East Asian ambiguous characters (`●`, `·`) are one column only when ambiguousIsNarrow (the default).
  if (typeof text !== 'string' || text.length === 0 || options?.ambiguousIsNarrow === false) return realStringWidth(text, options);
  let n = 0;
  for (const ch of text) {
    if (!narrow(ch.codePointAt(0))) return realStringWidth(text, options);
    n++;
  }
  return n;
}
