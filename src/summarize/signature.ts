// Group a goroutine profile's samples into stack signatures.
//
// A signature is the sequence of function names of a stack, leaf to root,
// without the runtime frames Go's tracebacks hide (so a `debug=2` text dump
// of the same stack yields the same id). Its id is a 64-bit hash of those
// names (stackid.ts), 16 hex digits: stable across scrapes, exporter and
// target restarts, and rebuilds that keep the functions.
import type { ProfileIndex } from '../decode/validate.js';
import { hashKeys, MEMO_LIMITS, StackMemo, StackNames, type NameClassifier, type NameTable } from './stackmemo.js';
import { applicationKey, blockedOnFacts, classifyName, type BlockedOn } from './classify.js';
import { hashOut, idText, signatureIdOf, stackHash } from './stackid.js';
import { labelValue } from '../labelvalue.js';

export interface Frame { function: string; file: string; line: number; }

export interface Signature {
  id: string;
  count: number;
  function: string;
  blockedOn: BlockedOn;
  /** Visible frames (as in a traceback) of the most common stack with this signature. */
  frames: Frame[];
}

export interface GoroutineSummary {
  total: number;
  signatures: Signature[]; // sorted by count desc, then id
  /** Set by keepTop: distinct signatures in the profile, before the list was cut. */
  distinct?: number;
  /** Set by keepTop: goroutines of the signatures beyond the list. */
  beyond?: number;
}

/** Distinct signatures, whether or not the list was cut. */
export const distinctOf = (s: GoroutineSummary): number => s.distinct ?? s.signatures.length;

/**
 * The n largest signatures; the goroutines of the rest are summed in `beyond`,
 * so nothing is lost and the sum of counts plus beyond is still total.
 */
export function keepTop(s: GoroutineSummary, n: number): GoroutineSummary {
  if (s.signatures.length <= n) return s;
  let beyond = s.beyond ?? 0;
  for (let i = n; i < s.signatures.length; i++) beyond += s.signatures[i]!.count;
  return { total: s.total, signatures: s.signatures.slice(0, n), distinct: distinctOf(s), beyond };
}

/** Frames Go's traceback hides at the default GOTRACEBACK level (runtime.showfuncinfo). */
export function isHiddenFrame(name: string): boolean {
  if (!name.startsWith('runtime.')) return !name.includes('.');
  return !isExportedRuntime(name);
}

function isExportedRuntime(name: string): boolean {
  let rest = name.slice('runtime.'.length);
  let rcvr = '';
  const dot = rest.lastIndexOf('.');
  if (dot >= 0) {
    rcvr = rest.slice(0, dot).replace(/^\(\*(.*)\)$/, '$1');
    rest = rest.slice(dot + 1);
  }
  const upper = (s: string) => s.length > 0 && s[0]! >= 'A' && s[0]! <= 'Z';
  return upper(rest) && (rcvr === '' || upper(rcvr));
}

/**
 * The frames a signature is made of, the same for every source of one stack:
 * hidden frames (above) anywhere, and the leading `runtime.`/`internal/runtime/`
 * frames, which `debug=1` text never shows (pprof's printStackRecord) even when
 * exported (runtime.GC). Accepts names or frames.
 */
export function visibleNames<T extends string | { function: string }>(frames: readonly T[]): T[] {
  const name = (f: T): string => (typeof f === 'string' ? f : f.function);
  const leading = (n: string) => n.startsWith('runtime.') || n.startsWith('internal/runtime/') || isHiddenFrame(n);
  let i = 0;
  while (i < frames.length && leading(name(frames[i]!))) i++;
  return frames.slice(i).filter((f) => !isHiddenFrame(name(f)));
}

/** The id of a visible name sequence (leaf first). */
export function signatureId(names: readonly string[]): string {
  return signatureIdOf(names);
}

// Per name, beside classify.ts's facts: how visibleNames treats it.
const HIDDEN = 1 << 16;
const LEADING = 1 << 17; // skipped while it leads the stack

const GOROUTINE_NAMES: NameClassifier = {
  digests: true,
  flags(name) {
    let f = classifyName(name);
    if (isHiddenFrame(name)) f |= HIDDEN | LEADING;
    else if (name.startsWith('runtime.') || name.startsWith('internal/runtime/')) f |= LEADING;
    return f;
  },
};

// What a stack's names mean, computed once per name sequence (stackmemo.ts).
interface Meaning {
  slot: Slot;
  function: string;
  blocked: BlockedOn;
}

// One per signature id, shared by the name sequences that have that id, so
// grouping needs no map by id: it holds the totals of the current call
// (`epoch`). A memo serves one profile at a time, so calls never interleave.
interface Slot {
  /** The id's two halves, and as text once asked for. */
  readonly hi: number;
  readonly lo: number;
  id: string | undefined;
  epoch: number;
  function: string;
  count: number;
  blocked: BlockedOn;
  /** Only when a second kind shows up. */
  blockedCounts: Map<BlockedOn, number> | undefined;
  top: number; // the stack with the most goroutines (the first of equals)
  topCount: number;
}

/**
 * The memo's slots by id: open addressing on the id's low half (a hash
 * already), each cell holding slot + 1 and the id, so a probe reads one
 * cache line rather than a slot object.
 */
class Slots {
  epoch = 0;
  private cells = new Int32Array(3 * 1024);
  private readonly all: Slot[] = [];

  /** On a fresh table: room for n slots without growing on the way. */
  reserve(n: number): void {
    if (this.all.length > 0) return;
    let size = this.cells.length / 3;
    while (2 * (this.all.length + n) > size) size *= 2;
    if (size > this.cells.length / 3) this.grow(size);
  }

  get(hi: number, lo: number): Slot {
    const mask = this.cells.length / 3 - 1;
    let at = lo & mask;
    for (let s: number; (s = this.cells[3 * at]!) > 0; at = (at + 1) & mask) {
      if (this.cells[3 * at + 1] === (lo | 0) && this.cells[3 * at + 2] === (hi | 0)) return this.all[s - 1]!;
    }
    const slot: Slot = { hi, lo, id: undefined, epoch: -1, function: '', count: 0, blocked: 'other', blockedCounts: undefined, top: 0, topCount: 0 };
    this.all.push(slot);
    this.put(at, slot, this.all.length);
    if (2 * this.all.length > mask + 1) this.grow(2 * (mask + 1));
    return slot;
  }

  private grow(size: number): void {
    this.cells = new Int32Array(3 * size);
    const mask = size - 1;
    for (let s = 0; s < this.all.length; s++) {
      let a = this.all[s]!.lo & mask;
      while (this.cells[3 * a]! > 0) a = (a + 1) & mask;
      this.put(a, this.all[s]!, s + 1);
    }
  }

  private put(at: number, slot: Slot, n: number): void {
    this.cells[3 * at] = n;
    this.cells[3 * at + 1] = slot.lo;
    this.cells[3 * at + 2] = slot.hi;
  }
}

/** One target's memo of what its goroutine stacks mean (goroutine and goroutineleak profiles). */
export type GoroutineMemo = StackMemo<Meaning, Slots>;
export const goroutineMemo = (limits = MEMO_LIMITS): GoroutineMemo => new StackMemo<Meaning, Slots>(() => new Slots(), GOROUTINE_NAMES, limits);

/** First of keys[from..to) past the leading frames visibleNames drops. */
function firstVisible(keys: Uint32Array, from: number, to: number, flags: Uint32Array): number {
  let i = from;
  while (i < to && flags[keys[i]!]! & LEADING) i++;
  return i;
}

let words = new Uint32Array(512);

/** The meaning of the names keys[from..to). */
function meaningOf(keys: Uint32Array, from: number, to: number, table: NameTable, slots: Slots): Meaning {
  const { flags, digests } = table;
  if (words.length < 2 * (to - from)) words = new Uint32Array(4 * (to - from));
  let w = 0;
  for (let i = firstVisible(keys, from, to, flags); i < to; i++) {
    const k = keys[i]!;
    if (flags[k]! & HIDDEN) continue;
    words[w++] = digests[2 * k]!;
    words[w++] = digests[2 * k + 1]!;
  }
  stackHash(words, w);
  const fn = applicationKey(keys, from, to, flags);
  return {
    slot: slots.get(hashOut.hi, hashOut.lo),
    function: fn < 0 ? 'unknown' : table.label[fn]!, blocked: blockedOnFacts(keys, from, to, flags),
  };
}

/**
 * The profile's goroutines by signature; `memo` is the target's (a fresh one:
 * nothing carried over). With `keep`, the same as keepTop(…, keep), without
 * building the frames or ids of the signatures it would drop.
 */
export function groupGoroutines(idx: ProfileIndex, memo: GoroutineMemo = goroutineMemo(), keep = Infinity): GoroutineSummary {
  const { sampleCount, stackStart, stacks, values } = idx;
  const stride = idx.sampleTypes.length;

  // Pass 1: merge samples with the same location sequence (labels split
  // them). Open addressing over the sequences' hashes; a cell holds group + 1
  // and the hash, so a probe touches one cache line.
  const mask = (1 << Math.ceil(Math.log2(2 * sampleCount + 2))) - 1;
  const table = new Int32Array(2 * (mask + 1));
  const groupSample = new Int32Array(sampleCount);
  const groupCount = new Float64Array(sampleCount);
  let groups = 0;
  let total = 0;
  for (let i = 0; i < sampleCount; i++) {
    const count = values[i * stride]!;
    total += count;
    const h = hashKeys(stacks, stackStart[i]!, stackStart[i + 1]!) | 0;
    let at = h & mask;
    let g: number;
    while ((g = table[2 * at]! - 1) >= 0 && !(table[2 * at + 1] === h && sameStack(idx, groupSample[g]!, i))) at = (at + 1) & mask;
    if (g >= 0) {
      groupCount[g] = groupCount[g]! + count;
    } else {
      table[2 * at] = groups + 1;
      table[2 * at + 1] = h;
      groupSample[groups] = i;
      groupCount[groups++] = count;
    }
  }

  // Pass 2: a meaning per distinct stack; signatures merge stacks that differ
  // only in lines or hidden frames.
  const { table: nameTable, memo: meanings, extra: slots } = memo.begin();
  const call = ++slots.epoch;
  slots.reserve(groups); // at most once per memo: later profiles mostly find their slots
  const names = new StackNames(idx.locations, nameTable);
  const found: Slot[] = [];
  for (let g = 0; g < groups; g++) {
    const i = groupSample[g]!;
    const from = stackStart[i]!;
    const to = stackStart[i + 1]!;
    const h = names.hash(stacks, from, to);
    let m = meanings.get(h, names, stacks, from, to);
    if (!m) {
      const { keys, at, n } = meanings.stage(names, stacks, from, to);
      m = meaningOf(keys, at, at + n, nameTable, slots);
      meanings.set(h, m);
    }
    const count = groupCount[g]!;
    const s = m.slot;
    if (s.epoch !== call) {
      s.epoch = call;
      s.function = m.function;
      s.count = count;
      s.blocked = m.blocked;
      s.blockedCounts = undefined;
      s.top = i;
      s.topCount = count;
      found.push(s);
      continue;
    }
    if (count > s.topCount) { s.top = i; s.topCount = count; }
    if (m.blocked !== s.blocked || s.blockedCounts) {
      s.blockedCounts ??= new Map([[s.blocked, s.count]]);
      s.blockedCounts.set(m.blocked, (s.blockedCounts.get(m.blocked) ?? 0) + count);
    }
    s.count += count;
  }

  const distinct = found.length;
  let beyond = 0;
  if (distinct > keep) {
    selectSlots(found, keep);
    for (let i = keep; i < distinct; i++) beyond += found[i]!.count;
    found.length = keep;
  }
  sortSlots(found);
  const frames = new LocationFrames(idx, names);
  const signatures: Signature[] = found.map((s) => ({
    id: s.id ??= idText(s.hi, s.lo),
    count: s.count,
    function: s.function,
    blockedOn: s.blockedCounts ? dominant(s.blockedCounts) : s.blocked,
    frames: frames.visible(s.top),
  }));
  memo.done();
  return distinct > keep ? { total, signatures, distinct, beyond } : { total, signatures };
}

const bySlot = (x: Slot, y: Slot) => y.count - x.count || x.hi - y.hi || x.lo - y.lo;

/** Reorders a so that a[0..k) are its k first in bySlot order (quickselect). */
function selectSlots(a: Slot[], k: number): void {
  let lo = 0;
  let hi = a.length - 1;
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    // Median of three as the pivot, moved to hi.
    if (bySlot(a[mid]!, a[lo]!) < 0) swap(a, mid, lo);
    if (bySlot(a[hi]!, a[lo]!) < 0) swap(a, hi, lo);
    if (bySlot(a[mid]!, a[hi]!) < 0) swap(a, mid, hi);
    const pivot = a[hi]!;
    let store = lo;
    for (let i = lo; i < hi; i++) if (bySlot(a[i]!, pivot) < 0) swap(a, i, store++);
    swap(a, store, hi);
    if (store === k) return;
    if (store < k) lo = store + 1;
    else hi = store - 1;
  }
}

function swap(a: Slot[], i: number, j: number): void {
  const t = a[i]!;
  a[i] = a[j]!;
  a[j] = t;
}

/**
 * sortSignatures' order (count desc, then id). With counts below 2^21 and at
 * most 2^14 signatures, (count, top 18 bits of the id, index) fits one exact
 * double: a native typed-array sort, then the rare runs that share the
 * prefix sorted by the comparator. Several times faster than sorting objects.
 */
function sortSlots(found: Slot[]): void {
  const n = found.length;
  const ok = n <= 1 << 14 && found.every((s) => Number.isInteger(s.count) && s.count >= 0 && s.count < 2 ** 21);
  if (!ok) { found.sort(bySlot); return; }
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i++) keys[i] = (2 ** 21 - 1 - found[i]!.count) * 2 ** 32 + (found[i]!.hi >>> 14) * 2 ** 14 + i;
  keys.sort();
  const sorted = Array.from(keys, (k) => found[k % 2 ** 14]!);
  for (let i = 0, j = 0; i < n; i = j) {
    const prefix = Math.floor(keys[i]! / 2 ** 14);
    for (j = i + 1; j < n && Math.floor(keys[j]! / 2 ** 14) === prefix; j++);
    if (j - i > 1) sorted.splice(i, j - i, ...sorted.slice(i, j).sort(bySlot));
  }
  for (let i = 0; i < n; i++) found[i] = sorted[i]!;
}

function sameStack(idx: ProfileIndex, a: number, b: number): boolean {
  const { stackStart, stacks } = idx;
  const n = stackStart[a + 1]! - stackStart[a]!;
  if (n !== stackStart[b + 1]! - stackStart[b]!) return false;
  for (let i = 0, p = stackStart[a]!, q = stackStart[b]!; i < n; i++) if (stacks[p + i] !== stacks[q + i]) return false;
  return true;
}

// Frame objects once per location (stacks share most of their locations).
class LocationFrames {
  private readonly byLocation: (Frame[] | undefined)[];
  constructor(private readonly idx: ProfileIndex, private readonly names: StackNames) {
    this.byLocation = new Array<Frame[] | undefined>(idx.locations.length).fill(undefined); // packed, not holey
  }

  of(l: number): Frame[] {
    let frames = this.byLocation[l];
    if (!frames) {
      frames = this.idx.locations[l]!.frames.map((f) => ({ function: labelValue(f.fn.name), file: labelValue(f.fn.file), line: f.line }));
      this.byLocation[l] = frames;
    }
    return frames;
  }

  /** The visible frames (visibleNames) of sample i's stack. */
  visible(i: number): Frame[] {
    const { stackStart, stacks } = this.idx;
    const { start, flat, table: { flags } } = this.names;
    const out: Frame[] = [];
    let leading = true;
    for (let p = stackStart[i]!; p < stackStart[i + 1]!; p++) {
      const l = stacks[p]!;
      const frames = this.of(l);
      for (let q = start[l]!, j = 0; j < frames.length; q++, j++) {
        const f = flags[flat[q]!]!;
        if (leading) {
          if (f & LEADING) continue;
          leading = false;
        }
        if (!(f & HIDDEN)) out.push(frames[j]!);
      }
    }
    return out;
  }
}

/** By count, largest first; ties by id so the output is stable. */
export function sortSignatures(signatures: Signature[]): Signature[] {
  return signatures.sort((x, y) => y.count - x.count || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
}

// One signature can cover stacks parked in different places of the same
// functions; the label reports where most of its goroutines wait.
export function dominant(m: Map<BlockedOn, number>): BlockedOn {
  let best: BlockedOn = 'other';
  let n = -1;
  for (const [k, v] of m) if (v > n || (v === n && k < best)) { best = k; n = v; }
  return best;
}
