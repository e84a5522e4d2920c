// Streaming parser for the goroutine `?debug=2` text dump: what
// `runtime.Stack(buf, true)` prints (runtime/traceback.go goroutineheader,
// traceback1, printcreatedby1). The dump can be 64 MiB, so it is read line by
// line and each goroutine handed to a callback as soon as it is complete.

export interface TextFrame { function: string; file: string; line: number; }

export interface TextGoroutine {
  id: number;
  waitReason: string;
  waitMinutes: number;
  lockedToThread: boolean;
  frames: TextFrame[];
  elided: boolean;
  createdBy?: { function: string; goroutine?: number; file: string; line: number };
  labels?: Record<string, string>;
}

export interface Debug2Result { goroutines: number; truncated: boolean; bytes: number; }

// writeGoroutineStacks stops at a 64 MiB buffer and writes it as is.
export const GO_DUMP_CAP = 64 << 20;
// A longer "line" is garbage; dropping it keeps memory bounded.
const MAX_LINE = 1 << 20;

// Buffer#toString's argument checks cost as much as decoding a short line.
const utf8Slice = (Buffer.prototype as unknown as { utf8Slice?: (s: number, e: number) => string }).utf8Slice;
const utf8 = (b: Buffer, s: number, e: number): string => (utf8Slice ? utf8Slice.call(b, s, e) : b.toString('utf8', s, e));

/**
 * Calls onLine for every newline-terminated line (without "\r\n"/"\n").
 * `cut` is the unterminated text at the end, if any (never passed to onLine).
 * Lines are decoded one by one from the bytes: no chunk-sized strings, so
 * little survives each young-generation GC and V8 does not grow its heap.
 */
export async function forEachLine(body: AsyncIterable<Uint8Array>, onLine: (line: string) => void):
  Promise<{ bytes: number; cut: string }> {
  let rest: Buffer[] = []; // a line split across chunks
  let restLength = 0;
  let bytes = 0;
  let discarding = false;
  for await (const chunk of body) {
    bytes += chunk.byteLength;
    const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    for (let nl = buf.indexOf(10); nl >= 0; nl = buf.indexOf(10, start)) {
      let line = buf;
      let s = start;
      let e = nl;
      if (restLength > 0) {
        line = Buffer.concat([...rest, buf.subarray(start, nl)]);
        s = 0;
        e = line.length;
        rest = [];
        restLength = 0;
      }
      if (e > s && line[e - 1] === 13) e--;
      if (!discarding) onLine(utf8(line, s, e));
      discarding = false;
      start = nl + 1;
    }
    if (start < buf.length && !discarding) {
      restLength += buf.length - start;
      rest.push(Buffer.from(buf.subarray(start))); // a copy: the caller may reuse its chunk
      if (restLength > MAX_LINE) { rest = []; restLength = 0; discarding = true; }
    }
  }
  return { bytes, cut: discarding ? '\0' : Buffer.concat(rest).toString('utf8') };
}

/**
 * Parses the `{"k": "v", ...}` label set Go prints with Go-quoted strings
 * (`labels:{…}` in 1.26 traceback headers, `# labels: {…}` in debug=1), or
 * with `bare`, also strings of [A-Za-z0-9./_] left unquoted (`{k: v}` after the 1.27 header).
 * Undefined if malformed.
 */
export function parseGoLabels(s: string, bare = false): Record<string, string> | undefined {
  let i = 0;
  const ws = () => { while (s[i] === ' ') i++; };
  const str = (): string | undefined => {
    if (s[i] !== '"') {
      const word = bare ? BARE.exec(s.slice(i)) : null;
      if (!word) return undefined;
      i += word[0].length;
      return word[0];
    }
    i++;
    let out = '';
    while (i < s.length) {
      const c = s[i++]!;
      if (c === '"') return out;
      if (c !== '\\') { out += c; continue; }
      const e = s[i++] ?? '';
      const width = HEX_WIDTH[e] ?? 0;
      const hex = s.slice(i, i + width);
      if (ESCAPES[e] !== undefined) out += ESCAPES[e];
      else if (width > 0 && hex.length === width && /^[0-9a-fA-F]+$/.test(hex) && parseInt(hex, 16) <= 0x10ffff) {
        out += String.fromCodePoint(parseInt(hex, 16)); // \xNN is a byte of invalid UTF-8: kept as U+00NN
        i += width;
      } else return undefined;
    }
    return undefined;
  };
  ws();
  if (s[i++] !== '{') return undefined;
  const labels: Record<string, string> = Object.create(null); // a "__proto__" key stays a key
  ws();
  if (s[i] === '}') return labels;
  for (;;) {
    ws();
    const k = str();
    ws();
    if (k === undefined || s[i++] !== ':') return undefined;
    ws();
    const v = str();
    if (v === undefined) return undefined;
    labels[k] = v;
    ws();
    const c = s[i++];
    if (c === '}') return labels;
    if (c !== ',') return undefined;
  }
}
const BARE = /^[A-Za-z0-9./_]+/; // what Go 1.27's tracebackStringNeedsQuoting leaves unquoted
const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', f: '\f', v: '\v', '\\': '\\', '"': '"', "'": "'" };
const HEX_WIDTH: Record<string, number> = { x: 2, u: 4, U: 8 };

// `goroutine 7 [chan send, 3 minutes]:`; GOTRACEBACK=system adds `gp=… m=…` before the bracket.
const HEADER = /^goroutine (\d+)(?: [^[]*)? \[(.*)\]:$/;
// Go 1.27 (tracebacklabels on by default for go 1.27 modules) puts the labels after the bracket:
// `goroutine 7 [select (no cases)] {shape: blockforever}:`. A wait reason has no "]".
const HEADER_LABELS = /^goroutine (\d+)(?: [^[]*)? \[([^\]]*)\] (\{.*\}):$/;
const FILE_LINE = /^\t(.+):(\d+)(?: .*)?$/;
const NOT_DOT = /[\r\u2028\u2029]/; // what "." in FILE_LINE does not match

/**
 * FILE_LINE without the regex (a third of the parse): the index of the ':'
 * before the line number, or -1. Greedy (.+): the last ':' followed by
 * digits and then the end or a space.
 */
function fileLine(line: string): number {
  if (NOT_DOT.test(line)) {
    const m = FILE_LINE.exec(line);
    return m ? 1 + m[1]!.length : -1;
  }
  for (let c = line.lastIndexOf(':'); c >= 2; c = line.lastIndexOf(':', c - 1)) {
    let i = c + 1;
    while (i < line.length && line.charCodeAt(i) >= 48 && line.charCodeAt(i) <= 57) i++;
    if (i > c + 1 && (i === line.length || line.charCodeAt(i) === 32)) return c;
  }
  return -1;
}

/** Number() of the digits at from (as FILE_LINE's (\d+)). */
function lineNumber(line: string, from: number): number {
  let n = 0;
  let i = from;
  for (; i < line.length; i++) {
    const d = line.charCodeAt(i) - 48;
    if (d < 0 || d > 9) break;
    n = n * 10 + d;
  }
  return i - from > 15 ? Number(line.slice(from, i)) : n; // exact as long as it stays below 2^53
}
const CREATED_BY = /^created by (.+?)(?: in goroutine (\d+))?$/;
const ELIDED = /^\.\.\.(?:additional|\d+) frames elided\.\.\.$/;

function parseHeader(line: string): TextGoroutine | undefined {
  const after = HEADER_LABELS.exec(line);
  const m = after ?? HEADER.exec(line);
  if (!m) return undefined;
  let status = m[2]!;
  let labels: Record<string, string> | undefined;
  const at = after ? -1 : status.indexOf(' labels:{'); // last in the bracket (Go 1.26 GODEBUG=tracebacklabels=1)
  if (after) labels = parseGoLabels(after[3]!, true);
  else if (at >= 0) {
    labels = parseGoLabels(status.slice(at + ' labels:'.length));
    status = status.slice(0, at);
  }
  const [waitReason, ...extras] = status.split(', ');
  const g: TextGoroutine = { id: Number(m[1]), waitReason: waitReason!, waitMinutes: 0, lockedToThread: false, frames: [], elided: false };
  for (const x of extras) {
    const min = /^(\d+) minutes$/.exec(x);
    if (min) g.waitMinutes = Number(min[1]);
    else if (x === 'locked to thread') g.lockedToThread = true;
  }
  if (labels) g.labels = labels;
  return g;
}

/**
 * `cap` is the size at which the writer cuts the dump (Go's 64 MiB; a
 * program calling runtime.Stack with its own buffer has another one).
 */
export async function parseDebug2(body: AsyncIterable<Uint8Array>, onGoroutine: (g: TextGoroutine) => void,
  cap = GO_DUMP_CAP): Promise<Debug2Result> {
  let first: string | undefined;
  let cur: TextGoroutine | undefined;
  let pendingFn: string | undefined; // a function line waiting for its file line
  let pendingCreator: { function: string; goroutine?: number } | undefined;
  let ancestors = false; // GODEBUG=tracebackancestors: not this goroutine's stack
  let goroutines = 0;

  const finish = () => {
    if (cur) { onGoroutine(cur); goroutines++; }
    cur = undefined; pendingFn = undefined; pendingCreator = undefined; ancestors = false;
  };

  const { bytes, cut } = await forEachLine(body, (line) => {
    if (first === undefined) {
      if (line === '') return;
      first = line;
      if (!/^goroutine \d+ /.test(line)) throw new Error(`not a goroutine debug=2 dump: starts with ${JSON.stringify(line.slice(0, 60))}`);
    }
    if (line === '') return finish();
    if (line.startsWith('goroutine ')) {
      const g = parseHeader(line);
      if (g) { finish(); cur = g; return; }
    }
    if (!cur) return; // garbage between records
    if (line.charCodeAt(0) === 9) {
      const at = fileLine(line);
      if (at < 0) return;
      const file = line.slice(1, at);
      const ln = lineNumber(line, at + 1);
      if (pendingFn !== undefined && !ancestors) cur.frames.push({ function: pendingFn, file, line: ln });
      else if (pendingCreator && !ancestors) {
        // Not an object spread: V8 clones those slowly, and the garbage grew the heap by 20 MB on a 64 MiB dump.
        cur.createdBy = { function: pendingCreator.function, file, line: ln };
        if (pendingCreator.goroutine !== undefined) cur.createdBy.goroutine = pendingCreator.goroutine;
      }
      pendingFn = undefined; pendingCreator = undefined;
      return;
    }
    pendingFn = undefined; pendingCreator = undefined;
    const created = line.startsWith('created by ') ? CREATED_BY.exec(line) : null;
    if (created) {
      pendingCreator = { function: created[1]! };
      if (created[2] !== undefined) pendingCreator.goroutine = Number(created[2]);
    } else if (line.startsWith('...') && ELIDED.test(line)) {
      if (!ancestors) cur.elided = true;
    } else if (line.startsWith('[originating from goroutine ')) {
      ancestors = true;
    } else if (line.endsWith(')')) {
      // Arguments never contain parentheses; the name can: main.(*T).run(0x1, {0x2, 0x3}).
      const open = line.lastIndexOf('(');
      if (open > 0) pendingFn = line.slice(0, open);
    }
  });

  // Truncated: no final newline, a frame or creator line without its file
  // line, or exactly the cap (the cut may fall on a line boundary). The last record
  // may then be incomplete: drop it rather than report a wrong stack.
  const isPrefixOfHeader = (s: string) => /^goroutine \d/.test(s) || 'goroutine '.startsWith(s);
  if (first === undefined && cut !== '' && !isPrefixOfHeader(cut)) {
    throw new Error(`not a goroutine debug=2 dump: starts with ${JSON.stringify(cut.slice(0, 60))}`);
  }
  const truncated = cut !== '' || pendingFn !== undefined || pendingCreator !== undefined || bytes === 0 || bytes === cap;
  if (truncated) cur = undefined;
  finish();
  return { goroutines, truncated, bytes };
}
