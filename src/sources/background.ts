// Sources too costly for the scrape path: both stop the target's world, so
// they are fetched in the background on their own intervals, served from
// their last result with its age, and only under limits measured on real Go
// programs (npm run bench:stall; README "Wait times and proven leaks"):
// - goroutine_debug2: the ?debug=2 dump stops the world for the whole dump,
//   so only while the last goroutine count is under debug2_max_goroutines;
// - goroutineleak: each fetch runs a GC that detects leaks with the world
//   stopped, linear in goroutines and quadratic in those waiting on one
//   sync object, so only under goroutineleak_max_goroutines and
//   goroutineleak_max_sync_waiters; a target without the profile (404) is
//   asked again only every hour.
// Closing the connection does not stop the target's GC, so the only defence
// is not to ask: a fetch that took longer than costly_fetch_backoff_after
// doubles the next wait (up to MAX_BACKOFF), and one target never serves two
// costly fetches at once, whatever names (static, probed, modules) it has.
import type { HttpClient } from '../http/client.js';
import type { TargetConfig } from '../config/config.js';
import type { Logger } from '../log.js';
import { expectCountProfile } from '../decode/validate.js';
import { groupGoroutines, type GoroutineSummary } from '../summarize/signature.js';
import type { BlockedOn } from '../summarize/classify.js';
import { debug2Summarizer, type WaitInfo } from '../summarize/textstacks.js';
import { WaitSince } from '../summarize/waitsince.js';
import { parseDebug2 } from '../decode/debug2.js';
import { PATHS, profile, runSource, type SourceResult } from './harness.js';

/** Go cuts the debug=2 dump at 64 MiB; leave room for that, whatever max_profile_bytes says. */
const DEBUG2_MAX_BYTES = 65 * 2 ** 20;
const BACKGROUND_TIMEOUT_MS = 60_000;
const UNSUPPORTED_RETRY_MS = 3_600_000;
/** The back-off never stretches a source's interval more than this. */
export const MAX_BACKOFF = 16;

export const COSTLY_SOURCES = ['goroutine_debug2', 'goroutineleak'] as const;
export type CostlySource = (typeof COSTLY_SOURCES)[number];
export type SkipReason = 'goroutine_count_unknown' | 'too_many_goroutines' | 'too_many_sync_waiters' | 'backoff';

/** Waits the goroutineleak GC walks per waiter queue of one sync object: its quadratic part. */
const SYNC_WAITS: ReadonlySet<BlockedOn> = new Set(['mutex', 'rwmutex', 'waitgroup', 'cond']);

/** What the last goroutine profile says about the cost of a costly fetch. */
export interface GoroutineCount { goroutines: number; syncWaiters: number; }

export function goroutineCount(summary: GoroutineSummary): GoroutineCount {
  let syncWaiters = 0;
  for (const s of summary.signatures) if (SYNC_WAITS.has(s.blockedOn)) syncWaiters += s.count;
  return { goroutines: summary.total, syncWaiters };
}

export interface Debug2Snapshot {
  atMs: number; // Date.now() when the dump was read
  summary: GoroutineSummary;
  wait: WaitInfo;
  truncated: boolean;
  goroutines: number;
}

export interface LeakSnapshot { atMs: number; summary: GoroutineSummary; }

export interface CostlyState<T> {
  /** performance.now() when the last fetch was started or skipped for its limits. */
  lastAttemptMs?: number;
  waitingForCount?: boolean;
  inFlight: boolean;
  result?: SourceResult<T>;
  last?: T;
  skipped: Map<SkipReason, number>;
  /** Seconds the last fetch took, failed or not: what it cost the target. */
  lastFetchSeconds?: number;
  /** The interval is multiplied by this after slow fetches; 1 after a fast one. */
  backoff: number;
  /** Base intervals already counted as `backoff` skips since the last attempt. */
  backoffSkipsCounted: number;
}

export interface TargetBackground {
  count?: GoroutineCount;
  debug2: CostlyState<Debug2Snapshot>;
  /** Since when each goroutine has been blocked where it is: wait times for leaked ones. */
  waitSince: WaitSince;
  leak: CostlyState<LeakSnapshot> & { supported?: boolean };
}

const costly = <T>(): CostlyState<T> => ({ inFlight: false, skipped: new Map(), backoff: 1, backoffSkipsCounted: 0 });

/** One costly source's state of a target. */
export const stateOf = (s: TargetBackground, source: CostlySource): CostlyState<unknown> =>
  (source === 'goroutineleak' ? s.leak : s.debug2);

/** What a costly fetch is checked against: the goroutine count, and for goroutineleak the sync waiters too. */
export function costlyLimits(t: TargetConfig, source: CostlySource): { goroutines: number; syncWaiters?: number } {
  return source === 'goroutineleak'
    ? { goroutines: t.goroutineleakMaxGoroutines, syncWaiters: t.goroutineleakMaxSyncWaiters }
    : { goroutines: t.debug2MaxGoroutines };
}

const attemptedAt = (s: TargetBackground, source: CostlySource) => stateOf(s, source).lastAttemptMs ?? -Infinity;

/** One process behind however many target names: the origin is what a costly fetch stops. */
function processKey(t: TargetConfig): string {
  return new URL(t.url).origin;
}

export interface BackgroundDeps {
  clientFor: (target: TargetConfig) => HttpClient;
  logger: Logger;
  targets: () => readonly TargetConfig[];
  /** Called with each finished background attempt, to count and log failures like scrapes do. */
  onResult: (target: TargetConfig, result: SourceResult<unknown>) => void;
}

export class BackgroundSampler {
  private readonly state = new Map<string, TargetBackground>();
  /** Processes with a costly fetch in flight. */
  private readonly busy = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly deps: BackgroundDeps) {}

  start(periodMs = 1000): void {
    this.timer ??= setInterval(() => this.tick(), periodMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await Promise.allSettled([...this.running]);
  }

  get(name: string): TargetBackground | undefined {
    return this.state.get(name);
  }

  private of(name: string): TargetBackground {
    let s = this.state.get(name);
    if (!s) {
      s = { debug2: costly(), leak: costly(), waitSince: new WaitSince() };
      this.state.set(name, s);
    }
    return s;
  }

  /**
   * The last goroutine profile of a target, or undefined when that scrape
   * failed: the limits of its costly fetches are checked against it, and
   * without one nothing costly is fetched.
   */
  noteGoroutines(name: string, summary: GoroutineSummary | undefined): void {
    this.of(name).count = summary && goroutineCount(summary);
  }

  /** Start whatever is due; returns when those attempts are done (for tests). */
  async tick(now = performance.now()): Promise<void> {
    const targets = this.deps.targets();
    const names = new Set(targets.map((t) => t.name));
    for (const name of this.state.keys()) if (!names.has(name)) this.state.delete(name);
    const jobs: Promise<void>[] = [];
    for (const t of targets) {
      const s = this.of(t.name);
      // The source that has waited longest goes first: one costly fetch per process at a
      // time must not let a short debug2_interval starve the goroutineleak profile.
      const due = COSTLY_SOURCES.filter((src) => t.sources.includes(src))
        .sort((a, b) => attemptedAt(s, a) - attemptedAt(s, b));
      for (const source of due) {
        const job = this.consider(t, s, source, now);
        if (job) jobs.push(job);
      }
    }
    await Promise.all(jobs);
  }

  private consider(t: TargetConfig, s: TargetBackground, source: CostlySource, now: number): Promise<void> | undefined {
    const leak = source === 'goroutineleak';
    const c = stateOf(s, source);
    if (c.inFlight) return undefined;
    const base = (leak ? t.goroutineleakIntervalSeconds : t.debug2IntervalSeconds) * 1000;
    if (c.lastAttemptMs !== undefined) {
      const since = now - c.lastAttemptMs;
      if (leak && s.leak.supported === false) {
        if (since < Math.max(UNSUPPORTED_RETRY_MS, base)) return undefined;
      } else if (since < base * c.backoff) {
        // Held back after a slow fetch: each base interval that passes is a skip.
        const periods = Math.floor(since / base);
        for (; c.backoffSkipsCounted < periods; c.backoffSkipsCounted++) this.skip(t, source, c, 'backoff', s.count);
        return undefined;
      }
    }
    const count = s.count;
    if (!count) {
      // No goroutine profile (yet, or the last scrape failed): try again on the next tick, counting the wait once.
      if (!c.waitingForCount) this.skip(t, source, c, 'goroutine_count_unknown', count);
      c.waitingForCount = true;
      return undefined;
    }
    c.waitingForCount = false;
    const key = processKey(t);
    if (this.busy.has(key)) return undefined; // the other costly fetch first; due again on the next tick
    c.lastAttemptMs = now;
    c.backoffSkipsCounted = 0;
    const limits = costlyLimits(t, source);
    if (count.goroutines > limits.goroutines) {
      this.skip(t, source, c, 'too_many_goroutines', count);
      return undefined;
    }
    if (limits.syncWaiters !== undefined && count.syncWaiters > limits.syncWaiters) {
      this.skip(t, source, c, 'too_many_sync_waiters', count);
      return undefined;
    }
    this.busy.add(key);
    c.inFlight = true;
    const started = performance.now();
    const work = leak ? this.leak(t, s) : this.debug2(t, s);
    return this.track(work.finally(() => {
      const seconds = (performance.now() - started) / 1000;
      c.inFlight = false;
      this.busy.delete(key);
      if (leak && s.leak.supported === false) return;
      c.lastFetchSeconds = seconds;
      const slow = seconds > t.costlyFetchBackoffAfterSeconds;
      c.backoff = slow ? Math.min(c.backoff * 2, MAX_BACKOFF) : 1;
      if (slow) {
        this.deps.logger.warn({ target: t.name, source, seconds: Number(seconds.toFixed(3)), backoff: c.backoff },
          'costly fetch was slow, waiting longer before the next one');
      }
    }));
  }

  private skip(t: TargetConfig, source: CostlySource, c: CostlyState<unknown>, reason: SkipReason, count: GoroutineCount | undefined): void {
    c.skipped.set(reason, (c.skipped.get(reason) ?? 0) + 1);
    this.deps.logger.debug({ target: t.name, source, reason, goroutines: count?.goroutines, syncWaiters: count?.syncWaiters }, 'costly fetch skipped');
  }

  private track(p: Promise<void>): Promise<void> {
    this.running.add(p);
    return p.finally(() => this.running.delete(p));
  }

  private ctx(t: TargetConfig) {
    return { client: this.deps.clientFor(t), deadlineMs: performance.now() + BACKGROUND_TIMEOUT_MS };
  }

  private async debug2(t: TargetConfig, s: TargetBackground): Promise<void> {
    const result = await runSource('goroutine_debug2', t, this.ctx(t), async (f): Promise<Debug2Snapshot> => {
      const waits = s.waitSince.dump(Date.now()); // when the target wrote the dump, near enough
      const acc = debug2Summarizer(waits);
      const r = await parseDebug2(f.stream(PATHS.goroutineDebug2, DEBUG2_MAX_BYTES, 'text/plain'), (g) => acc.add(g));
      waits.finish(r.truncated);
      const { summary, wait } = acc.result();
      return { atMs: Date.now(), summary, wait, truncated: r.truncated, goroutines: r.goroutines };
    });
    s.debug2.result = result;
    if (result.data) s.debug2.last = result.data;
    this.deps.onResult(t, result);
  }

  private async leak(t: TargetConfig, s: TargetBackground): Promise<void> {
    const result = await runSource('goroutineleak', t, this.ctx(t), async (f): Promise<LeakSnapshot> => {
      const idx = await profile(f, PATHS.goroutineleak, t);
      expectCountProfile(idx, 'goroutineleak');
      return { atMs: Date.now(), summary: groupGoroutines(idx) };
    });
    if (result.error?.httpStatus === 404) {
      if (s.leak.supported !== false) {
        this.deps.logger.info({ target: t.name, source: 'goroutineleak' },
          'target has no goroutineleak profile (Go 1.26 with GOEXPERIMENT=goroutineleakprofile, or Go 1.27+); asking again hourly');
      }
      s.leak.supported = false;
      s.leak.result = undefined;
      s.leak.last = undefined;
      return;
    }
    s.leak.supported = true;
    s.leak.result = result;
    if (result.data) s.leak.last = result.data;
    this.deps.onResult(t, result);
  }
}
