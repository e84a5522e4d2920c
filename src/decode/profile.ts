// The profile.proto decoder the scrape path uses: one pass over the bytes,
// keeping only what the metrics read (sample types, samples' location ids
// and values, locations' lines, functions' names and files, the string table)
// into typed arrays, then the checks of validate.ts.
//
// It accepts less than protobufjs: anything unusual (groups, 64-bit ids,
// invalid UTF-8, a field with an unexpected wire type, any broken reference)
// makes it give up, and the reference path (protobufjs + validateProfile)
// decodes the same bytes. So a profile it accepts yields exactly the
// reference's index, and a broken one the reference's error message.
import $protobuf from './proto/runtime.js';
import { decodeProfile, decompress } from './gunzip.js';
import { validateProfile, type IndexedFunction, type IndexedLocation, type ProfileIndex } from './validate.js';

const GIVE_UP = new Error('fast profile decoder: not handled here'); // never escapes readProfile
const { readStrict } = $protobuf.util.utf8;

/** A gzipped profile as served by net/http/pprof: gunzip (capped), decode, validate. */
export async function readGzippedProfile(body: Uint8Array, maxDecompressedBytes: number): Promise<ProfileIndex> {
  return readProfile(await decompress(body, maxDecompressedBytes));
}

/** Decode and validate a profile.proto message (gunzipped). Throws the reference path's ScrapeErrors. */
export function readProfile(buf: Uint8Array): ProfileIndex {
  const idx = fastDecode(buf);
  if (idx) return idx;
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  return validateProfile(decodeProfile(b));
}

/** The fast path alone: undefined when it leaves the bytes to the reference path. */
export function fastDecode(buf: Uint8Array): ProfileIndex | undefined {
  try {
    return new FastDecoder(buf).profile();
  } catch (err) {
    if (err === GIVE_UP) return undefined;
    throw err;
  }
}

class Grow<T extends Uint32Array | Float64Array> {
  length = 0;
  constructor(public a: T) {}
  /** Room for n more. */
  reserve(n: number): T {
    if (this.length + n > this.a.length) {
      const b = new (this.a.constructor as new (n: number) => T)(Math.max(2 * this.a.length, this.length + n));
      b.set(this.a);
      this.a = b;
    }
    return this.a;
  }
  push(v: number): void {
    this.reserve(1)[this.length++] = v;
  }
  done(): T { return this.a.subarray(0, this.length) as T; }
}

interface RawFunction { id: number; name: number; file: number; }
interface RawLocation { id: number; mapping: number; lines: number[]; } // function id, line, function id, line, …

class FastDecoder {
  private pos = 0;
  private readonly strings: string[] = [];
  private readonly types: number[] = []; // type, unit, type, unit, …
  private readonly sampleLocs: Grow<Uint32Array>;
  private readonly stackStart = new Grow(new Uint32Array(256));
  private readonly values = new Grow(new Float64Array(256));
  private valuesPerSample = -1;
  private readonly mappings: number[] = [];
  private readonly functions: RawFunction[] = [];
  private readonly locations: RawLocation[] = [];

  constructor(private readonly buf: Uint8Array) {
    this.stackStart.push(0);
    // A location id takes at least a byte: room for all of them at once, not
    // grown (and copied) twenty times. Pages never written cost no memory.
    this.sampleLocs = new Grow(new Uint32Array(Math.min(Math.max(buf.length, 1024), 1 << 26)));
  }

  profile(): ProfileIndex {
    const end = this.buf.length;
    while (this.pos < end) {
      const tag = this.tag(end);
      const wire = tag & 7;
      const field = tag >>> 3;
      if (wire === 2 && field <= 6) {
        const sub = this.sub(end);
        switch (field) {
          case 1: this.valueType(sub); break;
          case 2: this.sample(sub); break;
          case 3: this.mapping(sub); break;
          case 4: this.location(sub); break;
          case 5: this.function(sub); break;
          default: this.strings.push(this.string(sub)); break;
        }
      } else if (field === 11 && wire === 2) this.flat(this.sub(end)); // period_type
      else if (field === 13 && wire === 2) this.packed(this.sub(end)); // comment
      else if (field >= 7 && field <= 14 && wire !== 0) throw GIVE_UP;
      else this.skip(wire, field, end);
    }
    return this.index();
  }

  // --- wire format ---

  private tag(end: number): number {
    const t = this.varint32(end);
    if (t >>> 3 === 0) throw GIVE_UP;
    return t;
  }

  private varint32(end: number): number {
    const buf = this.buf;
    let v = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.pos >= end) throw GIVE_UP;
      const b = buf[this.pos++]!;
      v |= (b & 127) << shift;
      if (b < 128) return v >>> 0;
    }
    throw GIVE_UP; // longer than 5 bytes: protobufjs reads such lengths differently
  }

  /** A varint as protobufjs's uint64/int64 with Long off turn it into a number. */
  private varint(end: number, signed: boolean): number {
    const buf = this.buf;
    let lo = 0;
    let b = 0;
    for (let i = 0; i < 4; i++) {
      if (this.pos >= end) throw GIVE_UP;
      b = buf[this.pos++]!;
      lo = (lo | (b & 127) << (i * 7)) >>> 0;
      if (b < 128) return lo;
    }
    if (this.pos >= end) throw GIVE_UP;
    b = buf[this.pos++]!;
    lo = (lo | (b & 127) << 28) >>> 0;
    let hi = (b & 127) >> 4;
    for (let i = 0; b >= 128; i++) {
      if (i === 5 || this.pos >= end) throw GIVE_UP;
      b = buf[this.pos++]!;
      hi = (hi | (b & 127) << (i * 7 + 3)) >>> 0;
    }
    if (signed && hi >>> 31) {
      lo = ~lo + 1 >>> 0;
      hi = ~hi >>> 0;
      if (!lo) hi = hi + 1 >>> 0;
      return -(lo + hi * 4294967296);
    }
    return lo + hi * 4294967296;
  }

  /** An id: uint64 that we keep in a Uint32Array. */
  private id(end: number): number {
    const b = this.buf[this.pos]!;
    if (b < 128 && this.pos < end) { this.pos++; return b; }
    const v = this.varint(end, false);
    if (v > 0xffffffff) throw GIVE_UP;
    return v;
  }

  /** The end of a length-delimited field starting here. */
  private sub(end: number): number {
    const len = this.varint32(end);
    const subEnd = this.pos + len;
    if (subEnd > end) throw GIVE_UP;
    return subEnd;
  }

  private string(end: number): string {
    const s = this.pos;
    this.pos = end;
    try {
      return readStrict(this.buf, s, end); // what protobufjs's stringVerify does
    } catch {
      throw GIVE_UP;
    }
  }

  /** Skips a field as protobufjs skips unknown ones; groups are left to it. */
  private skip(wire: number, field: number, end: number): void {
    if (field === 0) throw GIVE_UP;
    switch (wire) {
      case 0: this.varint(end, false); break;
      case 1: this.advance(8, end); break;
      case 2: this.pos = this.sub(end); break;
      case 5: this.advance(4, end); break;
      default: throw GIVE_UP;
    }
  }

  private advance(n: number, end: number): void {
    if (this.pos + n > end) throw GIVE_UP;
    this.pos += n;
  }

  /** A message of varint fields we do not keep (ValueType, Label): checked as protobufjs would decode it. */
  private flat(end: number): void {
    while (this.pos < end) {
      const tag = this.tag(end);
      this.skip(tag & 7, tag >>> 3, end);
    }
  }

  /** Packed varints, only checked. */
  private packed(end: number): void {
    while (this.pos < end) this.varint(end, true);
  }

  // The two hot loops: packed location ids and values, one- and two-byte
  // varints inline (a packed field has at most one varint per byte).
  private packedIds(end: number): void {
    const out = this.sampleLocs;
    const a = out.reserve(end - this.pos);
    const buf = this.buf;
    let n = out.length;
    while (this.pos < end) {
      const b = buf[this.pos]!;
      if (b < 128) { a[n++] = b; this.pos++; continue; }
      const c = buf[this.pos + 1]!;
      if (c < 128 && this.pos + 1 < end) { a[n++] = (b & 127) | c << 7; this.pos += 2; continue; }
      a[n++] = this.id(end);
    }
    out.length = n;
  }

  private packedValues(end: number): void {
    const out = this.values;
    const a = out.reserve(end - this.pos);
    const buf = this.buf;
    let n = out.length;
    while (this.pos < end) {
      const b = buf[this.pos]!;
      if (b < 128) { a[n++] = b; this.pos++; continue; }
      const c = buf[this.pos + 1]!;
      if (c < 128 && this.pos + 1 < end) { a[n++] = (b & 127) | c << 7; this.pos += 2; continue; }
      a[n++] = this.varint(end, true);
    }
    out.length = n;
  }

  // --- messages ---

  private valueType(end: number): void {
    let type = 0;
    let unit = 0;
    while (this.pos < end) {
      const tag = this.tag(end);
      if (tag === 8) type = this.varint(end, true);
      else if (tag === 16) unit = this.varint(end, true);
      else this.skip(tag & 7, tag >>> 3, end);
    }
    this.types.push(type, unit);
  }

  private sample(end: number): void {
    const valuesBefore = this.values.length;
    while (this.pos < end) {
      const tag = this.tag(end);
      switch (tag) {
        case 10: this.packedIds(this.sub(end)); break;
        case 8: this.sampleLocs.push(this.id(end)); break;
        case 18: this.packedValues(this.sub(end)); break;
        case 16: this.values.push(this.varint(end, true)); break;
        case 26: this.flat(this.sub(end)); break; // label
        default:
          if (tag >>> 3 <= 3) throw GIVE_UP;
          this.skip(tag & 7, tag >>> 3, end);
      }
    }
    const n = this.values.length - valuesBefore;
    if (this.valuesPerSample < 0) this.valuesPerSample = n;
    else if (n !== this.valuesPerSample) throw GIVE_UP;
    this.stackStart.push(this.sampleLocs.length);
  }

  private mapping(end: number): void {
    let id = 0;
    while (this.pos < end) {
      const tag = this.tag(end);
      if (tag === 8) id = this.varint(end, false);
      else if ((tag & 7) !== 0 && tag >>> 3 <= 10) throw GIVE_UP;
      else this.skip(tag & 7, tag >>> 3, end);
    }
    this.mappings.push(id);
  }

  private location(end: number): void {
    const loc: RawLocation = { id: 0, mapping: 0, lines: [] };
    while (this.pos < end) {
      const tag = this.tag(end);
      switch (tag) {
        case 8: loc.id = this.varint(end, false); break;
        case 16: loc.mapping = this.varint(end, false); break;
        case 34: this.line(this.sub(end), loc.lines); break;
        default:
          if ((tag & 7) !== 0 && tag >>> 3 <= 5) throw GIVE_UP;
          this.skip(tag & 7, tag >>> 3, end);
      }
    }
    this.locations.push(loc);
  }

  private line(end: number, lines: number[]): void {
    let fn = 0;
    let line = 0;
    while (this.pos < end) {
      const tag = this.tag(end);
      if (tag === 8) fn = this.varint(end, false);
      else if (tag === 16) line = this.varint(end, true);
      else this.skip(tag & 7, tag >>> 3, end);
    }
    lines.push(fn, line);
  }

  private function(end: number): void {
    const f: RawFunction = { id: 0, name: 0, file: 0 };
    while (this.pos < end) {
      const tag = this.tag(end);
      if (tag === 8) f.id = this.varint(end, false);
      else if (tag === 16) f.name = this.varint(end, true);
      else if (tag === 32) f.file = this.varint(end, true);
      else this.skip(tag & 7, tag >>> 3, end);
    }
    this.functions.push(f);
  }

  // --- the checks of validateProfile; any failure leaves the message to it ---

  private str(i: number): string {
    const s = this.strings[i];
    if (s === undefined || !Number.isInteger(i) || i < 0) throw GIVE_UP;
    return s;
  }

  private index(): ProfileIndex {
    if (this.strings[0] !== '') throw GIVE_UP;
    const sampleTypes: ProfileIndex['sampleTypes'] = [];
    for (let i = 0; i < this.types.length; i += 2) {
      sampleTypes.push({ type: this.str(this.types[i]!), unit: this.str(this.types[i + 1]!) });
    }
    const sampleCount = this.stackStart.length - 1;
    if (sampleCount > 0 && (sampleTypes.length === 0 || this.valuesPerSample !== sampleTypes.length)) throw GIVE_UP;

    const mappings = new Set<number>();
    for (const id of this.mappings) {
      if (!id || mappings.has(id)) throw GIVE_UP;
      mappings.add(id);
    }
    const functions = new Map<number, IndexedFunction>();
    for (const f of this.functions) {
      if (!f.id || functions.has(f.id)) throw GIVE_UP;
      functions.set(f.id, { name: this.str(f.name), file: this.str(f.file) });
    }

    const locations: IndexedLocation[] = [];
    const ids = new DenseIds(this.locations.length);
    for (const l of this.locations) {
      if (!l.id || !ids.add(l.id, locations.length)) throw GIVE_UP;
      if (l.mapping && !mappings.has(l.mapping)) throw GIVE_UP;
      const frames: IndexedLocation['frames'] = [];
      for (let i = 0; i < l.lines.length; i += 2) {
        const fn = functions.get(l.lines[i]!);
        if (!fn) throw GIVE_UP;
        frames.push({ fn, line: l.lines[i + 1]! });
      }
      locations.push({ frames });
    }

    const stacks = this.sampleLocs.done();
    const table = ids.table;
    for (let i = 0; i < stacks.length; i++) {
      const id = stacks[i]!;
      const at = id < table.length ? table[id]! : ids.get(id);
      if (at < 0) throw GIVE_UP;
      stacks[i] = at;
    }
    return { sampleTypes, sampleCount, values: this.values.done(), stackStart: this.stackStart.done(), stacks, locations };
  }
}

/** Location id → index. Go numbers locations 1…n: a table then, a Map for anything else. */
class DenseIds {
  readonly table: Int32Array;
  private readonly map = new Map<number, number>();
  constructor(n: number) {
    this.table = new Int32Array(4 * n + 64).fill(-1);
  }
  add(id: number, at: number): boolean {
    if (this.get(id) >= 0) return false;
    if (id < this.table.length) this.table[id] = at;
    else this.map.set(id, at);
    return true;
  }
  get(id: number): number {
    return id < this.table.length ? this.table[id]! : (this.map.get(id) ?? -1);
  }
}
