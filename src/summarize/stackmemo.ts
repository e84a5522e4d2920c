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
// its keys.

/** Names and memo entries a target's memo keeps from one profile to the next. */
export const MEMO_LIMITS = Object.freeze({ names: 1 << 16, entries: 1 << 15 });

/** Function names as small integers, for one memo. */
export class NameTable {
  private readonly names: string[] = [];
  private readonly keyOf = new Map<string, number>();

  key(name: string): number {
    let k = this.keyOf.get(name);
    if (k === undefined) {
      k = this.names.length;
      this.names.push(name);
      this.keyOf.set(name, k);
    }
    return k;
  }

  name(key: number): string {
    return this.names[key]!;
  }

  get size(): number {
    return this.names.length;
  }
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

interface Entry<V> { keys: Uint32Array; value: V; next: Entry<V> | undefined; }

/**
 * A profile's stacks (sequences of location indexes) as name sequences,
 * without copying them: each location's frames' name keys and their hash.
 */
export class StackNames {
  private readonly start: Uint32Array;
  private readonly flat: Uint32Array;
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

  /** Whether keys is the name sequence of stack[from..to). */
  matches(keys: Uint32Array, stack: Uint32Array, from: number, to: number): boolean {
    let k = 0;
    for (let p = from; p < to; p++) {
      const l = stack[p]!;
      const e = this.start[l + 1]!;
      for (let q = this.start[l]!; q < e; q++) if (keys[k++] !== this.flat[q]) return false;
    }
    return k === keys.length;
  }

  /** The name keys of stack[from..to), leaf first, innermost inlined function first. */
  keys(stack: Uint32Array, from: number, to: number): Uint32Array {
    let n = 0;
    for (let p = from; p < to; p++) n += this.start[stack[p]! + 1]! - this.start[stack[p]!]!;
    const out = new Uint32Array(n);
    n = 0;
    for (let p = from; p < to; p++) {
      const l = stack[p]!;
      for (let q = this.start[l]!; q < this.start[l + 1]!; q++) out[n++] = this.flat[q]!;
    }
    return out;
  }
}

/** Name sequence → value, inside one StackMemo. */
export class NameSequenceMemo<V> {
  private byHash = new Map<number, Entry<V>>();
  size = 0;

  /** The value stored for the names of stack[from..to), whose names.hash() is hash. */
  get(hash: number, names: StackNames, stack: Uint32Array, from: number, to: number): V | undefined {
    for (let e = this.byHash.get(hash); e; e = e.next) {
      if (names.matches(e.keys, stack, from, to)) return e.value;
    }
    return undefined;
  }

  /** Call after a get() that missed, with its hash. */
  set(hash: number, keys: Uint32Array, value: V): void {
    this.byHash.set(hash, { keys, value, next: this.byHash.get(hash) });
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

  constructor(private readonly makeExtra: () => X, private readonly limits = MEMO_LIMITS) {
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
    if (s.table.size > this.limits.names || s.memo.size > this.limits.entries) this.reset();
  }

  private reset(): void {
    this.state = { table: new NameTable(), memo: new NameSequenceMemo<T>(), extra: this.makeExtra() };
  }
}
