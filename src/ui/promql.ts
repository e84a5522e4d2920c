// A small client for Prometheus' HTTP query API (instant and range queries),
// for the on-call pages with --prometheus.url. Every query has a deadline, a
// response-size cap and a series cap; a failure is one PrometheusError naming
// its cause, counted by result in pprof_exporter_prometheus_queries_total.
import { request } from 'undici';
import { Counter, Registry } from 'prom-client';
import type { HttpConfig } from '../config/config.js';
import { HttpClient, redact } from '../http/client.js';
import { METRICS } from '../metrics/catalog.js';
import { VERSION } from '../version.js';

export type QueryResult = 'success' | 'timeout' | 'unreachable' | 'http_error' | 'bad_response' | 'query_error' | 'too_large';
const RESULTS: readonly QueryResult[] = ['success', 'timeout', 'unreachable', 'http_error', 'bad_response', 'query_error', 'too_large'];

export class PrometheusError extends Error {
  constructor(readonly result: Exclude<QueryResult, 'success'>, message: string) {
    super(message);
  }
}

/** A label value as a PromQL double-quoted string literal. */
export function promString(value: string): string {
  return `"${value.replace(/[\\"\n\r\t]/g, (c) => ({ '\\': '\\\\', '"': '\\"', '\n': '\\n', '\r': '\\r', '\t': '\\t' })[c]!)}"`;
}

/** A vector selector; matchers are label = value, values escaped (never a regex from user input). */
export function selector(metric: string, labels: Record<string, string>, extra = ''): string {
  const m = Object.entries(labels).map(([k, v]) => `${k}=${promString(v)}`);
  if (extra) m.push(extra);
  return m.length > 0 ? `${metric}{${m.join(', ')}}` : metric;
}

export interface Series { metric: Record<string, string>; values: [number, number][]; }

export interface PrometheusOptions {
  url: string;
  http: HttpConfig;
  timeoutSeconds: number;
  /** Bytes one answer may have on the wire. */
  maxBytes?: number;
  /** Series one answer may have. */
  maxSeries?: number;
}

const DEFAULT_MAX_BYTES = 64 * 2 ** 20;
const DEFAULT_MAX_SERIES = 50_000;
/** Points one range query may ask for per series (Prometheus itself refuses 11,000). */
export const MAX_POINTS = 1000;

interface ApiAnswer {
  status: 'success' | 'error';
  error?: string;
  errorType?: string;
  data?: { resultType: string; result: { metric: Record<string, string>; value?: [number, string]; values?: [number, string][] }[] };
}

export class Prometheus {
  readonly registry = new Registry();
  private readonly counter: Counter<'result'>;
  private readonly client: HttpClient;
  readonly url: string;
  /** Every query asked, for the bench and the debug log. */
  onQuery: (q: { query: string; range?: boolean; ms: number; result: QueryResult }) => void = () => {};

  constructor(private readonly o: PrometheusOptions) {
    this.url = o.url.replace(/\/+$/, '');
    this.client = new HttpClient(o.http);
    const d = METRICS.prometheusQueries;
    this.counter = new Counter({ name: d.name, help: d.help, labelNames: ['result'], registers: [this.registry] });
    for (const r of RESULTS) this.counter.inc({ result: r }, 0);
  }

  /** An instant query at `atS` (unix seconds). */
  async instant(query: string, atS: number): Promise<Series[]> {
    return this.ask('query', query, { time: String(atS) });
  }

  /** A range query over [startS, endS], stepS apart; at most MAX_POINTS points. */
  async range(query: string, startS: number, endS: number, stepS: number): Promise<Series[]> {
    if (stepS <= 0 || (endS - startS) / stepS > MAX_POINTS) {
      throw new Error(`range query of ${endS - startS} s at step ${stepS} s would exceed ${MAX_POINTS} points`);
    }
    return this.ask('query_range', query, { start: String(startS), end: String(endS), step: String(stepS) });
  }

  private async ask(endpoint: 'query' | 'query_range', query: string, params: Record<string, string>): Promise<Series[]> {
    const started = performance.now();
    let result: QueryResult = 'success';
    try {
      return await this.fetch(endpoint, query, params);
    } catch (err) {
      result = err instanceof PrometheusError ? err.result : 'bad_response';
      throw err;
    } finally {
      this.counter.inc({ result });
      this.onQuery({ query, range: endpoint === 'query_range', ms: performance.now() - started, result });
    }
  }

  private async fetch(endpoint: string, query: string, params: Record<string, string>): Promise<Series[]> {
    const where = `Prometheus at ${this.url}`;
    const timeoutMs = this.o.timeoutSeconds * 1000;
    const signal = AbortSignal.timeout(timeoutMs);
    // POST: a query never meets a URL length limit; Prometheus stops evaluating at `timeout` too.
    const body = new URLSearchParams({ query, ...params, timeout: `${this.o.timeoutSeconds}s` }).toString();
    let secrets: string[] = [];
    let text: string;
    let status: number;
    try {
      const p = await this.client.prepare();
      secrets = p.secrets;
      const res = await request(`${this.url}/api/v1/${endpoint}`, {
        method: 'POST', dispatcher: p.dispatcher, signal, body,
        headers: { ...p.headers, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', 'user-agent': `pprof-exporter/${VERSION}` },
        headersTimeout: timeoutMs, bodyTimeout: timeoutMs,
      });
      status = res.statusCode;
      text = await readCapped(res.body, this.o.maxBytes ?? DEFAULT_MAX_BYTES, where);
    } catch (err) {
      if (err instanceof PrometheusError) throw err;
      const e = err as Error & { code?: string; cause?: { code?: string; message?: string } };
      if (signal.aborted || e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT') {
        throw new PrometheusError('timeout', `${where} did not answer within ${this.o.timeoutSeconds} s (--prometheus.timeout)`);
      }
      const cause = e.cause?.code ?? e.code ?? e.cause?.message ?? e.message;
      throw new PrometheusError('unreachable', redact(`${where} is unreachable: ${cause}`, secrets));
    }
    let answer: ApiAnswer;
    try {
      answer = JSON.parse(text) as ApiAnswer;
    } catch {
      if (status !== 200) throw new PrometheusError('http_error', `${where} answered HTTP ${status}: ${oneLine(text)}`);
      throw new PrometheusError('bad_response', `${where} answered 200 but not JSON: ${oneLine(text)}`);
    }
    if (answer.status !== 'success') {
      // 400/422: the query itself; 503 and others: Prometheus' state.
      const kind = status === 400 || status === 422 ? 'query_error' : 'http_error';
      throw new PrometheusError(kind, `${where} refused the query (HTTP ${status}, ${answer.errorType ?? 'error'}): ${oneLine(answer.error ?? '')}`);
    }
    const r = answer.data?.result;
    if (!Array.isArray(r)) throw new PrometheusError('bad_response', `${where} answered without a result`);
    const maxSeries = this.o.maxSeries ?? DEFAULT_MAX_SERIES;
    if (r.length > maxSeries) throw new PrometheusError('too_large', `${where} answered ${r.length} series, over the cap of ${maxSeries}`);
    return r.map((s) => ({
      metric: s.metric ?? {},
      values: (s.values ?? (s.value ? [s.value] : [])).map(([t, v]) => [Number(t), Number(v)] as [number, number]),
    }));
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim().slice(0, 300);

async function readCapped(body: AsyncIterable<Buffer>, maxBytes: number, where: string): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of body) {
    n += c.length;
    if (n > maxBytes) throw new PrometheusError('too_large', `${where} answered more than ${maxBytes} bytes`);
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}
