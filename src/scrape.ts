// Scrape the sources of one target, concurrently: goroutine profile, heap
// profile, expvar. Never throws: each source's failure is its own result, so
// a broken source drops only its own series.
import type { Source, TargetConfig } from './config.js';
import { ScrapeError } from './errors.js';
import { readGzippedProfile } from './profile/fastdecode.js';
import type { ProfileIndex } from './profile/validate.js';
import { fetchStream } from './fetch.js';
import { redact, type HttpClient, type Prepared } from './client.js';
import type { GoroutineSummary } from './goroutine/signature.js';
import type { HeapSummary } from './heap/sites.js';
import type { Summarizer } from './sources/offthread.js';
import { checkMemStats, memstatsFromExpvar, parseMemStatsTrailer, type MemStats } from './memstats.js';
import { flattenExpvar, type ExpvarNumber } from './expvar.js';
import { debug1Summarizer } from './goroutine/text.js';
import { parseDebug1 } from './text/debug1.js';
import { VERSION } from './version.js';

export type { Source };

export interface SourceResult<T> {
  source: Source;
  durationSeconds: number;
  bytes?: number;
  data?: T;
  error?: ScrapeError;
}

export interface ExpvarData {
  memstats: MemStats;
  /** Where the MemStats came from: /debug/vars, or the heap?debug=1 trailer when expvar is not mounted. */
  memstatsFrom: 'expvar' | 'heap_debug1';
  numbers: ExpvarNumber[];
  dropped: number;
}

export interface TargetResult {
  target: TargetConfig;
  goroutine?: SourceResult<GoroutineData>;
  heap?: SourceResult<HeapSummary>;
  expvar?: SourceResult<ExpvarData>;
}

export interface ScrapeContext {
  client: HttpClient;
  /** Inflates, decodes and groups profiles off the event loop, within the shared budget. */
  summarizer: Summarizer;
  /** Absolute time (performance.now() ms) by which every fetch must be done. */
  deadlineMs: number;
}

export const PATHS = {
  goroutine: '/debug/pprof/goroutine?debug=0',
  heap: '/debug/pprof/heap',
  goroutineDebug1: '/debug/pprof/goroutine?debug=1',
  goroutineDebug2: '/debug/pprof/goroutine?debug=2',
  goroutineleak: '/debug/pprof/goroutineleak?debug=0',
  heapDebug1: '/debug/pprof/heap?debug=1',
  expvar: '/debug/vars',
} as const;

export interface Fetcher {
  /** The whole body, capped at max_profile_bytes. */
  get(path: string, accept?: string): Promise<Buffer>;
  /** The body as it arrives, capped at maxBytes; counted in bytes as it streams. */
  stream(path: string, maxBytes: number, accept?: string): AsyncGenerator<Buffer>;
  bytes: number;
  /** Aborted at the source's deadline. */
  signal: AbortSignal;
}

export async function runSource<T>(
  source: Source, target: TargetConfig, ctx: Pick<ScrapeContext, 'client' | 'deadlineMs'>, work: (f: Fetcher) => Promise<T>,
): Promise<SourceResult<T>> {
  const start = performance.now();
  const result: SourceResult<T> = { source, durationSeconds: 0 };
  let ms = Math.max(0, ctx.deadlineMs - start);
  if (target.timeoutSeconds !== undefined) ms = Math.min(ms, target.timeoutSeconds * 1000);
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new Error(`timed out after ${(ms / 1000).toFixed(3)}s (scrape deadline)`)), ms);
  let prepared: Promise<Prepared> | undefined;
  const fetcher: Fetcher = {
    bytes: 0,
    signal: controller.signal,
    async *stream(path, maxBytes, accept) {
      const { dispatcher, headers, followRedirects } = await (prepared ??= ctx.client.prepare());
      for await (const chunk of fetchStream(`${target.url}${path}`, {
        signal: controller.signal, maxBytes, dispatcher, headers, followRedirects, userAgent: `pprof-exporter/${VERSION}`,
        ...(accept !== undefined && { accept }),
      })) {
        this.bytes += chunk.length;
        yield chunk;
      }
    },
    async get(path, accept) {
      const chunks: Buffer[] = [];
      for await (const chunk of this.stream(path, target.maxProfileBytes, accept)) chunks.push(chunk);
      return Buffer.concat(chunks);
    },
  };
  try {
    result.data = await work(fetcher);
    result.bytes = fetcher.bytes;
  } catch (err) {
    result.error = err instanceof ScrapeError
      ? err
      : new ScrapeError('decoding', 'PPROF_DECODE_FAILED', `unexpected: ${(err as Error).message}`, { cause: err });
    // A hostile target may echo the Authorization header into its error page.
    const secrets = prepared ? (await prepared.catch(() => undefined))?.secrets : undefined;
    if (secrets?.length) result.error.message = redact(result.error.message, secrets);
  } finally {
    clearTimeout(timer);
    result.durationSeconds = (performance.now() - start) / 1000;
  }
  return result;
}

// Signatures and heap sites a source sends back from its worker: enough for
// top_signatures and the page's history; the rest are summed, not dropped.
const KEPT_SIGNATURES = 2000;
const KEPT_HEAP_SITES = 1000;

/** Decoded in this thread: for the background's goroutineleak profile. */
export async function profile(f: Fetcher, path: string, target: TargetConfig): Promise<ProfileIndex> {
  return readGzippedProfile(await f.get(path), target.maxDecompressedBytes);
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

export const scrapeHeap = (target: TargetConfig, ctx: ScrapeContext) =>
  runSource('heap', target, ctx, async (f) => (await ctx.summarizer.heap({
    memoKey: target.name, body: await f.get(PATHS.heap), maxInflatedBytes: target.maxDecompressedBytes,
    keep: Math.max(target.topHeapFunctions, KEPT_HEAP_SITES),
  }, f.signal)).heap);

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
