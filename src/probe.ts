// GET /probe?target=&module=: the blackbox_exporter pattern. One target per
// request, chosen by Prometheus' relabelling; a fresh registry per probe; a
// failed probe is data (probe_success 0, HTTP 200); only the caller's
// mistakes are 4xx, with a one-line reason.
import { Registry } from 'prom-client';
import { METRICS } from './metrics/catalog.js';
import type { Config, ModuleConfig, TargetConfig } from './config/config.js';
import { DEFAULT_MODULE } from './config/config.js';
import { TargetDenied, type Allowlist, type Resolver } from './http/allowlist.js';
import type { ScrapeContext } from './sources/harness.js';
import { scrapeTarget, sourceResults, type TargetResult } from './sources/target.js';
import { renderTargets, type RenderFailure } from './metrics/render.js';
import { Exposition } from './metrics/exposition.js';
import type { BackgroundSampler } from './sources/background.js';
import { printable } from './printable.js';

const CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

export type ProbeOutcome = 'success' | 'failure' | 'denied' | 'rejected' | 'invalid';

export interface ProbeAnswer {
  status: number;
  outcome: ProbeOutcome;
  module: string; // a configured module name, or "unknown"
  contentType: string;
  /** Text for the caller's mistakes; a probe's page as UTF-8. */
  body: string | Buffer;
  headers?: Record<string, string>;
  /** Set when a probe ran: the target as scraped, for logging and background sampling. */
  result?: TargetResult;
  /** Sources whose data could not be rendered (already marked failed in result). */
  failures?: RenderFailure[];
}

export class ProbeError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** `host:port` or `http(s)://host:port`. The exporter fixes path and query, so a target string can carry neither. */
export function parseProbeTarget(raw: string): URL {
  const bad = (why: string) => new ProbeError(400, `invalid target ${JSON.stringify(raw.slice(0, 200))}: ${why}`);
  const text = raw.trim();
  if (text === '') throw bad('empty');
  let u: URL;
  try {
    u = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`);
  } catch {
    throw bad('want host:port or http(s)://host:port');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw bad('scheme must be http or https');
  if (u.username || u.password) throw bad('must not contain credentials (configure them in the module\'s http_config)');
  if (u.href.includes('?') || u.href.includes('#')) throw bad('must not contain a query string or fragment');
  if (u.pathname !== '/') throw bad('must not contain a path (set path_prefix in the module)');
  if (!u.hostname) throw bad('missing host');
  return u;
}

/** The module label for counting a request: a configured module's name, else "unknown" (bounded by the config). */
export function moduleLabel(query: Record<string, unknown>, config: Config): string {
  const m = query.module ?? DEFAULT_MODULE;
  return typeof m === 'string' && Object.hasOwn(config.modules, m) ? m : 'unknown';
}

export interface ProbeDeps {
  config: Config;
  allowlist: Allowlist;
  resolver: Resolver;
  context: (target: TargetConfig) => ScrapeContext;
  background: BackgroundSampler;
}

/** The target as the scrape pipeline sees it: the module's settings, the probe's origin. */
export function probeTarget(module: ModuleConfig, origin: string): TargetConfig {
  const { name: _module, pathPrefix, timeoutSeconds, ...limits } = module;
  return {
    ...limits,
    name: module.name === DEFAULT_MODULE ? origin : `${module.name}/${origin}`,
    url: `${origin}${pathPrefix}`,
    ...(timeoutSeconds !== undefined && { timeoutSeconds }),
    probe: true,
  };
}

const text = (status: number, outcome: ProbeOutcome, module: string, body: string, headers?: Record<string, string>): ProbeAnswer =>
  ({ status, outcome, module, contentType: 'text/plain; charset=utf-8', body: `${printable(body)}\n`, ...(headers && { headers }) });

export async function probe(deps: ProbeDeps, query: Record<string, unknown>): Promise<ProbeAnswer> {
  const start = performance.now();
  const param = (k: string): string | undefined => {
    const v = query[k];
    if (Array.isArray(v)) throw new ProbeError(400, `parameter ${k} given more than once`);
    return typeof v === 'string' ? v : undefined;
  };
  let module: ModuleConfig;
  let target: TargetConfig;
  let url: URL;
  try {
    const moduleName = param('module') ?? DEFAULT_MODULE;
    const m = Object.hasOwn(deps.config.modules, moduleName) ? deps.config.modules[moduleName] : undefined;
    if (!m) throw new ProbeError(400, `unknown module ${JSON.stringify(moduleName.slice(0, 100))}`);
    module = m;
    const extra = Object.keys(query).find((k) => k !== 'target' && k !== 'module');
    if (extra !== undefined) throw new ProbeError(400, `unknown parameter ${JSON.stringify(extra.slice(0, 100))} (allowed: target, module)`);
    const raw = param('target');
    if (raw === undefined) throw new ProbeError(400, 'target parameter is missing');
    url = parseProbeTarget(raw);
    target = probeTarget(module, url.origin);
  } catch (err) {
    if (!(err instanceof ProbeError)) throw err;
    return text(err.status, 'invalid', moduleLabel(query, deps.config), err.message);
  }
  try {
    // Refused before any connection; the connector checks again on every connection.
    await deps.allowlist.resolve(url.hostname, deps.resolver);
  } catch (err) {
    if (!(err instanceof TargetDenied)) throw err;
    // A name that does not resolve is a failed probe (the scrape reports it), not the caller's mistake.
    if (!err.unresolved) return text(403, 'denied', module.name, `target not allowed: ${err.message}`);
  }
  const result = await scrapeTarget(target, deps.context(target));
  return render(module, result, deps, start);
}

async function render(module: ModuleConfig, result: TargetResult, deps: ProbeDeps, start: number): Promise<ProbeAnswer> {
  const page = new Exposition();
  // Prometheus adds `instance` (and the relabelling recipe `target`) itself:
  // the probe's series carry no target label.
  const failures = renderTargets(page, [result], deps.background, { byTarget: false });
  const ok = sourceResults(result).every((s) => !s.error);
  const gauge = (d: { name: string; help: string }, v: number) => page.family(d.name, d.help, 'gauge').set({}, v);
  gauge(METRICS.probeSuccess, ok ? 1 : 0);
  gauge(METRICS.probeDuration, (performance.now() - start) / 1000);
  return { status: 200, outcome: ok ? 'success' : 'failure', module: module.name, contentType: CONTENT_TYPE, body: page.bytes(), result, failures };
}

// Probed targets whose background sources are sampled: bounded, forgotten when no longer probed.
const MAX_PROBED_TARGETS = 1000;
const PROBED_TTL_MS = 15 * 60_000;

/** The probed targets the background samples (debug=2, goroutineleak): at most 1000, each for 15 min after its last probe. */
export class ProbedTargets {
  private readonly byName = new Map<string, { target: TargetConfig; seenMs: number }>();

  track(t: TargetConfig): void {
    if (!t.sources.includes('goroutine_debug2') && !t.sources.includes('goroutineleak')) return;
    const seen = this.byName.get(t.name);
    if (seen) seen.seenMs = performance.now();
    else if (this.byName.size < MAX_PROBED_TARGETS) this.byName.set(t.name, { target: t, seenMs: performance.now() });
  }

  targets(): TargetConfig[] {
    const now = performance.now();
    for (const [k, p] of this.byName) if (now - p.seenMs > PROBED_TTL_MS) this.byName.delete(k);
    return [...this.byName.values()].map((p) => p.target);
  }

  clear(): void {
    this.byName.clear();
  }

  get size(): number {
    return this.byName.size;
  }
}
