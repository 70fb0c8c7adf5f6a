/** One challenge of a WWW-Authenticate header: its scheme (lower case) and parameters (names lower case). */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/;

/**
 * Parses a WWW-Authenticate header (RFC 9110 section 11.6.1) into its challenges: `Bearer realm="…",
 * service="…",scope="…"` gives one, `Basic realm="x", Bearer realm="y"` two. Quoted values may hold commas
 * and backslash escapes; what cannot be parsed ends the parse (the challenges read so far are kept).
 */
export function parseChallenges(header: string): Challenge[] {
  const out: Challenge[] = [];
  let s = header;
  let current: Challenge | undefined;
  const skip = (re: RegExp) => {
    s = s.replace(re, '');
  };
  for (;;) {
    skip(/^[\s,]+/);
    if (!s) break;
    const tok = TOKEN.exec(s);
    if (!tok) break;
    const word = tok[0];
    const after = s.slice(word.length);
    const eq = /^\s*=\s*/.exec(after);
    // `name=value` is a parameter of the current challenge; a token followed by anything else starts a new one
    // (a token68 credential, `name==`, counts as a parameter-less challenge's data and is skipped).
    if (eq && current && !/^\s*=\s*=/.test(after)) {
      s = after.slice(eq[0].length);
      let value: string;
      if (s.startsWith('"')) {
        let i = 1;
        value = '';
        while (i < s.length && s[i] !== '"') {
          if (s[i] === '\\' && i + 1 < s.length) i++;
          value += s[i++];
        }
        if (i >= s.length) break; // an unterminated quoted string: not a header to trust further
        s = s.slice(i + 1);
      } else {
        const v = TOKEN.exec(s);
        value = v ? v[0] : '';
        s = s.slice(value.length);
      }
      current.params[word.toLowerCase()] = value;
      continue;
    }
    current = { scheme: word.toLowerCase(), params: {} };
    out.push(current);
    s = after;
    skip(/^\s+[A-Za-z0-9\-._~+/]+=*(?=\s*(,|$))/); // a token68 after the scheme
  }
  return out;
}
