// Nothing one target sends changes another target's series or the HTTP status
// of /metrics or /probe: each case is a crafted target on loopback scraped
// beside a good one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFor, startExporter, type RunningExporter } from './helpers/exporter.js';
import { startServer, type TestServer } from './helpers/http.js';
import { fixture, newestGo } from './helpers/fixtures.js';
import { distinctStacksProfile, goroutineProfile, heapProfile } from './helpers/crafted.js';
import { one, parseMetrics, select, type Sample } from './helpers/prom.js';
import { CUT_MARKER, MAX_LABEL_CHARS } from '../src/labelvalue.js';

const go = newestGo();
const vars = JSON.parse(fixture(go, 'vars.json').toString('utf8')) as { memstats: Record<string, unknown> };

/** A target serving these bodies by path (goroutine, heap, /debug/vars). */
function target(bodies: { goroutine?: Buffer; heap?: Buffer; vars?: string }): Promise<TestServer> {
  return startServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const body = path === '/debug/pprof/goroutine' ? bodies.goroutine ?? fixture(go, 'goroutine.pb.gz')
      : path === '/debug/pprof/heap' ? bodies.heap ?? fixture(go, 'heap.pb.gz')
        : path === '/debug/vars' ? bodies.vars ?? fixture(go, 'vars.json') : undefined;
    if (body === undefined) { res.statusCode = 404; res.end('404 page not found\n'); return; }
    res.end(body);
  });
}

const sumOf = (samples: Sample[]) => samples.reduce((a, s) => a + s.value, 0);

describe('a target with values that cannot be', () => {
  const servers: TestServer[] = [];
  let exp: RunningExporter;
  let status: number;
  let samples: Sample[];

  beforeAll(async () => {
    const good = await target({});
    const negativeHeap = await target({ heap: heapProfile([{ names: ['main.alloc'], values: [1, 100, -5, 50] }]) });
    const overflowHeap = await target({ heap: heapProfile([
      { names: ['main.a'], values: [1, 2 ** 52, 1, 8] }, { names: ['main.b'], values: [1, 2 ** 52, 1, 8] }]) });
    const negativeVars = await target({ vars: JSON.stringify({ ...vars, memstats: { ...vars.memstats, TotalAlloc: -1 } }) });
    servers.push(good, negativeHeap, overflowHeap, negativeVars);
    const t = (name: string, s: TestServer) => ({ name, url: s.url, sources: ['goroutine', 'heap', 'expvar'] });
    exp = await startExporter(configFor([t('good', good), t('negative_heap', negativeHeap), t('overflow_heap', overflowHeap), t('negative_vars', negativeVars)]));
    const r = await exp.scrape();
    status = r.status;
    samples = parseMetrics(r.text);
  });
  afterAll(async () => {
    await exp?.close();
    await Promise.all(servers.map((s) => s.close()));
  });

  it('leaves /metrics at 200 and the good target whole', () => {
    expect(status).toBe(200);
    for (const source of ['goroutine', 'heap', 'expvar']) {
      expect(one(samples, 'pprof_exporter_scrape_success', { target: 'good', source }).value).toBe(1);
    }
    expect(select(samples, 'pprof_heap_alloc_bytes_total', { target: 'good' }).length).toBeGreaterThan(0);
    expect(one(samples, 'go_memstats_alloc_bytes_total', { target: 'good' }).value).toBe(vars.memstats.TotalAlloc);
  });

  it.each([
    ['negative_heap', 'heap', 'heap sample 0 has inuse_objects -5'],
    ['overflow_heap', 'heap', 'heap alloc_space adds up to'],
    ['negative_vars', 'expvar', '/debug/vars: MemStats TotalAlloc is -1; a counter cannot be negative'],
  ])('fails only the %s source %s, at validating, with PPROF_INCONSISTENT', (name, source, message) => {
    expect(one(samples, 'pprof_exporter_scrape_success', { target: name, source }).value).toBe(0);
    expect(one(samples, 'pprof_exporter_scrape_errors_total', { target: name, source, stage: 'validating' }).value).toBe(1);
    const log = exp.logs.find((l) => l.target === name && l.source === source);
    expect(log).toMatchObject({ stage: 'validating', code: 'PPROF_INCONSISTENT' });
    expect(String(log?.err)).toContain(message);
    // Its other sources are whole; the failed one has no series of its own.
    expect(one(samples, 'pprof_exporter_scrape_success', { target: name, source: 'goroutine' }).value).toBe(1);
    const family = source === 'heap' ? 'pprof_heap_alloc_bytes_total' : 'go_memstats_alloc_bytes_total';
    expect(select(samples, family, { target: name })).toEqual([]);
  });

  it('answers /probe of such a target with 200 and probe_success 0', async () => {
    const bad = servers[1]!;
    const r = await exp.probe({ target: bad.url });
    expect(r.status).toBe(200);
    const s = parseMetrics(r.text);
    expect(one(s, 'probe_success').value).toBe(0);
    expect(one(s, 'pprof_exporter_scrape_success', { source: 'heap' }).value).toBe(0);
    expect(select(s, 'pprof_exporter_scrape_success').every((x) => !('target' in x.labels))).toBe(true);
  });
});

describe('counts at any size, no table shared between targets', () => {
  const servers: TestServer[] = [];
  let exp: RunningExporter;
  let samples: Sample[];
  const distinct = (prefix: string, n: number) =>
    Array.from({ length: n }, (_, i) => ({ names: [`${prefix}.f${i}`], count: i + 1 }));

  beforeAll(async () => {
    // Two targets whose names together pass what one process-wide table held (65,536).
    const a = await target({ goroutine: goroutineProfile(distinct('pkga', 40_000)) });
    const b = await target({ goroutine: goroutineProfile(distinct('pkgb', 30_000)) });
    // One signature in two stacks (lines differ) 40,000 distinct stacks apart.
    const split = await target({ goroutine: goroutineProfile([
      { names: ['main.same'], count: 500, line: 10 },
      ...distinct('pkgc', 40_000).map((s) => ({ ...s, count: 1 })),
      { names: ['main.same'], count: 300, line: 20 },
    ]) });
    servers.push(a, b, split);
    const t = (name: string, s: TestServer) => ({ name, url: s.url, sources: ['goroutine'], top_signatures: 20 });
    exp = await startExporter(configFor([t('a', a), t('b', b), t('split', split)]));
    await exp.scrape(); // a second scrape, with whatever the first one left behind, must be as right
    const r = await exp.scrape();
    expect(r.status).toBe(200);
    samples = parseMetrics(r.text);
  });
  afterAll(async () => {
    await exp?.close();
    await Promise.all(servers.map((s) => s.close()));
  });

  it.each([['a', 'pkga', 40_000], ['b', 'pkgb', 30_000]])('labels every stack of %s with its own function', (name, prefix, n) => {
    expect(one(samples, 'pprof_exporter_scrape_success', { target: name, source: 'goroutine' }).value).toBe(1);
    expect(one(samples, 'pprof_goroutine_signatures', { target: name }).value).toBe(n);
    const top = select(samples, 'pprof_goroutines', { target: name }).filter((s) => s.labels.signature !== 'other');
    expect(top).toHaveLength(20);
    for (const s of top) expect(s.labels.function).toBe(`${prefix}.f${s.value - 1}`);
  });

  it('keeps one signature whole past 32,768 distinct stacks', () => {
    const same = select(samples, 'pprof_goroutines', { target: 'split', function: 'main.same' });
    expect(same.map((s) => s.value)).toEqual([800]);
  });

  it.each(['a', 'b', 'split'])('sums pprof_goroutines of %s to go_goroutines', (name) => {
    expect(sumOf(select(samples, 'pprof_goroutines', { target: name }))).toBe(one(samples, 'go_goroutines', { target: name }).value);
  });
});

describe('a 10 MB function name', () => {
  let server: TestServer;
  let exp: RunningExporter;
  const huge = `main.${'x'.repeat(10 << 20)}`;

  beforeAll(async () => {
    server = await target({
      goroutine: goroutineProfile([{ names: [huge], count: 3 }]),
      heap: heapProfile([{ names: [huge], values: [1, 64, 1, 64] }]),
    });
    exp = await startExporter(configFor([{ name: 'huge', url: server.url, sources: ['goroutine', 'heap'], max_decompressed_bytes: '64MiB' }]));
  });
  afterAll(async () => {
    await exp?.close();
    await server?.close();
  });

  it(`is cut to ${MAX_LABEL_CHARS} characters ending in "${CUT_MARKER}", in the metrics and the page's API`, async () => {
    const r = await exp.scrape();
    expect(r.status).toBe(200);
    expect(r.text.length).toBeLessThan(200_000);
    const s = parseMetrics(r.text);
    const cut = huge.slice(0, MAX_LABEL_CHARS - CUT_MARKER.length) + CUT_MARKER;
    expect(one(s, 'pprof_goroutines', { target: 'huge' }).labels.function).toBe(cut);
    expect(one(s, 'pprof_heap_inuse_bytes', { target: 'huge' }).labels.function).toBe(cut);
    const api = await fetch(`${exp.url}/api/v1/targets/huge/signatures`);
    expect(api.status).toBe(200);
    const body = await api.text();
    expect(body.length).toBeLessThan(200_000);
    expect(body).toContain(cut);
  });
});

describe('a target whose profile costs more than the scrape has', () => {
  const servers: TestServer[] = [];
  let exp: RunningExporter;
  const costly = distinctStacksProfile(150_000);

  beforeAll(async () => {
    const good = await target({});
    const big = await target({ goroutine: costly });
    servers.push(good, big);
    exp = await startExporter(configFor([
      { name: 'good', url: good.url, sources: ['goroutine'] },
      { name: 'costly', url: big.url, sources: ['goroutine'] },
    ]));
  });
  afterAll(async () => {
    await exp?.close();
    await Promise.all(servers.map((s) => s.close()));
  });

  it('is stopped at the deadline, off the event loop: /-/healthy answers meanwhile, the other target is whole', async () => {
    let done = false;
    // Prometheus says 1.5s; the exporter has 1s.
    const scrape = exp.scrape({ 'X-Prometheus-Scrape-Timeout-Seconds': '1.5' }).finally(() => { done = true; });
    let healthyBeforeEnd = 0;
    while (!done) {
      const h = await fetch(`${exp.url}/-/healthy`);
      expect(h.status).toBe(200);
      if (!done) healthyBeforeEnd++;
    }
    const r = await scrape;
    expect(r.status).toBe(200);
    expect(healthyBeforeEnd).toBeGreaterThan(0);
    const s = parseMetrics(r.text);
    expect(one(s, 'pprof_exporter_scrape_success', { target: 'costly', source: 'goroutine' }).value).toBe(0);
    expect(one(s, 'pprof_exporter_scrape_errors_total', { target: 'costly', source: 'goroutine', stage: 'decoding' }).value).toBe(1);
    expect(exp.logs.find((l) => l.target === 'costly')).toMatchObject({ stage: 'decoding', code: 'PPROF_TOO_COSTLY' });
    expect(one(s, 'pprof_exporter_scrape_success', { target: 'good', source: 'goroutine' }).value).toBe(1);
    expect(sumOf(select(s, 'pprof_goroutines', { target: 'good' }))).toBe(one(s, 'go_goroutines', { target: 'good' }).value);
  });

  it('is summarized whole, and sums right, when given the time', async () => {
    const r = await exp.scrape({ 'X-Prometheus-Scrape-Timeout-Seconds': '120' });
    const s = parseMetrics(r.text);
    expect(one(s, 'pprof_exporter_scrape_success', { target: 'costly', source: 'goroutine' }).value).toBe(1);
    expect(one(s, 'pprof_goroutine_signatures', { target: 'costly' }).value).toBe(150_000);
    expect(sumOf(select(s, 'pprof_goroutines', { target: 'costly' }))).toBe(150_000);
    expect(one(s, 'go_goroutines', { target: 'costly' }).value).toBe(150_000);
  }, 150_000);
});

describe('one budget of inflated bytes for scrapes, probes and uploads', () => {
  let server: TestServer;
  let exp: RunningExporter;

  beforeAll(async () => {
    server = await target({});
    exp = await startExporter(configFor([{ name: 'good', url: server.url, sources: ['goroutine'] }]));
  });
  afterAll(async () => {
    await exp?.close();
    await server?.close();
  });

  it('fails the request that would pass it, with a clear error, and serves again once there is room', async () => {
    const budget = exp.exporter.summarizer.budget;
    // Work in flight holds all but a few KiB of the budget.
    const release = budget.reserve(budget.maxBytes - budget.inUse - 1024);
    try {
      const s = parseMetrics((await exp.scrape()).text);
      expect(one(s, 'pprof_exporter_scrape_success', { target: 'good', source: 'goroutine' }).value).toBe(0);
      expect(exp.logs.find((l) => l.target === 'good')).toMatchObject({ stage: 'decompressing', code: 'PPROF_BUSY' });
      expect(String(exp.logs.find((l) => l.target === 'good')?.err)).toContain('would pass the budget all scrapes, probes and uploads share');
      const up = await fetch(`${exp.url}/api/v1/profiles`, { method: 'POST', body: fixture(go, 'goroutine.pb.gz') });
      expect(up.status).toBe(503);
      expect(await up.json()).toMatchObject({ code: 'PPROF_BUSY' });
    } finally {
      release();
    }
    const s = parseMetrics((await exp.scrape()).text);
    expect(one(s, 'pprof_exporter_scrape_success', { target: 'good', source: 'goroutine' }).value).toBe(1);
    const up = await fetch(`${exp.url}/api/v1/profiles`, { method: 'POST', body: fixture(go, 'goroutine.pb.gz') });
    expect(up.status).toBe(201);
  });
});
