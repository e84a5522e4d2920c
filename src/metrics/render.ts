// Render scrape results as Prometheus metrics. A fresh page per scrape:
// a signature or target that disappeared simply is not there (no stale series).
// The per-target families are written as text (exposition.ts); the
// exporter's own counters and Node's defaults stay prom-client registries.
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { METRICS, OTHER, type MetricDef } from './catalog.js';
import { Exposition, escapeLabel, valueText, type Block, type TextFamily } from './exposition.js';
import type { SourceResult } from '../sources/harness.js';
import { sourceResults, type TargetResult } from '../sources/target.js';
import { MEMSTATS_METRICS, memstatsMetrics, type GcSummary } from '../decode/memstats.js';
import { keepTopSites, type HeapSite } from '../summarize/heapsites.js';
import { COSTLY_SOURCES, costlyLimits, stateOf, type BackgroundSampler } from '../sources/background.js';
import { distinctOf, keepTop, type GoroutineSummary, type Signature } from '../summarize/signature.js';
import { signatureTail } from './signaturetext.js';
import type { TargetConfig } from '../config/config.js';
import { ScrapeError, type Stage } from '../errors.js';
import { VERSION } from '../version.js';

type Labels = Record<string, string>;

/**
 * The families of one /metrics or /probe body. The renderer is told the
 * labels it writes: on /metrics every series has `target`; on /probe (one
 * target, named by Prometheus' `instance`) none has. While a source renders,
 * its writes are held and checked (a number; counters finite and not
 * negative, as prom-client would throw); they reach the registry only if the
 * whole source rendered, so one target's data can neither fail the body nor
 * leave half its series.
 */
export class Page {
  private pending: (() => void)[] | undefined;

  constructor(readonly out: Exposition, readonly byTarget = true) {}

  labelNames(d: { labels: readonly string[] }): string[] {
    return d.labels.filter((l) => this.byTarget || l !== 'target');
  }

  labels(l: Labels): Labels {
    if (this.byTarget || !('target' in l)) return l;
    const { target: _target, ...rest } = l;
    return rest;
  }

  /** Applies a write now, or when the source being rendered is done. */
  write(w: () => void): void {
    if (this.pending) this.pending.push(w);
    else w();
  }

  /** Runs one source's rendering; returns its error, having written nothing, if it threw. */
  source(render: () => void): Error | undefined {
    this.pending = [];
    try {
      render();
      const writes = this.pending;
      this.pending = undefined;
      for (const w of writes) w();
      return undefined;
    } catch (err) {
      return err as Error;
    } finally {
      this.pending = undefined;
    }
  }
}

/**
 * A family of a Page: set and inc check the value before holding the write.
 * prom-client prints a never-set family without labels as 0, so such a family
 * (a /probe page's) is registered at its first write.
 */
export class Family {
  private made: TextFamily | undefined;

  constructor(private readonly page: Page, private readonly make: () => TextFamily, readonly name: string, lazy: boolean) {
    if (!lazy) this.made = make();
  }

  private metric(): TextFamily {
    return (this.made ??= this.make());
  }

  set(labels: Labels, value: number): void {
    if (typeof value !== 'number') throw new TypeError(`${this.name}: value ${String(value)} is not a number`);
    const l = this.page.labels(labels);
    this.page.write(() => this.metric().set(l, value));
  }

  inc(labels: Labels, value: number): void {
    if (!(Number.isFinite(value) && value >= 0)) throw new RangeError(`${this.name}: counter value ${value} is negative or not finite`);
    const l = this.page.labels(labels);
    this.page.write(() => this.metric().inc(l, value));
  }

  /** Series known to be new, written from the caller's data when the page is (TextFamily.lines). */
  lines(block: Block): void {
    this.page.write(() => this.metric().lines(block));
  }
}

type Def = { name: string; help: string; labels: readonly string[] };

function gauge(p: Page, d: Def): Family {
  const labelNames = p.labelNames(d);
  return new Family(p, () => p.out.family(d.name, d.help, 'gauge'), d.name, labelNames.length === 0);
}

function counter(p: Page, d: Def): Family {
  const labelNames = p.labelNames(d);
  return new Family(p, () => p.out.family(d.name, d.help, 'counter'), d.name, labelNames.length === 0);
}

// Go already computed the quantiles: they, sum and count are set as given.
function precomputedSummary(p: Page, name: string, help: string, series: { target: string; gc: GcSummary }[]): void {
  const f = p.out.family(name, help, 'summary');
  for (const { target, gc } of series) {
    for (const [q, v] of gc.quantiles) f.set(p.labels({ target, quantile: String(q) }), v);
    f.set(p.labels({ target }), gc.sum, '_sum');
    f.set(p.labels({ target }), gc.count, '_count');
  }
}

// The process' own numbers, written straight to its registry.
const ownGauge = (r: Registry, d: MetricDef): Gauge =>
  new Gauge({ name: d.name, help: d.help, labelNames: [...d.labels], registers: [r] });

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
  render(out: Exposition): void {
    const c = out.family(METRICS.scrapeErrors.name, METRICS.scrapeErrors.help, 'counter');
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
  render(out: Exposition, now: { inFlight: number; max: number; tracked: number }): void {
    const c = out.family(METRICS.probes.name, METRICS.probes.help, 'counter');
    for (const [k, v] of this.counts) {
      const [module, result] = JSON.parse(k) as [string, string];
      c.inc({ module, result }, v);
    }
    const gauge = (d: MetricDef, v: number) => out.family(d.name, d.help, 'gauge').set({}, v);
    gauge(METRICS.probesInFlight, now.inFlight);
    gauge(METRICS.maxConcurrentProbes, now.max);
    gauge(METRICS.probedTargets, now.tracked);
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
  ownGauge(registry, METRICS.buildInfo).set({ version: VERSION, nodejs: process.version }, 1);
  const ok = ownGauge(registry, METRICS.configReloadSuccess);
  const at = ownGauge(registry, METRICS.configReloadTime);
  let web: ReturnType<typeof ownGauge> | undefined;
  return {
    registry,
    reloaded(success: boolean) {
      ok.set(success ? 1 : 0);
      if (success) at.set(Date.now() / 1000);
    },
    // Only with a web config file: made on first use.
    webReloaded(success: boolean) {
      (web ??= ownGauge(registry, METRICS.webConfigReloadSuccess)).set(success ? 1 : 0);
    },
  };
}

/** A source whose data could not be rendered: its series are left out and it counts as failed. */
export interface RenderFailure { target: TargetConfig; source: SourceResult<unknown>; error: ScrapeError; }

/**
 * Every target's series. Each source renders on its own (Page.source): one
 * whose values cannot be written is marked failed (validating,
 * PPROF_INCONSISTENT) and returned, and the others are whole.
 */
export function renderTargets(
  r: Exposition | Registry, results: readonly TargetResult[], background?: BackgroundSampler, opts: { byTarget?: boolean } = {},
): RenderFailure[] {
  // A prom-client registry (the bench's pipeline, tests) is given the same families.
  if (!(r instanceof Exposition)) {
    const out = new Exposition();
    const failures = renderTargets(out, results, background, opts);
    out.registerInto(r);
    return failures;
  }
  const page = new Page(r, opts.byTarget ?? true);
  const success = gauge(page, METRICS.scrapeSuccess);
  const duration = gauge(page, METRICS.scrapeDuration);
  const bytes = gauge(page, METRICS.profileBytes);
  const failures: RenderFailure[] = [];
  const sections = [goroutineSection(page), heapSection(page), expvarSection(page)];
  for (const result of results) {
    for (const render of sections) {
      const s = render.source(result);
      if (!s) continue;
      const err = page.source(() => render.write(result));
      if (err) {
        s.error = new ScrapeError('validating', 'PPROF_INCONSISTENT', `inconsistent values: ${err.message}`, { cause: err });
        s.data = undefined;
        failures.push({ target: result.target, source: s, error: s.error });
      }
    }
  }
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
  sections[2]!.finish();
  if (background) {
    const err = page.source(() => renderBackground(page, results.map((x) => x.target), background));
    if (err) throw err; // our own parsers' numbers: a bug, not a target's doing
  }
  return failures;
}

interface Section {
  source(r: TargetResult): SourceResult<unknown> | undefined;
  write(r: TargetResult): void;
  finish(): void;
}

/** The top n signatures as label sets, the rest folded into "other" (keepTop). */
function topSignatures(summary: GoroutineSummary, n: number): { labels: Record<string, string>; value: number }[] {
  const top = keepTop(summary, n);
  const out = top.signatures.map((s) => ({
    labels: { signature: s.id, function: s.function, blocked_on: s.blockedOn }, value: s.count,
  }));
  if (top.beyond !== undefined) out.push({ labels: { signature: OTHER, function: OTHER, blocked_on: OTHER }, value: top.beyond });
  return out;
}

// Wait reasons come from the target's text: bounded by the parser's charset
// and length, and here by count.
const MAX_WAIT_REASONS = 50;

function renderBackground(r: Page, targets: readonly TargetConfig[], background: BackgroundSampler): void {
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
    for (const source of COSTLY_SOURCES) {
      if (!t.sources.includes(source)) continue;
      const c = stateOf(bg, source);
      for (const [reason, n] of c.skipped) skipped.inc({ target, source, reason }, n);
      if (c.lastFetchSeconds !== undefined) costlyDuration.set({ target, source }, c.lastFetchSeconds);
      backoff.set({ target, source }, c.backoff);
      const limits = costlyLimits(t, source);
      limit.set({ target, source, limit: 'goroutines' }, limits.goroutines);
      if (limits.syncWaiters !== undefined) limit.set({ target, source, limit: 'sync_waiters' }, limits.syncWaiters);
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

function goroutineSection(p: Page): Section {
  const goGoroutines = gauge(p, METRICS.goGoroutines);
  const goroutines = gauge(p, METRICS.goroutines);
  const signatures = gauge(p, METRICS.signatures);
  const top = gauge(p, METRICS.topSignatures);
  const fallback = gauge(p, METRICS.textFallback);
  const info = gauge(p, METRICS.signatureInfo);
  return {
    source: (r) => r.goroutine,
    write({ target, goroutine: g }) {
      const t = target.name;
      top.set({ target: t }, target.topSignatures);
      if (!g?.data) return;
      fallback.set({ target: t }, g.data.format === 'debug1' ? 1 : 0);
      goGoroutines.set({ target: t }, g.data.total);
      signatures.set({ target: t }, distinctOf(g.data));
      // Ids are distinct within a target (and never "other"), so its series
      // are new: written as text from the summary when the page is
      // (TextFamily.lines), the stack part made once per stack (signaturetext.ts).
      const kept = keepTop(g.data, target.topSignatures);
      const head = `{${p.byTarget ? `target="${escapeLabel(t)}",` : ''}signature="`;
      const labels = (s: Signature) => `${head}${escapeLabel(s.id)}",function="${escapeLabel(s.function)}",blocked_on="${s.blockedOn}"`;
      goroutines.lines(function* (name) {
        for (const s of kept.signatures) yield `${name}${labels(s)}} ${valueText(s.count)}\n`;
        if (kept.beyond !== undefined) yield `${name}${head}${OTHER}",function="${OTHER}",blocked_on="${OTHER}"} ${valueText(kept.beyond)}\n`;
      });
      // The same signatures as pprof_goroutines, "other" left out.
      info.lines(function* (name) {
        for (const s of kept.signatures) {
          yield `${name}${labels(s)},`;
          yield signatureTail(s);
          yield ' 1\n';
        }
      });
    },
    finish() {},
  };
}

function heapSection(p: Page): Section {
  const inuseBytes = gauge(p, METRICS.heapInuseBytes);
  const inuseObjects = gauge(p, METRICS.heapInuseObjects);
  const allocBytes = counter(p, METRICS.heapAllocBytes);
  const allocObjects = counter(p, METRICS.heapAllocObjects);
  const functions = gauge(p, METRICS.heapFunctions);
  const top = gauge(p, METRICS.topHeapFunctions);
  return {
    source: (r) => r.heap,
    write({ target, heap }) {
      top.set({ target: target.name }, target.topHeapFunctions);
      if (!heap?.data) return;
      const { sites } = heap.data;
      functions.set({ target: target.name }, heap.data.distinct ?? sites.length);
      const kept = keepTopSites(heap.data, target.topHeapFunctions);
      const shown: HeapSite[] = kept.beyond ? [...kept.sites, { function: OTHER, ...kept.beyond }] : kept.sites;
      for (const s of shown) {
        const labels = { target: target.name, function: s.function };
        inuseBytes.set(labels, s.inuseBytes);
        inuseObjects.set(labels, s.inuseObjects);
        allocBytes.inc(labels, s.allocBytes);
        allocObjects.inc(labels, s.allocObjects);
      }
    },
    finish() {},
  };
}

function expvarSection(p: Page): Section {
  const source = gauge(p, METRICS.memstatsSource);
  const dropped = gauge(p, METRICS.expvarDropped);
  const families = new Map<string, Family>();
  for (const m of MEMSTATS_METRICS) {
    if (m.type === 'gauge') families.set(m.name, gauge(p, { ...m, labels: ['target'] }));
    if (m.type === 'counter') families.set(m.name, counter(p, { ...m, labels: ['target'] }));
  }
  const gcSeries: { target: string; gc: GcSummary }[] = [];
  const custom = new Map<string, Family>();
  return {
    source: (x) => x.expvar,
    write({ target, expvar }) {
      if (!expvar?.data) return;
      const t = target.name;
      const { memstats, memstatsFrom, numbers } = expvar.data;
      source.set({ target: t, source: memstatsFrom }, 1);
      if (memstatsFrom === 'expvar') dropped.set({ target: t }, expvar.data.dropped);
      const { metrics, gc } = memstatsMetrics(memstats);
      for (const m of metrics) {
        const f = families.get(m.name);
        if (m.type === 'gauge') f?.set({ target: t }, m.value);
        else f?.inc({ target: t }, m.value);
      }
      for (const n of numbers) {
        let g = custom.get(n.metric);
        if (!g && p.out.has(n.metric)) continue; // never shadow one of our own families
        if (!g) {
          g = gauge(p, { name: n.metric, help: 'A numeric Go expvar variable of the target; path is its name in /debug/vars.', labels: ['target', 'path'] });
          custom.set(n.metric, g);
        }
        g.set({ target: t, path: n.path }, n.value);
      }
      if (gc) {
        if (!(gc.count >= 0 && gc.sum >= 0)) throw new RangeError(`go_gc_duration_seconds: count ${gc.count}, sum ${gc.sum}`);
        p.write(() => gcSeries.push({ target: t, gc }));
      }
    },
    finish() {
      const gcDef = MEMSTATS_METRICS.find((m) => m.name === 'go_gc_duration_seconds');
      if (gcSeries.length > 0 && gcDef) precomputedSummary(p, gcDef.name, gcDef.help, gcSeries);
    },
  };
}
