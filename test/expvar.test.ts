// The application's own numeric expvars, flattened into expvar_* metrics.
import { describe, expect, it } from 'vitest';
import { flattenExpvar, MAX_EXPVAR_DEPTH } from '../src/decode/expvar.js';
import { fixture, goVersions, meta } from './helpers/fixtures.js';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const all = (vars: unknown) => flattenExpvar(vars, Infinity);

/** {k: {k: … leaf}} with the leaf `depth` keys down. */
function nested(depth: number, leaf: unknown = 1): Record<string, unknown> {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = { k: v };
  return v as Record<string, unknown>;
}

describe('flattenExpvar', () => {
  it('flattens nested numbers with dotted paths and ignores everything else', () => {
    const { numbers, dropped } = all({
      requests: 12,
      http: { requests: { GET: 3, POST: 4.5 }, up: true, name: 'api', codes: [200, 404], none: null },
      neg: -1,
      text: '7',
    });
    expect(numbers).toEqual([
      { metric: 'expvar_http_requests_GET', path: 'http.requests.GET', value: 3 },
      { metric: 'expvar_http_requests_POST', path: 'http.requests.POST', value: 4.5 },
      { metric: 'expvar_neg', path: 'neg', value: -1 },
      { metric: 'expvar_requests', path: 'requests', value: 12 },
    ]);
    expect(dropped).toBe(0);
  });

  it('skips only the top-level cmdline and memstats', () => {
    const { numbers } = all({ cmdline: ['/app', '-x'], memstats: { Alloc: 1 }, svc: { memstats: 2, cmdline: 3 } });
    expect(numbers.map((n) => n.path)).toEqual(['svc.cmdline', 'svc.memstats']);
  });

  it('sanitises every character outside [a-zA-Z0-9_] into a valid metric name', () => {
    const { numbers } = all({ 'foo-bar': 1, 'a b/c': 2, '9lives': 3, 'naïve': 4, '😀': 5, '': 6 });
    expect(Object.fromEntries(numbers.map((n) => [n.path, n.metric]))).toEqual({
      'foo-bar': 'expvar_foo_bar', 'a b/c': 'expvar_a_b_c', '9lives': 'expvar_9lives',
      'naïve': 'expvar_na_ve', '😀': 'expvar__', '': 'expvar_',
    });
    for (const n of numbers) expect(n.metric).toMatch(METRIC_NAME);
  });

  it('keeps colliding names apart by path, sorted by metric then path', () => {
    const { numbers, dropped } = all({ foo_bar: 3, 'foo-bar': 2, foo: { bar: 1 }, 'x-y': 5, x: { a: 4 } });
    expect(numbers).toEqual([
      { metric: 'expvar_foo_bar', path: 'foo-bar', value: 2 },
      { metric: 'expvar_foo_bar', path: 'foo.bar', value: 1 },
      { metric: 'expvar_foo_bar', path: 'foo_bar', value: 3 },
      // By metric first: "x-y" sorts before "x.a" as a path, but not as a metric.
      { metric: 'expvar_x_a', path: 'x.a', value: 4 },
      { metric: 'expvar_x_y', path: 'x-y', value: 5 },
    ]);
    expect(dropped).toBe(0);
    // Same result whatever the key order.
    expect(all({ x: { a: 4 }, 'x-y': 5, foo: { bar: 1 }, 'foo-bar': 2, foo_bar: 3 }).numbers).toEqual(numbers);
  });

  it('keeps one series per path: a dotted key and a nested one with the same path count as dropped', () => {
    const { numbers, dropped } = all({ 'a.b': 1, a: { b: 2 } });
    expect(numbers).toEqual([{ metric: 'expvar_a_b', path: 'a.b', value: 1 }]);
    expect(dropped).toBe(1);
  });

  it('keeps the first `cap` numbers in sorted order and counts the rest', () => {
    const vars = { e: 5, d: 4, c: { z: 3 }, b: 2, a: 1 };
    expect(flattenExpvar(vars, 2)).toEqual({
      numbers: [{ metric: 'expvar_a', path: 'a', value: 1 }, { metric: 'expvar_b', path: 'b', value: 2 }],
      dropped: 3,
    });
    expect(flattenExpvar(vars, 0)).toEqual({ numbers: [], dropped: 5 });
    expect(flattenExpvar(vars, 5).dropped).toBe(0);
    expect(flattenExpvar(vars, 100).numbers).toHaveLength(5);
    for (const bad of [-1, 1.5, NaN]) expect(() => flattenExpvar(vars, bad)).toThrow(/cap/);
  });

  it(`follows ${MAX_EXPVAR_DEPTH} levels and counts deeper numbers as dropped`, () => {
    const ok = all(nested(MAX_EXPVAR_DEPTH));
    expect(ok.numbers.map((n) => n.path)).toEqual([Array(MAX_EXPVAR_DEPTH).fill('k').join('.')]);
    expect(ok.dropped).toBe(0);
    const deep = all({ ...nested(MAX_EXPVAR_DEPTH, { x: 1, y: 2, s: 'no' }), top: 1 });
    expect(deep.numbers.map((n) => n.path)).toEqual(['top']);
    expect(deep.dropped).toBe(2);
  });

  it('does not overflow the stack on very deep or very wide input', () => {
    expect(all(nested(200_000))).toEqual({ numbers: [], dropped: 1 });
    const wide = Object.fromEntries(Array.from({ length: 200_000 }, (_, i) => [`k${i}`, i]));
    const r = flattenExpvar({ wide }, 10);
    expect(r.numbers).toHaveLength(10);
    expect(r.dropped).toBe(199_990);
    const cyclic: Record<string, unknown> = { n: 1 };
    cyclic.self = cyclic;
    expect(all({ c: cyclic }).numbers.map((n) => n.path)).toEqual(['c.n']);
  });

  it('rejects input that is not a JSON object', () => {
    for (const bad of [null, undefined, 42, 'vars', [1, 2]]) {
      expect(() => flattenExpvar(bad, 10)).toThrow('expvar: /debug/vars is not a JSON object');
    }
  });
});

describe.each(goVersions())('expvar numbers from %s', (version) => {
  const vars: unknown = JSON.parse(fixture(version, 'vars.json').toString('utf8'));

  it('publishes the leaky program counters and nothing from cmdline or memstats', () => {
    const { numbers, dropped } = flattenExpvar(vars, 100);
    expect(dropped).toBe(0);
    // The program's numeric flags (-sendleak=7 …) are its goroutines per shape.
    const shapes = Object.fromEntries(meta(version).flags.flatMap((f) => {
      const m = /^-(\w+)=(\d+)$/.exec(f);
      return m ? [[`goroutines_started_by_shape.${m[1]}`, Number(m[2])]] : [];
    }));
    // Every shape but the (idle, reachable) worker pool is a leak.
    const leaked = Object.entries(shapes).reduce((a, [k, v]) => (k.endsWith('.pool') ? a : a + v), 0);
    expect(Object.fromEntries(numbers.map((n) => [n.path, n.value]))).toEqual({ ...shapes, leaked_goroutines_started: leaked });
    expect(numbers.find((n) => n.path === 'leaked_goroutines_started')).toEqual(
      { metric: 'expvar_leaked_goroutines_started', path: 'leaked_goroutines_started', value: 27 });
    expect(numbers.find((n) => n.path === 'goroutines_started_by_shape.sendleak')?.metric).toBe('expvar_goroutines_started_by_shape_sendleak');
    const keys = numbers.map((n) => `${n.metric}\u0000${n.path}`);
    expect(keys).toEqual([...keys].sort());
    for (const n of numbers) expect(n.metric).toMatch(METRIC_NAME);
  });

  it('drops the overflow past the cap', () => {
    const { numbers, dropped } = flattenExpvar(vars, 3);
    expect(numbers).toHaveLength(3);
    expect(dropped).toBe(5);
  });
});
