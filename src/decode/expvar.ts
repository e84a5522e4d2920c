// The application's own numeric expvars from /debug/vars, flattened to
// expvar_<sanitised path>{path="<original path>"} so any of them can be graphed.
import { labelValue } from '../labelvalue.js';

/** metric = 'expvar_' + sanitised path; path = original dotted path, e.g. "http.requests.GET". */
export interface ExpvarNumber { metric: string; path: string; value: number; }

/** Nesting levels followed below /debug/vars; numbers deeper down count as dropped. */
export const MAX_EXPVAR_DEPTH = 8;

// Published by the expvar package itself: cmdline is a string list, memstats
// becomes the go_memstats_* metrics.
const SKIPPED = new Set(['cmdline', 'memstats']);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** 'expvar_' + the path with every character outside [a-zA-Z0-9_] made '_'; always a valid metric name. */
export function expvarMetricName(path: string): string {
  return 'expvar_' + path.replace(/[^a-zA-Z0-9_]/gu, '_');
}

// Code-unit order, so the result does not depend on the locale.
const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function flattenExpvar(vars: unknown, cap: number): { numbers: ExpvarNumber[]; dropped: number } {
  if (!isObject(vars)) throw new Error('expvar: /debug/vars is not a JSON object');
  if (!(cap >= 0) || (Number.isFinite(cap) && !Number.isInteger(cap))) {
    throw new Error(`expvar: cap must be a non-negative integer, got ${cap}`);
  }
  const found = new Map<string, number>();
  let dropped = 0;
  // An explicit stack instead of recursion: a deeply nested body cannot overflow ours.
  const stack: { path: string; depth: number; value: unknown }[] = Object.entries(vars)
    .filter(([k]) => !SKIPPED.has(k))
    .map(([k, value]) => ({ path: k, depth: 1, value }))
    .reverse();
  const seen = new WeakSet<object>(); // JSON has no cycles, but an arbitrary object may
  while (stack.length > 0) {
    const { path: fullPath, depth, value } = stack.pop()!;
    if (typeof value === 'number' && Number.isFinite(value)) {
      const path = labelValue(fullPath);
      if (depth > MAX_EXPVAR_DEPTH) dropped++;
      // {"a.b": 1, "a": {"b": 2}} gives two "a.b": one series only, the other is dropped.
      else if (found.has(path)) dropped++;
      else found.set(path, value);
    } else if (isObject(value) && !seen.has(value)) {
      seen.add(value);
      const entries = Object.entries(value);
      // Pushed in reverse so that the walk is in document order (which "a.b" wins);
      // a loop, not push(...), which fails on objects with very many keys.
      for (let i = entries.length - 1; i >= 0; i--) {
        const [k, v] = entries[i]!;
        // Past the limit numbers are only counted: skip building long paths.
        stack.push({ path: depth < MAX_EXPVAR_DEPTH ? `${fullPath}.${k}` : '', depth: depth + 1, value: v });
      }
    }
  }
  const all = [...found].map(([path, value]) => ({ metric: expvarMetricName(path), path, value }));
  all.sort((a, b) => cmp(a.metric, b.metric) || cmp(a.path, b.path));
  const kept = all.slice(0, cap);
  return { numbers: kept, dropped: dropped + all.length - kept.length };
}
