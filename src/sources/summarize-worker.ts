// The worker-thread side of sources/offthread.ts: bytes in, a capped summary
// out. Inflating, decoding and grouping a profile is CPU work proportional to
// what the target sent; here it cannot hold the event loop, and the pool can
// stop it at the scrape deadline by ending the thread.
import { ScrapeError } from '../errors.js';
import { readGzippedProfile } from '../decode/profile.js';
import { expectCountProfile } from '../decode/validate.js';
import { goroutineMemo, groupGoroutines, type GoroutineMemo, type GoroutineSummary } from '../summarize/signature.js';
import { groupHeap, heapMemo, keepTopSites, type HeapMemo, type HeapSummary } from '../summarize/heapsites.js';

export interface SummarizeTask {
  /** goroutine and goroutineleak: that count profile; upload: either, as its sample type says; heap. */
  kind: 'goroutine' | 'goroutineleak' | 'upload' | 'heap';
  /** Whose memo to use (a target's name); none for uploads. */
  memoKey?: string;
  body: Uint8Array;
  maxInflatedBytes: number;
  /** Signatures (or heap sites) to send back; the rest are summed. */
  keep: number;
}

export type SummarizeAnswer =
  | { ok: true; kind: 'goroutine' | 'goroutineleak'; goroutines: GoroutineSummary }
  | { ok: true; kind: 'heap'; heap: HeapSummary }
  | { ok: false; stage: ScrapeError['stage']; code: ScrapeError['code']; message: string };

// Per target, in this thread (the event loop's for small profiles, offthread.ts);
// a bounded number of targets, least recently used forgotten: room for a
// thousand-odd targets scraped in turn, each keeping its memo.
const MAX_MEMOS = 2048;
const memos = new Map<string, { goroutine: GoroutineMemo; goroutineleak: GoroutineMemo; heap: HeapMemo }>();

function memosOf(key: string | undefined) {
  if (key === undefined) return undefined;
  let m = memos.get(key);
  if (m) memos.delete(key);
  else m = { goroutine: goroutineMemo(), goroutineleak: goroutineMemo(), heap: heapMemo() };
  memos.set(key, m);
  while (memos.size > MAX_MEMOS) memos.delete(memos.keys().next().value!);
  return m;
}

export default async function summarize(task: SummarizeTask): Promise<SummarizeAnswer> {
  try {
    const idx = await readGzippedProfile(task.body, task.maxInflatedBytes);
    const m = memosOf(task.memoKey);
    if (task.kind === 'heap') return { ok: true, kind: 'heap', heap: keepTopSites(groupHeap(idx, m?.heap), task.keep) };
    const kind = task.kind !== 'upload' ? task.kind : idx.sampleTypes[0]?.type === 'goroutineleak' ? 'goroutineleak' : 'goroutine';
    expectCountProfile(idx, kind);
    return { ok: true, kind, goroutines: groupGoroutines(idx, m?.[kind], task.keep) };
  } catch (err) {
    if (err instanceof ScrapeError) return { ok: false, stage: err.stage, code: err.code, message: err.message };
    return { ok: false, stage: 'decoding', code: 'PPROF_DECODE_FAILED', message: `unexpected: ${(err as Error).message}` };
  }
}
