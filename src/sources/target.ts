// All of one target's sources, concurrently. Never throws: each source's
// failure is its own result, so a broken source drops only its own series.
import type { Source, TargetConfig } from '../config/config.js';
import type { HeapSummary } from '../summarize/heapsites.js';
import type { SourceResult, ScrapeContext } from './harness.js';
import { scrapeGoroutine, type GoroutineData } from './goroutine.js';
import { scrapeHeap } from './heap.js';
import { scrapeExpvar, type ExpvarData } from './expvar.js';

export interface TargetResult {
  target: TargetConfig;
  goroutine?: SourceResult<GoroutineData>;
  heap?: SourceResult<HeapSummary>;
  expvar?: SourceResult<ExpvarData>;
}

export async function scrapeTarget(target: TargetConfig, ctx: ScrapeContext): Promise<TargetResult> {
  const on = (s: Source) => target.sources.includes(s);
  const [goroutine, heap, expvar] = await Promise.all([
    on('goroutine') ? scrapeGoroutine(target, ctx) : undefined,
    on('heap') ? scrapeHeap(target, ctx) : undefined,
    on('expvar') ? scrapeExpvar(target, ctx) : undefined,
  ]);
  return { target, ...(goroutine && { goroutine }), ...(heap && { heap }), ...(expvar && { expvar }) };
}

/** The results of a target's enabled sources, in a stable order. */
export function sourceResults(r: TargetResult): SourceResult<unknown>[] {
  const all: (SourceResult<unknown> | undefined)[] = [r.goroutine, r.heap, r.expvar];
  return all.filter((x): x is SourceResult<unknown> => x !== undefined);
}
