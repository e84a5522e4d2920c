// The exporter's state: the current config, the HTTP client, the error
// counters, and how a scrape of /metrics turns into one pass over all targets.
import { createHash } from 'node:crypto';
import { Registry } from 'prom-client';
import { DEFAULT_MODULE, loadConfig, type Config, type TargetConfig } from './config/config.js';
import type { ScrapeContext, SourceResult } from './sources/harness.js';
import { scrapeTarget, sourceResults, type TargetResult } from './sources/target.js';
import { BackgroundSampler } from './sources/background.js';
import { ErrorCounts, ProbeCounts, createProcessRegistry, renderTargets } from './metrics/render.js';
import { Exposition } from './metrics/exposition.js';
import { Allowlist, systemResolver, TargetDenied, type Resolver } from './http/allowlist.js';
import { ClientCache } from './http/client.js';
import { moduleLabel, parseProbeTarget, probe, probeTarget, ProbeError, ProbedTargets, type ProbeAnswer } from './probe.js';
import type { GoroutineData } from './sources/goroutine.js';
import type { Logger } from './log.js';
import { WebState } from './ui/state.js';
import { summarizer } from './sources/offthread.js';

export interface ExporterOptions {
  config: Config;
  configFile?: string;
  logger: Logger;
  /** How /probe resolves host names; tests inject one so no lookup leaves the machine. */
  resolver?: Resolver;
}

/** Seconds to spend on one scrape, from Prometheus' header when it sent one. */
export function scrapeTimeoutSeconds(header: string | undefined, config: Config): number {
  const fromPrometheus = header === undefined ? NaN : Number.parseFloat(header);
  if (Number.isFinite(fromPrometheus) && fromPrometheus > 0) {
    return Math.max(0.1, fromPrometheus - config.global.timeoutOffsetSeconds);
  }
  return config.global.scrapeTimeoutSeconds;
}

export class Exporter {
  config: Config;
  readonly logger: Logger;
  private readonly configFile: string | undefined;
  private configHash: string | undefined;
  private allowlist: Allowlist;
  private readonly resolver: Resolver;
  private readonly clients = new ClientCache(() => ({ allowlist: this.allowlist, resolver: this.resolver }));
  private readonly errors = new ErrorCounts();
  private readonly probes = new ProbeCounts();
  private readonly process = createProcessRegistry();
  private readonly probed = new ProbedTargets();
  private probesInFlight = 0;
  /** More series for /metrics (the Prometheus client's query counter). */
  private readonly extra: Registry[] = [];
  readonly background: BackgroundSampler;
  /** Decodes profiles and uploads off the event loop, within one inflate budget. */
  readonly summarizer = summarizer();
  /** The on-call page's history and uploads; records every scrapeAll. */
  readonly web: WebState;

  constructor(opts: ExporterOptions) {
    this.config = opts.config;
    this.configFile = opts.configFile;
    this.logger = opts.logger;
    this.resolver = opts.resolver ?? systemResolver;
    this.allowlist = new Allowlist(opts.config.allowedTargets);
    this.configHash = hashOf(opts.config);
    this.fitBudget(opts.config);
    this.process.reloaded(true);
    this.background = new BackgroundSampler({
      clientFor: (t) => this.clientFor(t),
      logger: this.logger,
      targets: () => [...this.config.targets, ...this.probed.targets()],
      onResult: (t, r) => this.noteFailure(t, r),
    });
    this.background.start();
    this.web = new WebState(() => this.scrapeAll(this.config.global.scrapeTimeoutSeconds),
      (err) => this.logger.error({ err: err.message }, 'idle refresh failed'));
    this.web.start();
  }

  // Every target, module and upload must fit the shared budget alone.
  private fitBudget(config: Config): void {
    const sizes = [config.global.maxDecompressedBytes, ...config.targets.map((t) => t.maxDecompressedBytes),
      ...Object.values(config.modules).map((m) => m.maxDecompressedBytes)];
    this.summarizer.fitAtLeast(Math.max(...sizes));
  }

  private clientFor(t: TargetConfig) {
    return this.clients.get(t.http, t.probe === true);
  }

  private context(t: TargetConfig, deadlineMs: number): ScrapeContext {
    return { client: this.clientFor(t), summarizer: this.summarizer, deadlineMs };
  }

  static async fromFile(configFile: string, logger: Logger): Promise<Exporter> {
    return new Exporter({ config: await loadConfig(configFile), configFile, logger });
  }

  /** Re-read the config file; on error keep the running config. A no-op when nothing changed. */
  async reload(): Promise<{ changed: boolean }> {
    if (!this.configFile) return { changed: false };
    try {
      const config = await loadConfig(this.configFile);
      const hash = hashOf(config);
      this.process.reloaded(true);
      if (hash === this.configHash) return { changed: false };
      this.config = config;
      this.configHash = hash;
      this.fitBudget(config);
      this.allowlist = new Allowlist(config.allowedTargets);
      this.probed.clear();
      this.clients.retain([
        ...config.targets.map((t) => ({ http: t.http, guarded: false })),
        ...Object.values(config.modules).map((m) => ({ http: m.http, guarded: true })),
      ]);
      this.errors.retainTargets(new Set(config.targets.map((t) => t.name)));
      this.logger.info({ file: this.configFile, targets: config.targets.length }, 'config reloaded');
      return { changed: true };
    } catch (err) {
      this.process.reloaded(false);
      this.logger.error({ file: this.configFile, err: (err as Error).message }, 'config reload failed, keeping the running config');
      throw err;
    }
  }

  /** The outcome of loading --web.config.file (cli.ts owns that file), as a metric. */
  webConfigReloaded(ok: boolean): void {
    this.process.webReloaded(ok);
  }

  async scrapeAll(timeoutSeconds: number): Promise<TargetResult[]> {
    const deadlineMs = performance.now() + timeoutSeconds * 1000;
    const results = await Promise.all(this.config.targets.map((t) => scrapeTarget(t, this.context(t, deadlineMs))));
    for (const r of results) this.noteResult(r);
    this.web.history.record(results);
    return results;
  }

  private noteResult(r: TargetResult): void {
    for (const s of sourceResults(r)) this.noteFailure(r.target, s);
    const g = r.goroutine?.data;
    if (r.goroutine) this.background.noteGoroutines(r.target.name, g);
    if (g?.fallbackReason) {
      this.logger.warn({ target: r.target.name, source: 'goroutine', err: g.fallbackReason }, 'goroutine profile undecodable, used ?debug=1 text');
    }
  }

  private noteFailure(target: TargetConfig, s: SourceResult<unknown>): void {
    const e = s.error;
    if (!e) return;
    // Probed targets are unbounded: they are counted per module by probe result instead.
    if (!target.probe) this.errors.add(target.name, s.source, e.stage);
    this.logger.warn({ target: target.name, source: s.source, stage: e.stage, code: e.code, err: e.message }, 'scrape failed');
  }

  /** One /probe request; at most max_concurrent_probes at once, the rest are told to retry. */
  async probe(query: Record<string, unknown>, timeoutHeader: string | undefined): Promise<ProbeAnswer> {
    const config = this.config;
    if (this.probesInFlight >= config.maxConcurrentProbes) {
      const module = moduleLabel(query, config);
      this.probes.add(module, 'rejected');
      return {
        status: 503, outcome: 'rejected', module, contentType: 'text/plain; charset=utf-8', headers: { 'retry-after': '1' },
        body: `too many concurrent probes (max_concurrent_probes: ${config.maxConcurrentProbes}), retry later\n`,
      };
    }
    this.probesInFlight++;
    try {
      const deadlineMs = performance.now() + scrapeTimeoutSeconds(timeoutHeader, config) * 1000;
      const answer = await probe({
        config, allowlist: this.allowlist, resolver: this.resolver, background: this.background,
        context: (t) => this.context(t, deadlineMs),
      }, query);
      this.probes.add(answer.module, answer.outcome);
      if (answer.result) {
        this.noteResult(answer.result);
        for (const f of answer.failures ?? []) this.noteFailure(f.target, f.source);
        this.probed.track(answer.result.target);
      } else if (answer.outcome === 'denied') {
        this.logger.warn({ target: String(query.target).slice(0, 200), err: answer.body.toString().trim() }, 'probe denied');
      }
      return answer;
    } finally {
      this.probesInFlight--;
    }
  }

  addRegistry(r: Registry): void {
    this.extra.push(r);
  }

  /**
   * The goroutine profile of one target fetched now, for a page's "Now": a
   * configured target by name, else the name as a /probe target with that
   * module, the allowlist checked before any connection (as for /probe).
   */
  async live(name: string, moduleName = DEFAULT_MODULE): Promise<{ target: string; atMs: number; data?: GoroutineData; error?: string; denied?: boolean }> {
    const config = this.config;
    const atMs = Date.now();
    let target = config.targets.find((t) => t.name === name);
    if (!target) {
      const m = Object.hasOwn(config.modules, moduleName) ? config.modules[moduleName] : undefined;
      if (!m) return { target: name, atMs, error: `unknown module ${JSON.stringify(moduleName.slice(0, 100))}` };
      try {
        const url = parseProbeTarget(name);
        await this.allowlist.resolve(url.hostname, this.resolver);
        target = probeTarget(m, url.origin);
      } catch (err) {
        if (err instanceof ProbeError) return { target: name, atMs, error: err.message };
        if (err instanceof TargetDenied && !err.unresolved) return { target: name, atMs, denied: true, error: `target not allowed: ${err.message}` };
        if (!(err instanceof TargetDenied)) throw err;
        target = probeTarget(m, parseProbeTarget(name).origin); // unresolved: the fetch says so
      }
    }
    if (this.probesInFlight >= config.maxConcurrentProbes) {
      return { target: name, atMs, error: `too many concurrent probes (max_concurrent_probes: ${config.maxConcurrentProbes}), retry later` };
    }
    this.probesInFlight++;
    try {
      const t = { ...target, sources: ['goroutine' as const] };
      const r = await scrapeTarget(t, this.context(t, performance.now() + config.global.scrapeTimeoutSeconds * 1000));
      const g = r.goroutine;
      return g?.error ? { target: name, atMs, error: g.error.message } : { target: name, atMs, ...(g?.data && { data: g.data }) };
    } finally {
      this.probesInFlight--;
    }
  }

  /**
   * One /metrics body: every target scraped now, plus the process' own
   * metrics. In chunks: over many targets the body is 100+ MiB, which is
   * better never held whole.
   */
  async metrics(timeoutHeader: string | undefined): Promise<{ contentType: string; body: Iterable<Buffer> }> {
    const results = await this.scrapeAll(scrapeTimeoutSeconds(timeoutHeader, this.config));
    const page = new Exposition();
    for (const f of renderTargets(page, results, this.background)) this.noteFailure(f.target, f.source);
    this.errors.render(page);
    this.probes.render(page, {
      inFlight: this.probesInFlight, max: this.config.maxConcurrentProbes, tracked: this.probed.size,
    });
    const own = this.extra.length ? Registry.merge([this.process.registry, ...this.extra]) : this.process.registry;
    return { contentType: own.contentType, body: page.chunks(await own.metrics()) };
  }

  async close(): Promise<void> {
    await this.web.stop();
    await this.background.stop();
    await this.clients.close();
  }
}

function hashOf(config: Config): string {
  return createHash('sha256').update(JSON.stringify(config)).digest('hex');
}
