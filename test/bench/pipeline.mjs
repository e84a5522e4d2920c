// Our whole pipeline for one source, from the bytes on the wire to the
// metrics text: what the exporter does per scrape. Used warm (in-process,
// repeated) and cold (a fresh process, once) by run.mjs.
import { createReadStream, readFileSync } from 'node:fs';

const root = new URL('../../dist/', import.meta.url);
const load = (p) => import(new URL(p, root).href);
const [{ decompress }, { readProfile }, { expectCountProfile }, { groupGoroutines }, { groupHeap },
  { parseDebug2 }, { debug2Summarizer }, { renderTargets }, { goroutineMemo }, { heapMemo }, { Registry }] = await Promise.all([
  load('decode/gunzip.js'), load('decode/profile.js'), load('decode/validate.js'), load('summarize/signature.js'),
  load('summarize/heapsites.js'), load('decode/debug2.js'), load('summarize/textstacks.js'), load('metrics/render.js'), load('summarize/signature.js'), load('summarize/heapsites.js'),
  import('prom-client'),
]);

// The bench target's memos, as the exporter keeps one per target.
let memos = { goroutine: goroutineMemo(), heap: heapMemo() };

/** Forget the memoized meaning of every stack: the cost of a scrape that sees its stacks for the first time. */
export const forgetStacks = () => { memos = { goroutine: goroutineMemo(), heap: heapMemo() }; };

const target = { name: 'bench', url: 'http://127.0.0.1', topSignatures: 100, topHeapFunctions: 100, maxProfileBytes: 2 ** 30, maxDecompressedBytes: 2 ** 31, sources: ['goroutine', 'heap'] };
const MAX = 2 ** 31;
// What the exporter's worker keeps of a goroutine profile (sources/goroutine.ts's KEPT_SIGNATURES).
const KEEP = 2000;

async function render(result) {
  const r = new Registry();
  renderTargets(r, [{ target, ...result }]);
  return r.metrics();
}

/** Returns a function running the pipeline once over the file's bytes; resolves to a result size for sanity. */
export function pipeline(kind, file) {
  if (kind === 'debug2') {
    return async () => {
      // Streamed from disk in 64 KiB chunks, as it arrives from a socket: never held whole.
      const acc = debug2Summarizer();
      await parseDebug2(createReadStream(file, { highWaterMark: 65536 }), (g) => acc.add(g));
      return acc.result().summary.signatures.length;
    };
  }
  const body = readFileSync(file);
  if (kind === 'goroutine') {
    return async () => {
      const idx = readProfile(await decompress(body, MAX));
      expectCountProfile(idx, 'goroutine');
      const data = { ...groupGoroutines(idx, memos.goroutine, KEEP), format: 'proto' };
      const text = await render({ goroutine: { source: 'goroutine', durationSeconds: 0, data } });
      return data.signatures.length + text.length * 0;
    };
  }
  if (kind === 'heap') {
    return async () => {
      const data = groupHeap(readProfile(await decompress(body, MAX)), memos.heap);
      await render({ heap: { source: 'heap', durationSeconds: 0, data } });
      return data.sites.length;
    };
  }
  throw new Error(`unknown kind ${kind}`);
}

// As a script: one cold run in this fresh process; prints JSON.
if (process.argv[1] && new URL(import.meta.url).pathname === process.argv[1]) {
  const [kind, file] = process.argv.slice(2);
  const run = pipeline(kind, file);
  const t = performance.now();
  const groups = await run();
  const ms = performance.now() - t;
  process.stdout.write(`${JSON.stringify({ ms, groups, rss_mib: process.resourceUsage().maxRSS / 1024 })}\n`);
}
