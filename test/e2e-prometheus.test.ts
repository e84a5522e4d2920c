// The whole path with real components: the leaky Go program, the exporter, a
// real Prometheus evaluating the alert rules (test-sized windows, rendered
// from the same source as alerts/), a real Alertmanager delivering to a
// webhook this test runs, and every dashboard query answered by that Prometheus.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PRODUCTION, renderRules, type RuleParams } from '../src/alerts/rules.js';
import { dashboards, panelQueries } from '../src/dashboards/generate.js';
import { configFor, startExporter, type RunningExporter } from './helpers/exporter.js';
import { closedPort, startServer, type TestServer } from './helpers/http.js';
import { startLeaky, type Leaky } from './helpers/leaky.js';
import { freePort, startProc, type Proc } from './helpers/procs.js';

// Production windows scaled from minutes to seconds: 4 windows of 4 s; a
// staircase's floor over 6 s (the churn's period is 1 s), sampled every 1 s,
// steps within 60 s, the last within 30 s. The flood keeps production windows
// (minutes): it stays out of the way here.
export const TEST_RULES: RuleParams = {
  ...PRODUCTION, window: '4s', windows: 4, growthFor: '2s', leakFor: '2s', downFor: '3s', waitFor: '2s',
  floorWindow: '6s', floorStep: '1s', stepsWithin: '1m', lastStepWithin: '30s',
};
// A staircase: 12 producers at start, then 3 more 9-14 s apart. No 4 s window
// series catches it (some windows have no step), so only the staircase branch can.
const STAIRS = '3@10s,3@13s,3@9s,3@12s,3@14s,3@10s,3@12s,3@11s';

interface Alert { status: string; labels: Record<string, string>; annotations: Record<string, string>; }
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// The oldest supported (Debian's) and the current releases, each with its Go:
// 1.26 with the goroutineleak experiment, and the current Go where it is GA.
const STACKS = [
  { name: 'Prometheus 2.42, Alertmanager 0.25, Go 1.26', prometheus: 'prometheus', alertmanager: 'alertmanager', leaky: 'leakyLeakProfileBin' },
  { name: `Prometheus 3.16, Alertmanager 0.35, ${inject('goCurrent')}`, prometheus: 'prometheus3', alertmanager: 'alertmanager3', leaky: 'leakyCurrentBin' },
] as const;

describe.each(STACKS)('leaky program → exporter → Prometheus → Alertmanager → webhook ($name)', (stack) => {
  const dir = mkdtempSync(join(tmpdir(), 'pprof-e2e-'));
  const received: Alert[] = [];
  let leaky: Leaky;
  let exp: RunningExporter;
  let hook: TestServer;
  let prometheus: Proc;
  let alertmanager: Proc;
  let promUrl: string;
  const started = Date.now();

  beforeAll(async () => {
    leaky = await startLeaky(['-sendleak=5', '-sendleak-rate=2', '-nilchan=3', '-pool=20', '-churn=30', '-churn-period=1s',
      '-producer=12', `-producer-steps=${STAIRS}`], {}, inject(stack.leaky));
    exp = await startExporter(configFor(
      [{ name: 'leaky', url: leaky.url }, { name: 'down', url: await closedPort() }],
      { debug2_interval: '2s', goroutineleak_interval: '2s' },
    ), { background: true });
    hook = await startServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString(); });
      req.on('end', () => {
        received.push(...(JSON.parse(body) as { alerts: Alert[] }).alerts);
        res.end();
      });
    });

    const amPort = await freePort();
    writeFileSync(join(dir, 'alertmanager.yml'), stringify({
      route: { receiver: 'hook', group_by: ['alertname', 'target', 'signature'], group_wait: '1s', group_interval: '1s', repeat_interval: '1h' },
      receivers: [{ name: 'hook', webhook_configs: [{ url: `${hook.url}/hook`, send_resolved: false }] }],
    }));
    mkdirSync(join(dir, 'am'));
    alertmanager = await startProc(inject(stack.alertmanager), [
      `--config.file=${join(dir, 'alertmanager.yml')}`, `--storage.path=${join(dir, 'am')}`,
      `--web.listen-address=127.0.0.1:${amPort}`, '--cluster.listen-address=',
    ], `http://127.0.0.1:${amPort}/-/ready`, join(dir, 'alertmanager.log'));

    const promPort = await freePort();
    promUrl = `http://127.0.0.1:${promPort}`;
    writeFileSync(join(dir, 'rules.yml'), renderRules(TEST_RULES));
    writeFileSync(join(dir, 'prometheus.yml'), stringify({
      global: { scrape_interval: '1s', evaluation_interval: '1s' },
      rule_files: [join(dir, 'rules.yml')],
      alerting: { alertmanagers: [{ static_configs: [{ targets: [`127.0.0.1:${amPort}`] }] }] },
      scrape_configs: [{ job_name: 'pprof-exporter', scrape_timeout: '900ms', static_configs: [{ targets: [exp.url.replace('http://', '')] }] }],
    }));
    prometheus = await startProc(inject(stack.prometheus), [
      `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
    ], `${promUrl}/-/ready`, join(dir, 'prometheus.log'));
  });

  afterAll(async () => {
    await prometheus?.stop();
    await alertmanager?.stop();
    await exp?.close();
    await leaky?.stop();
    await hook?.close();
  });

  async function waitFor(what: string, pred: () => boolean, ms = 90_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; received: ${JSON.stringify(received.map((a) => a.labels))}; logs in ${dir}`);
      await sleep(500);
    }
  }

  async function query(q: string): Promise<{ metric: Record<string, string> }[]> {
    const body = await (await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`)).json() as { status: string; error?: string; data: { result: { metric: Record<string, string> }[] } };
    expect(body.status, `${q}: ${body.error ?? ''}`).toBe('success');
    return body.data.result;
  }

  const firing = (alertname: string, labels: Record<string, string> = {}) =>
    received.filter((a) => a.labels.alertname === alertname && Object.entries(labels).every(([k, v]) => a.labels[k] === v));

  it('delivers GoroutineLeak for the leaking signature, with its labels and annotations', { timeout: 120_000 }, async () => {
    await waitFor('GoroutineLeak for main.computeResult', () => firing('GoroutineLeak', { function: 'main.computeResult' }).length > 0);
    const a = firing('GoroutineLeak', { function: 'main.computeResult' })[0]!;
    expect(a.labels).toMatchObject({ target: 'leaky', blocked_on: 'chan_send', severity: 'warning', job: 'pprof-exporter' });
    expect(a.labels.signature).toMatch(/^[0-9a-f]{16}$/);
    expect(a.annotations.summary).toBe('Goroutine leak in main.computeResult on leaky');
    // The leaking line, from pprof_goroutine_signature_info, in the notification itself.
    expect(a.annotations.description).toMatch(/^\d+ goroutines of signature [0-9a-f]{16} in main\.computeResult at \S+\/shapes\.go:\d+, blocked on chan_send, on leaky only grow: in each of the last 4 windows of 4s, in 2\+ separate steps within 1m without falling back, or by 100\+ a minute for 10m\.$/);
    expect(a.annotations.runbook_url).toBe(`${PRODUCTION.runbookUrl}#goroutineleak`);
    console.log(`GoroutineLeak delivered ${((Date.now() - started) / 1000).toFixed(1)} s after the test started`);
  });

  it('delivers GoroutineLeak for the staircase, flat between its steps', { timeout: 120_000 }, async () => {
    await waitFor('GoroutineLeak for main.produceEvents', () => firing('GoroutineLeak', { function: 'main.produceEvents' }).length > 0);
    const a = firing('GoroutineLeak', { function: 'main.produceEvents' })[0]!;
    expect(a.labels).toMatchObject({ target: 'leaky', blocked_on: 'chan_send', severity: 'warning' });
    expect(a.annotations.summary).toBe('Goroutine leak in main.produceEvents on leaky');
    console.log(`GoroutineLeak for the staircase delivered ${((Date.now() - started) / 1000).toFixed(1)} s after the test started`);
  });

  it('delivers the proven leak and the down target, and nothing for the pool, the churn or the flat nil-channel workers', { timeout: 60_000 }, async () => {
    await waitFor('GoroutineLeakDetected', () => firing('GoroutineLeakDetected', { function: 'main.computeResult' }).length > 0);
    await waitFor('PprofTargetDown', () => firing('PprofTargetDown', { target: 'down' }).length > 0);
    // Not a wait for wrong alerts to arrive: Prometheus's own record of every evaluation so far.
    const ever = await query('ALERTS{alertname=~"GoroutineLeak|GoroutineLeakDetected|PprofTargetDown", '
      + 'function=~"main.poolWorker|main.churnTask|main.drainQueue|", target="leaky"}[10m]');
    expect(ever.filter((r) => r.metric.alertname !== 'GoroutineLeakDetected' || r.metric.function !== 'main.drainQueue')).toEqual([]);
    for (const fn of ['main.poolWorker', 'main.churnTask', 'main.drainQueue']) {
      expect(firing('GoroutineLeak', { function: fn }), fn).toEqual([]);
    }
    expect(firing('PprofTargetDown', { target: 'leaky' })).toEqual([]);
    expect(firing('GoroutineLeakDetected', { function: 'main.poolWorker' })).toEqual([]);
  });

  it('answers every dashboard panel query with data', { timeout: 60_000 }, async () => {
    const signature = firing('GoroutineLeak', { function: 'main.computeResult' })[0]!.labels.signature!;
    // At the time of a successful scrape: on a loaded machine a scrape can time out, and Prometheus
    // then marks every series of the exporter stale, so a query at "now" may find nothing.
    const up = await (await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent('up{job="pprof-exporter"}[1m]')}`)).json() as { data: { result: { values: [number, string][] }[] } };
    const at = up.data.result[0]!.values.filter(([, v]) => v === '1').at(-1)![0];
    const empty: string[] = [];
    for (const d of Object.values(dashboards())) {
      for (const { panel, expr } of panelQueries(d)) {
        const q = expr
          // Grafana's All: every job; cluster's All is `.*`, which also matches this Prometheus' series without one.
          .replaceAll('"$job"', '".+"').replaceAll('"$cluster"', '".*"')
          .replaceAll('=~"$target"', '=~"leaky|down"').replaceAll('"$target"', '"leaky"')
          .replaceAll('$signature', signature).replaceAll('$__range', '1m').replaceAll('$__rate_interval', '10s').replaceAll('$__interval', '1s');
        const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}&time=${at}`);
        const body = await res.json() as { status: string; error?: string; data?: { result: { metric: Record<string, string> }[] } };
        expect(body.status, `${panel}: ${q}: ${body.error ?? ''}`).toBe('success');
        if ((body.data?.result.length ?? 0) === 0) empty.push(`${panel}: ${q}`);
        // Tables that name the leaking line get it from the info series.
        if (q.includes('group_left(location)') && !body.data?.result.some((r) => /\.go:\d+$/.test(r.metric.location ?? ''))) empty.push(`${panel} (no location): ${q}`);
      }
    }
    expect(empty).toEqual([]);
  });
});
