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
import { flood, sawtooth, shape, staircase, warmup } from './helpers/shapes.mjs';

const SIG = { target: 'checkout', signature: '0123456789abcdef', function: 'main.computeResult', blocked_on: 'chan_send' };
const SCRAPE = { job: 'pprof-exporter', instance: 'exporter:10066' };
const sel = (name: string, labels: Record<string, string>) =>
  `${name}{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',')}}`;
const repeat = (segment: string, n: number) => Array(n).fill(segment).join(' ');
const runbook = (a: string) => `${PRODUCTION.runbookUrl}#${a.toLowerCase()}`;
const sigDashboard = `${PRODUCTION.signatureDashboardUrl}?var-target=checkout&var-signature=0123456789abcdef`;
const overview = `${PRODUCTION.overviewDashboardUrl}?var-target=checkout`;

/** The first minute an alert fires, or a minute checked: on Debian's promtool 2.42 and on 3.16 (left-open ranges move edges). */
type At = number | { v2: number; v3: number };
type Promtool = 'v2' | 'v3';
const minute = (at: At, v: Promtool) => (typeof at === 'number' ? at : at[v]);

interface Case {
  name: string;
  series: [string, string][];
  alert: string;
  silent?: At[];
  /** Minutes it fires with these labels and annotations (on one promtool only, if named). */
  firing?: [At, Record<string, string>, Record<string, string>, Promtool?][];
  /** Each minute it starts firing (silent the minute before) and minutes it still fires, with the labels and annotations for the count then. */
  fires?: { at: At; still?: number[] }[];
  alertFor?: (count: number) => readonly [Record<string, string>, Record<string, string>];
  /** The shape's values, one a minute: the count in the annotations. promtool evaluates every minute up to the last one asked: keep shapes short. */
  values?: number[];
}

const SHAPES = `in each of the last 6 windows of 10m, in 2+ separate steps within 4h without falling back, or by 100+ a minute for 10m`;

function leakAlert(count: number) {
  return [
    { ...SCRAPE, ...SIG, severity: 'warning' },
    {
      summary: 'Goroutine leak in main.computeResult on checkout',
      description: `${count} goroutines of signature 0123456789abcdef in main.computeResult, blocked on chan_send, on checkout only grow: ${SHAPES}.`,
      runbook_url: runbook('GoroutineLeak'),
      dashboard: sigDashboard,
    },
  ] as const;
}

function targetAlert(count: number) {
  return [
    { ...SCRAPE, target: 'checkout', severity: 'warning' },
    {
      summary: 'Goroutines keep growing on checkout',
      description: `checkout has ${count} goroutines, and they only grow: ${SHAPES}.`,
      runbook_url: runbook('GoroutineCountGrowing'), dashboard: overview,
    },
  ] as const;
}

const goroutines = sel('pprof_goroutines', { ...SCRAPE, ...SIG });
const targetGoroutines = sel('go_goroutines', { ...SCRAPE, target: 'checkout' });
/** A GoroutineLeak / GoroutineCountGrowing case from a shape's per-minute values. */
function growth(name: string, values: number[], rest: Pick<Case, 'fires' | 'silent'>, target = false): Case {
  return {
    name, values, series: [[target ? targetGoroutines : goroutines, values.join(' ')]],
    alert: target ? 'GoroutineCountGrowing' : 'GoroutineLeak', alertFor: target ? targetAlert : leakAlert, ...rest,
  };
}
const stair = staircase(20, 30, 320);

const CASES: Case[] = [
  // Steady: six rising 10m windows (the first one counts on 3.x, whose windows are left-open), for 5m.
  growth('steady leak (1/min)', shape(240, (t) => 10 + t), { fires: [{ at: { v2: 76, v3: 65 }, still: [200] }] }),
  growth('slow steady leak (3/min)', shape(240, (t) => 10 + 3 * t), { fires: [{ at: { v2: 76, v3: 65 }, still: [200] }] }),
  growth('fast leak (50/min)', shape(120, (t) => 10 + 50 * t), { fires: [{ at: { v2: 76, v3: 65 } }] }),
  // Staircase: steps of 2-5 at 30, 67, 82, 172, 262 (two 90-minute gaps in a row): the 40m floor steps up
  // a second time at 107, counted at the next 5m step; it keeps firing through both flat gaps.
  growth('staircase (steps 15-90 minutes apart, never down)', stair.values, { fires: [{ at: 125, still: [171, 200, 261, 320] }] }),
  // Flood: every 2m of the last 10m added 200+, above the 30m before, for 5m: 16 and 15 minutes in.
  growth('flood (200/min from minute 60)', shape(100, flood(20, 60, 200)), { fires: [{ at: { v2: 76, v3: 75 } }] }),
  growth('flood (100/min from minute 60)', shape(100, flood(20, 60, 100)), { fires: [{ at: { v2: 76, v3: 75 } }] }),
  growth('flood in a new signature (100/min)', shape(40, (t) => 100 + 100 * t), { fires: [{ at: 15 }] }),
  growth('flat pool', shape(300, () => 40), { silent: [76, 125, 200, 300] }),
  growth('churn, a sawtooth of 5m', shape(300, sawtooth(20, 10, 5)), { silent: [76, 125, 200, 300] }),
  growth('churn, a sawtooth of 9m', shape(300, sawtooth(20, 5, 9)), { silent: [76, 125, 200, 300] }),
  growth('churn, a sawtooth of 10m', shape(300, sawtooth(20, 5, 10)), { silent: [76, 125, 200, 300] }),
  growth('churn, a sawtooth of 15m', shape(300, sawtooth(20, 5, 15)), { silent: [76, 125, 200, 300] }),
  growth('churn, a sawtooth of 30m', shape(300, sawtooth(20, 5, 30)), { silent: [76, 125, 200, 300] }),
  // 150/min for 29 minutes: a flood in the first period (nothing before it), then churn the floor ignores.
  growth('churn, a sawtooth of 30m rising 150/min', shape(300, sawtooth(20, 150, 30)), { silent: [30, 45, 76, 125, 200, 300] }),
  // Fires while it climbs (no rule can tell that from a leak), silent once flat: 20m after a climb that
  // stops dead; after a tail of ever rarer steps, once the last is 2h40m old (the floor's 40m and 2h).
  growth('warm-up, a climb flat from 60m', shape(300, (t) => 10 + 5 * Math.min(t, 60)), { silent: [80, 125, 200, 300] }),
  growth('warm-up, an exponential flat from 120m', shape(400, warmup(10, 300, 120)), { silent: [280, 300, 400] }),
  growth('deploy: one step up, then flat', shape(300, (t) => (t < 60 ? 20 : 60)), { silent: [70, 120, 200, 300] }),
  growth('deploy: one step of 2000', shape(300, (t) => (t < 60 ? 20 : 2020)), { silent: [65, 70, 76, 120, 200, 300] }),
  // Restarted at 120m: the count resets, and only six new windows of growth bring it back.
  growth('target restart', shape(240, (t) => (t < 120 ? 10 + 3 * t : 3 * (t - 120))), {
    fires: [{ at: { v2: 76, v3: 65 }, still: [119] }, { at: { v2: 196, v3: 185 }, still: [240] }],
    silent: [120, 150],
  }),
  growth('restart of a flat pool', shape(300, (t) => (t >= 120 && t < 122 ? 0 : 40)), { silent: [125, 170, 250, 300] }),
  { name: 'too small to page', alert: 'GoroutineLeak', series: [[goroutines, '0+0.02x240']], silent: [120, 239] },
  growth('goroutines of a target keep growing', shape(120, (t) => 50 + 3 * t), { fires: [{ at: { v2: 76, v3: 65 } }] }, true),
  growth('goroutines of a target grow in steps', staircase(80, 30, 200).values, { fires: [{ at: 125, still: [171, 200] }] }, true),
  growth('a leak under churn (0.5/min under a 5m sawtooth of 40)', shape(120, (t) => sawtooth(100, 10, 5)(t) + t / 2), { fires: [{ at: { v2: 76, v3: 65 } }] }, true),
  growth('a slow leak under churn (1 per 10m under a 5m sawtooth)', shape(120, (t) => sawtooth(100, 10, 5)(t) + t / 10), { fires: [{ at: { v2: 76, v3: 65 } }] }, true),
  { name: 'target goroutines with churn', alert: 'GoroutineCountGrowing', series: [[targetGoroutines, repeat('100+20x4', 60)]], silent: [81, 125, 200, 299] },
  {
    name: 'heap in use grows after every GC', alert: 'GoHeapInuseGrowing',
    // 1 MiB/min of live heap under a GC sawtooth of 8 MiB every 2 minutes.
    series: [[sel('go_memstats_heap_inuse_bytes', { ...SCRAPE, target: 'checkout' }),
      Array.from({ length: 120 }, (_, i) => `${32 * 2 ** 20 + i * 2 * 2 ** 20} ${32 * 2 ** 20 + i * 2 * 2 ** 20 + 8 * 2 ** 20}`).join(' ')]],
    // Six rising windows, for 10m: 81m (3.x counts the first window, 70m).
    silent: [{ v2: 80, v3: 69 }],
    firing: (['v2', 'v3'] as const).map((v) => [{ v2: 81, v3: 70 }[v], { ...SCRAPE, target: 'checkout', severity: 'warning' }, {
      summary: 'Heap in use keeps growing on checkout',
      description: `checkout holds ${{ v2: 120, v3: 102 }[v]}MiB of heap in use, more after GC in each of the last 6 windows of 10m.`,
      runbook_url: runbook('GoHeapInuseGrowing'), dashboard: overview,
    }, v]),
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
    // The notification names the leaking line, from the info series (a template query).
    name: 'a proven leak whose signature has an info series', alert: 'GoroutineLeakDetected',
    series: [
      [sel('pprof_goroutines_leaked', { ...SCRAPE, ...SIG }), '0x10 5x100'],
      [sel('pprof_goroutine_signature_info', { ...SCRAPE, ...SIG, location: '/src/checkout/compute.go:57', stack: 'main.computeResult /src/checkout/compute.go:57' }), '1x120'],
    ],
    silent: [25],
    firing: [[26, { ...SCRAPE, ...SIG, severity: 'critical' }, {
      summary: 'The Go runtime proves 5 goroutines leaked in main.computeResult on checkout',
      description: '5 goroutines of signature 0123456789abcdef in main.computeResult at /src/checkout/compute.go:57 are blocked on chan_send on objects no running goroutine can reach (goroutineleak profile) on checkout.',
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

const PROMTOOLS = [['v2', 'promtool'], ['v3', 'promtool3']] as const;

/** The promtool unit test of a case: every `silent` minute, the minute before each `fires`, and its firing minutes. */
function unitTest(c: Case, v: Promtool) {
  const silent = [...(c.silent ?? []), ...(c.fires ?? []).map((f) => minute(f.at, v) - 1)].map((t) => minute(t, v));
  const firing: [number, Record<string, string>, Record<string, string>][] = (c.firing ?? [])
    .filter(([, , , only]) => !only || only === v).map(([t, l, a]) => [minute(t, v), l, a]);
  for (const f of c.fires ?? []) {
    for (const t of [minute(f.at, v), ...(f.still ?? [])]) firing.push([t, ...c.alertFor!(c.values![t]!)]);
  }
  return [{
    interval: '1m',
    input_series: c.series.map(([series, values]) => ({ series, values })),
    alert_rule_test: [
      ...silent.map((t) => ({ eval_time: `${t}m`, alertname: c.alert, exp_alerts: [] })),
      ...firing.map(([t, exp_labels, exp_annotations]) => ({ eval_time: `${t}m`, alertname: c.alert, exp_alerts: [{ exp_labels, exp_annotations }] })),
    ],
  }];
}

describe('alert rules', () => {
  it('alerts/pprof-exporter.rules.yml is the generator\'s output (npm run gen:alerts rewrites it)', () => {
    expect(readFileSync(RULES_FILE, 'utf8')).toBe(renderRules(PRODUCTION));
  });

  it.each(PROMTOOLS)('passes promtool check rules (%s)', (_v, tool) => {
    const r = spawnSync(inject(tool), ['check', 'rules', RULES_FILE], { encoding: 'utf8' });
    expect(`${r.stdout}${r.stderr}`).toContain('SUCCESS: 6 rules found');
    expect(r.status).toBe(0);
  });

  it('has a promtool test for every alert', () => {
    const alerts = [...readFileSync(RULES_FILE, 'utf8').matchAll(/- alert: (\w+)/g)].map((m) => m[1]);
    for (const a of alerts) expect(CASES.filter((c) => c.alert === a && (c.firing || c.fires)).length, a).toBeGreaterThan(0);
  });

  it.each(PROMTOOLS.flatMap(([v, tool]) => CASES.map((c) => [`${c.name} (${v})`, v, tool, c] as const)))(
    'promtool test rules: %s', { timeout: 120_000 }, (_name, v, tool, c) => {
      const dir = mkdtempSync(join(tmpdir(), 'promtool-'));
      const file = join(dir, 'test.yml');
      writeFileSync(file, stringify({ rule_files: [RULES_FILE], evaluation_interval: '1m', tests: unitTest(c, v) }));
      const r = spawnSync(inject(tool), ['test', 'rules', file], { encoding: 'utf8' });
      expect(`${r.stdout}${r.stderr}`).toContain('SUCCESS');
      expect(r.status).toBe(0);
    });
});
