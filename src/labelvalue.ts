// Label values that come from a target (function names, file paths, expvar
// paths) are cut to a documented length with a visible marker: one 10 MB
// function name must not become a 10 MB series, page or API answer.

export const MAX_LABEL_CHARS = 256;
/** Ends every value that was cut, so a cut name never passes for a real one. */
export const CUT_MARKER = '…(cut)';

export function labelValue(s: string, max = MAX_LABEL_CHARS): string {
  if (s.length <= max) return s;
  let end = max - CUT_MARKER.length;
  const c = s.charCodeAt(end - 1);
  if (c >= 0xd800 && c <= 0xdbff) end--; // never split a surrogate pair
  return s.slice(0, end) + CUT_MARKER;
}
