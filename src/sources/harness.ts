// The harness every source runs in: one deadline (the scrape's, or the
// target's shorter timeout) that aborts fetching and decoding alike, bytes
// counted on the wire, secrets redacted from errors, and a result that is
// data or an error naming its stage, never a throw. One file per source
// around it: goroutine.ts, heap.ts, expvar.ts, background.ts.
import type { Source, TargetConfig } from '../config/config.js';
import { ScrapeError } from '../errors.js';
import { readGzippedProfile } from '../decode/profile.js';
import type { ProfileIndex } from '../decode/validate.js';
import { fetchStream } from '../http/fetch.js';
import { redact, type HttpClient, type Prepared } from '../http/client.js';
import type { Summarizer } from './offthread.js';
import { VERSION } from '../version.js';

export type { Source };

export interface SourceResult<T> {
  source: Source;
  durationSeconds: number;
  bytes?: number;
  data?: T;
  error?: ScrapeError;
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
      const { dispatcher, headers, followRedirects, pin } = await (prepared ??= ctx.client.prepare());
      for await (const chunk of fetchStream(`${target.url}${path}`, {
        signal: controller.signal, maxBytes, dispatcher, headers, followRedirects, userAgent: `pprof-exporter/${VERSION}`,
        ...(pin && { pin }),
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

/** Decoded in this thread: for the background's goroutineleak profile. */
export async function profile(f: Fetcher, path: string, target: TargetConfig): Promise<ProfileIndex> {
  return readGzippedProfile(await f.get(path), target.maxDecompressedBytes);
}

