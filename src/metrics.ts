// Render scrape results as Prometheus metrics. A fresh registry per scrape:
// a signature or target that disappeared simply is not there (no stale series).
import { Counter, Gauge, Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import { METRICS, OTHER, type MetricDef } from './catalog.js';
import { sourceResults, type TargetResult } from './scrape.js';
import { MEMSTATS_METRICS, memstatsMetrics, type GcSummary } from './memstats.js';
import type { HeapSite } from './heap/sites.js';
import type { BackgroundSampler } from './background.js';
import type { GoroutineSummary } from './goroutine/signature.js';
import { signatureLocation, stackLabel } from './goroutine/stacktext.js';
import type { TargetConfig } from './config.js';
import type { Stage } from './errors.js';
import { VERSION } from './version.js';

function gauge(r: Registry, d: MetricDef): Gauge {
  return new Gauge({ name: d.name, help: d.help, labelNames: [...d.labels], registers: [r] });
}

function counter(r: Registry, d: MetricDef): Counter {
  return new Counter({ name: d.name, help: d.help, labelNames: [...d.labels], registers: [r] });
}

// prom-client's Summary computes its own quantiles; Go already did. This
// registers a family whose quantiles, sum and count are set as given.
function precomputedSummary(r: Registry, name: string, help: string, series: { target: string; gc: GcSummary }[]): void {
  const values = series.flatMap(({ target, gc }) => [
    ...gc.quantiles.map(([q, v]) => ({ labels: { target, quantile: q }, value: v })),
    { metricName: `${name}_sum`, labels: { target }, value: gc.sum },
    { metricName: `${name}_count`, labels: { target }, value: gc.count },
  ]);
  const metric = { name, help, type: 'summary', aggregator: 'sum', get: async () => ({ name, help, type: 'summary', values, aggregator: 'sum' }), reset() {} };
  r.registerMetric(metric as unknown as Metric);
}

/** Counts that outlive a scrape, kept per target so a removed target can be forgotten. */
export class ErrorCounts {
  private counts = new Map<string, number>();
  add(target: string, source: string, stage: Stage): void {
    const k = JSON.stringify([target, source, stage]);
    this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
  }
  retainTargets(names: ReadonlySet<string>): void {
    for (const k of this.counts.keys()) if (!names.has((JSON.parse(k) as string[])[0]!)) this.counts.delete(k);
  }
  render(r: Registry): void {
    const d = METRICS.scrapeErrors;
    const c = new Counter({ name: d.name, help: d.help, labelNames: [...d.labels], registers: [r] });
    for (const [k, v] of this.counts) {
      const [target, source, stage] = JSON.parse(k) as [string, string, string];
      c.inc({ target, source, stage }, v);
    }
  }
}

/** /probe outcomes per module; modules are bounded by the config, results by ProbeOutcome. */
export class ProbeCounts {
  private counts = new Map<string, number>();
  add(module: string, result: string): void {
    const k = JSON.stringify([module, result]);
    this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
  }
  render(r: Registry, now: { inFlight: number; max: number; tracked: number }): void {
    const c = counter(r, METRICS.probes);
    for (const [k, v] of this.counts) {
      const [module, result] = JSON.parse(k) as [string, string];
      c.inc({ module, result }, v);
    }
    gauge(r, METRICS.probesInFlight).set(now.inFlight);
    gauge(r, METRICS.maxConcurrentProbes).set(now.max);
    gauge(r, METRICS.probedTargets).set(now.tracked);
  }
}

/** Process-wide metrics: Node's defaults, build info, reload status. */
export function createProcessRegistry(): { registry: Registry; reloaded: (ok: boolean) => void; webReloaded: (ok: boolean) => void } {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // Gauges named like counters, which `promtool check metrics` rejects; the
  // per-type nodejs_active_{handles,requests,resources} gauges remain.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
    registry.removeSingleMetric(name);
  }
  gauge(registry, METRICS.buildInfo).set({ version: VERSION, nodejs: process.version }, 1);
  const ok = gauge(registry, METRICS.configReloadSuccess);
  const at = gauge(registry, METRICS.configReloadTime);
  let web: ReturnType<typeof gauge> | undefined;
  return {
    registry,
    reloaded(success: boolean) {
      ok.set(success ? 1 : 0);
      if (success) at.set(Date.now() / 1000);
    },
    // Only with a web config file: made on first use.
    webReloaded(success: boolean) {
      (web ??= gauge(registry, METRICS.webConfigReloadSuccess)).set(success ? 1 : 0);
    },
  };
}

export function renderTargets(r: Registry, results: readonly TargetResult[], background?: BackgroundSampler): void {
  const success = gauge(r, METRICS.scrapeSuccess);
  const duration = gauge(r, METRICS.scrapeDuration);
  const bytes = gauge(r, METRICS.profileBytes);
  for (const result of results) {
    const bg = background?.get(result.target.name);
    const all = [...sourceResults(result), bg?.debug2.result, bg?.leak.result];
    for (const s of all) {
      if (!s) continue;
      const labels = { target: result.target.name, source: s.source };
      success.set(labels, s.error ? 0 : 1);
      duration.set(labels, s.durationSeconds);
      if (!s.error && s.bytes !== undefined) bytes.set(labels, s.bytes);
    }
  }
  renderGoroutines(r, results);
  renderHeap(r, results);
  renderExpvar(r, results);
  if (background) renderBackground(r, results.map((x) => x.target), background);
}

/** The top n signatures as label sets, the rest folded into "other". */
function topSignatures(summary: GoroutineSummary, n: number): { labels: Record<string, string>; value: number }[] {
  const out = summary.signatures.slice(0, n).map((s) => ({
    labels: { signature: s.id, function: s.function, blocked_on: s.blockedOn }, value: s.count,
  }));
  if (summary.signatures.length > n) {
    let rest = 0;
    for (const s of summary.signatures.slice(n)) rest += s.count;
    out.push({ labels: { signature: OTHER, function: OTHER, blocked_on: OTHER }, value: rest });
  }
  return out;
}

// Wait reasons come from the target's text: bounded by the parser's charset
// and length, and here by count.
const MAX_WAIT_REASONS = 50;

function renderBackground(r: Registry, targets: readonly TargetConfig[], background: BackgroundSampler): void {
  const waitMax = gauge(r, METRICS.waitSecondsMax);
  const byReason = gauge(r, METRICS.byWaitReason);
  const truncated = gauge(r, METRICS.dumpTruncated);
  const held = gauge(r, METRICS.dumpGoroutines);
  const age = gauge(r, METRICS.dumpAge);
  const leaked = gauge(r, METRICS.leaked);
  const leakAge = gauge(r, METRICS.leakAge);
  const supported = gauge(r, METRICS.sourceSupported);
  const skipped = counter(r, METRICS.costlySkipped);
  const costlyDuration = gauge(r, METRICS.costlyDuration);
  const backoff = gauge(r, METRICS.costlyBackoff);
  const limit = gauge(r, METRICS.costlyLimit);
  const now = Date.now();
  for (const t of targets) {
    const bg = background.get(t.name);
    if (!bg) continue;
    const target = t.name;
    for (const [source, c] of [['goroutine_debug2', bg.debug2], ['goroutineleak', bg.leak]] as const) {
      if (!t.sources.includes(source)) continue;
      for (const [reason, n] of c.skipped) skipped.inc({ target, source, reason }, n);
      if (c.lastFetchSeconds !== undefined) costlyDuration.set({ target, source }, c.lastFetchSeconds);
      backoff.set({ target, source }, c.backoff);
    }
    if (t.sources.includes('goroutine_debug2')) limit.set({ target, source: 'goroutine_debug2', limit: 'goroutines' }, t.debug2MaxGoroutines);
    if (t.sources.includes('goroutineleak')) {
      limit.set({ target, source: 'goroutineleak', limit: 'goroutines' }, t.goroutineleakMaxGoroutines);
      limit.set({ target, source: 'goroutineleak', limit: 'sync_waiters' }, t.goroutineleakMaxSyncWaiters);
    }
    const d = bg.debug2.last;
    if (d) {
      truncated.set({ target }, d.truncated ? 1 : 0);
      held.set({ target }, d.goroutines);
      age.set({ target }, Math.max(0, (now - d.atMs) / 1000));
      const top = d.summary.signatures.slice(0, t.topSignatures);
      for (const s of top) waitMax.set({ target, signature: s.id }, d.wait.maxWaitSeconds.get(s.id) ?? 0);
      if (d.summary.signatures.length > t.topSignatures) {
        let rest = 0;
        for (const s of d.summary.signatures.slice(t.topSignatures)) rest = Math.max(rest, d.wait.maxWaitSeconds.get(s.id) ?? 0);
        waitMax.set({ target, signature: OTHER }, rest);
      }
      const reasons = [...d.wait.byWaitReason].sort((a, b) => b[1] - a[1]);
      for (const [reason, n] of reasons.slice(0, MAX_WAIT_REASONS)) byReason.set({ target, wait_reason: reason }, n);
      if (reasons.length > MAX_WAIT_REASONS) {
        byReason.set({ target, wait_reason: OTHER }, reasons.slice(MAX_WAIT_REASONS).reduce((a, [, n]) => a + n, 0));
      }
    }
    if (bg.leak.supported !== undefined) supported.set({ target, source: 'goroutineleak' }, bg.leak.supported ? 1 : 0);
    const l = bg.leak.last;
    if (l) {
      leakAge.set({ target }, Math.max(0, (now - l.atMs) / 1000));
      for (const { labels, value } of topSignatures(l.summary, t.topSignatures)) leaked.set({ target, ...labels }, value);
    }
  }
}

function renderGoroutines(r: Registry, results: readonly TargetResult[]): void {
  const goGoroutines = gauge(r, METRICS.goGoroutines);
  const goroutines = gauge(r, METRICS.goroutines);
  const signatures = gauge(r, METRICS.signatures);
  const top = gauge(r, METRICS.topSignatures);
  const fallback = gauge(r, METRICS.textFallback);
  const info = gauge(r, METRICS.signatureInfo);
  for (const { target, goroutine: g } of results) {
    if (!g) continue;
    const t = target.name;
    top.set({ target: t }, target.topSignatures);
    if (!g.data) continue;
    fallback.set({ target: t }, g.data.format === 'debug1' ? 1 : 0);
    goGoroutines.set({ target: t }, g.data.total);
    signatures.set({ target: t }, g.data.signatures.length);
    for (const { labels, value } of topSignatures(g.data, target.topSignatures)) goroutines.set({ target: t, ...labels }, value);
    for (const s of g.data.signatures.slice(0, target.topSignatures)) {
      info.set({
        target: t, signature: s.id, function: s.function, blocked_on: s.blockedOn, location: signatureLocation(s), stack: stackLabel(s.frames),
      }, 1);
    }
  }
}

function renderHeap(r: Registry, results: readonly TargetResult[]): void {
  const inuseBytes = gauge(r, METRICS.heapInuseBytes);
  const inuseObjects = gauge(r, METRICS.heapInuseObjects);
  const allocBytes = counter(r, METRICS.heapAllocBytes);
  const allocObjects = counter(r, METRICS.heapAllocObjects);
  const functions = gauge(r, METRICS.heapFunctions);
  const top = gauge(r, METRICS.topHeapFunctions);
  for (const { target, heap } of results) {
    if (!heap) continue;
    top.set({ target: target.name }, target.topHeapFunctions);
    if (!heap.data) continue;
    const { sites } = heap.data;
    functions.set({ target: target.name }, sites.length);
    const n = target.topHeapFunctions;
    const shown: HeapSite[] = sites.slice(0, n);
    if (sites.length > n) {
      const other: HeapSite = { function: OTHER, inuseBytes: 0, inuseObjects: 0, allocBytes: 0, allocObjects: 0 };
      for (const s of sites.slice(n)) {
        other.inuseBytes += s.inuseBytes;
        other.inuseObjects += s.inuseObjects;
        other.allocBytes += s.allocBytes;
        other.allocObjects += s.allocObjects;
      }
      shown.push(other);
    }
    for (const s of shown) {
      const labels = { target: target.name, function: s.function };
      inuseBytes.set(labels, s.inuseBytes);
      inuseObjects.set(labels, s.inuseObjects);
      allocBytes.inc(labels, s.allocBytes);
      allocObjects.inc(labels, s.allocObjects);
    }
  }
}

function renderExpvar(r: Registry, results: readonly TargetResult[]): void {
  const source = gauge(r, METRICS.memstatsSource);
  const dropped = gauge(r, METRICS.expvarDropped);
  const families = new Map<string, Gauge | Counter>();
  for (const m of MEMSTATS_METRICS) {
    if (m.type === 'gauge') families.set(m.name, new Gauge({ name: m.name, help: m.help, labelNames: ['target'], registers: [r] }));
    if (m.type === 'counter') families.set(m.name, new Counter({ name: m.name, help: m.help, labelNames: ['target'], registers: [r] }));
  }
  const gcSeries: { target: string; gc: GcSummary }[] = [];
  const custom = new Map<string, Gauge>();
  for (const { target, expvar } of results) {
    if (!expvar?.data) continue;
    const t = target.name;
    const { memstats, memstatsFrom, numbers } = expvar.data;
    source.set({ target: t, source: memstatsFrom }, 1);
    if (memstatsFrom === 'expvar') dropped.set({ target: t }, expvar.data.dropped);
    const { metrics, gc } = memstatsMetrics(memstats);
    for (const m of metrics) {
      const f = families.get(m.name);
      if (f instanceof Gauge) f.set({ target: t }, m.value);
      else if (f instanceof Counter) f.inc({ target: t }, m.value);
    }
    if (gc) gcSeries.push({ target: t, gc });
    for (const n of numbers) {
      let g = custom.get(n.metric);
      if (!g && r.getSingleMetric(n.metric)) continue; // never shadow one of our own families
      if (!g) {
        g = new Gauge({ name: n.metric, help: 'A numeric Go expvar variable of the target; path is its name in /debug/vars.', labelNames: ['target', 'path'], registers: [r] });
        custom.set(n.metric, g);
      }
      g.set({ target: t, path: n.path }, n.value);
    }
  }
  const gcDef = MEMSTATS_METRICS.find((m) => m.name === 'go_gc_duration_seconds');
  if (gcSeries.length > 0 && gcDef) precomputedSummary(r, gcDef.name, gcDef.help, gcSeries);
}
