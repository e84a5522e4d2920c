// The alert rules, defined once. alerts/pprof-exporter.rules.yml is this with
// PRODUCTION windows (npm run gen:alerts); the end-to-end test renders the
// same rules with test-sized windows; a test fails if the file drifts.
import { stringify } from 'yaml';
import { formatDuration, parseDuration } from '../config/duration.js';

export interface RuleParams {
  /** One window of the growth check; the count must rise in each of `windows` consecutive ones. */
  window: string;
  windows: number;
  /** How long the growth condition must hold before a growth alert fires. */
  growthFor: string;
  /** Below this many goroutines a growing signature or target is not worth a page. */
  minGoroutines: number;
  minHeapInuseBytes: number;
  waitThresholdSeconds: number;
  waitFor: string;
  leakFor: string;
  downFor: string;
  runbookUrl: string;
  /** Grafana URL of the signature drill-down dashboard. */
  signatureDashboardUrl: string;
  overviewDashboardUrl: string;
}

// Windows: a steady leak of a few goroutines a minute adds dozens per 10m
// window, while a worker pool's churn repeats well within one window and so
// leaves each window's minimum flat. Six windows (1h) of uninterrupted
// growth ride out deploys (one step up), restarts (the minimum drops) and
// slow-moving load, and still page well before a leak of 3/min costs much.
export const PRODUCTION: RuleParams = {
  window: '10m',
  windows: 6,
  growthFor: '10m',
  minGoroutines: 10,
  minHeapInuseBytes: 16 * 2 ** 20,
  waitThresholdSeconds: 3600,
  waitFor: '15m',
  leakFor: '15m',
  downFor: '5m',
  runbookUrl: 'https://github.com/pprof-exporter/pprof-exporter/blob/main/alerts/RUNBOOK.md',
  signatureDashboardUrl: 'http://grafana.example.com/d/pprof-exporter-signature/pprof-exporter-signature-drill-down',
  overviewDashboardUrl: 'http://grafana.example.com/d/pprof-exporter-overview/pprof-exporter-go-goroutine-leaks',
};

/**
 * `series` rose in each of the last `windows` windows: the minimum of each
 * window (immune to churn shorter than a window) is above the previous one's,
 * with every window present (a young or restarted series does not qualify).
 */
export function monotonicGrowth(series: string, min: number, p: RuleParams): string {
  const w = p.window;
  const span = formatDuration(parseDuration(w) * p.windows);
  const growth = `min_over_time(${series}[${w}]) - min_over_time(${series}[${w}] offset ${w})`;
  return [
    `${series} >= ${min}`,
    `and min_over_time((${growth})[${span}:${w}]) > 0`,
    `and count_over_time((${growth})[${span}:${w}]) >= ${p.windows}`,
  ].join('\n');
}

function anchor(name: string): string {
  return name.toLowerCase();
}

export interface Rule {
  alert: string;
  expr: string;
  for: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export function rules(p: RuleParams): Rule[] {
  const runbook = (alert: string) => `${p.runbookUrl}#${anchor(alert)}`;
  const perWindow = `each of the last ${p.windows} windows of ${p.window}`;
  const sigDashboard = `${p.signatureDashboardUrl}?var-target={{ $labels.target }}&var-signature={{ $labels.signature }}`;
  const overview = `${p.overviewDashboardUrl}?var-target={{ $labels.target }}`;
  const leakSignatures = 'pprof_goroutines{signature!="other"}';
  return [
    {
      alert: 'GoroutineLeak',
      expr: monotonicGrowth(leakSignatures, p.minGoroutines, p),
      for: p.growthFor,
      labels: { severity: 'warning' },
      annotations: {
        summary: 'Goroutine leak in {{ $labels.function }} on {{ $labels.target }}',
        description: `{{ $value }} goroutines of signature {{ $labels.signature }} in {{ $labels.function }}, blocked on {{ $labels.blocked_on }}, grew in ${perWindow} on {{ $labels.target }}.`,
        runbook_url: runbook('GoroutineLeak'),
        dashboard: sigDashboard,
      },
    },
    {
      alert: 'GoroutineCountGrowing',
      expr: monotonicGrowth('go_goroutines', p.minGoroutines, p),
      for: p.growthFor,
      labels: { severity: 'warning' },
      annotations: {
        summary: 'Goroutines keep growing on {{ $labels.target }}',
        description: `{{ $labels.target }} has {{ $value }} goroutines, more in ${perWindow}.`,
        runbook_url: runbook('GoroutineCountGrowing'),
        dashboard: overview,
      },
    },
    {
      alert: 'GoroutinesBlockedTooLong',
      expr: [
        `(max by (target, signature) (pprof_goroutine_wait_seconds_max) >= ${p.waitThresholdSeconds})`,
        '* on (target, signature) group_left (function, blocked_on)',
        '(0 * max by (target, signature, function, blocked_on) (pprof_goroutines) + 1)',
      ].join('\n'),
      for: p.waitFor,
      labels: { severity: 'warning' },
      annotations: {
        summary: 'Goroutines in {{ $labels.function }} on {{ $labels.target }} blocked for {{ $value | humanizeDuration }}',
        description: 'Goroutines of signature {{ $labels.signature }} in {{ $labels.function }} have waited {{ $value | humanizeDuration }} on {{ $labels.blocked_on }} on {{ $labels.target }} (debug=2 dump; minute resolution).',
        runbook_url: runbook('GoroutinesBlockedTooLong'),
        dashboard: sigDashboard,
      },
    },
    {
      alert: 'GoroutineLeakDetected',
      expr: 'pprof_goroutines_leaked > 0',
      for: p.leakFor,
      labels: { severity: 'critical' },
      annotations: {
        summary: 'The Go runtime proves {{ $value }} goroutines leaked in {{ $labels.function }} on {{ $labels.target }}',
        description: '{{ $value }} goroutines of signature {{ $labels.signature }} in {{ $labels.function }} are blocked on {{ $labels.blocked_on }} on objects no running goroutine can reach (goroutineleak profile) on {{ $labels.target }}.',
        runbook_url: runbook('GoroutineLeakDetected'),
        dashboard: sigDashboard,
      },
    },
    {
      alert: 'GoHeapInuseGrowing',
      expr: monotonicGrowth('go_memstats_heap_inuse_bytes', p.minHeapInuseBytes, p),
      for: p.growthFor,
      labels: { severity: 'warning' },
      annotations: {
        summary: 'Heap in use keeps growing on {{ $labels.target }}',
        description: `{{ $labels.target }} holds {{ $value | humanize1024 }}B of heap in use, more after GC in ${perWindow}.`,
        runbook_url: runbook('GoHeapInuseGrowing'),
        dashboard: overview,
      },
    },
    {
      alert: 'PprofTargetDown',
      expr: 'max by (target) (pprof_exporter_scrape_success{source="goroutine"}) == 0',
      for: p.downFor,
      labels: { severity: 'warning' },
      annotations: {
        summary: 'pprof-exporter cannot scrape {{ $labels.target }}',
        description: 'The goroutine profile of {{ $labels.target }} has failed to scrape for ' + p.downFor + ': see the exporter log (target, stage) and pprof_exporter_scrape_errors_total.',
        runbook_url: runbook('PprofTargetDown'),
        dashboard: overview,
      },
    },
  ];
}

export function renderRules(p: RuleParams): string {
  const header = '# Generated from src/alerts/rules.ts by `npm run gen:alerts`; edit that, not this.\n';
  return header + stringify({ groups: [{ name: 'pprof-exporter', rules: rules(p) }] }, { lineWidth: 0 });
}
