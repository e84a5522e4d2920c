// The exporter's state: the current config, the HTTP client, the error
// counters, and how a scrape of /metrics turns into one pass over all targets.
import { createHash } from 'node:crypto';
import type { Dispatcher } from 'undici';
import { Registry } from 'prom-client';
import { loadConfig, type Config } from './config.js';
import { createDispatcher } from './fetch.js';
import { scrapeTarget, sourceResults, type SourceResult, type TargetResult } from './scrape.js';
import { BackgroundSampler } from './background.js';
import { ErrorCounts, createProcessRegistry, renderTargets } from './metrics.js';
import type { Logger } from './log.js';
import { WebState } from './web/state.js';

export interface ExporterOptions {
  config: Config;
  configFile?: string;
  logger: Logger;
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
  private readonly dispatcher: Dispatcher = createDispatcher();
  private readonly errors = new ErrorCounts();
  private readonly process = createProcessRegistry();
  readonly background: BackgroundSampler;
  /** The on-call page's history and uploads; records every scrapeAll. */
  readonly web: WebState;

  constructor(opts: ExporterOptions) {
    this.config = opts.config;
    this.configFile = opts.configFile;
    this.logger = opts.logger;
    this.configHash = hashOf(opts.config);
    this.process.reloaded(true);
    this.background = new BackgroundSampler({
      dispatcher: this.dispatcher,
      logger: this.logger,
      targets: () => this.config.targets,
      onResult: (t, r) => this.noteFailure(t.name, r),
    });
    this.background.start();
    this.web = new WebState(() => this.scrapeAll(this.config.global.scrapeTimeoutSeconds),
      (err) => this.logger.error({ err: err.message }, 'idle refresh failed'));
    this.web.start();
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
      this.errors.retainTargets(new Set(config.targets.map((t) => t.name)));
      this.logger.info({ file: this.configFile, targets: config.targets.length }, 'config reloaded');
      return { changed: true };
    } catch (err) {
      this.process.reloaded(false);
      this.logger.error({ file: this.configFile, err: (err as Error).message }, 'config reload failed, keeping the running config');
      throw err;
    }
  }

  async scrapeAll(timeoutSeconds: number): Promise<TargetResult[]> {
    const deadlineMs = performance.now() + timeoutSeconds * 1000;
    const ctx = { dispatcher: this.dispatcher, deadlineMs };
    const results = await Promise.all(this.config.targets.map((t) => scrapeTarget(t, ctx)));
    for (const r of results) {
      for (const s of sourceResults(r)) this.noteFailure(r.target.name, s);
      const g = r.goroutine?.data;
      if (g) this.background.noteGoroutines(r.target.name, g.total);
      if (g?.fallbackReason) {
        this.logger.warn({ target: r.target.name, source: 'goroutine', err: g.fallbackReason }, 'goroutine profile undecodable, used ?debug=1 text');
      }
    }
    this.web.history.record(results);
    return results;
  }

  private noteFailure(target: string, s: SourceResult<unknown>): void {
    const e = s.error;
    if (!e) return;
    this.errors.add(target, s.source, e.stage);
    this.logger.warn({ target, source: s.source, stage: e.stage, code: e.code, err: e.message }, 'scrape failed');
  }

  /** One /metrics body: every target scraped now, plus the process' own metrics. */
  async metrics(timeoutHeader: string | undefined): Promise<{ contentType: string; body: string }> {
    const results = await this.scrapeAll(scrapeTimeoutSeconds(timeoutHeader, this.config));
    const perScrape = new Registry();
    renderTargets(perScrape, results, this.background);
    this.errors.render(perScrape);
    const merged = Registry.merge([this.process.registry, perScrape]);
    return { contentType: merged.contentType, body: await merged.metrics() };
  }

  async close(): Promise<void> {
    await this.web.stop();
    await this.background.stop();
    await this.dispatcher.close();
  }
}

function hashOf(config: Config): string {
  return createHash('sha256').update(JSON.stringify(config)).digest('hex');
}
