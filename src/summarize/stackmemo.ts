// What a stack's function names mean (signature id, function, blocked_on,
// allocation site) depends on the names alone, and a target shows the same
// stacks scrape after scrape: so those answers are memoized per target, by
// the stack's name sequence. Names become small integers (interned in the
// target's own table), a stack a hash of those, checked against the stored
// sequence on a hit, so a hash collision never lends a stack another's answer.
//
// A StackMemo belongs to one target and is used by one profile at a time. It
// grows freely while a profile is read (the profile is bounded by
// max_decompressed_bytes) and starts over only after a profile that left it
// over its cap: a table is never emptied under a profile that still holds
// its keys. Past its cap it stops storing (the profile's other stacks are
// named afresh, as cheaply as Go parses them), so a profile of a million
// distinct stacks does not also hold a million memo entries.

import { labelValue } from '../labelvalue.js';
import { nameDigest } from './stackid.js';

/** Names and memo entries a target's memo keeps from one profile to the next. */
export const MEMO_LIMITS = Object.freeze({ names: 1 << 16, entries: 1 << 15 });

/** What a memo's user wants known of each name, once per name: flags, and optionally its id digest. */
export interface NameClassifier { flags(name: string): number; digests: boolean; }

/**
 * Function names as small integers, for one memo, with what is known of each
 * name: flags[key], label[key] (the name as a label value) and, when asked
 * for, digests[2 key..2 key + 2) (stackid.ts).
 */
export class NameTable {
  private readonly names: string[] = [];
  private readonly keyOf = new Map<string, number>();
  readonly label: string[] = [];
  flags: Uint32Array = new Uint32Array(256);
  digests: Uint32Array = new Uint32Array(0);

  constructor(private readonly classifier: NameClassifier = { flags: () => 0, digests: false }) {
    if (classifier.digests) this.digests = new Uint32Array(512);
  }

  key(name: string): number {
    let k = this.keyOf.get(name);
    if (k === undefined) {
      k = this.names.length;
      this.names.push(name);
      this.keyOf.set(name, k);
      this.describe(name, k);
    }
    return k;
  }

  private describe(name: string, k: number): void {
    if (k >= this.flags.length) this.flags = grown(this.flags);
    this.flags[k] = this.classifier.flags(name);
    this.label.push(labelValue(name));
    if (this.classifier.digests) {
      if (2 * k + 2 > this.digests.length) this.digests = grown(this.digests);
      nameDigest(name, this.digests, 2 * k);
    }
  }

  name(key: number): string {
    return this.names[key]!;
  }

  get size(): number {
    return this.names.length;
  }
}

function grown(a: Uint32Array): Uint32Array {
  const b = new Uint32Array(2 * a.length);
  b.set(a);
  return b;
}

/** Hash of keys[start..end): FNV-style multiply-xor, mixed at the end. */
export function hashKeys(keys: Uint32Array, start: number, end: number): number {
  let h = 0x811c9dc5 ^ (end - start);
  for (let i = start; i < end; i++) h = Math.imul(h ^ keys[i]!, 0x01000193) ^ (h >>> 15);
  return finish(h);
}

function finish(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  return (h ^ (h >>> 13)) >>> 0;
}

/** A stored sequence: keys pool[at..at + n). */
interface Entry<V> { at: number; n: number; value: V; next: Entry<V> | undefined; }

/**
 * A profile's stacks (sequences of location indexes) as name sequences,
 * without copying them: each location's frames' name keys and their hash.
 */
export class StackNames {
  /** Location l's frames' name keys are flat[start[l]..start[l + 1]). */
  readonly start: Uint32Array;
  readonly flat: Uint32Array;
  private readonly locationHash: Uint32Array;

  constructor(locations: readonly { frames: readonly { fn: { name: string } }[] }[], readonly table: NameTable) {
    this.start = new Uint32Array(locations.length + 1);
    let n = 0;
    for (let l = 0; l < locations.length; l++) { n += locations[l]!.frames.length; this.start[l + 1] = n; }
    this.flat = new Uint32Array(n);
    this.locationHash = new Uint32Array(locations.length);
    n = 0;
    for (let l = 0; l < locations.length; l++) {
      for (const f of locations[l]!.frames) this.flat[n++] = table.key(f.fn.name);
      this.locationHash[l] = hashKeys(this.flat, this.start[l]!, n);
    }
  }

  /**
   * Hash of stack[from..to) by its locations' name hashes. The same names
   * split differently into (inlined) locations hash differently: that only
   * stores a sequence twice, as matches() compares the names themselves.
   */
  hash(stack: Uint32Array, from: number, to: number): number {
    let h = 0x811c9dc5 ^ (to - from);
    for (let p = from; p < to; p++) h = Math.imul(h ^ this.locationHash[stack[p]!]!, 0x01000193) ^ (h >>> 15);
    return finish(h);
  }

  /** Whether keys[at..at + n) is the name sequence of stack[from..to). */
  matches(keys: Uint32Array, at: number, n: number, stack: Uint32Array, from: number, to: number): boolean {
    let k = at;
    const end = at + n;
    for (let p = from; p < to; p++) {
      const l = stack[p]!;
      const e = this.start[l + 1]!;
      if (k + e - this.start[l]! > end) return false;
      for (let q = this.start[l]!; q < e; q++) if (keys[k++] !== this.flat[q]) return false;
    }
    return k === end;
  }

  /** How many name keys stack[from..to) has. */
  count(stack: Uint32Array, from: number, to: number): number {
    let n = 0;
    for (let p = from; p < to; p++) n += this.start[stack[p]! + 1]! - this.start[stack[p]!]!;
    return n;
  }

  /** Writes the name keys of stack[from..to) (leaf first, innermost inlined function first) to out[at..). */
  copy(stack: Uint32Array, from: number, to: number, out: Uint32Array, at: number): void {
    for (let p = from; p < to; p++) {
      const l = stack[p]!;
      for (let q = this.start[l]!, e = this.start[l + 1]!; q < e; q++) out[at++] = this.flat[q]!;
    }
  }
}

// Map keys V8 keeps as small integers (a 32-bit one would be a heap number):
// two hashes sharing these bits only share a chain, which compares names.
const SMI = 0x3fffffff;

/** Name sequence → value, inside one StackMemo; stores up to `room` entries. */
export class NameSequenceMemo<V> {
  private byHash = new Map<number, Entry<V>>();
  size = 0;
  /** A set() found it full. */
  overflowed = false;
  // Every stored sequence's keys, end to end: one buffer, not one array each.
  private pool = new Uint32Array(4096);
  private used = 0;

  constructor(private readonly room: number) {}

  /** The value stored for the names of stack[from..to), whose names.hash() is hash. */
  get(hash: number, names: StackNames, stack: Uint32Array, from: number, to: number): V | undefined {
    for (let e = this.byHash.get(hash & SMI); e; e = e.next) {
      if (names.matches(this.pool, e.at, e.n, stack, from, to)) return e.value;
    }
    return undefined;
  }

  /**
   * After a get() that missed: the names of stack[from..to) written where
   * set() would keep them, so they are copied once; staged.keys[staged.at..
   * staged.at + staged.n) until the next stage().
   */
  stage(names: StackNames, stack: Uint32Array, from: number, to: number): { keys: Uint32Array; at: number; n: number } {
    const n = names.count(stack, from, to);
    if (this.used + n > this.pool.length) {
      const grown = new Uint32Array(Math.max(2 * this.pool.length, this.used + n));
      grown.set(this.pool.subarray(0, this.used));
      this.pool = grown;
    }
    names.copy(stack, from, to, this.pool, this.used);
    this.staged.keys = this.pool;
    this.staged.at = this.used;
    this.staged.n = n;
    return this.staged;
  }

  private readonly staged = { keys: this.pool, at: 0, n: 0 };

  /** Keeps the value for the names last staged, whose names.hash() is hash, if there is room. */
  set(hash: number, value: V): void {
    if (this.size >= this.room) { this.overflowed = true; return; }
    this.byHash.set(hash & SMI, { at: this.used, n: this.staged.n, value, next: this.byHash.get(hash & SMI) });
    this.used += this.staged.n;
    this.size++;
  }
}

/**
 * One target's memo: its name table and the memos keyed by it. `begin()`
 * before each profile; `T` is what the user keeps per name sequence, and
 * `extra` per-memo state that must be forgotten with it.
 */
export class StackMemo<T, X = undefined> {
  private state!: { table: NameTable; memo: NameSequenceMemo<T>; extra: X };

  constructor(private readonly makeExtra: () => X, private readonly classifier?: NameClassifier, private readonly limits = MEMO_LIMITS) {
    this.reset();
  }

  /** The table and memo for the next profile; starts over first if the last one left them over the cap. */
  begin(): { table: NameTable; memo: NameSequenceMemo<T>; extra: X } {
    this.done();
    return this.state;
  }

  /** After a profile: a memo it left over the cap is let go now rather than held until the next one. */
  done(): void {
    const s = this.state;
    if (s.table.size > this.limits.names || s.memo.overflowed) this.reset();
  }

  private reset(): void {
    this.state = { table: new NameTable(this.classifier), memo: new NameSequenceMemo<T>(this.limits.entries), extra: this.makeExtra() };
  }
}
