// Load: 100 concurrent /probe requests against real Go targets through the
// real CLI process. Every healthy probe must succeed; the exporter's peak RSS
// and the probe latencies are reported (test/artifacts/probe-load.json), not
// asserted as timings.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Agent, request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { settledSendLeak, startLeaky, type Leaky } from './helpers/leaky.js';
import { one, parseMetrics } from './helpers/prom.js';

const CLI = join(import.meta.dirname, '../dist/cli.js');
const TARGETS = 4;
const CONCURRENT = 100;
const ROUNDS = 3;

function rssKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? NaN);
}

describe('/probe under load', () => {
  const leaky: Leaky[] = [];
  let proc: ChildProcess | undefined;
  afterAll(async () => {
    proc?.kill('SIGKILL');
    await Promise.all(leaky.map((l) => l.stop()));
  });

  it(`holds ${CONCURRENT} concurrent probes of ${TARGETS} real Go targets, every one successful`, { timeout: 180_000 }, async () => {
    leaky.push(...await Promise.all(Array.from({ length: TARGETS }, (_, i) =>
      startLeaky([`-sendleak=${200 * (i + 1)}`, '-pool=500', '-selectleak=50']))));
    // computeResult sleeps before it parks on its send (a second signature meanwhile): wait until the leak has settled.
    const sent = await Promise.all(leaky.map((l) => settledSendLeak(l.url)));
    const dir = mkdtempSync(join(tmpdir(), 'pprof-exporter-load-'));
    const cfg = join(dir, 'cfg.yml');
    // A deadline far off: this is about holding the load, and a busy machine answers slower.
    writeFileSync(cfg, `global:\n  scrape_timeout: 60s\nmax_concurrent_probes: ${CONCURRENT + 20}\nmodules:\n  default:\n    sources: [goroutine, heap, expvar]\n`);
    const lines: string[] = [];
    proc = spawn(process.execPath, [CLI, `--config.file=${cfg}`, '--web.listen-address=127.0.0.1:0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    const address = await new Promise<string>((resolve) => {
      createInterface({ input: proc!.stderr! }).on('line', (l) => {
        lines.push(l);
        const rec = JSON.parse(l) as { msg: string; address?: string };
        if (rec.msg === 'listening') resolve(String(rec.address));
      });
    });
    const base = `http://${address}`;
    const idleRss = rssKiB(proc.pid!, 'VmRSS');
    const dispatcher = new Agent({ connections: CONCURRENT });
    const latencies: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const answers = await Promise.all(Array.from({ length: CONCURRENT }, async (_, i) => {
        const t = leaky[i % TARGETS]!;
        const start = performance.now();
        const r = await request(`${base}/probe?target=${encodeURIComponent(t.url.replace('http://', ''))}`, { dispatcher });
        const text = await r.body.text();
        latencies.push(performance.now() - start);
        return { i, status: r.statusCode, text };
      }));
      for (const a of answers) {
        expect(a.status).toBe(200);
        const s = parseMetrics(a.text);
        expect(one(s, 'probe_success').value).toBe(1);
        // Each answer is its own target's: the send leak size (about 200, 400, ...) tells them apart.
        const leaked = s.filter((x) => x.name === 'pprof_goroutines' && x.labels.function === 'main.computeResult').map((x) => x.value);
        expect(leaked).toEqual([sent[a.i % TARGETS]]);
      }
    }
    const peakRss = rssKiB(proc.pid!, 'VmHWM');
    const m = parseMetrics(await (await fetch(`${base}/metrics`)).text());
    expect(one(m, 'pprof_exporter_probes_total', { module: 'default', result: 'success' }).value).toBe(CONCURRENT * ROUNDS);
    await dispatcher.close();

    latencies.sort((a, b) => a - b);
    const q = (p: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!);
    const report = {
      probes: CONCURRENT * ROUNDS, concurrent: CONCURRENT, targets: TARGETS,
      latency_ms: { p50: q(0.5), p90: q(0.9), p99: q(0.99), max: q(1) },
      exporter_rss_mib: { idle: Math.round(idleRss / 1024), peak: Math.round(peakRss / 1024) },
    };
    mkdirSync(join(import.meta.dirname, 'artifacts'), { recursive: true });
    writeFileSync(join(import.meta.dirname, 'artifacts/probe-load.json'), `${JSON.stringify(report, null, 2)}\n`);
    console.log(`probe load: ${JSON.stringify(report)}`);
  }, 120_000);
});
