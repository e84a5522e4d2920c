// The goroutine source: the proto profile, summarized off the event loop;
// when it cannot be decoded (a proxy that strips gzip, say), the ?debug=1 text.
import type { TargetConfig } from '../config/config.js';
import { ScrapeError } from '../errors.js';
import type { GoroutineSummary } from '../summarize/signature.js';
import { debug1Summarizer } from '../summarize/textstacks.js';
import { parseDebug1 } from '../decode/debug1.js';
import { PATHS, runSource, type ScrapeContext } from './harness.js';

// Signatures a source sends back from its worker: enough for
// top_signatures, the page's history and uploads; the rest are summed, not dropped.
const KEPT_SIGNATURES = 2000;


export interface GoroutineData extends GoroutineSummary {
  /** "debug1" when the proto could not be decoded (a proxy that strips gzip, say) and the text was used. */
  format: 'proto' | 'debug1';
  fallbackReason?: string;
}

export const scrapeGoroutine = (target: TargetConfig, ctx: ScrapeContext) =>
  runSource('goroutine', target, ctx, async (f): Promise<GoroutineData> => {
    try {
      const body = await f.get(PATHS.goroutine);
      const { goroutines } = await ctx.summarizer.goroutines({
        kind: 'goroutine', memoKey: target.name, body, maxInflatedBytes: target.maxDecompressedBytes,
        keep: Math.max(target.topSignatures, KEPT_SIGNATURES),
      }, f.signal);
      return { ...goroutines, format: 'proto' };
    } catch (err) {
      if (!(err instanceof ScrapeError) || (err.stage !== 'decompressing' && err.stage !== 'decoding')) throw err;
      // Out of time or of the shared budget: the text would cost as much.
      if (err.code === 'PPROF_TOO_COSTLY' || err.code === 'PPROF_BUSY') throw err;
      const acc = debug1Summarizer();
      try {
        await parseDebug1(f.stream(PATHS.goroutineDebug1, target.maxProfileBytes, 'text/plain'), (r) => acc.add(r));
      } catch (textErr) {
        // The proto's error is the one worth reporting; say the fallback failed too.
        err.message += `; ?debug=1 fallback failed too: ${(textErr as Error).message}`;
        throw err;
      }
      return { ...acc.result(), format: 'debug1', fallbackReason: err.message };
    }
  });

