// The alert rules, defined once. alerts/pprof-exporter.rules.yml is this with
// PRODUCTION windows (npm run gen:alerts); the end-to-end test renders the
// same rules with test-sized windows; a test fails if the file drifts.
import { stringify } from 'yaml';
import { formatDuration, parseDuration } from '../config/duration.js';

export interface RuleParams {
  /** Steady growth: the count must rise in each of `windows` consecutive windows of `window`. */
  window: string;
  windows: number;
  /** Staircase: the floor (minimum over floorWindow, longer than any churn period to ignore)... */
  floorWindow: string;
  /** ...sampled every floorStep, must never fall within stepsWithin and step up at least minSteps separate times... */
  floorStep: string;
  stepsWithin: string;
  minSteps: number;
  /** ...the last of them within lastStepWithin (longer than the longest gap of a staircase to catch). */
  lastStepWithin: string;
  /** Flood: at least floodPerMinute more goroutines in every floodStep of the last floodWindow... */
  floodPerMinute: number;
  floodWindow: string;
  floodStep: string;
  /** ...and more than ever in the churnWindow before it (churn of a shorter period peaks in there). */
  churnWindow: string;
  /** How long a goroutine growth condition must hold before GoroutineLeak / GoroutineCountGrowing fire. */
  growthFor: string;
  /** The same for GoHeapInuseGrowing (steady growth only). */
  heapGrowthFor: string;
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

// A leak never gives back and keeps adding; it takes three shapes, one rule
// branch each (alerts/RUNBOOK.md has the math and the trade-offs):
// - steady: a few goroutines a minute raise the minimum of every 10m window
//   (a worker pool's churn repeats within a window and leaves it flat); six
//   windows ride out deploys (one step) and restarts (the minimum drops);
// - staircase: a few goroutines at a time, 15-90 minutes apart. The 40m floor
//   (a 30m sawtooth's trough is always in it) never falls in 4h, steps up at
//   two separate times, the last within 2h; a deploy raises it once, a warm-up
//   in one climb;
// - flood: 100+ a minute in every 2m of the last 10m, above the peak of the
//   30m before (so not the rising half of a sawtooth), pages within 20 minutes.
export const PRODUCTION: RuleParams = {
  window: '10m',
  windows: 6,
  floorWindow: '40m',
  floorStep: '5m',
  stepsWithin: '4h',
  minSteps: 2,
  lastStepWithin: '2h',
  floodPerMinute: 100,
  floodWindow: '10m',
  floodStep: '2m',
  churnWindow: '30m',
  growthFor: '5m',
  heapGrowthFor: '10m',
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

const seconds = (d: string) => parseDuration(d);

/**
 * `series` rose in each of the last `windows` windows: the minimum of each
 * window (immune to churn shorter than a window) is above the previous one's,
 * with every window present (a young or restarted series does not qualify).
 */
export function steadyGrowth(series: string, p: RuleParams): string[] {
  const w = p.window;
  const span = formatDuration(seconds(w) * p.windows);
  const growth = `min_over_time(${series}[${w}]) - min_over_time(${series}[${w}] offset ${w})`;
  return [
    `min_over_time((${growth})[${span}:${w}]) > 0`,
    `count_over_time((${growth})[${span}:${w}]) >= ${p.windows}`,
  ];
}

/**
 * The floor of `series` (its minimum over floorWindow) did not fall at any
 * floorStep of the last stepsWithin, and rose at minSteps or more steps that
 * each follow a step without a rise (separate additions, not one climb), the
 * last within lastStepWithin (a plateau is flat for longer than that).
 */
export function staircaseGrowth(series: string, p: RuleParams): string[] {
  const floor = (offset: number) => `min_over_time(${series}[${p.floorWindow}]${offset ? ` offset ${formatDuration(offset)}` : ''})`;
  const step = seconds(p.floorStep);
  const range = `[${p.stepsWithin}:${p.floorStep}]`;
  return [
    `min_over_time((${floor(0)} - ${floor(step)})${range}) >= 0`,
    `count_over_time(((${floor(0)} > ${floor(step)}) unless (${floor(step)} > ${floor(2 * step)}))${range}) >= ${p.minSteps}`,
    `${floor(0)} > ${floor(seconds(p.lastStepWithin))}`,
  ];
}

/** At least floodPerMinute more in every floodStep of the last floodWindow, and above the peak of the churnWindow before. */
export function floodGrowth(series: string, p: RuleParams): string[] {
  const perStep = p.floodPerMinute * seconds(p.floodStep) / 60;
  return [
    `min_over_time((${series} - ${series} offset ${p.floodStep})[${p.floodWindow}:${p.floodStep}]) >= ${perStep}`,
    `${series} > max_over_time(${series}[${p.churnWindow}] offset ${p.floodWindow})`,
  ];
}

/** Any of the three shapes, on a series of at least `min`; the value is the series'. */
export function leakGrowth(series: string, min: number, p: RuleParams): string {
  const branch = (conditions: string[]) => `(\n  ${[`${series} >= ${min}`, ...conditions].join('\n  and ')}\n)`;
  return [steadyGrowth(series, p), staircaseGrowth(series, p), floodGrowth(series, p)].map(branch).join('\nor\n');
}

/** Steady growth only (the heap: GC makes its floor noisy, and it has no flood). */
export function monotonicGrowth(series: string, min: number, p: RuleParams): string {
  return [`${series} >= ${min}`, ...steadyGrowth(series, p)].join('\nand ');
}

/** How the growth alerts' descriptions name the shapes. */
export function growthShapes(p: RuleParams): string {
  return `in each of the last ${p.windows} windows of ${p.window}, in ${p.minSteps}+ separate steps within ${p.stepsWithin} without falling back, or by ${p.floodPerMinute}+ a minute for ${p.floodWindow}`;
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

/**
 * " at file:line" of the alert's signature, read from pprof_goroutine_signature_info
 * when the notification is rendered (a template query, so the location is no
 * label of the alert: a changed line does not make a new alert); "" without it.
 */
export const AT_LOCATION = '{{ with printf "pprof_goroutine_signature_info{target=%q,signature=%q}" $labels.target $labels.signature | query }}'
  + '{{ with first . }} at {{ label "location" . }}{{ end }}{{ end }}';

export function rules(p: RuleParams): Rule[] {
  const runbook = (alert: string) => `${p.runbookUrl}#${anchor(alert)}`;
  const perWindow = `each of the last ${p.windows} windows of ${p.window}`;
  const shapes = growthShapes(p);
  const sigDashboard = `${p.signatureDashboardUrl}?var-target={{ $labels.target }}&var-signature={{ $labels.signature }}`;
  const overview = `${p.overviewDashboardUrl}?var-target={{ $labels.target }}`;
  const leakSignatures = 'pprof_goroutines{signature!="other"}';
  return [
    {
      alert: 'GoroutineLeak',
      expr: leakGrowth(leakSignatures, p.minGoroutines, p),
      for: p.growthFor,
      labels: { severity: 'warning' },
      annotations: {
        summary: 'Goroutine leak in {{ $labels.function }} on {{ $labels.target }}',
        description: `{{ $value }} goroutines of signature {{ $labels.signature }} in {{ $labels.function }}${AT_LOCATION}, blocked on {{ $labels.blocked_on }}, on {{ $labels.target }} only grow: ${shapes}.`,
        runbook_url: runbook('GoroutineLeak'),
        dashboard: sigDashboard,
      },
    },
    {
      alert: 'GoroutineCountGrowing',
      expr: leakGrowth('go_goroutines', p.minGoroutines, p),
      for: p.growthFor,
      labels: { severity: 'warning' },
      annotations: {
        summary: 'Goroutines keep growing on {{ $labels.target }}',
        description: `{{ $labels.target }} has {{ $value }} goroutines, and they only grow: ${shapes}.`,
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
        description: `Goroutines of signature {{ $labels.signature }} in {{ $labels.function }}${AT_LOCATION} have waited {{ $value | humanizeDuration }} on {{ $labels.blocked_on }} on {{ $labels.target }} (debug=2 dump; minute resolution).`,
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
        description: `{{ $value }} goroutines of signature {{ $labels.signature }} in {{ $labels.function }}${AT_LOCATION} are blocked on {{ $labels.blocked_on }} on objects no running goroutine can reach (goroutineleak profile) on {{ $labels.target }}.`,
        runbook_url: runbook('GoroutineLeakDetected'),
        dashboard: sigDashboard,
      },
    },
    {
      alert: 'GoHeapInuseGrowing',
      expr: monotonicGrowth('go_memstats_heap_inuse_bytes', p.minHeapInuseBytes, p),
      for: p.heapGrowthFor,
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
