// The heap source: the heap profile by allocation site, summarized off the event loop.
import type { TargetConfig } from '../config/config.js';
import { PATHS, runSource, type ScrapeContext } from './harness.js';

// Sites sent back from the worker; the rest are summed, not dropped.
const KEPT_HEAP_SITES = 1000;

export const scrapeHeap = (target: TargetConfig, ctx: ScrapeContext) =>
  runSource('heap', target, ctx, async (f) => (await ctx.summarizer.heap({
    memoKey: target.name, body: await f.get(PATHS.heap), maxInflatedBytes: target.maxDecompressedBytes,
    keep: Math.max(target.topHeapFunctions, KEPT_HEAP_SITES),
  }, f.signal)).heap);

