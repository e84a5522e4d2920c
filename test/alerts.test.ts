// The alert rules on real promtool: each alert fires on the shapes it is for,
// stays silent on the ones it is not, on both sides of its `for:` boundary,
// with exact labels and annotations. And the committed file is the generator's.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { describe, expect, inject, it } from 'vitest';
import { PRODUCTION, renderRules } from '../src/alerts/rules.js';
import { RULES_FILE } from '../src/alerts/generate.js';

const SIG = { target: 'checkout', signature: '0123456789abcdef', function: 'main.computeResult', blocked_on: 'chan_send' };
const SCRAPE = { job: 'pprof-exporter', instance: 'exporter:10066' };
const sel = (name: string, labels: Record<string, string>) =>
  `${name}{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',')}}`;
const repeat = (segment: string, n: number) => Array(n).fill(segment).join(' ');
const runbook = (a: string) => `${PRODUCTION.runbookUrl}#${a.toLowerCase()}`;
const sigDashboard = `${PRODUCTION.signatureDashboardUrl}?var-target=checkout&var-signature=0123456789abcdef`;
const overview = `${PRODUCTION.overviewDashboardUrl}?var-target=checkout`;

interface Case { name: string; series: [string, string][]; alert: string; silent?: number[]; firing?: [number, Record<string, string>, Record<string, string>][] }

function leakAlert(count: number) {
  return [
    { ...SCRAPE, ...SIG, severity: 'warning' },
    {
      summary: 'Goroutine leak in main.computeResult on checkout',
      description: `${count} goroutines of signature 0123456789abcdef in main.computeResult, blocked on chan_send, grew in each of the last 6 windows of 10m on checkout.`,
      runbook_url: runbook('GoroutineLeak'),
      dashboard: sigDashboard,
    },
  ] as const;
}

const goroutines = sel('pprof_goroutines', { ...SCRAPE, ...SIG });
const CASES: Case[] = [
  // A leak starting at 0 grows in six full windows by 71m; `for: 10m` makes it 81m.
  { name: 'slow steady leak (3/min)', alert: 'GoroutineLeak', series: [[goroutines, '10+3x240']], silent: [60, 80], firing: [[81, ...leakAlert(253)], [200, ...leakAlert(610)]] },
  { name: 'fast leak (50/min)', alert: 'GoroutineLeak', series: [[goroutines, '10+50x240']], silent: [80], firing: [[81, ...leakAlert(4060)]] },
  { name: 'flat pool', alert: 'GoroutineLeak', series: [[goroutines, '40x240']], silent: [81, 120, 240] },
  { name: 'churn, a sawtooth of 5m', alert: 'GoroutineLeak', series: [[goroutines, repeat('20+10x4', 48)]], silent: [81, 150, 239] },
  { name: 'churn, a sawtooth of 9m', alert: 'GoroutineLeak', series: [[goroutines, repeat('20+5x8', 27)]], silent: [81, 150, 239] },
  { name: 'churn, a sawtooth as long as the window', alert: 'GoroutineLeak', series: [[goroutines, repeat('20+5x9', 24)]], silent: [81, 150, 239] },
  { name: 'deploy: one step up, then flat', alert: 'GoroutineLeak', series: [[goroutines, '20x59 60x180']], silent: [70, 120, 200] },
  // Restarted at 120m: the count resets, and only six new windows of growth bring it back.
  { name: 'target restart', alert: 'GoroutineLeak', series: [[goroutines, '10+3x119 0+3x120']], firing: [[119, ...leakAlert(367)], [201, ...leakAlert(243)]], silent: [120, 150, 200] },
  { name: 'too small to page', alert: 'GoroutineLeak', series: [[goroutines, '0+0.02x240']], silent: [120, 239] },
  {
    name: 'goroutines of a target keep growing', alert: 'GoroutineCountGrowing',
    series: [[sel('go_goroutines', { ...SCRAPE, target: 'checkout' }), '50+3x240']], silent: [80],
    firing: [[81, { ...SCRAPE, target: 'checkout', severity: 'warning' }, {
      summary: 'Goroutines keep growing on checkout',
      description: 'checkout has 293 goroutines, more in each of the last 6 windows of 10m.',
      runbook_url: runbook('GoroutineCountGrowing'), dashboard: overview,
    }]],
  },
  { name: 'target goroutines with churn', alert: 'GoroutineCountGrowing', series: [[sel('go_goroutines', { ...SCRAPE, target: 'checkout' }), repeat('100+20x4', 48)]], silent: [81, 200] },
  {
    name: 'heap in use grows after every GC', alert: 'GoHeapInuseGrowing',
    // 1 MiB/min of live heap under a GC sawtooth of 8 MiB every 2 minutes.
    series: [[sel('go_memstats_heap_inuse_bytes', { ...SCRAPE, target: 'checkout' }),
      Array.from({ length: 120 }, (_, i) => `${32 * 2 ** 20 + i * 2 * 2 ** 20} ${32 * 2 ** 20 + i * 2 * 2 ** 20 + 8 * 2 ** 20}`).join(' ')]],
    silent: [80],
    firing: [[81, { ...SCRAPE, target: 'checkout', severity: 'warning' }, {
      summary: 'Heap in use keeps growing on checkout',
      description: 'checkout holds 120MiB of heap in use, more after GC in each of the last 6 windows of 10m.',
      runbook_url: runbook('GoHeapInuseGrowing'), dashboard: overview,
    }]],
  },
  {
    name: 'heap with a GC sawtooth but no growth', alert: 'GoHeapInuseGrowing',
    series: [[sel('go_memstats_heap_inuse_bytes', { ...SCRAPE, target: 'checkout' }), repeat(`${32 * 2 ** 20}+${2 ** 20}x7`, 30)]], silent: [81, 200],
  },
  {
    name: 'goroutines blocked for over an hour', alert: 'GoroutinesBlockedTooLong',
    series: [
      [sel('pprof_goroutine_wait_seconds_max', { ...SCRAPE, target: 'checkout', signature: SIG.signature }), '0+60x120'],
      [goroutines, '40x120'],
    ],
    // 3600 s is reached at 60m; `for: 15m` makes it 75m.
    silent: [59, 74],
    firing: [[75, { ...SIG, severity: 'warning' }, {
      summary: 'Goroutines in main.computeResult on checkout blocked for 1h 15m 0s',
      description: 'Goroutines of signature 0123456789abcdef in main.computeResult have waited 1h 15m 0s on chan_send on checkout (debug=2 dump; minute resolution).',
      runbook_url: runbook('GoroutinesBlockedTooLong'), dashboard: sigDashboard,
    }]],
  },
  {
    name: 'the runtime proves a leak', alert: 'GoroutineLeakDetected',
    series: [[sel('pprof_goroutines_leaked', { ...SCRAPE, ...SIG }), '0x10 5x100']],
    silent: [10, 25],
    firing: [[26, { ...SCRAPE, ...SIG, severity: 'critical' }, {
      summary: 'The Go runtime proves 5 goroutines leaked in main.computeResult on checkout',
      description: '5 goroutines of signature 0123456789abcdef in main.computeResult are blocked on chan_send on objects no running goroutine can reach (goroutineleak profile) on checkout.',
      runbook_url: runbook('GoroutineLeakDetected'), dashboard: sigDashboard,
    }]],
  },
  {
    name: 'a target that stops answering', alert: 'PprofTargetDown',
    series: [[sel('pprof_exporter_scrape_success', { ...SCRAPE, target: 'checkout', source: 'goroutine' }), '1x10 0x60']],
    silent: [10, 15],
    firing: [[16, { target: 'checkout', severity: 'warning' }, {
      summary: 'pprof-exporter cannot scrape checkout',
      description: 'The goroutine profile of checkout has failed to scrape for 5m: see the exporter log (target, stage) and pprof_exporter_scrape_errors_total.',
      runbook_url: runbook('PprofTargetDown'), dashboard: overview,
    }]],
  },
  { name: 'a failing heap source is not a target down', alert: 'PprofTargetDown', series: [[sel('pprof_exporter_scrape_success', { ...SCRAPE, target: 'checkout', source: 'heap' }), '0x60']], silent: [30, 60] },
];

describe('alert rules', () => {
  it('alerts/pprof-exporter.rules.yml is the generator\'s output (npm run gen:alerts rewrites it)', () => {
    expect(readFileSync(RULES_FILE, 'utf8')).toBe(renderRules(PRODUCTION));
  });

  it('passes promtool check rules', () => {
    const r = spawnSync(inject('promtool'), ['check', 'rules', RULES_FILE], { encoding: 'utf8' });
    expect(`${r.stdout}${r.stderr}`).toContain('SUCCESS: 6 rules found');
    expect(r.status).toBe(0);
  });

  it('has a promtool test for every alert', () => {
    const alerts = [...readFileSync(RULES_FILE, 'utf8').matchAll(/- alert: (\w+)/g)].map((m) => m[1]);
    for (const a of alerts) expect(CASES.filter((c) => c.alert === a && c.firing).length, a).toBeGreaterThan(0);
  });

  it.each(CASES.map((c) => [c.name, c] as const))('promtool test rules: %s', (_name, c) => {
    const tests = [{
      interval: '1m',
      input_series: c.series.map(([series, values]) => ({ series, values })),
      alert_rule_test: [
        ...(c.silent ?? []).map((t) => ({ eval_time: `${t}m`, alertname: c.alert, exp_alerts: [] })),
        ...(c.firing ?? []).map(([t, exp_labels, exp_annotations]) => ({ eval_time: `${t}m`, alertname: c.alert, exp_alerts: [{ exp_labels, exp_annotations }] })),
      ],
    }];
    const dir = mkdtempSync(join(tmpdir(), 'promtool-'));
    const file = join(dir, 'test.yml');
    writeFileSync(file, stringify({ rule_files: [RULES_FILE], evaluation_interval: '1m', tests }));
    const r = spawnSync(inject('promtool'), ['test', 'rules', file], { encoding: 'utf8' });
    expect(`${r.stdout}${r.stderr}`).toContain('SUCCESS');
    expect(r.status).toBe(0);
  });
});
