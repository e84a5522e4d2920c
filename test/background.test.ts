// The sources kept off the scrape path: goroutineleak (each fetch runs a GC)
// and debug=2 (stops the world), each on its own interval and limits, and the
// ?debug=1 fallback when the proto cannot be decoded.
import { gunzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { configFor, startExporter, type RunningExporter } from './helpers/exporter.js';
import { settledSendLeak, startLeaky, waitUntilParked, type Leaky } from './helpers/leaky.js';
import { startFixtureTarget, startServer, type TestServer } from './helpers/http.js';
import { fixture, newestGo } from './helpers/fixtures.js';
import { one, parseMetrics, promtoolCheck, select } from './helpers/prom.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

// Go 1.26 with the experiment, and the current Go where the profile is GA.
describe.each([
  ['Go 1.26 GOEXPERIMENT=goroutineleakprofile', 'leakyLeakProfileBin'],
  [inject('goCurrent'), 'leakyCurrentBin'],
] as const)('goroutineleak (%s)', (_go, bin) => {
  let leaky: Leaky;
  let exp: RunningExporter;
  let sent: number;
  beforeAll(async () => {
    leaky = await startLeaky(['-sendleak=5', '-nilchan=3', '-pool=4'], {}, inject(bin));
    // The runtime proves only parked goroutines leaked: wait until they are.
    sent = await settledSendLeak(leaky.url);
    await waitUntilParked(leaky.url, { 'main.drainQueue': 3, 'main.poolWorker': 4 });
    exp = await startExporter(configFor([{ name: 'leaky', url: leaky.url, sources: ['goroutine', 'goroutineleak'], goroutineleak_interval: '1h' }]));
  });
  afterAll(async () => {
    await exp?.close();
    await leaky?.stop();
  });

  it('publishes what the runtime proves leaked: the send leak and the nil channel, not the pool', async () => {
    await exp.scrape(); // its goroutine count is what the fetch's limits are checked against
    await exp.exporter.background.tick();
    const s = parseMetrics((await exp.scrape()).text);
    const leaked = select(s, 'pprof_goroutines_leaked', { target: 'leaky' });
    const byFn = new Map(leaked.map((x) => [x.labels.function, x]));
    expect(sent).toBeGreaterThan(0);
    expect(byFn.get('main.computeResult')).toMatchObject({ value: sent, labels: { blocked_on: 'chan_send' } });
    expect(byFn.get('main.drainQueue')).toMatchObject({ value: 3, labels: { blocked_on: 'chan_receive' } });
    expect(byFn.has('main.poolWorker')).toBe(false);
    // Same signature ids as pprof_goroutines, so the two can be joined.
    const live = one(s, 'pprof_goroutines', { target: 'leaky', function: 'main.computeResult', blocked_on: 'chan_send' });
    expect(byFn.get('main.computeResult')!.labels.signature).toBe(live.labels.signature);
    expect(one(s, 'pprof_exporter_source_supported', { target: 'leaky', source: 'goroutineleak' }).value).toBe(1);
    expect(one(s, 'pprof_exporter_scrape_success', { target: 'leaky', source: 'goroutineleak' }).value).toBe(1);
    expect(one(s, 'pprof_goroutineleak_profile_age_seconds', { target: 'leaky' }).value).toBeLessThan(60); // fresh, with a 1h interval
    expect(promtoolCheck((await exp.scrape()).text)).toBe('');
  });
});

describe('goroutineleak on a Go without it', () => {
  it('says so once, in the log and as a metric, and stops asking often', async () => {
    let asked = 0;
    const files = (f: string) => fixture(newestGo(), f);
    const base = await startFixtureTarget(files);
    const target = await startServer((req, res) => {
      if (req.url?.startsWith('/debug/pprof/goroutineleak')) {
        asked++;
        res.statusCode = 404;
        res.end('Unknown profile\n');
        return;
      }
      fetch(`${base.url}${req.url}`).then(async (r) => res.end(Buffer.from(await r.arrayBuffer())));
    });
    const exp = await startExporter(configFor([{ name: 'old', url: target.url, sources: ['goroutine', 'goroutineleak'], goroutineleak_interval: '1s' }]));
    cleanup.push(() => exp.close(), () => target.close(), () => base.close());
    await exp.scrape();
    const t0 = performance.now();
    await exp.exporter.background.tick(t0);
    await exp.exporter.background.tick(t0 + 2000);
    await exp.exporter.background.tick(t0 + 60_000);
    expect(asked).toBe(1);
    await exp.exporter.background.tick(t0 + 3_700_000);
    expect(asked).toBe(2);
    const s = parseMetrics((await exp.scrape()).text);
    expect(one(s, 'pprof_exporter_source_supported', { target: 'old', source: 'goroutineleak' }).value).toBe(0);
    expect(select(s, 'pprof_goroutines_leaked')).toEqual([]);
    expect(select(s, 'pprof_exporter_scrape_errors_total', { source: 'goroutineleak' })).toEqual([]);
    expect(exp.logs.filter((l) => l.source === 'goroutineleak').map((l) => l.level)).toEqual(['info']);
  });
});

describe('debug=2 sampling', () => {
  async function setup(maxGoroutines: number) {
    let dumps = 0;
    const base = await startFixtureTarget((f) => fixture(newestGo(), f));
    const target = await startServer((req, res) => {
      if (req.url === '/debug/pprof/goroutine?debug=2') {
        dumps++;
        res.end(fixture(newestGo(), 'goroutine.debug2.txt'));
        return;
      }
      fetch(`${base.url}${req.url}`).then(async (r) => res.end(Buffer.from(await r.arrayBuffer())));
    });
    const exp = await startExporter(configFor([{ name: 't', url: target.url, sources: ['goroutine', 'goroutine_debug2'], debug2_interval: '1m', debug2_max_goroutines: maxGoroutines }]));
    cleanup.push(() => exp.close(), () => target.close(), () => base.close());
    return { exp, dumps: () => dumps };
  }

  it('is not fetched above debug2_max_goroutines, and each skip is counted with its reason', async () => {
    const { exp, dumps } = await setup(10); // the fixture has 41 goroutines
    const t0 = performance.now();
    await exp.exporter.background.tick(t0); // no scrape yet: count unknown
    await exp.scrape();
    await exp.exporter.background.tick(t0 + 61_000);
    await exp.exporter.background.tick(t0 + 122_000);
    expect(dumps()).toBe(0);
    const s = parseMetrics((await exp.scrape()).text);
    const skipped = { target: 't', source: 'goroutine_debug2' };
    expect(one(s, 'pprof_exporter_costly_fetch_skipped_total', { ...skipped, reason: 'goroutine_count_unknown' }).value).toBe(1);
    expect(one(s, 'pprof_exporter_costly_fetch_skipped_total', { ...skipped, reason: 'too_many_goroutines' }).value).toBe(2);
    expect(one(s, 'pprof_exporter_costly_fetch_limit', { ...skipped, limit: 'goroutines' }).value).toBe(10);
    expect(select(s, 'pprof_exporter_costly_fetch_duration_seconds')).toEqual([]);
    expect(select(s, 'pprof_goroutine_dump_age_seconds')).toEqual([]);
  });

  it('runs at most once per interval below the limit and serves the last dump with its age', async () => {
    const { exp, dumps } = await setup(100);
    await exp.scrape();
    const t0 = performance.now();
    await exp.exporter.background.tick(t0);
    await exp.exporter.background.tick(t0 + 30_000);
    expect(dumps()).toBe(1);
    await sleep(1100);
    const s = parseMetrics((await exp.scrape()).text);
    expect(one(s, 'pprof_goroutine_dump_truncated', { target: 't' }).value).toBe(0);
    expect(one(s, 'pprof_goroutine_dump_goroutines', { target: 't' }).value).toBe(41);
    expect(one(s, 'pprof_goroutine_dump_age_seconds', { target: 't' }).value).toBeGreaterThanOrEqual(1);
    expect(one(s, 'pprof_goroutines_by_wait_reason', { target: 't', wait_reason: 'chan send' }).value).toBeGreaterThanOrEqual(12);
    const send = one(s, 'pprof_goroutines', { target: 't', function: 'main.computeResult' });
    expect(one(s, 'pprof_goroutine_wait_seconds_max', { target: 't', signature: send.labels.signature }).value).toBe(0);
    expect(one(s, 'pprof_exporter_scrape_success', { target: 't', source: 'goroutine_debug2' }).value).toBe(1);
    await exp.exporter.background.tick(t0 + 61_000);
    expect(dumps()).toBe(2);
  });
});

// A real Go program behind a forwarding server that counts (and can delay or
// hold) the costly requests, so a test sees what the exporter asked the target.
async function countingProxy(upstream: string) {
  const asked = { goroutineleak: 0, debug2: 0 };
  let inFlight = 0;
  let maxInFlight = 0;
  const ctl = { delayMs: 0 };
  const server = await startServer((req, res) => {
    const path = req.url ?? '/';
    const kind = path.startsWith('/debug/pprof/goroutineleak') ? 'goroutineleak' : path.includes('debug=2') ? 'debug2' : undefined;
    const costly = kind !== undefined;
    if (kind) asked[kind]++;
    if (costly) maxInFlight = Math.max(maxInFlight, ++inFlight);
    (async () => {
      if (costly && ctl.delayMs > 0) await sleep(ctl.delayMs);
      const r = await fetch(`${upstream}${path}`);
      res.statusCode = r.status;
      res.setHeader('content-type', r.headers.get('content-type') ?? 'application/octet-stream');
      res.end(Buffer.from(await r.arrayBuffer()));
    })().catch(() => res.destroy()).finally(() => { if (costly) inFlight--; });
  });
  return { ...server, asked, ctl, maxInFlight: () => maxInFlight };
}

describe('costly fetches: limits from the last goroutine profile', () => {
  let leaky: Leaky;
  beforeAll(async () => {
    // 20 goroutines wait on one sync.Mutex (the goroutineleak GC's quadratic part), 5 leak a chan send.
    leaky = await startLeaky(['-sendleak=5', '-mutexleak=20', '-pool=4'], {}, inject('leakyLeakProfileBin'));
  });
  afterAll(async () => {
    await leaky?.stop();
  });

  it('fetches goroutineleak below its limits, skips it above them, and counts each skip with its reason', async () => {
    const below = await countingProxy(leaky.url);
    const waiters = await countingProxy(leaky.url);
    const many = await countingProxy(leaky.url);
    const leakOnly = { sources: ['goroutine', 'goroutineleak'], goroutineleak_interval: '1m' };
    const exp = await startExporter(configFor([
      { name: 'below', url: below.url, ...leakOnly, goroutineleak_max_sync_waiters: 100 },
      { name: 'waiters', url: waiters.url, ...leakOnly, goroutineleak_max_sync_waiters: 10 },
      { name: 'many', url: many.url, ...leakOnly, goroutineleak_max_goroutines: 10 },
    ]));
    cleanup.push(() => exp.close(), () => below.close(), () => waiters.close(), () => many.close());
    const t0 = performance.now();
    await exp.exporter.background.tick(t0); // before any goroutine profile: nothing costly is asked
    await exp.scrape();
    await exp.exporter.background.tick(t0 + 1000);
    await exp.exporter.background.tick(t0 + 62_000); // an interval and a second after the first attempt
    expect([below.asked.goroutineleak, waiters.asked.goroutineleak, many.asked.goroutineleak]).toEqual([2, 0, 0]);

    const s = parseMetrics((await exp.scrape()).text);
    const skips = (target: string) => Object.fromEntries(select(s, 'pprof_exporter_costly_fetch_skipped_total', { target, source: 'goroutineleak' })
      .map((x) => [x.labels.reason, x.value]));
    expect(skips('below')).toEqual({ goroutine_count_unknown: 1 });
    expect(skips('waiters')).toEqual({ goroutine_count_unknown: 1, too_many_sync_waiters: 2 });
    expect(skips('many')).toEqual({ goroutine_count_unknown: 1, too_many_goroutines: 2 });
    expect(one(s, 'pprof_goroutines_leaked', { target: 'below', function: 'main.computeResult' }).value).toBe(5);
    expect(select(s, 'pprof_goroutines_leaked', { target: 'waiters' })).toEqual([]);
    expect(one(s, 'pprof_exporter_costly_fetch_duration_seconds', { target: 'below', source: 'goroutineleak' }).value).toBeGreaterThan(0);
    expect(select(s, 'pprof_exporter_costly_fetch_duration_seconds', { target: 'waiters' })).toEqual([]);
    expect(one(s, 'pprof_exporter_costly_fetch_limit', { target: 'waiters', source: 'goroutineleak', limit: 'sync_waiters' }).value).toBe(10);
    expect(one(s, 'pprof_exporter_costly_fetch_limit', { target: 'many', source: 'goroutineleak', limit: 'goroutines' }).value).toBe(10);
    expect(one(s, 'pprof_exporter_costly_fetch_backoff', { target: 'below', source: 'goroutineleak' }).value).toBe(1);
    expect(promtoolCheck((await exp.scrape()).text)).toBe('');
  });

  it('asks nothing costly while the goroutine profile fails', async () => {
    let broken = false;
    const proxy = await countingProxy(leaky.url);
    const front = await startServer((req, res) => {
      if (broken && req.url?.startsWith('/debug/pprof/goroutine?')) { res.statusCode = 500; res.end('boom'); return; }
      fetch(`${proxy.url}${req.url}`).then(async (r) => { res.statusCode = r.status; res.end(Buffer.from(await r.arrayBuffer())); });
    });
    const exp = await startExporter(configFor([{ name: 't', url: front.url, sources: ['goroutine', 'goroutineleak'], goroutineleak_interval: '1m' }]));
    cleanup.push(() => exp.close(), () => front.close(), () => proxy.close());
    await exp.scrape();
    const t0 = performance.now();
    await exp.exporter.background.tick(t0);
    expect(proxy.asked.goroutineleak).toBe(1);
    broken = true;
    await exp.scrape();
    await exp.exporter.background.tick(t0 + 61_000);
    expect(proxy.asked.goroutineleak).toBe(1);
    const s = parseMetrics((await exp.scrape()).text);
    expect(one(s, 'pprof_exporter_costly_fetch_skipped_total', { target: 't', source: 'goroutineleak', reason: 'goroutine_count_unknown' }).value).toBe(1);
  });

  it('backs off after a slow fetch, doubling the wait, and counts the held-back fetches', async () => {
    const proxy = await countingProxy(leaky.url);
    const exp = await startExporter(configFor([{
      // Slow is 1.2 s against a 1 s threshold: a loaded machine never makes the fast fetch look slow.
      name: 'slow', url: proxy.url, sources: ['goroutine', 'goroutineleak'], goroutineleak_interval: '1m', costly_fetch_backoff_after: '1s',
    }]));
    cleanup.push(() => exp.close(), () => proxy.close());
    await exp.scrape();
    const bg = exp.exporter.background;
    const min = 60_000;
    const t0 = performance.now();
    proxy.ctl.delayMs = 1200;
    await bg.tick(t0); // slow: the next one waits 2 intervals
    expect(proxy.asked.goroutineleak).toBe(1);
    expect(bg.get('slow')!.leak.backoff).toBe(2);
    await bg.tick(t0 + 1.5 * min); // one base interval held back: a skip
    expect(proxy.asked.goroutineleak).toBe(1);
    // Due ticks land a second past the interval: performance.now() sums are not exact at the boundary.
    const a = t0 + 2 * min + 1000;
    await bg.tick(a); // slow again: 4 intervals
    expect(proxy.asked.goroutineleak).toBe(2);
    expect(bg.get('slow')!.leak.backoff).toBe(4);
    proxy.ctl.delayMs = 0;
    for (const k of [1, 2, 3, 3.9]) await bg.tick(a + k * min + 500);
    expect(proxy.asked.goroutineleak).toBe(2);
    const b = a + 4 * min + 1000;
    await bg.tick(b); // fast: back to one interval
    expect(proxy.asked.goroutineleak).toBe(3);
    await bg.tick(b + min + 1000);
    expect(proxy.asked.goroutineleak).toBe(4);

    const s = parseMetrics((await exp.scrape()).text);
    expect(one(s, 'pprof_exporter_costly_fetch_skipped_total', { target: 'slow', source: 'goroutineleak', reason: 'backoff' }).value).toBe(1 + 3);
    expect(one(s, 'pprof_exporter_costly_fetch_backoff', { target: 'slow', source: 'goroutineleak' }).value).toBe(1);
    expect(exp.logs.filter((l) => l.msg === 'costly fetch was slow, waiting longer before the next one').map((l) => l.backoff)).toEqual([2, 4]);
  });

  it('never makes two costly fetches to one target at once, whatever names it has', async () => {
    const proxy = await countingProxy(leaky.url);
    proxy.ctl.delayMs = 200;
    const exp = await startExporter(configFor([
      { name: 'a', url: proxy.url, sources: ['goroutine', 'goroutine_debug2', 'goroutineleak'], goroutineleak_interval: '1h', debug2_interval: '1h' },
      { name: 'b', url: proxy.url, sources: ['goroutine', 'goroutineleak'], goroutineleak_interval: '1h' },
    ]));
    cleanup.push(() => exp.close(), () => proxy.close());
    await exp.scrape();
    const t0 = performance.now();
    for (let i = 0; i < 4; i++) await exp.exporter.background.tick(t0 + i * 1000);
    expect(proxy.asked).toEqual({ debug2: 1, goroutineleak: 2 });
    expect(proxy.maxInFlight()).toBe(1);
  });

  it('takes turns between the two costly sources, so a short debug2_interval cannot starve goroutineleak', async () => {
    const proxy = await countingProxy(leaky.url);
    const exp = await startExporter(configFor([
      { name: 't', url: proxy.url, sources: ['goroutine', 'goroutine_debug2', 'goroutineleak'], debug2_interval: '1s', goroutineleak_interval: '1s' },
    ]));
    cleanup.push(() => exp.close(), () => proxy.close());
    await exp.scrape();
    const t0 = performance.now();
    for (let i = 0; i < 4; i++) await exp.exporter.background.tick(t0 + i * 2000);
    expect(proxy.asked).toEqual({ debug2: 2, goroutineleak: 2 });
  });
});

describe('?debug=1 fallback', () => {
  it('uses the text when the proto cannot be decoded (a proxy stripped the gzip), with the same signatures', async () => {
    const v = newestGo();
    const target = await startFixtureTarget((f) => (f === 'goroutine.pb.gz' ? gunzipSync(fixture(v, f)) : fixture(v, f)));
    const proto = await startFixtureTarget((f) => fixture(v, f));
    const exp = await startExporter(configFor([
      { name: 'stripped', url: target.url, sources: ['goroutine'] },
      { name: 'proto', url: proto.url, sources: ['goroutine'] },
    ]));
    cleanup.push(() => exp.close(), () => target.close(), () => proto.close());
    // The fixture server answers ?debug=1 from goroutine.debug1.txt (startFixtureTarget routes it).
    const s = parseMetrics((await exp.scrape()).text);
    expect(one(s, 'pprof_exporter_goroutine_text_fallback', { target: 'stripped' }).value).toBe(1);
    expect(one(s, 'pprof_exporter_goroutine_text_fallback', { target: 'proto' }).value).toBe(0);
    expect(one(s, 'pprof_exporter_scrape_success', { target: 'stripped', source: 'goroutine' }).value).toBe(1);
    for (const fn of ['main.computeResult', 'main.drainQueue', 'main.poolWorker', 'main.updateCache']) {
      const a = one(s, 'pprof_goroutines', { target: 'stripped', function: fn });
      const b = one(s, 'pprof_goroutines', { target: 'proto', function: fn });
      expect([a.labels.signature, a.value]).toEqual([b.labels.signature, b.value]);
    }
    expect(exp.logs.find((l) => l.target === 'stripped')).toMatchObject({ msg: 'goroutine profile undecodable, used ?debug=1 text' });
  });
});

describe('wait times from a real program', () => {
  it('reports goroutines blocked over a minute', { timeout: 120_000 }, async () => {
    // Go knows how long a goroutine has waited only once a GC has seen it blocked.
    const leaky = await startLeaky(['-sendleak=3', '-pool=2', '-gc-interval=1s']);
    const exp = await startExporter(configFor([{ name: 'slow', url: leaky.url, sources: ['goroutine', 'goroutine_debug2'], debug2_interval: '1s' }]));
    cleanup.push(() => exp.close(), () => leaky.stop());
    // At least a minute, then until Go reports it (its clock starts at the first GC that sees them blocked).
    await sleep(60_000);
    const waited = async () => {
      await exp.scrape();
      await exp.exporter.background.tick(performance.now() + 10_000);
      const s = parseMetrics((await exp.scrape()).text);
      const send = one(s, 'pprof_goroutines', { target: 'slow', function: 'main.computeResult', blocked_on: 'chan_send' });
      return { s, max: one(s, 'pprof_goroutine_wait_seconds_max', { target: 'slow', signature: send.labels.signature }).value };
    };
    let { s, max } = await waited();
    for (const deadline = Date.now() + 50_000; max < 60 && Date.now() < deadline;) {
      await sleep(500);
      ({ s, max } = await waited());
    }
    expect(max).toBeGreaterThanOrEqual(60);
    expect(one(s, 'pprof_goroutines_by_wait_reason', { target: 'slow', wait_reason: 'chan send' }).value).toBe(3);
  });
});
