// Profiles built to order, as a hostile (or just unusual) target would serve
// them: encoded with protobufjs, the tests' reference encoder, and gzipped.
import { gzipSync } from 'node:zlib';
import { perftools } from '../../src/decode/proto/profile.js';

/** One stack: function names leaf first, each at a line; count goroutines (or values for a heap profile). */
export interface CraftedStack { frames: { name: string; line?: number }[]; values: number[]; }

export function craftProfile(sampleTypes: [string, string][], stacks: CraftedStack[]): Buffer {
  const strings = [''];
  const stringIndex = new Map<string, number>([['', 0]]);
  const str = (s: string): number => {
    let i = stringIndex.get(s);
    if (i === undefined) { i = strings.length; strings.push(s); stringIndex.set(s, i); }
    return i;
  };
  const functions = new Map<string, number>();
  const locations = new Map<string, number>();
  const fn: perftools.profiles.IFunction[] = [];
  const loc: perftools.profiles.ILocation[] = [];
  const sample: perftools.profiles.ISample[] = [];
  for (const s of stacks) {
    const ids: number[] = [];
    for (const f of s.frames) {
      let fid = functions.get(f.name);
      if (fid === undefined) {
        fid = fn.length + 1;
        functions.set(f.name, fid);
        fn.push({ id: fid, name: str(f.name), filename: str('/src/crafted.go') });
      }
      const key = `${fid}:${f.line ?? 1}`;
      let lid = locations.get(key);
      if (lid === undefined) {
        lid = loc.length + 1;
        locations.set(key, lid);
        loc.push({ id: lid, line: [{ functionId: fid, line: f.line ?? 1 }] });
      }
      ids.push(lid);
    }
    sample.push({ locationId: ids, value: s.values });
  }
  const sampleType = sampleTypes.map(([type, unit]) => ({ type: str(type), unit: str(unit) }));
  return gzipSync(perftools.profiles.Profile.encode({ sampleType, sample, location: loc, function: fn, stringTable: strings }).finish());
}

/** A goroutine profile: one sample per stack, leaf first, with main.main at the root. */
export function goroutineProfile(stacks: { names: string[]; count: number; line?: number }[]): Buffer {
  return craftProfile([['goroutine', 'count']], stacks.map((s) => ({
    frames: [...s.names.map((name) => ({ name, line: s.line ?? 1 })), { name: 'main.main' }], values: [s.count],
  })));
}

export const HEAP_TYPES: [string, string][] = [['alloc_objects', 'count'], ['alloc_space', 'bytes'], ['inuse_objects', 'count'], ['inuse_space', 'bytes']];

/** A heap profile: per stack [alloc_objects, alloc_space, inuse_objects, inuse_space]. */
export function heapProfile(stacks: { names: string[]; values: number[] }[]): Buffer {
  return craftProfile(HEAP_TYPES, stacks.map((s) => ({ frames: [...s.names.map((name) => ({ name })), { name: 'main.main' }], values: s.values })));
}

// A protobuf writer for profiles too large to build as objects.
class Writer {
  private buf: Buffer;
  len = 0;
  constructor(size = 64) { this.buf = Buffer.alloc(size); }
  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const b = Buffer.alloc(Math.max(2 * this.buf.length, this.len + n));
    this.buf.copy(b, 0, 0, this.len);
    this.buf = b;
  }
  varint(v: number): void {
    this.room(10);
    while (v >= 128) { this.buf[this.len++] = (v & 127) | 128; v = Math.floor(v / 128); }
    this.buf[this.len++] = v;
  }
  field(n: number, wire: number): void { this.varint(n * 8 + wire); }
  bytes(n: number, b: Uint8Array): void { this.field(n, 2); this.varint(b.length); this.room(b.length); this.buf.set(b, this.len); this.len += b.length; }
  done(): Buffer { return this.buf.subarray(0, this.len); }
}

const message = (build: (w: Writer) => void): Buffer => { const w = new Writer(); build(w); return w.done(); };

/** A goroutine profile of n distinct stacks (one goroutine each, one function each): built by hand, fast at a million. */
export function distinctStacksProfile(n: number): Buffer {
  const w = new Writer(64 << 20);
  w.bytes(1, message((v) => { v.field(1, 0); v.varint(1); v.field(2, 0); v.varint(2); }));
  for (let i = 1; i <= n; i++) {
    w.bytes(2, message((s) => { s.bytes(1, message((p) => p.varint(i))); s.bytes(2, message((p) => p.varint(1))); }));
  }
  for (let i = 1; i <= n; i++) {
    w.bytes(4, message((l) => { l.field(1, 0); l.varint(i); l.bytes(4, message((ln) => { ln.field(1, 0); ln.varint(i); ln.field(2, 0); ln.varint(7); })); }));
  }
  for (let i = 1; i <= n; i++) {
    w.bytes(5, message((f) => { f.field(1, 0); f.varint(i); f.field(2, 0); f.varint(i + 3); f.field(4, 0); f.varint(3); }));
  }
  for (const s of ['', 'goroutine', 'count', '/src/crafted.go']) w.bytes(6, Buffer.from(s));
  for (let i = 1; i <= n; i++) w.bytes(6, Buffer.from(`main.f${i}`));
  return gzipSync(w.done());
}
