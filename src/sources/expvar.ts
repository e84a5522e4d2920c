// The expvar source: /debug/vars (MemStats and the application's numbers);
// the heap?debug=1 trailer's MemStats when expvar is not mounted.
import type { TargetConfig } from '../config/config.js';
import { ScrapeError } from '../errors.js';
import { checkMemStats, memstatsFromExpvar, parseMemStatsTrailer, type MemStats } from '../decode/memstats.js';
import { flattenExpvar, type ExpvarNumber } from '../decode/expvar.js';
import { PATHS, runSource, type ScrapeContext } from './harness.js';

export interface ExpvarData {
  memstats: MemStats;
  /** Where the MemStats came from: /debug/vars, or the heap?debug=1 trailer when expvar is not mounted. */
  memstatsFrom: 'expvar' | 'heap_debug1';
  numbers: ExpvarNumber[];
  dropped: number;
}

function parseJson(body: Buffer, what: string): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new ScrapeError('decoding', 'PPROF_DECODE_FAILED', `decoding ${what}: ${(err as Error).message}`, { cause: err });
  }
}

function decoding<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ScrapeError) throw err;
    throw new ScrapeError('decoding', 'PPROF_DECODE_FAILED', `decoding ${what}: ${(err as Error).message}`, { cause: err });
  }
}

export const scrapeExpvar = (target: TargetConfig, ctx: ScrapeContext) =>
  runSource('expvar', target, ctx, async (f): Promise<ExpvarData> => {
    let body: Buffer;
    try {
      body = await f.get(PATHS.expvar, 'application/json');
    } catch (err) {
      // expvar not imported: the heap?debug=1 trailer has the same MemStats.
      if (!(err instanceof ScrapeError) || err.httpStatus !== 404) throw err;
      const text = (await f.get(PATHS.heapDebug1, 'text/plain')).toString('utf8');
      const memstats = checkMemStats(decoding('heap?debug=1 MemStats', () => parseMemStatsTrailer(text)), 'heap?debug=1');
      return { memstats, memstatsFrom: 'heap_debug1', numbers: [], dropped: 0 };
    }
    const vars = parseJson(body, '/debug/vars');
    const memstats = checkMemStats(decoding('/debug/vars', () => memstatsFromExpvar(vars)), '/debug/vars');
    const { numbers, dropped } = decoding('/debug/vars', () => flattenExpvar(vars, target.maxExpvarMetrics));
    return { memstats, memstatsFrom: 'expvar', numbers, dropped };
  });

