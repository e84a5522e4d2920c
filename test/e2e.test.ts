// The main promise, end to end: a real leaking Go program, the exporter
// scraping it over loopback, and a leaking stack that is a line going up.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFor, startExporter, type RunningExporter } from './helpers/exporter.js';
import { startLeaky, waitUntilParked, type Leaky } from './helpers/leaky.js';
import { one, parseMetrics, promtoolCheck, select, type Sample } from './helpers/prom.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// computeResult also shows up briefly in time.Sleep (a second signature)
// before it blocks on its send; the leak is the parked one.
function byFunction(samples: Sample[], fn: string, blocked_on?: string): Sample {
  return one(samples, 'pprof_goroutines', { target: 'leaky', function: fn, ...(blocked_on ? { blocked_on } : {}) });
}

describe('leaky Go program end to end', () => {
  let leaky: Leaky;
  let exp: RunningExporter;
  let first: Sample[];
  let second: Sample[];
  let secondText: string;

  beforeAll(async () => {
    leaky = await startLeaky([
      '-sendleak=5', '-sendleak-rate=20', '-nilchan=3', '-producer=2', '-selectleak=2',
      '-blockforever=1', '-mutexleak=2', '-pool=8', '-churn=10', '-churn-period=1s',
    ]);
    exp = await startExporter(configFor([{ name: 'leaky', url: leaky.url }]));
    // Wait for what the tests assert, not for time: the shapes parked, then 30 more leaked.
    await waitUntilParked(leaky.url, {
      'main.computeResult': 5, 'main.drainQueue': 3, 'main.produceEvents': 2, 'main.waitForReply': 2,
      'main.blockForever': 1, 'main.updateCache': 2, 'main.poolWorker': 8,
    });
    first = parseMetrics((await exp.scrape()).text);
    const leaks = (s: Sample[]) => byFunction(s, 'main.computeResult', 'chan_send').value;
    for (const deadline = Date.now() + 60_000; ;) {
      const r = await exp.scrape();
      secondText = r.text;
      second = parseMetrics(r.text);
      if (leaks(second) - leaks(first) >= 30 || Date.now() > deadline) break;
      await sleep(250);
    }
  });
  afterAll(async () => {
    await exp?.close();
    await leaky?.stop();
  });

  it('the send-leak signature grows, attributed to the worker and blocked on chan send', () => {
    const a = byFunction(first, 'main.computeResult', 'chan_send');
    const b = byFunction(second, 'main.computeResult', 'chan_send');
    expect(b.labels.signature).toBe(a.labels.signature);
    expect(b.labels.signature).toMatch(/^[0-9a-f]{16}$/);
    // 20/s: 30 more within a few seconds, however busy the machine.
    expect(b.value - a.value).toBeGreaterThanOrEqual(30);
  });

  it('labels each leak shape with what it blocks on', () => {
    expect(byFunction(second, 'main.drainQueue')).toMatchObject({ value: 3, labels: { blocked_on: 'chan_receive' } });
    expect(byFunction(second, 'main.produceEvents')).toMatchObject({ value: 2, labels: { blocked_on: 'chan_send' } });
    expect(byFunction(second, 'main.waitForReply')).toMatchObject({ value: 2, labels: { blocked_on: 'select' } });
    expect(byFunction(second, 'main.blockForever')).toMatchObject({ value: 1, labels: { blocked_on: 'select_no_cases' } });
    expect(byFunction(second, 'main.updateCache')).toMatchObject({ value: 2, labels: { blocked_on: 'mutex' } });
  });

  it('keeps the steady pool flat at its size', () => {
    expect(byFunction(first, 'main.poolWorker')).toMatchObject({ value: 8, labels: { blocked_on: 'chan_receive' } });
    expect(byFunction(second, 'main.poolWorker').value).toBe(8);
  });

  it('sums the signatures to go_goroutines, and counts the distinct signatures', () => {
    for (const s of [first, second]) {
      const total = one(s, 'go_goroutines', { target: 'leaky' }).value;
      const sum = select(s, 'pprof_goroutines', { target: 'leaky' }).reduce((acc, x) => acc + x.value, 0);
      expect(sum).toBe(total);
      expect(one(s, 'pprof_goroutine_signatures', { target: 'leaky' }).value)
        .toBe(select(s, 'pprof_goroutines', { target: 'leaky' }).length);
    }
    expect(one(second, 'pprof_exporter_scrape_success', { target: 'leaky', source: 'goroutine' }).value).toBe(1);
    expect(one(second, 'pprof_exporter_profile_bytes', { target: 'leaky', source: 'goroutine' }).value).toBeGreaterThan(500);
  });

  it('passes promtool check metrics', () => {
    expect(promtoolCheck(secondText)).toBe('');
  });

  it('folds signatures beyond top_signatures into "other" and keeps the sum', async () => {
    const small = await startExporter(configFor([{ name: 'leaky', url: leaky.url, top_signatures: 3 }]));
    try {
      const s = parseMetrics((await small.scrape()).text);
      const series = select(s, 'pprof_goroutines', { target: 'leaky' });
      expect(series).toHaveLength(4);
      const other = one(s, 'pprof_goroutines', { target: 'leaky', signature: 'other' });
      expect(other.labels).toEqual({ target: 'leaky', signature: 'other', function: 'other', blocked_on: 'other' });
      // The top 3 by count: the growing send leak (well past 50 by now) is one of them.
      const kept = series.filter((x) => x.labels.signature !== 'other').map((x) => x.labels.function);
      expect(kept).toContain('main.computeResult');
      expect(series.reduce((a, x) => a + x.value, 0)).toBe(one(s, 'go_goroutines', { target: 'leaky' }).value);
      expect(one(s, 'pprof_goroutine_signatures', { target: 'leaky' }).value).toBeGreaterThan(8);
      expect(one(s, 'pprof_exporter_top_signatures', { target: 'leaky' }).value).toBe(3);
    } finally {
      await small.close();
    }
  });
});
