import type { Heredoc } from './model.js';

/*
 * The text of a heredoc a COPY or ADD writes as a file: taken as written, except that, when its delimiter was not
 * quoted, `$NAME`, `${NAME}`, `${NAME:-word}` and `${NAME:+word}` are replaced as a shell would (quotes stay:
 * the body is a file's content, not words), and the escape character before `$` keeps a dollar.
 */

/** The body of heredoc h with its variables replaced through lookup when it is not quoted. */
export function heredocText(h: Heredoc, lookup: (name: string) => string | undefined, escape: string): string {
  if (!h.expand) return h.content;
  let out = '';
  const s = h.content;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === escape && s[i + 1] === '$') {
      out += '$';
      i++;
      continue;
    }
    if (ch !== '$') {
      out += ch;
      continue;
    }
    const braced = /^\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^}]*))?\}/.exec(s.slice(i + 1));
    if (braced) {
      const v = lookup(braced[1]);
      const op = braced[2];
      if (!op) out += v ?? '';
      else if (op.endsWith('-')) out += v === undefined || (op === ':-' && v === '') ? braced[3] : v;
      else out += v !== undefined && (op === '+' || v !== '') ? braced[3] : '';
      i += braced[0].length;
      continue;
    }
    const plain = /^[A-Za-z_][A-Za-z0-9_]*/.exec(s.slice(i + 1));
    if (plain) {
      out += lookup(plain[0]) ?? '';
      i += plain[0].length;
      continue;
    }
    out += ch;
  }
  return out;
}
