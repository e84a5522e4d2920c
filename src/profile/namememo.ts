// What a stack's function names mean (signature id, function, blocked_on,
// allocation site) depends on the names alone, and a target shows the same
// stacks scrape after scrape: so those answers are memoized process-wide by
// the stack's name sequence. Names become small integers (interned once), a
// stack a hash of those, checked against the stored sequence on a hit.
// Bounded: past the cap a memo starts over, and so do all of them when the
// name table does.

const MAX_NAMES = 1 << 16;
const names: string[] = [];
const keyOf = new Map<string, number>();
let generation = 0;

/** A process-wide number for a function name. */
export function nameKey(name: string): number {
  let k = keyOf.get(name);
  if (k === undefined) {
    if (names.length >= MAX_NAMES) { names.length = 0; keyOf.clear(); generation++; }
    k = names.length;
    names.push(name);
    keyOf.set(name, k);
  }
  return k;
}

export const nameOf = (key: number): string => names[key]!;

/** Empties every memo (lazily, on its next use). */
export function startOver(): void {
  generation++;
}

/** Hash of keys[start..end): FNV-style multiply-xor, mixed at the end. */
export function hashKeys(keys: Uint32Array, start: number, end: number): number {
  let h = 0x811c9dc5 ^ (end - start);
  for (let i = start; i < end; i++) h = Math.imul(h ^ keys[i]!, 0x01000193) ^ (h >>> 15);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  return (h ^ (h >>> 13)) >>> 0;
}

interface Entry<V> { keys: Uint32Array; value: V; next: Entry<V> | undefined; }

export class NameSequenceMemo<V> {
  private byHash = new Map<number, Entry<V>>();
  private size = 0;
  private generation = generation;

  constructor(private readonly maxEntries: number) {}

  get(keys: Uint32Array, start: number, end: number, hash: number): V | undefined {
    if (this.generation !== generation) this.clear();
    for (let e = this.byHash.get(hash); e; e = e.next) {
      if (sameKeys(e.keys, keys, start, end)) return e.value;
    }
    return undefined;
  }

  /** Call after a get() that missed, with the same arguments. */
  set(keys: Uint32Array, start: number, end: number, hash: number, value: V): void {
    if (this.size >= this.maxEntries) this.clear();
    this.byHash.set(hash, { keys: keys.slice(start, end), value, next: this.byHash.get(hash) });
    this.size++;
  }

  private clear(): void {
    this.byHash = new Map();
    this.size = 0;
    this.generation = generation;
  }
}

function sameKeys(a: Uint32Array, b: Uint32Array, start: number, end: number): boolean {
  if (a.length !== end - start) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[start + i]) return false;
  return true;
}

/** The name keys of stacks (location indexes), one at a time, in a reused buffer. */
export class StackKeys {
  /** keys[0 .. length) after fill(). */
  keys = new Uint32Array(256);
  length = 0;
  private readonly start: Uint32Array;
  private readonly flat: Uint32Array;

  constructor(locations: readonly { frames: readonly { fn: { name: string } }[] }[]) {
    this.start = new Uint32Array(locations.length + 1);
    let n = 0;
    for (let l = 0; l < locations.length; l++) { n += locations[l]!.frames.length; this.start[l + 1] = n; }
    this.flat = new Uint32Array(n);
    n = 0;
    for (const l of locations) for (const f of l.frames) this.flat[n++] = nameKey(f.fn.name);
  }

  /** The frames of stack[from..to), leaf first, innermost inlined function first. */
  fill(stack: Uint32Array, from: number, to: number): void {
    let n = 0;
    for (let p = from; p < to; p++) {
      const l = stack[p]!;
      const s = this.start[l]!;
      const e = this.start[l + 1]!;
      if (n + e - s > this.keys.length) {
        const bigger = new Uint32Array(Math.max(2 * this.keys.length, n + e - s));
        bigger.set(this.keys.subarray(0, n));
        this.keys = bigger;
      }
      for (let q = s; q < e; q++) this.keys[n++] = this.flat[q]!;
    }
    this.length = n;
  }
}
