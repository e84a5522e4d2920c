// Target text (function names, file names, error messages) shown to a person:
// C0 and C1 controls can drive a terminal (U+009B is a one-byte CSI) and bidi
// overrides make text read differently from what it is ("Trojan Source"),
// so both become "?" wherever such text is copied or shown as text.

// eslint-disable-next-line no-control-regex
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex
const UNSAFE_KEEP_LINES = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;

/** Every control and bidi override replaced by "?": for a shell word or one line. */
export function printable(s: string): string {
  return s.replace(UNSAFE, '?');
}

/** The same, keeping tabs and line feeds: for multi-line text such as a page's content. */
export function printableText(s: string): string {
  return s.replace(UNSAFE_KEEP_LINES, '?');
}
