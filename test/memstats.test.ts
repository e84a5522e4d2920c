// Go MemStats from /debug/vars and from the heap?debug=1 trailer, and the
// client_golang-compatible metrics made from them.
import { describe, expect, it } from 'vitest';
import {
  MEMSTATS_METRICS, memstatsFromExpvar, memstatsMetrics, parseMemStatsTrailer, type MemStats,
} from '../src/decode/memstats.js';
import { fixture, goVersions } from './helpers/fixtures.js';

// Written out from client_golang's go_collector.go (goRuntimeMemStats and the
// base collector), independently of src/memstats.ts: name, type, MemStats field.
const EXPECTED: [string, 'gauge' | 'counter', string][] = [
  ['go_memstats_alloc_bytes', 'gauge', 'Alloc'],
  ['go_memstats_alloc_bytes_total', 'counter', 'TotalAlloc'],
  ['go_memstats_sys_bytes', 'gauge', 'Sys'],
  ['go_memstats_lookups_total', 'counter', 'Lookups'],
  ['go_memstats_mallocs_total', 'counter', 'Mallocs'],
  ['go_memstats_frees_total', 'counter', 'Frees'],
  ['go_memstats_heap_alloc_bytes', 'gauge', 'HeapAlloc'],
  ['go_memstats_heap_sys_bytes', 'gauge', 'HeapSys'],
  ['go_memstats_heap_idle_bytes', 'gauge', 'HeapIdle'],
  ['go_memstats_heap_inuse_bytes', 'gauge', 'HeapInuse'],
  ['go_memstats_heap_released_bytes', 'gauge', 'HeapReleased'],
  ['go_memstats_heap_objects', 'gauge', 'HeapObjects'],
  ['go_memstats_stack_inuse_bytes', 'gauge', 'StackInuse'],
  ['go_memstats_stack_sys_bytes', 'gauge', 'StackSys'],
  ['go_memstats_mspan_inuse_bytes', 'gauge', 'MSpanInuse'],
  ['go_memstats_mspan_sys_bytes', 'gauge', 'MSpanSys'],
  ['go_memstats_mcache_inuse_bytes', 'gauge', 'MCacheInuse'],
  ['go_memstats_mcache_sys_bytes', 'gauge', 'MCacheSys'],
  ['go_memstats_buck_hash_sys_bytes', 'gauge', 'BuckHashSys'],
  ['go_memstats_gc_sys_bytes', 'gauge', 'GCSys'],
  ['go_memstats_other_sys_bytes', 'gauge', 'OtherSys'],
  ['go_memstats_next_gc_bytes', 'gauge', 'NextGC'],
  ['go_memstats_last_gc_time_seconds', 'gauge', 'LastGC'], // divided by 1e9
  ['go_memstats_gc_cpu_fraction', 'gauge', 'GCCPUFraction'],
];

const num = (ms: MemStats, f: string): number => {
  const v = ms[f];
  if (typeof v !== 'number') throw new Error(`${f} is not a number`);
  return v;
};

function byName(ms: MemStats): Map<string, number> {
  return new Map(memstatsMetrics(ms).metrics.map((m) => [m.name, m.value]));
}

describe('catalogue', () => {
  it('lists client_golang names and types in a stable order, ending with the GC summary', () => {
    expect(MEMSTATS_METRICS.map((m) => [m.name, m.type])).toEqual([
      ...EXPECTED.map(([n, t]) => [n, t]),
      ['go_gc_duration_seconds', 'summary'],
    ]);
    for (const m of MEMSTATS_METRICS) {
      expect(m.name).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/);
      expect(m.help.length, m.name).toBeGreaterThan(10);
    }
  });
});

describe.each(goVersions())('MemStats from %s', (version) => {
  const fromVars = memstatsFromExpvar(JSON.parse(fixture(version, 'vars.json').toString('utf8')));
  const fromTrailer = parseMemStatsTrailer(fixture(version, 'heap.debug1.txt').toString('utf8'));

  it('both sources yield the same set of fields', () => {
    expect(Object.keys(fromTrailer).sort()).toEqual(Object.keys(fromVars).sort());
    expect(fromVars.PauseNs).toHaveLength(256);
    expect(fromTrailer.PauseEnd).toHaveLength(256);
  });

  it('GC history agrees between the two captures when no GC happened in between', () => {
    if (fromVars.NumGC !== fromTrailer.NumGC) return;
    for (const f of ['LastGC', 'PauseTotalNs', 'PauseNs', 'PauseEnd']) expect(fromTrailer[f], f).toEqual(fromVars[f]);
  });

  for (const [source, ms] of [['vars.json', fromVars], ['heap.debug1.txt', fromTrailer]] as const) {
    it(`${source}: every catalogue metric equals its MemStats field`, () => {
      const { metrics, gc } = memstatsMetrics(ms);
      expect([...metrics.map((m) => m.name), gc?.name]).toEqual(MEMSTATS_METRICS.map((m) => m.name));
      const got = byName(ms);
      for (const [name, type, field] of EXPECTED) {
        const want = field === 'LastGC' ? num(ms, field) / 1e9 : num(ms, field);
        expect(got.get(name), name).toBe(want);
        expect(metrics.find((m) => m.name === name)?.type, name).toBe(type);
      }
      // A few by hand.
      expect(got.get('go_memstats_alloc_bytes')).toBe(ms.Alloc);
      expect(got.get('go_memstats_alloc_bytes_total')).toBe(ms.TotalAlloc);
      expect(got.get('go_memstats_heap_released_bytes')).toBe(ms.HeapReleased);
      expect(got.get('go_memstats_stack_inuse_bytes')).toBe(ms.StackInuse);
      expect(got.get('go_memstats_last_gc_time_seconds')).toBe(num(ms, 'LastGC') / 1e9);
      expect(got.get('go_memstats_last_gc_time_seconds')).toBeGreaterThan(1.6e9); // a plausible date
    });

    it(`${source}: MemStats relations hold`, () => {
      const f = (k: string): number => num(ms, k);
      expect(f('HeapInuse') + f('HeapIdle')).toBe(f('HeapSys'));
      expect(f('Sys')).toBeGreaterThanOrEqual(f('HeapSys'));
      // Sys is the sum of the *Sys fields.
      expect(['HeapSys', 'StackSys', 'MSpanSys', 'MCacheSys', 'BuckHashSys', 'GCSys', 'OtherSys'].reduce((a, k) => a + f(k), 0)).toBe(f('Sys'));
      expect(f('Alloc')).toBe(f('HeapAlloc'));
      expect(f('StackSys')).toBeGreaterThanOrEqual(f('StackInuse'));
      expect(f('Mallocs') - f('Frees')).toBe(f('HeapObjects'));
    });

    it(`${source}: go_gc_duration_seconds counts every GC and sums every pause`, () => {
      const { gc } = memstatsMetrics(ms);
      expect(gc).toBeDefined();
      expect(gc!.count).toBe(ms.NumGC);
      expect(gc!.count).toBeGreaterThan(0);
      expect(gc!.sum).toBe(num(ms, 'PauseTotalNs') / 1e9);
      expect(gc!.quantiles.map(([q]) => q)).toEqual([0, 0.25, 0.5, 0.75, 1]);
      const values = gc!.quantiles.map(([, v]) => v);
      expect(values).toEqual([...values].sort((a, b) => a - b));
      // The latest pause is in the ring, so it lies between min and max.
      const ring = ms.PauseNs as number[];
      const latest = ring[(num(ms, 'NumGC') - 1) % 256]! / 1e9;
      expect(values[0]).toBeLessThanOrEqual(latest);
      expect(values[4]).toBeGreaterThanOrEqual(latest);
      expect(values[4]).toBeGreaterThan(0);
    });
  }
});

// Go 1.19-style trailer, with the blank lines older versions print between groups.
const TRAILER = `heap profile: 1: 8 [2: 16] @ heap/1048576
1: 8 [2: 16] @ 0x1 0x2
#	0x1	main.main+0x10	/src/main.go:10


# runtime.MemStats
# Alloc = 1000
# TotalAlloc = 5000
# Sys = 9000
# Lookups = 0
# Mallocs = 70
# Frees = 20
# HeapAlloc = 1000
# HeapSys = 4000
# HeapIdle = 2500
# HeapInuse = 1500
# HeapReleased = 2000
# HeapObjects = 50

# Stack = 300 / 400
# MSpan = 30 / 40
# MCache = 3 / 4
# BuckHashSys = 100
# GCSys = 200
# OtherSys = 4252

# NextGC = 4194304
# LastGC = 1795439397556470440
# PauseNs = [40 10 30 20 999 0]
# PauseEnd = [1 2 3 4 5 0]
# NumGC = 4
# NumForcedGC = 1
# GCCPUFraction = 1.2e-05
# DebugGC = false
# MaxRSS = 123456
`;

const SAME_AS_JSON = {
  cmdline: ['/app'],
  memstats: {
    Alloc: 1000, TotalAlloc: 5000, Sys: 9000, Lookups: 0, Mallocs: 70, Frees: 20,
    HeapAlloc: 1000, HeapSys: 4000, HeapIdle: 2500, HeapInuse: 1500, HeapReleased: 2000, HeapObjects: 50,
    StackInuse: 300, StackSys: 400, MSpanInuse: 30, MSpanSys: 40, MCacheInuse: 3, MCacheSys: 4,
    BuckHashSys: 100, GCSys: 200, OtherSys: 4252, NextGC: 4194304, LastGC: 1795439397556470440,
    PauseTotalNs: 100, PauseNs: [40, 10, 30, 20, 999, 0], PauseEnd: [1, 2, 3, 4, 5, 0],
    NumGC: 4, NumForcedGC: 1, GCCPUFraction: 1.2e-05, EnableGC: true, DebugGC: false,
    BySize: [{ Size: 0, Mallocs: 0, Frees: 0 }],
  },
};


describe('parseMemStatsTrailer', () => {
  it('splits "Inuse / Sys" pairs and reads arrays, floats and plain numbers', () => {
    const ms = parseMemStatsTrailer(TRAILER);
    expect(ms).toMatchObject({
      StackInuse: 300, StackSys: 400, MSpanInuse: 30, MSpanSys: 40, MCacheInuse: 3, MCacheSys: 4,
      PauseNs: [40, 10, 30, 20, 999, 0], GCCPUFraction: 1.2e-05, NumGC: 4, OtherSys: 4252,
    });
    // Go prints no PauseTotalNs; the first NumGC ring entries are all the pauses.
    expect(ms.PauseTotalNs).toBe(40 + 10 + 30 + 20);
    // Not MemStats fields: a boolean, and MaxRSS from getrusage.
    expect(ms).not.toHaveProperty('DebugGC');
    expect(ms).not.toHaveProperty('MaxRSS');
    expect(ms).not.toHaveProperty('Stack');
  });

  it('gives the same MemStats as /debug/vars for the same numbers', () => {
    expect(parseMemStatsTrailer(TRAILER)).toEqual(memstatsFromExpvar(SAME_AS_JSON));
    expect(memstatsMetrics(parseMemStatsTrailer(TRAILER))).toEqual(memstatsMetrics(memstatsFromExpvar(SAME_AS_JSON)));
  });

  it('has no PauseTotalNs, and so no GC summary, once the pause ring has wrapped', () => {
    const ms = parseMemStatsTrailer(TRAILER.replace('# NumGC = 4', '# NumGC = 7'));
    expect(ms).not.toHaveProperty('PauseTotalNs');
    expect(memstatsMetrics(ms).gc).toBeUndefined();
    expect(memstatsMetrics(ms).metrics).toHaveLength(EXPECTED.length);
  });

  it('accepts CRLF line endings and stops at the end of the block', () => {
    const ms = parseMemStatsTrailer(TRAILER.replaceAll('\n', '\r\n') + 'not a comment\n# Alloc = 1\n');
    expect(ms.Alloc).toBe(1000);
  });

  it('names a missing required field', () => {
    expect(() => parseMemStatsTrailer(TRAILER.replace('# HeapInuse = 1500\n', ''))).toThrow(/"HeapInuse"/);
    expect(() => parseMemStatsTrailer(TRAILER.replace('# Stack = 300 / 400\n', ''))).toThrow(/"StackInuse"/);
  });

  it('rejects input without the block and malformed values', () => {
    expect(() => parseMemStatsTrailer('<html>404 page not found</html>')).toThrow('heap debug=1: no "# runtime.MemStats" block');
    expect(() => parseMemStatsTrailer('')).toThrow(/no "# runtime.MemStats" block/);
    expect(() => parseMemStatsTrailer(TRAILER.replace('# Alloc = 1000', '# Alloc = lots'))).toThrow(/bad value for Alloc/);
    expect(() => parseMemStatsTrailer(TRAILER.replace('# Stack = 300 / 400', '# Stack = 300'))).toThrow(/bad value for Stack/);
    expect(() => parseMemStatsTrailer(TRAILER.replace('[40 10 30 20 999 0]', '[40 x]'))).toThrow(/bad value for PauseNs/);
    expect(() => parseMemStatsTrailer('# runtime.MemStats\n')).toThrow(/"Alloc" is missing/);
  });
});

describe('memstatsFromExpvar', () => {
  it('keeps only numeric MemStats fields', () => {
    const ms = memstatsFromExpvar(SAME_AS_JSON);
    expect(Object.keys(ms)).not.toContain('BySize');
    expect(Object.keys(ms)).not.toContain('EnableGC');
    expect(ms.Alloc).toBe(1000);
    expect(ms.PauseNs).toEqual([40, 10, 30, 20, 999, 0]);
  });

  it('rejects bad input with a clear error', () => {
    expect(() => memstatsFromExpvar(null)).toThrow(/not a JSON object/);
    expect(() => memstatsFromExpvar([])).toThrow(/not a JSON object/);
    expect(() => memstatsFromExpvar({ cmdline: [] })).toThrow('expvar: no "memstats" object');
    expect(() => memstatsFromExpvar({ memstats: [1, 2] })).toThrow('expvar: no "memstats" object');
    expect(() => memstatsFromExpvar({ memstats: { ...SAME_AS_JSON.memstats, Sys: '9000' } })).toThrow(/memstats\.Sys is not a number/);
    expect(() => memstatsFromExpvar({ memstats: { ...SAME_AS_JSON.memstats, PauseNs: 'x' } })).toThrow(/PauseNs/);
    const { HeapInuse: _, ...noInuse } = SAME_AS_JSON.memstats;
    expect(() => memstatsFromExpvar({ memstats: noInuse })).toThrow('expvar: MemStats field "HeapInuse" is missing');
  });
});

describe('memstatsMetrics', () => {
  const base = memstatsFromExpvar(SAME_AS_JSON);

  it('reproduces debug.ReadGCStats quantiles from the last NumGC entries of the ring', () => {
    // Index 4 (999) is not among the last 4 GCs and must not show up.
    expect(memstatsMetrics(base).gc).toEqual({
      name: 'go_gc_duration_seconds', help: expect.any(String), count: 4, sum: 100e-9,
      quantiles: [[0, 10e-9], [0.25, 20e-9], [0.5, 30e-9], [0.75, 40e-9], [1, 40e-9]],
    });
    // Five GCs: sorted [10 20 30 40 999], picks sorted[5*i/4] = 0,1,2,3 and the max.
    expect(memstatsMetrics({ ...base, NumGC: 5 }).gc!.quantiles.map(([, v]) => v * 1e9))
      .toEqual([10, 20, 30, 40, 999].map((x) => expect.closeTo(x, 6)));
  });

  it('uses the whole ring once it has wrapped, and counts all GCs', () => {
    const ring = Array.from({ length: 256 }, (_, i) => (i + 1) * 1000);
    const gc = memstatsMetrics({ ...base, NumGC: 1000, PauseNs: ring, PauseTotalNs: 2_500_000_000 }).gc!;
    expect(gc.count).toBe(1000);
    expect(gc.sum).toBe(2.5);
    // 256 sorted values: indices 0, 64, 128, 192 and the max.
    expect(gc.quantiles.map(([, v]) => Math.round(v * 1e9))).toEqual([1000, 65000, 129000, 193000, 256000]);
  });

  it('reports zero quantiles before the first GC, and no summary without GC fields', () => {
    const gc = memstatsMetrics({ ...base, NumGC: 0, PauseTotalNs: 0, PauseNs: new Array(256).fill(0) }).gc!;
    expect(gc).toMatchObject({ count: 0, sum: 0 });
    expect(gc.quantiles.map(([, v]) => v)).toEqual([0, 0, 0, 0, 0]);
    const { PauseNs: _, ...noRing } = base;
    expect(memstatsMetrics(noRing).gc).toBeUndefined();
  });

  it('leaves out the legacy metrics whose fields are missing, but needs the others', () => {
    const { Lookups: _l, GCCPUFraction: _g, ...rest } = base;
    const names = memstatsMetrics(rest).metrics.map((m) => m.name);
    expect(names).toHaveLength(EXPECTED.length - 2);
    expect(names).not.toContain('go_memstats_lookups_total');
    expect(names).not.toContain('go_memstats_gc_cpu_fraction');
    const { NextGC: _n, ...noNext } = base;
    expect(() => memstatsMetrics(noNext)).toThrow(/"NextGC"/);
  });
});
