// Sources too costly for the scrape path, fetched in the background on their
// own intervals and served from their last result with its age:
// - goroutine_debug2: the ?debug=2 dump stops the target's world (once per
//   buffer doubling), so only every debug2_interval and only while the last
//   known goroutine count is under debug2_max_goroutines;
// - goroutineleak: each fetch runs a full GC in the target; a target without
//   the profile (404) is asked again only every hour.
import type { HttpClient } from '../http/client.js';
import type { TargetConfig } from '../config/config.js';
import type { Logger } from '../log.js';
import { expectCountProfile } from '../decode/validate.js';
import { groupGoroutines, type GoroutineSummary } from '../summarize/signature.js';
import { debug2Summarizer, type WaitInfo } from '../summarize/textstacks.js';
import { parseDebug2 } from '../decode/debug2.js';
import { PATHS, profile, runSource, type SourceResult } from './harness.js';

/** Go cuts the debug=2 dump at 64 MiB; leave room for that, whatever max_profile_bytes says. */
const DEBUG2_MAX_BYTES = 65 * 2 ** 20;
const BACKGROUND_TIMEOUT_MS = 60_000;
const UNSUPPORTED_RETRY_MS = 3_600_000;

export type SkipReason = 'too_many_goroutines' | 'goroutine_count_unknown';

export interface Debug2Snapshot {
  atMs: number; // Date.now() when the dump was read
  summary: GoroutineSummary;
  wait: WaitInfo;
  truncated: boolean;
  goroutines: number;
}

export interface LeakSnapshot { atMs: number; summary: GoroutineSummary; }

export interface TargetBackground {
  lastKnownGoroutines?: number;
  debug2: { lastAttemptMs?: number; waitingForCount?: boolean; inFlight: boolean; result?: SourceResult<Debug2Snapshot>; last?: Debug2Snapshot; skipped: Map<SkipReason, number> };
  leak: { lastAttemptMs?: number; inFlight: boolean; result?: SourceResult<LeakSnapshot>; last?: LeakSnapshot; supported?: boolean };
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
      s = { debug2: { inFlight: false, skipped: new Map() }, leak: { inFlight: false } };
      this.state.set(name, s);
    }
    return s;
  }

  noteGoroutines(name: string, count: number): void {
    this.of(name).lastKnownGoroutines = count;
  }

  /** Start whatever is due; returns when those attempts are done (for tests). */
  async tick(now = performance.now()): Promise<void> {
    const targets = this.deps.targets();
    const names = new Set(targets.map((t) => t.name));
    for (const name of this.state.keys()) if (!names.has(name)) this.state.delete(name);
    const jobs: Promise<void>[] = [];
    for (const t of targets) {
      const s = this.of(t.name);
      if (t.sources.includes('goroutine_debug2')) {
        const d = s.debug2;
        const n = s.lastKnownGoroutines;
        if (n === undefined) {
          // Not scraped yet: try again on the next tick, counting the wait once.
          if (!d.waitingForCount) this.skip(t, d, 'goroutine_count_unknown', n);
          d.waitingForCount = true;
        } else if (!d.inFlight && (d.lastAttemptMs === undefined || now - d.lastAttemptMs >= t.debug2IntervalSeconds * 1000)) {
          d.waitingForCount = false;
          d.lastAttemptMs = now;
          if (n > t.debug2MaxGoroutines) {
            this.skip(t, d, 'too_many_goroutines', n);
          } else {
            jobs.push(this.track(this.debug2(t, s)));
          }
        }
      }
      if (t.sources.includes('goroutineleak')) {
        const l = s.leak;
        const every = l.supported === false ? Math.max(UNSUPPORTED_RETRY_MS, t.goroutineleakIntervalSeconds * 1000) : t.goroutineleakIntervalSeconds * 1000;
        if (!l.inFlight && (l.lastAttemptMs === undefined || now - l.lastAttemptMs >= every)) {
          l.lastAttemptMs = now;
          jobs.push(this.track(this.leak(t, s)));
        }
      }
    }
    await Promise.all(jobs);
  }

  private skip(t: TargetConfig, d: TargetBackground['debug2'], reason: SkipReason, goroutines: number | undefined): void {
    d.skipped.set(reason, (d.skipped.get(reason) ?? 0) + 1);
    this.deps.logger.debug({ target: t.name, reason, goroutines, limit: t.debug2MaxGoroutines }, 'debug=2 dump skipped');
  }

  private track(p: Promise<void>): Promise<void> {
    this.running.add(p);
    return p.finally(() => this.running.delete(p));
  }

  private ctx(t: TargetConfig) {
    return { client: this.deps.clientFor(t), deadlineMs: performance.now() + BACKGROUND_TIMEOUT_MS };
  }

  private async debug2(t: TargetConfig, s: TargetBackground): Promise<void> {
    s.debug2.inFlight = true;
    try {
      const result = await runSource('goroutine_debug2', t, this.ctx(t), async (f): Promise<Debug2Snapshot> => {
        const acc = debug2Summarizer();
        const r = await parseDebug2(f.stream(PATHS.goroutineDebug2, DEBUG2_MAX_BYTES, 'text/plain'), (g) => acc.add(g));
        const { summary, wait } = acc.result();
        return { atMs: Date.now(), summary, wait, truncated: r.truncated, goroutines: r.goroutines };
      });
      s.debug2.result = result;
      if (result.data) s.debug2.last = result.data;
      this.deps.onResult(t, result);
    } finally {
      s.debug2.inFlight = false;
    }
  }

  private async leak(t: TargetConfig, s: TargetBackground): Promise<void> {
    s.leak.inFlight = true;
    try {
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
    } finally {
      s.leak.inFlight = false;
    }
  }
}
