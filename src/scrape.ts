// Scrape one source of one target: fetch → decompress → decode → validate →
// group. Never throws: a failure is a result, the other targets go on.
import type { Dispatcher } from 'undici';
import type { TargetConfig } from './config.js';
import { ScrapeError } from './errors.js';
import { decodeProfile, decompress } from './profile/decode.js';
import { expectCountProfile, validateProfile } from './profile/validate.js';
import { fetchBody } from './fetch.js';
import { groupGoroutines, type GoroutineSummary } from './goroutine/signature.js';
import { VERSION } from './version.js';

export type Source = 'goroutine';

export interface SourceResult<T> {
  source: Source;
  durationSeconds: number;
  bytes?: number;
  data?: T;
  error?: ScrapeError;
}

export interface TargetResult {
  target: TargetConfig;
  goroutine: SourceResult<GoroutineSummary>;
}

export interface ScrapeContext {
  dispatcher: Dispatcher;
  /** Absolute time (performance.now() ms) by which every fetch must be done. */
  deadlineMs: number;
}

export const GOROUTINE_PATH = '/debug/pprof/goroutine';

export function goroutineProfileUrl(target: TargetConfig): string {
  return `${target.url}${GOROUTINE_PATH}?debug=0`;
}

function targetSignal(target: TargetConfig, ctx: ScrapeContext): { signal: AbortSignal; done: () => void } {
  let ms = Math.max(0, ctx.deadlineMs - performance.now());
  if (target.timeoutSeconds !== undefined) ms = Math.min(ms, target.timeoutSeconds * 1000);
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new Error(`timed out after ${(ms / 1000).toFixed(3)}s (scrape deadline)`)),
    ms,
  );
  return { signal: controller.signal, done: () => clearTimeout(timer) };
}

export async function scrapeGoroutine(target: TargetConfig, ctx: ScrapeContext): Promise<SourceResult<GoroutineSummary>> {
  const start = performance.now();
  const result: SourceResult<GoroutineSummary> = { source: 'goroutine', durationSeconds: 0 };
  const { signal, done } = targetSignal(target, ctx);
  try {
    const body = await fetchBody(goroutineProfileUrl(target), {
      signal,
      maxBytes: target.maxProfileBytes,
      dispatcher: ctx.dispatcher,
      userAgent: `pprof-exporter/${VERSION}`,
    });
    result.bytes = body.length;
    const raw = await decompress(body, target.maxDecompressedBytes);
    const index = validateProfile(decodeProfile(raw));
    expectCountProfile(index, 'goroutine');
    result.data = groupGoroutines(index);
  } catch (err) {
    result.error = err instanceof ScrapeError
      ? err
      : new ScrapeError('decoding', 'PPROF_DECODE_FAILED', `unexpected: ${(err as Error).message}`, { cause: err });
  } finally {
    done();
    result.durationSeconds = (performance.now() - start) / 1000;
  }
  return result;
}

export async function scrapeTarget(target: TargetConfig, ctx: ScrapeContext): Promise<TargetResult> {
  return { target, goroutine: await scrapeGoroutine(target, ctx) };
}
