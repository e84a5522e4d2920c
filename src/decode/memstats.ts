// Go runtime.MemStats (from /debug/vars or the heap?debug=1 trailer) turned
// into the go_memstats_* metrics and go_gc_duration_seconds summary that
// prometheus/client_golang's Go collector exports, same names, types and
// meanings, so existing Go dashboards work with `target` as the only extra label.

import { inconsistent } from './validate.js';

/** Go's runtime.MemStats as decoded from JSON or the debug=1 trailer (field names as in Go). */
export type MemStats = Record<string, number | number[]>;

export interface MemStatsMetric { name: string; type: 'gauge' | 'counter'; help: string; value: number; }

export interface GcSummary {
  name: 'go_gc_duration_seconds';
  help: string;
  quantiles: [number, number][];
  count: number;
  sum: number;
}

/** One catalogue entry; 'summary' is only go_gc_duration_seconds. */
export interface MemStatsFamily { name: string; type: 'gauge' | 'counter' | 'summary'; help: string; }

interface Def extends MemStatsFamily {
  type: 'gauge' | 'counter';
  field: string;
  /** Divisor applied to the field (LastGC is in ns). */
  scale?: number;
  /** Only emitted when the field is present (older client_golang metrics). */
  optional?: true;
}

// Order and expressions follow client_golang's goRuntimeMemStats() plus
// last_gc_time_seconds from its base collector. The two optional ones are
// older client_golang metrics that dashboards may still use:
// go_memstats_lookups_total (removed in v1.20.0, #1577: the runtime no longer
// counts lookups, so it is always 0) and go_memstats_gc_cpu_fraction (v0.9.0
// to v1.11.x; from v1.12.0 only in programs built with Go < 1.17).
const DEFS: readonly Def[] = [
  { name: 'go_memstats_alloc_bytes', type: 'gauge', field: 'Alloc', help: 'Bytes of allocated heap objects that are still in use (same as go_memstats_heap_alloc_bytes).' },
  { name: 'go_memstats_alloc_bytes_total', type: 'counter', field: 'TotalAlloc', help: 'Cumulative bytes allocated for heap objects, including ones already freed.' },
  { name: 'go_memstats_sys_bytes', type: 'gauge', field: 'Sys', help: 'Total bytes of memory the Go runtime has obtained from the OS.' },
  { name: 'go_memstats_lookups_total', type: 'counter', field: 'Lookups', optional: true, help: 'Pointer lookups performed by the runtime (always 0 in modern Go).' },
  { name: 'go_memstats_mallocs_total', type: 'counter', field: 'Mallocs', help: 'Cumulative count of heap objects allocated, live or already collected.' },
  { name: 'go_memstats_frees_total', type: 'counter', field: 'Frees', help: 'Cumulative count of heap objects freed.' },
  { name: 'go_memstats_heap_alloc_bytes', type: 'gauge', field: 'HeapAlloc', help: 'Bytes of allocated heap objects that are still in use.' },
  { name: 'go_memstats_heap_sys_bytes', type: 'gauge', field: 'HeapSys', help: 'Bytes of heap memory obtained from the OS (in use, idle and released).' },
  { name: 'go_memstats_heap_idle_bytes', type: 'gauge', field: 'HeapIdle', help: 'Bytes in heap spans that hold no objects (free or returned to the OS).' },
  { name: 'go_memstats_heap_inuse_bytes', type: 'gauge', field: 'HeapInuse', help: 'Bytes in heap spans that hold at least one object.' },
  { name: 'go_memstats_heap_released_bytes', type: 'gauge', field: 'HeapReleased', help: 'Bytes of heap memory returned to the OS.' },
  { name: 'go_memstats_heap_objects', type: 'gauge', field: 'HeapObjects', help: 'Number of heap objects currently allocated.' },
  { name: 'go_memstats_stack_inuse_bytes', type: 'gauge', field: 'StackInuse', help: 'Bytes in spans used for goroutine stacks.' },
  { name: 'go_memstats_stack_sys_bytes', type: 'gauge', field: 'StackSys', help: 'Bytes of stack memory obtained from the OS (stack spans plus OS thread stacks).' },
  { name: 'go_memstats_mspan_inuse_bytes', type: 'gauge', field: 'MSpanInuse', help: 'Bytes of allocated mspan structures.' },
  { name: 'go_memstats_mspan_sys_bytes', type: 'gauge', field: 'MSpanSys', help: 'Bytes obtained from the OS for mspan structures.' },
  { name: 'go_memstats_mcache_inuse_bytes', type: 'gauge', field: 'MCacheInuse', help: 'Bytes of allocated mcache structures.' },
  { name: 'go_memstats_mcache_sys_bytes', type: 'gauge', field: 'MCacheSys', help: 'Bytes obtained from the OS for mcache structures.' },
  { name: 'go_memstats_buck_hash_sys_bytes', type: 'gauge', field: 'BuckHashSys', help: 'Bytes used by the profiling bucket hash tables.' },
  { name: 'go_memstats_gc_sys_bytes', type: 'gauge', field: 'GCSys', help: 'Bytes used for garbage collector metadata.' },
  { name: 'go_memstats_other_sys_bytes', type: 'gauge', field: 'OtherSys', help: 'Bytes used for miscellaneous off-heap runtime allocations.' },
  { name: 'go_memstats_next_gc_bytes', type: 'gauge', field: 'NextGC', help: 'Heap size in bytes at which the next garbage collection is targeted.' },
  { name: 'go_memstats_last_gc_time_seconds', type: 'gauge', field: 'LastGC', scale: 1e9, help: 'Time the last garbage collection finished, in seconds since the Unix epoch (0 if none yet).' },
  { name: 'go_memstats_gc_cpu_fraction', type: 'gauge', field: 'GCCPUFraction', optional: true, help: 'Fraction of the available CPU time used by the GC since the program started.' },
];

const GC_HELP = 'Summary of stop-the-world pause durations of garbage collection cycles, in seconds.';

/** The catalogue, in a stable order (client_golang's), ending with the GC summary. */
export const MEMSTATS_METRICS: ReadonlyArray<MemStatsFamily> = [
  ...DEFS.map(({ name, type, help }) => ({ name, type, help })),
  { name: 'go_gc_duration_seconds', type: 'summary', help: GC_HELP },
];

// The runtime.MemStats fields we read. EnableGC/DebugGC (booleans), BySize
// and the trailer's MaxRSS (not a MemStats field) are left out so that both
// sources give the same object.
const ARRAY_FIELDS = new Set(['PauseNs', 'PauseEnd']);
const SCALAR_FIELDS = new Set([
  ...DEFS.map((d) => d.field), 'PauseTotalNs', 'NumGC', 'NumForcedGC',
]);
const REQUIRED = DEFS.filter((d) => !d.optional).map((d) => d.field);

// The trailer prints these as "Inuse / Sys" pairs.
const PAIRS: Record<string, [string, string]> = {
  Stack: ['StackInuse', 'StackSys'],
  MSpan: ['MSpanInuse', 'MSpanSys'],
  MCache: ['MCacheInuse', 'MCacheSys'],
};

/**
 * Counters (and the GC summary's count, sum and pauses) must not be negative:
 * a counter that moves backwards is not data. Gauges may be anything finite.
 */
export function checkMemStats(ms: MemStats, source: string): MemStats {
  const counters = [...DEFS.filter((d) => d.type === 'counter').map((d) => d.field), 'NumGC', 'PauseTotalNs'];
  for (const f of counters) {
    const v = ms[f];
    if (typeof v === 'number' && !(v >= 0)) inconsistent(`${source}: MemStats ${f} is ${v}; a counter cannot be negative`);
  }
  const ring = ms.PauseNs;
  if (Array.isArray(ring) && ring.some((v) => !(v >= 0))) inconsistent(`${source}: MemStats PauseNs holds a negative pause`);
  return ms;
}

function checkRequired(ms: MemStats, source: string): MemStats {
  for (const f of REQUIRED) {
    if (typeof ms[f] !== 'number') throw new Error(`${source}: MemStats field "${f}" is missing`);
  }
  return ms;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Takes the parsed /debug/vars JSON. */
export function memstatsFromExpvar(vars: unknown): MemStats {
  if (!isObject(vars)) throw new Error('expvar: /debug/vars is not a JSON object');
  const src = vars.memstats;
  if (!isObject(src)) throw new Error('expvar: no "memstats" object');
  const ms: MemStats = {};
  for (const [k, v] of Object.entries(src)) {
    if (SCALAR_FIELDS.has(k)) {
      if (!isNum(v)) throw new Error(`expvar: memstats.${k} is not a number`);
      ms[k] = v;
    } else if (ARRAY_FIELDS.has(k)) {
      if (!Array.isArray(v) || !v.every(isNum)) throw new Error(`expvar: memstats.${k} is not an array of numbers`);
      ms[k] = [...v];
    }
  }
  return checkRequired(ms, 'expvar');
}

const NUM = String.raw`-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?`;
const SCALAR_RE = new RegExp(`^${NUM}$`);
const PAIR_RE = new RegExp(`^(${NUM}) / (${NUM})$`);
const ARRAY_RE = new RegExp(`^\\[(?:${NUM}(?: ${NUM})*)?\\]$`);

/** The "# runtime.MemStats" block at the end of heap?debug=1. */
export function parseMemStatsTrailer(text: string): MemStats {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === '# runtime.MemStats');
  if (start < 0) throw new Error('heap debug=1: no "# runtime.MemStats" block');
  const ms: MemStats = {};
  for (const raw of lines.slice(start + 1)) {
    const line = raw.trim();
    if (line === '') continue; // older Go separates groups with blank lines
    if (!line.startsWith('#')) break;
    const m = /^#\s*(\w+) = (.*)$/.exec(line);
    if (!m) continue;
    const [, key = '', value = ''] = m;
    const bad = (): Error => new Error(`heap debug=1: bad value for ${key}: "${value.slice(0, 40)}"`);
    const pair = PAIRS[key];
    if (pair) {
      const p = PAIR_RE.exec(value);
      if (!p) throw bad();
      ms[pair[0]] = Number(p[1]);
      ms[pair[1]] = Number(p[2]);
    } else if (SCALAR_FIELDS.has(key)) {
      if (!SCALAR_RE.test(value)) throw bad();
      ms[key] = Number(value);
    } else if (ARRAY_FIELDS.has(key)) {
      if (!ARRAY_RE.test(value)) throw bad();
      const inner = value.slice(1, -1);
      ms[key] = inner === '' ? [] : inner.split(' ').map(Number);
    }
  }
  // Go does not print PauseTotalNs here. Until the 256-entry ring wraps it
  // still holds every pause, so their sum is exactly PauseTotalNs; after
  // that it is unknown and go_gc_duration_seconds is left out.
  const { NumGC: numGC, PauseNs: ring } = ms;
  if (ms.PauseTotalNs === undefined && typeof numGC === 'number' && Array.isArray(ring) && numGC <= ring.length) {
    ms.PauseTotalNs = ring.slice(0, numGC).reduce((a, b) => a + b, 0);
  }
  return checkRequired(ms, 'heap debug=1');
}

/** Go's time.Duration.Seconds(): whole seconds plus the remainder, to match client_golang bit for bit. */
function durationSeconds(ns: number): number {
  const sec = Math.trunc(ns / 1e9);
  return sec + (ns - sec * 1e9) / 1e9;
}

// client_golang reads debug.ReadGCStats with 5 PauseQuantiles and publishes
// them as quantiles 0, 0.25, 0.5, 0.75, 1; count = NumGC, sum = PauseTotal.
// ReadGCStats takes the last min(NumGC, 256) entries of the MemStats PauseNs
// ring, sorts them, and picks sorted[n*i/4] for i < 4 and the maximum last
// (all 0 before the first GC). This reproduces that exactly from the same
// MemStats fields; the differences are only in the data: the snapshot is
// whatever the target served, and from the heap?debug=1 trailer (no
// PauseTotalNs) there is no summary once NumGC exceeds 256.
function gcSummary(ms: MemStats): GcSummary | undefined {
  const { NumGC: numGC, PauseTotalNs: total, PauseNs: ring } = ms;
  if (typeof numGC !== 'number' || typeof total !== 'number' || !Array.isArray(ring)) return undefined;
  const n = Math.min(numGC, ring.length);
  const recent: number[] = [];
  for (let i = 0; i < n; i++) recent.push(ring[(numGC - 1 - i) % ring.length] ?? 0);
  recent.sort((a, b) => a - b);
  const nq = 4;
  const pick = (i: number): number => (n === 0 ? 0 : i === nq ? recent[n - 1]! : recent[Math.floor((n * i) / nq)]!);
  const quantiles: [number, number][] = [0, 1, 2, 3, 4].map((i) => [i / nq, durationSeconds(pick(i))]);
  return { name: 'go_gc_duration_seconds', help: GC_HELP, quantiles, count: numGC, sum: durationSeconds(total) };
}

export function memstatsMetrics(ms: MemStats): { metrics: MemStatsMetric[]; gc?: GcSummary } {
  checkRequired(ms, 'memstats');
  const metrics: MemStatsMetric[] = [];
  for (const d of DEFS) {
    const v = ms[d.field];
    if (typeof v !== 'number') continue; // only optional ones get here
    metrics.push({ name: d.name, type: d.type, help: d.help, value: d.scale ? v / d.scale : v });
  }
  const gc = gcSummary(ms);
  return gc ? { metrics, gc } : { metrics };
}
