// Render scrape results as Prometheus metrics. A fresh registry per scrape:
// a signature or target that disappeared simply is not there (no stale series).
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { METRICS, OTHER, type MetricDef } from './catalog.js';
import type { TargetResult } from './scrape.js';
import type { Stage } from './errors.js';
import { VERSION } from './version.js';

function gauge(r: Registry, d: MetricDef): Gauge {
  return new Gauge({ name: d.name, help: d.help, labelNames: [...d.labels], registers: [r] });
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

/** Process-wide metrics: Node's defaults, build info, reload status. */
export function createProcessRegistry(): { registry: Registry; reloaded: (ok: boolean) => void } {
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
  return {
    registry,
    reloaded(success: boolean) {
      ok.set(success ? 1 : 0);
      if (success) at.set(Date.now() / 1000);
    },
  };
}

export function renderTargets(r: Registry, results: readonly TargetResult[]): void {
  const goGoroutines = gauge(r, METRICS.goGoroutines);
  const goroutines = gauge(r, METRICS.goroutines);
  const signatures = gauge(r, METRICS.signatures);
  const top = gauge(r, METRICS.topSignatures);
  const success = gauge(r, METRICS.scrapeSuccess);
  const duration = gauge(r, METRICS.scrapeDuration);
  const bytes = gauge(r, METRICS.profileBytes);

  for (const { target, goroutine: g } of results) {
    const t = target.name;
    const src = { target: t, source: g.source };
    success.set(src, g.error ? 0 : 1);
    duration.set(src, g.durationSeconds);
    top.set({ target: t }, target.topSignatures);
    if (g.error || !g.data) continue;
    if (g.bytes !== undefined) bytes.set(src, g.bytes);

    const { total, signatures: sigs } = g.data;
    goGoroutines.set({ target: t }, total);
    signatures.set({ target: t }, sigs.length);
    const n = target.topSignatures;
    for (const s of sigs.slice(0, n)) {
      goroutines.set({ target: t, signature: s.id, function: s.function, blocked_on: s.blockedOn }, s.count);
    }
    if (sigs.length > n) {
      let rest = 0;
      for (const s of sigs.slice(n)) rest += s.count;
      goroutines.set({ target: t, signature: OTHER, function: OTHER, blocked_on: OTHER }, rest);
    }
  }
}
