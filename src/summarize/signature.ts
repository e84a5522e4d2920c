// Group a goroutine profile's samples into stack signatures.
//
// A signature is the sequence of function names of a stack, leaf to root,
// without the runtime frames Go's tracebacks hide (so a `debug=2` text dump
// of the same stack yields the same id). Its id is the first 16 hex digits of
// the SHA-256 of those names joined by "\n": stable across scrapes, exporter
// and target restarts, and rebuilds that keep the functions.
import crypto from 'node:crypto';
import type { ProfileIndex } from '../decode/validate.js';
import { hashKeys, StackMemo, StackNames, type NameTable } from './stackmemo.js';
import { applicationFunction, blockedOn, type BlockedOn } from './classify.js';
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

// crypto.hash (Node >= 20.12) skips the Hash object: a third faster on short input.
const sha256 = (s: string): string => (typeof crypto.hash === 'function'
  ? crypto.hash('sha256', s, 'hex')
  : crypto.createHash('sha256').update(s).digest('hex'));

export function signatureId(names: readonly string[]): string {
  return sha256(names.join('\n')).slice(0, 16);
}

// What a stack's names mean, computed once per name sequence (namememo.ts).
interface Meaning {
  slot: Slot;
  function: string;
  blocked: BlockedOn;
  /** Positions of the visible frames among all of the stack's frames. */
  visible: Uint32Array;
}

// One per signature id, shared by the name sequences that have that id, so
// grouping needs no map by id: it holds the totals of the current call
// (`epoch`). A memo serves one profile at a time, so calls never interleave.
interface Slot {
  readonly id: string;
  /** id as two numbers, for sorting without comparing strings. */
  readonly hi: number;
  readonly lo: number;
  epoch: number;
  function: string;
  count: number;
  blocked: BlockedOn;
  /** Only when a second kind shows up. */
  blockedCounts: Map<BlockedOn, number> | undefined;
  top: number; // the stack with the most goroutines (the first of equals)
  topCount: number;
  topVisible: Uint32Array; // its visible frames' positions (hidden frames may differ)
}

interface Slots { byId: Map<string, Slot>; epoch: number; }

/** One target's memo of what its goroutine stacks mean (goroutine and goroutineleak profiles). */
export type GoroutineMemo = StackMemo<Meaning, Slots>;
export const goroutineMemo = (): GoroutineMemo => new StackMemo<Meaning, Slots>(() => ({ byId: new Map(), epoch: 0 }));

function slotOf(slots: Slots, id: string): Slot {
  let slot = slots.byId.get(id);
  if (!slot) {
    slot = {
      id, hi: parseInt(id.slice(0, 8), 16), lo: parseInt(id.slice(8, 16), 16), epoch: -1, function: '', count: 0,
      blocked: 'other', blockedCounts: undefined, top: 0, topCount: 0, topVisible: new Uint32Array(0),
    };
    slots.byId.set(id, slot);
  }
  return slot;
}

function meaningOf(keys: Uint32Array, table: NameTable, slots: Slots): Meaning {
  const all: { function: string; at: number }[] = [];
  const names: string[] = [];
  for (let i = 0; i < keys.length; i++) {
    const name = table.name(keys[i]!);
    all.push({ function: name, at: i });
    names.push(name);
  }
  const visible = visibleNames(all);
  return {
    slot: slotOf(slots, signatureId(visible.map((f) => f.function))),
    function: labelValue(applicationFunction(names)), blocked: blockedOn(names), visible: Uint32Array.from(visible, (f) => f.at),
  };
}

/** The profile's goroutines by signature; `memo` is the target's (a fresh one: nothing carried over). */
export function groupGoroutines(idx: ProfileIndex, memo: GoroutineMemo = goroutineMemo()): GoroutineSummary {
  const { sampleCount, stackStart, stacks, values } = idx;
  const stride = idx.sampleTypes.length;

  // Pass 1: merge samples with the same location sequence (labels split
  // them). Open addressing over the sequences' hashes.
  const mask = (1 << Math.ceil(Math.log2(2 * sampleCount + 2))) - 1;
  const table = new Int32Array(mask + 1).fill(-1);
  const groupSample = new Int32Array(sampleCount);
  const groupHash = new Int32Array(sampleCount);
  const groupCount = new Float64Array(sampleCount);
  let groups = 0;
  let total = 0;
  for (let i = 0; i < sampleCount; i++) {
    const count = values[i * stride]!;
    total += count;
    const h = hashKeys(stacks, stackStart[i]!, stackStart[i + 1]!) | 0;
    let at = h & mask;
    let g: number;
    while ((g = table[at]!) >= 0 && !(groupHash[g] === h && sameStack(idx, groupSample[g]!, i))) at = (at + 1) & mask;
    if (g >= 0) {
      groupCount[g] = groupCount[g]! + count;
    } else {
      table[at] = groups;
      groupSample[groups] = i;
      groupHash[groups] = h;
      groupCount[groups++] = count;
    }
  }

  // Pass 2: a meaning per distinct stack; signatures merge stacks that differ
  // only in lines or hidden frames.
  const { table: nameTable, memo: meanings, extra: slots } = memo.begin();
  const call = ++slots.epoch;
  const names = new StackNames(idx.locations, nameTable);
  const found: Slot[] = [];
  for (let g = 0; g < groups; g++) {
    const i = groupSample[g]!;
    const from = stackStart[i]!;
    const to = stackStart[i + 1]!;
    const h = names.hash(stacks, from, to);
    let m = meanings.get(h, names, stacks, from, to);
    if (!m) {
      const keys = names.keys(stacks, from, to);
      m = meaningOf(keys, nameTable, slots);
      meanings.set(h, keys, m);
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
      s.topVisible = m.visible;
      found.push(s);
      continue;
    }
    if (count > s.topCount) { s.top = i; s.topCount = count; s.topVisible = m.visible; }
    if (m.blocked !== s.blocked || s.blockedCounts) {
      s.blockedCounts ??= new Map([[s.blocked, s.count]]);
      s.blockedCounts.set(m.blocked, (s.blockedCounts.get(m.blocked) ?? 0) + count);
    }
    s.count += count;
  }

  sortSlots(found);
  const frames = new LocationFrames(idx);
  const signatures: Signature[] = found.map((s) => ({
    id: s.id,
    count: s.count,
    function: s.function,
    blockedOn: s.blockedCounts ? dominant(s.blockedCounts) : s.blocked,
    frames: frames.pick(s.top, s.topVisible),
  }));
  memo.done();
  return { total, signatures };
}

const bySlot = (x: Slot, y: Slot) => y.count - x.count || x.hi - y.hi || x.lo - y.lo;

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
  private readonly byLocation: (Frame[] | undefined)[] = [];
  constructor(private readonly idx: ProfileIndex) {}

  of(l: number): Frame[] {
    let frames = this.byLocation[l];
    if (!frames) {
      frames = this.idx.locations[l]!.frames.map((f) => ({ function: labelValue(f.fn.name), file: labelValue(f.fn.file), line: f.line }));
      this.byLocation[l] = frames;
    }
    return frames;
  }

  /** The frames at the given positions of sample i's stack. */
  pick(i: number, positions: Uint32Array): Frame[] {
    const out = new Array<Frame>(positions.length);
    let at = 0; // position of the location's first frame
    let next = 0;
    const { stackStart, stacks } = this.idx;
    for (let p = stackStart[i]!; p < stackStart[i + 1]! && next < positions.length; p++) {
      const frames = this.of(stacks[p]!);
      while (next < positions.length && positions[next]! < at + frames.length) {
        out[next] = frames[positions[next]! - at]!;
        next++;
      }
      at += frames.length;
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
