// Streaming parser for the goroutine `?debug=1` text profile (runtime/pprof
// printCountProfile + printStackRecord):
//
//	goroutine profile: total 41
//	8 @ 0x48a0ae 0x41a5ae 0x698205 0x491981
//	# labels: {"shape":"pool"}
//	#	0x698204	main.poolWorker+0x44	leaky/shapes.go:150
//	<blank>
import { forEachLine, parseGoLabels, type TextFrame } from './debug2.js';

export interface Debug1Record { count: number; frames: TextFrame[]; labels?: Record<string, string>; }

const TOTAL = /^(?:goroutine|goroutineleak) profile: total (\d+)$/;
const RECORD = /^(\d+) @(?: 0x[0-9a-f]+)*$/;

export async function parseDebug1(body: AsyncIterable<Uint8Array>, onRecord: (r: Debug1Record) => void):
  Promise<{ total?: number; records: number; truncated: boolean }> {
  let first: string | undefined;
  let total: number | undefined;
  let cur: Debug1Record | undefined;
  let records = 0;
  let counted = 0;

  const finish = () => {
    if (cur) { onRecord(cur); records++; counted += cur.count; }
    cur = undefined;
  };

  const { bytes, cut } = await forEachLine(body, (line) => {
    if (first === undefined) {
      if (line === '') return;
      first = line;
      const m = TOTAL.exec(line);
      if (!m) throw new Error(`not a goroutine debug=1 dump: starts with ${JSON.stringify(line.slice(0, 60))}`);
      total = Number(m[1]);
      return;
    }
    if (line === '') return finish();
    const rec = RECORD.exec(line);
    if (rec) { finish(); cur = { count: Number(rec[1]), frames: [] }; return; }
    if (!cur) return; // garbage between records
    if (line.startsWith('# labels: ')) {
      const labels = parseGoLabels(line.slice('# labels: '.length));
      if (labels) cur.labels = labels;
    } else if (line.startsWith('#\t')) {
      // "#\t0x…" alone is a PC without a symbol; the columns are tab-aligned.
      const [, , fn, where] = line.split(/\t+/);
      const colon = where?.lastIndexOf(':') ?? -1;
      if (fn === undefined) cur.frames.push({ function: '', file: '', line: 0 });
      else if (where !== undefined && colon > 0) {
        cur.frames.push({ function: fn.replace(/\+0x[0-9a-f]+$/, ''), file: where.slice(0, colon), line: Number(where.slice(colon + 1)) || 0 });
      }
    }
  });

  const isPrefixOfHeader = (s: string) => /^goroutine/.test(s) || 'goroutine'.startsWith(s);
  if (first === undefined && cut !== '' && !isPrefixOfHeader(cut)) {
    throw new Error(`not a goroutine debug=1 dump: starts with ${JSON.stringify(cut.slice(0, 60))}`);
  }
  // Every record ends with a blank line, and the counts add up to the total:
  // anything else means the body was cut; the open record may be incomplete.
  const truncated = cut !== '' || cur !== undefined || bytes === 0 || total === undefined || counted !== total;
  return { ...(total !== undefined && { total }), records, truncated };
}
