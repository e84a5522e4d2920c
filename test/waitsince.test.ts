// Wait times for leaked goroutines: once the goroutineleak profile has run, Go
// prints them as `[chan send (leaked)]` without minutes. The exporter keeps,
// per target, since when each goroutine has been blocked in its signature, and
// reports that lower bound for the leaked ones: on the metric, on the page and
// so to GoroutinesBlockedTooLong. On the real leaky program (Go 1.26 with
// GOEXPERIMENT=goroutineleakprofile); the dumps' wall clock is set by the test.
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { parseDebug2 } from '../src/decode/debug2.js';
import { debug2Summarizer } from '../src/summarize/textstacks.js';
import { WaitSince } from '../src/summarize/waitsince.js';
import { configFor, startExporter, type RunningExporter } from './helpers/exporter.js';
import { startLeaky, type Leaky } from './helpers/leaky.js';
import { one, parseMetrics } from './helpers/prom.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

async function* once(text: string): AsyncGenerator<Uint8Array> { yield Buffer.from(text); }

/** Longest wait per function of a dump read at `atMs` with the target's tracking. */
async function waits(text: string, since: WaitSince | undefined, atMs: number): Promise<Map<string, number>> {
  const d = since?.dump(atMs);
  const acc = debug2Summarizer(d);
  const r = await parseDebug2(once(text), (g) => acc.add(g));
  d?.finish(r.truncated);
  const { summary, wait } = acc.result();
  return new Map(summary.signatures.map((s) => [s.function, wait.maxWaitSeconds.get(s.id)!]));
}

describe('wait times of leaked goroutines, from real dumps', () => {
  let leaky: Leaky;
  const dumps: string[] = [];
  beforeAll(async () => {
    leaky = await startLeaky(['-sendleak=5', '-pool=3'], {}, inject('leakyLeakProfileBin'));
    const get = async (path: string) => (await fetch(`${leaky.url}${path}`)).text();
    dumps.push(await get('/debug/pprof/goroutine?debug=2'));
    await get('/debug/pprof/goroutineleak'); // the leak-detecting GC: from now on `(leaked)`
    dumps.push(await get('/debug/pprof/goroutine?debug=2'), await get('/debug/pprof/goroutine?debug=2'));
  });
  afterAll(() => leaky?.stop());

  it('the dumps are what Go prints: minutes gone once the leak profile has run', () => {
    expect(dumps[0]).toMatch(/^goroutine \d+ \[chan send\]:$/m);
    expect(dumps[1]).toMatch(/^goroutine \d+ \[chan send \(leaked\)\]:$/m);
    expect(dumps[1]).not.toMatch(/\(leaked\), \d+ minutes/);
  });

  it('a leak first seen 5 minutes ago shows 5 minutes, not "under a minute"; the pool keeps Go\'s figure', async () => {
    const since = new WaitSince();
    expect((await waits(dumps[0]!, since, T0)).get('main.computeResult')).toBe(0);
    expect((await waits(dumps[1]!, since, T0 + MIN)).get('main.computeResult')).toBe(60);
    const now = await waits(dumps[2]!, since, T0 + 5 * MIN);
    expect(now.get('main.computeResult')).toBe(300);
    expect(now.get('main.poolWorker')).toBe(0); // blocked, not leaked: Go says under a minute
    // Without the tracking, exactly the goroutines that matter read 0.
    expect((await waits(dumps[2]!, undefined, T0 + 5 * MIN)).get('main.computeResult')).toBe(0);
  });

  it('tracks only what it has seen: a goroutine first seen leaked starts from that dump', async () => {
    const since = new WaitSince();
    await waits(dumps[1]!, since, T0);
    expect((await waits(dumps[2]!, since, T0 + 2 * MIN)).get('main.computeResult')).toBe(120);
    expect(since.tracked).toBeGreaterThanOrEqual(8); // 5 leaked, 3 pool workers, main's select, the server's IO waits
  });
});

describe('what counts as the same wait', () => {
  const dump = (id: number, header: string, fn = 'main.worker') =>
    `goroutine ${id} [${header}]:\nruntime.gopark(0x0)\n\t/go/src/runtime/proc.go:460 +0x1\n${fn}()\n\t/app/main.go:10 +0x2\n\n`;
  const wait = async (since: WaitSince, text: string, atMs: number, fn = 'main.worker') => (await waits(text, since, atMs)).get(fn);

  it('a goroutine that woke and blocked again since (Go shows fewer minutes than that) starts again', async () => {
    const since = new WaitSince();
    await wait(since, dump(9, 'chan receive'), T0);
    // 10 minutes later Go says it has waited 2: it was working in between.
    expect(await wait(since, dump(9, 'chan receive, 2 minutes'), T0 + 10 * MIN)).toBe(120);
    expect(await wait(since, dump(9, 'chan receive (leaked)'), T0 + 11 * MIN)).toBe(180);
  });

  it('Go\'s minutes within the GC lag keep the first sighting; more minutes than seen move it back', async () => {
    const since = new WaitSince();
    await wait(since, dump(9, 'chan receive'), T0);
    await wait(since, dump(9, 'chan receive'), T0 + 2 * MIN); // no GC saw it yet
    expect(await wait(since, dump(9, 'chan receive (leaked)'), T0 + 4 * MIN)).toBe(240);
    const back = new WaitSince();
    await wait(back, dump(9, 'chan receive, 7 minutes'), T0);
    expect(await wait(back, dump(9, 'chan receive (leaked)'), T0 + MIN)).toBe(480);
  });

  it('another signature, another wait reason, or missing from a whole dump: a new wait', async () => {
    const since = new WaitSince();
    await wait(since, dump(9, 'chan receive'), T0);
    expect(await wait(since, dump(9, 'chan receive (leaked)', 'main.other'), T0 + 5 * MIN, 'main.other')).toBe(0);
    await wait(since, dump(9, 'select'), T0 + 6 * MIN);
    expect(await wait(since, dump(9, 'chan receive (leaked)'), T0 + 7 * MIN)).toBe(0);
    await wait(since, dump(10, 'chan receive'), T0 + 8 * MIN); // 9 gone
    expect(await wait(since, dump(9, 'chan receive (leaked)'), T0 + 9 * MIN)).toBe(0);
  });

  it('a cut dump forgets nobody it did not reach', async () => {
    const since = new WaitSince();
    await wait(since, dump(9, 'chan receive') + dump(10, 'chan receive'), T0);
    const d = since.dump(T0 + MIN);
    const acc = debug2Summarizer(d);
    const r = await parseDebug2(once(dump(10, 'chan receive') + dump(9, 'chan receive').slice(0, 30)), (g) => acc.add(g));
    expect(r.truncated).toBe(true);
    d.finish(r.truncated);
    expect(await wait(since, dump(9, 'chan receive (leaked)'), T0 + 5 * MIN)).toBe(300);
  });

  it('memory is bounded per target: past the cap, goroutines keep Go\'s own figure', async () => {
    const since = new WaitSince(2);
    const three = dump(1, 'chan receive') + dump(2, 'chan receive') + dump(3, 'chan receive', 'main.third');
    await waits(three, since, T0);
    expect(since.tracked).toBe(2);
    const leaked = three.replaceAll('[chan receive]', '[chan receive (leaked)]');
    const w = await waits(leaked, since, T0 + 5 * MIN);
    expect(w.get('main.worker')).toBe(300);
    expect(w.get('main.third')).toBe(0);
  });
});

describe('through the exporter: metric and on-call page', () => {
  let leaky: Leaky;
  let exp: RunningExporter;
  beforeAll(async () => {
    leaky = await startLeaky(['-sendleak=5', '-pool=3'], {}, inject('leakyLeakProfileBin'));
    exp = await startExporter(configFor([{ name: 'leaky', url: leaky.url, debug2_interval: '1s', goroutineleak_interval: '1h' }]));
  });
  afterEach(() => { vi.useRealTimers(); });
  afterAll(async () => {
    await exp?.close();
    await leaky?.stop();
  });

  it('shows the 5 minutes of a leak 5 minutes old, and over an hour to GoroutinesBlockedTooLong', async () => {
    await exp.scrape(); // the goroutine count the debug=2 sampler waits for
    vi.useFakeTimers({ toFake: ['Date'] }); // the dumps' wall clock; timers and the programs run for real
    const p0 = performance.now();
    const at = async (ms: number, tick: number) => {
      vi.setSystemTime(T0 + ms);
      await exp.exporter.background.tick(p0 + tick * 2000);
    };
    await at(0, 0); // goroutineleak profile and the first dump
    await at(MIN, 1);
    await at(5 * MIN, 2);
    const s = parseMetrics((await exp.scrape()).text);
    const sig = (fn: string) => one(s, 'pprof_goroutines', { target: 'leaky', function: fn }).labels.signature!;
    const waitOf = (fn: string) => one(s, 'pprof_goroutine_wait_seconds_max', { target: 'leaky', signature: sig(fn) }).value;
    expect(one(s, 'pprof_goroutines_leaked', { target: 'leaky', function: 'main.computeResult' }).value).toBe(5);
    expect(waitOf('main.computeResult')).toBe(300);
    expect(waitOf('main.poolWorker')).toBe(0);
    const page = await (await fetch(`${exp.url}/targets/leaky/signatures/${sig('main.computeResult')}`)).text();
    expect(page).toContain('<dt>Longest wait</dt><dd>5 min ');

    await at(62 * MIN, 3);
    const later = parseMetrics((await exp.scrape()).text);
    expect(one(later, 'pprof_goroutine_wait_seconds_max', { target: 'leaky', signature: sig('main.computeResult') }).value).toBe(3720);
  });
});
