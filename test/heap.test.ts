// Heap breakdown and MemStats against the real leaky Go program: where the
// memory sits (per allocation site), and whether the runtime holds or returns it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFor, startExporter, type RunningExporter } from './helpers/exporter.js';
import { startLeaky, type Leaky } from './helpers/leaky.js';
import { startFixtureTarget, type TestServer } from './helpers/http.js';
import { fixture, newestGo } from './helpers/fixtures.js';
import { one, parseMetrics, promtoolCheck, select, type Sample } from './helpers/prom.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MiB = 2 ** 20;

describe('heap and MemStats from the leaky program', () => {
  let leaky: Leaky;
  let exp: RunningExporter;
  const scrape = async () => parseMetrics((await exp.scrape()).text);
  const memstats = async () => (await (await fetch(`${leaky.url}/memstats`)).json()) as Record<string, number>;

  beforeAll(async () => {
    // Every allocation sampled, so the send-leak's 64 KiB buffers are counted
    // exactly. The heap profile is as of the last GC; GOGC=10 makes the
    // runtime collect every 10% of growth, as a busier service would.
    leaky = await startLeaky(['-sendleak=20', '-sendleak-rate=40', '-pool=4', '-memprofilerate=1'], { GOGC: '10' });
    exp = await startExporter(configFor([{ name: 'leaky', url: leaky.url }]));
  });
  afterAll(async () => {
    await exp?.close();
    await leaky?.stop();
  });

  it('puts the send-leak worker on top of pprof_heap_inuse_bytes, growing between scrapes', async () => {
    const top = (s: Sample[]) => select(s, 'pprof_heap_inuse_bytes', { target: 'leaky' }).sort((x, y) => y.value - x.value)[0]!;
    // The heap profile publishes allocations a GC cycle or two after they happen.
    // Waits on what is asserted (bounded by deadlines): a loaded machine leaks and collects slower.
    let a = await scrape();
    for (const deadline = Date.now() + 60_000; top(a).labels.function !== 'main.computeResult' && Date.now() < deadline;) {
      await sleep(200);
      a = await scrape();
    }
    expect(top(a).labels.function).toBe('main.computeResult');
    // 40 leaks/s × 64 KiB: 2 MiB more seen by a GC within a second or so.
    let b = await scrape();
    for (const deadline = Date.now() + 60_000; top(b).value - top(a).value <= 2 * MiB && Date.now() < deadline;) {
      await sleep(200);
      b = await scrape();
    }
    expect(top(b).labels.function).toBe('main.computeResult');
    expect(top(b).value - top(a).value).toBeGreaterThan(2 * MiB);
    expect(one(b, 'pprof_heap_inuse_objects', { target: 'leaky', function: 'main.computeResult' }).value).toBeGreaterThan(20);
    expect(one(b, 'pprof_heap_alloc_bytes_total', { target: 'leaky', function: 'main.computeResult' }).value).toBeGreaterThanOrEqual(top(b).value);
    for (const source of ['goroutine', 'heap', 'expvar']) {
      expect(one(b, 'pprof_exporter_scrape_success', { target: 'leaky', source }).value).toBe(1);
    }
    expect(one(b, 'pprof_exporter_memstats_source', { target: 'leaky', source: 'expvar' }).value).toBe(1);
    expect(one(b, 'expvar_leaked_goroutines_started', { target: 'leaky', path: 'leaked_goroutines_started' }).value).toBeGreaterThan(20);
    expect(promtoolCheck((await exp.scrape()).text)).toBe('');
  });

  it('reports go_memstats_* that agree with runtime.ReadMemStats in the program', async () => {
    const before = await memstats();
    const m = await scrape();
    const after = await memstats();
    const v = (name: string) => one(m, name, { target: 'leaky' }).value;
    // Between two reads of the program's own MemStats, allowing 10% (and 4 MiB) for the time between reads.
    const between = (name: string, field: string) => {
      const lo = Math.min(before[field]!, after[field]!);
      const hi = Math.max(before[field]!, after[field]!);
      const slack = Math.max(4 * MiB, 0.1 * hi);
      expect(v(name), `${name} vs MemStats.${field}`).toBeGreaterThanOrEqual(lo - slack);
      expect(v(name), `${name} vs MemStats.${field}`).toBeLessThanOrEqual(hi + slack);
    };
    between('go_memstats_alloc_bytes', 'Alloc');
    between('go_memstats_heap_alloc_bytes', 'HeapAlloc');
    between('go_memstats_heap_inuse_bytes', 'HeapInuse');
    between('go_memstats_heap_sys_bytes', 'HeapSys');
    between('go_memstats_sys_bytes', 'Sys');
    between('go_memstats_stack_inuse_bytes', 'StackInuse');
    // Cumulative counts only move forward.
    for (const [name, field] of [['go_memstats_alloc_bytes_total', 'TotalAlloc'], ['go_memstats_mallocs_total', 'Mallocs'], ['go_memstats_frees_total', 'Frees']] as const) {
      expect(v(name)).toBeGreaterThanOrEqual(before[field]!);
      expect(v(name)).toBeLessThanOrEqual(after[field]!);
    }
    expect(v('go_memstats_heap_idle_bytes') + v('go_memstats_heap_inuse_bytes')).toBe(v('go_memstats_heap_sys_bytes'));
    expect(one(m, 'go_gc_duration_seconds_count', { target: 'leaky' }).value).toBeGreaterThanOrEqual(before.NumGC!);
  });

  it('shows memory returned to the OS after the program frees it', async () => {
    await fetch(`${leaky.url}/ballast?mib=64`, { method: 'POST' });
    const held = await scrape();
    expect(one(held, 'pprof_heap_inuse_bytes', { target: 'leaky', function: 'main.allocateBallast' }).value).toBeGreaterThanOrEqual(64 * MiB);
    await fetch(`${leaky.url}/free`, { method: 'POST' });
    const freed = await scrape();
    const released = (s: Sample[]) => one(s, 'go_memstats_heap_released_bytes', { target: 'leaky' }).value;
    expect(released(freed) - released(held)).toBeGreaterThan(32 * MiB);
    expect(select(freed, 'pprof_heap_inuse_bytes', { function: 'main.allocateBallast' }).map((x) => x.value).concat(0)[0]).toBeLessThan(MiB);
  });
});

describe('MemStats without expvar', () => {
  let leaky: Leaky;
  let exp: RunningExporter;
  beforeAll(async () => {
    leaky = await startLeaky(['-no-expvar', '-pool=2']);
    exp = await startExporter(configFor([{ name: 'bare', url: leaky.url }]));
  });
  afterAll(async () => {
    await exp?.close();
    await leaky?.stop();
  });

  it('falls back to the heap?debug=1 trailer, same names, and says so', async () => {
    const s = parseMetrics((await exp.scrape()).text);
    expect(one(s, 'pprof_exporter_memstats_source', { target: 'bare', source: 'heap_debug1' }).value).toBe(1);
    expect(select(s, 'pprof_exporter_memstats_source', { source: 'expvar' })).toEqual([]);
    expect(one(s, 'go_memstats_heap_inuse_bytes', { target: 'bare' }).value).toBeGreaterThan(0);
    expect(one(s, 'go_memstats_sys_bytes', { target: 'bare' }).value).toBeGreaterThan(MiB);
    expect(one(s, 'pprof_exporter_scrape_success', { target: 'bare', source: 'expvar' }).value).toBe(1);
    expect(s.filter((x) => x.name.startsWith('expvar_'))).toEqual([]);
  });
});

describe('a failing source drops only its own series', () => {
  let target: TestServer;
  let exp: RunningExporter;
  beforeAll(async () => {
    target = await startFixtureTarget((f) => (f === 'heap.pb.gz' ? Buffer.from('<html>oops</html>') : fixture(newestGo(), f)));
    exp = await startExporter(configFor([{ name: 'half', url: target.url }]));
  });
  afterAll(async () => {
    await exp?.close();
    await target?.close();
  });

  it('keeps goroutine and expvar series when the heap profile is garbage', async () => {
    const s = parseMetrics((await exp.scrape()).text);
    expect(one(s, 'pprof_exporter_scrape_success', { target: 'half', source: 'heap' }).value).toBe(0);
    expect(one(s, 'pprof_exporter_scrape_errors_total', { target: 'half', source: 'heap', stage: 'decompressing' }).value).toBe(1);
    expect(select(s, 'pprof_heap_inuse_bytes')).toEqual([]);
    expect(one(s, 'pprof_exporter_scrape_success', { target: 'half', source: 'goroutine' }).value).toBe(1);
    expect(one(s, 'pprof_exporter_scrape_success', { target: 'half', source: 'expvar' }).value).toBe(1);
    expect(one(s, 'go_goroutines', { target: 'half' }).value).toBeGreaterThan(0);
    expect(one(s, 'go_memstats_sys_bytes', { target: 'half' }).value).toBeGreaterThan(0);
    expect(exp.logs.filter((l) => l.msg === 'scrape failed').map((l) => [l.source, l.stage])).toEqual([['heap', 'decompressing']]);
  });
});
