// Group a heap profile by allocation site: the function that allocated,
// with in-use and cumulative bytes and objects per function.
import { ScrapeError } from '../errors.js';
import { inconsistent, type ProfileIndex } from '../decode/validate.js';
import { applicationFunction, applicationKey, classifyName } from './classify.js';
import { MEMO_LIMITS, StackMemo, StackNames, type NameClassifier, type NameTable } from './stackmemo.js';

export interface HeapValues { inuseBytes: number; inuseObjects: number; allocBytes: number; allocObjects: number; }
export interface HeapSite extends HeapValues { function: string; }
export interface HeapSummary {
  totals: HeapValues;
  sites: HeapSite[]; // by inuseBytes desc, then allocBytes desc, then name
  /** Set by keepTopSites: distinct sites before the list was cut. */
  distinct?: number;
  /** Set by keepTopSites: the sites beyond the list, summed. */
  beyond?: HeapValues;
}

/** The n largest sites, the rest summed in `beyond`. */
export function keepTopSites(s: HeapSummary, n: number): HeapSummary {
  if (s.sites.length <= n) return s;
  const beyond: HeapValues = { inuseBytes: 0, inuseObjects: 0, allocBytes: 0, allocObjects: 0, ...s.beyond };
  for (const x of s.sites.slice(n)) {
    beyond.inuseBytes += x.inuseBytes;
    beyond.inuseObjects += x.inuseObjects;
    beyond.allocBytes += x.allocBytes;
    beyond.allocObjects += x.allocObjects;
  }
  return { totals: s.totals, sites: s.sites.slice(0, n), distinct: s.distinct ?? s.sites.length, beyond };
}

const TYPES = { allocObjects: 'alloc_objects', allocBytes: 'alloc_space', inuseObjects: 'inuse_objects', inuseBytes: 'inuse_space' } as const;

// Standard-library helpers that allocate on behalf of their caller: when a
// stack has no application frame, the caller is the site, not the helper.
const ALLOCATION_HELPERS = new Set([
  'bytes.growSlice', 'bytes.(*Buffer).grow', 'bytes.(*Buffer).Grow', 'bytes.(*Buffer).Write',
  'bytes.(*Buffer).WriteString', 'bytes.(*Buffer).WriteByte', 'bytes.(*Buffer).ReadFrom',
  'strings.(*Builder).grow', 'strings.(*Builder).Grow', 'strings.(*Builder).Write',
  'strings.(*Builder).WriteString', 'strings.(*Builder).WriteByte', 'strings.Repeat',
  'reflect.unsafe_New', 'reflect.unsafe_NewArray', 'reflect.New', 'reflect.MakeSlice', 'reflect.MakeMapWithSize',
  'reflect.growslice', 'io.ReadAll', 'bufio.NewReaderSize', 'bufio.NewWriterSize',
]);

export const isAllocationHelper = (name: string): boolean => ALLOCATION_HELPERS.has(name);

// The runtime's allocator entry points: never the answer to "who allocated".
const MALLOC_FRAME = /^runtime\.(mallocgc|newobject|newarray|makeslice|growslice|makemap|makechan|rawstring|rawbyteslice|rawruneslice|concatstring|slicebytetostring|slicerunetostring|stringtoslice|convT|mapassign|hashGrow)/;

/** The allocation site of a stack (leaf first); for runtime-only stacks, the runtime function past the allocator. */
export function allocationSite(names: readonly string[]): string {
  const fn = applicationFunction(names, isAllocationHelper);
  if (!MALLOC_FRAME.test(fn)) return fn;
  return names.find((n) => !MALLOC_FRAME.test(n)) ?? fn;
}

// Heap values are counts and byte sizes: never negative; their sums must be
// exact doubles, or the counters rendered from them could move backwards.
function checkHeapValues(idx: ProfileIndex, totals: HeapValues): void {
  const { values } = idx;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!(v >= 0 && v <= Number.MAX_SAFE_INTEGER)) {
      const type = idx.sampleTypes[i % idx.sampleTypes.length]!.type;
      inconsistent(`heap sample ${Math.floor(i / idx.sampleTypes.length)} has ${type} ${v}`);
    }
  }
  for (const [k, v] of Object.entries(totals)) {
    if (!(v <= Number.MAX_SAFE_INTEGER)) inconsistent(`heap ${TYPES[k as keyof HeapValues]} adds up to ${v}, past 2^53`);
  }
}

function valueIndexes(idx: ProfileIndex): Record<keyof HeapValues, number> {
  const names = idx.sampleTypes.map((t) => t.type);
  const out = {} as Record<keyof HeapValues, number>;
  for (const [key, type] of Object.entries(TYPES) as [keyof HeapValues, string][]) {
    const i = names.indexOf(type);
    if (i < 0) {
      throw new ScrapeError('validating', 'PPROF_INVALID_PROFILE',
        `malformed profile: expected a heap profile (sample types ${Object.values(TYPES).join(', ')}), got sample types: ${idx.sampleTypes.map((t) => `${t.type}/${t.unit}`).join(', ') || 'none'}`);
    }
    out[key] = i;
  }
  return out;
}

// Per name, beside classify.ts's facts: allocationSite's two questions.
const HELPER = 1 << 16;
const MALLOC = 1 << 17;

const HEAP_NAMES: NameClassifier = {
  digests: false,
  flags: (name) => classifyName(name) | (isAllocationHelper(name) ? HELPER : 0) | (MALLOC_FRAME.test(name) ? MALLOC : 0),
};

/** allocationSite over the names keys[from..to), as a label value. */
function siteOf(keys: Uint32Array, from: number, to: number, table: NameTable): string {
  const { flags } = table;
  let fn = applicationKey(keys, from, to, flags, HELPER);
  if (fn < 0) return 'unknown';
  if (flags[fn]! & MALLOC) {
    for (let i = from; i < to; i++) if (!(flags[keys[i]!]! & MALLOC)) { fn = keys[i]!; break; }
  }
  return table.label[fn]!;
}

/** One target's memo of its stacks' allocation sites (stackmemo.ts). */
export type HeapMemo = StackMemo<string>;
export const heapMemo = (limits = MEMO_LIMITS): HeapMemo => new StackMemo<string>(() => undefined, HEAP_NAMES, limits);

/** The profile by allocation site; `memo` is the target's (a fresh one: nothing carried over). */
export function groupHeap(idx: ProfileIndex, memo: HeapMemo = heapMemo()): HeapSummary {
  const at = valueIndexes(idx);
  const [ib, io, ab, ao] = [at.inuseBytes, at.inuseObjects, at.allocBytes, at.allocObjects];
  const stride = idx.sampleTypes.length;
  const { stackStart, stacks, values } = idx;
  const totals: HeapValues = { inuseBytes: 0, inuseObjects: 0, allocBytes: 0, allocObjects: 0 };
  const byFunction = new Map<string, HeapSite>();
  const { table, memo: sites } = memo.begin();
  const names = new StackNames(idx.locations, table);
  for (let i = 0; i < idx.sampleCount; i++) {
    const from = stackStart[i]!;
    const to = stackStart[i + 1]!;
    const h = names.hash(stacks, from, to);
    let fn = sites.get(h, names, stacks, from, to);
    if (fn === undefined) {
      const { keys, at, n } = sites.stage(names, stacks, from, to);
      fn = siteOf(keys, at, at + n, table);
      sites.set(h, fn);
    }
    let site = byFunction.get(fn);
    if (!site) {
      site = { function: fn, inuseBytes: 0, inuseObjects: 0, allocBytes: 0, allocObjects: 0 };
      byFunction.set(fn, site);
    }
    const v = i * stride;
    site.inuseBytes += values[v + ib]!;
    site.inuseObjects += values[v + io]!;
    site.allocBytes += values[v + ab]!;
    site.allocObjects += values[v + ao]!;
    totals.inuseBytes += values[v + ib]!;
    totals.inuseObjects += values[v + io]!;
    totals.allocBytes += values[v + ab]!;
    totals.allocObjects += values[v + ao]!;
  }
  memo.done();
  checkHeapValues(idx, totals);
  const sorted = [...byFunction.values()].sort((a, b) =>
    b.inuseBytes - a.inuseBytes || b.allocBytes - a.allocBytes || (a.function < b.function ? -1 : 1));
  return { totals, sites: sorted };
}
