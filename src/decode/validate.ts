// Reference checks in the spirit of pprof's Profile.CheckValid, plus string
// table bounds, over the protobufjs decoding. Returns the compact index the
// grouping reads. fastdecode.ts does the same in one pass over the bytes and
// falls back to this on anything it does not accept.
import { ScrapeError } from '../errors.js';
import type { Profile } from './gunzip.js';

export interface IndexedFunction { name: string; file: string; }
export interface IndexedLocation {
  // Innermost inlined function first, as in Location.line.
  frames: { fn: IndexedFunction; line: number }[];
}
export interface ProfileIndex {
  sampleTypes: { type: string; unit: string }[];
  sampleCount: number;
  /** sampleCount × sampleTypes.length values, one sample after another. */
  values: Float64Array;
  /** Sample i's stack is stacks[stackStart[i] .. stackStart[i + 1]), leaf first. */
  stackStart: Uint32Array;
  /** Indexes into locations (in the profile's order), not location ids. */
  stacks: Uint32Array;
  locations: IndexedLocation[];
}

export function invalid(message: string): never {
  throw new ScrapeError('validating', 'PPROF_INVALID_PROFILE', `malformed profile: ${message}`);
}

export function validateProfile(p: Profile): ProfileIndex {
  const strings = p.stringTable;
  if (strings.length === 0 || strings[0] !== '') invalid('string_table[0] must be ""');
  const str = (i: number, what: string): string => {
    const s = strings[i];
    if (s === undefined || !Number.isInteger(i) || i < 0) {
      invalid(`${what} refers to string ${i}, but the string table has ${strings.length} entries`);
    }
    return s;
  };

  const sampleTypes = p.sampleType.map((vt, i) => ({
    type: str(vt.type as number, `sample_type[${i}].type`),
    unit: str(vt.unit as number, `sample_type[${i}].unit`),
  }));
  if (sampleTypes.length === 0 && p.sample.length > 0) invalid('missing sample type information');

  const mappings = new Set<number>();
  for (const m of p.mapping) {
    const id = m.id as number;
    if (!id) invalid('found mapping with reserved ID=0');
    if (mappings.has(id)) invalid(`multiple mappings with same id: ${id}`);
    mappings.add(id);
  }

  const functions = new Map<number, IndexedFunction>();
  for (const f of p.function) {
    const id = f.id as number;
    if (!id) invalid('found function with reserved ID=0');
    if (functions.has(id)) invalid(`multiple functions with same id: ${id}`);
    functions.set(id, { name: str(f.name as number, `function ${id} name`), file: str(f.filename as number, `function ${id} filename`) });
  }

  const locations: IndexedLocation[] = [];
  const locationIndex = new Map<number, number>();
  for (const l of p.location) {
    const id = l.id as number;
    if (!id) invalid('found location with reserved ID=0');
    if (locationIndex.has(id)) invalid(`multiple locations with same id: ${id}`);
    const mid = l.mappingId as number;
    if (mid && !mappings.has(mid)) invalid(`location id: ${id} has a mapping id ${mid} that does not exist`);
    const frames = (l.line ?? []).map((ln) => {
      const fn = functions.get(ln.functionId as number);
      if (!fn) invalid(`location id: ${id} has a line with function id ${ln.functionId as number} that does not exist`);
      return { fn, line: ln.line as number };
    });
    locationIndex.set(id, locations.length);
    locations.push({ frames });
  }

  const n = sampleTypes.length;
  const stacks: number[] = [];
  const stackStart = new Uint32Array(p.sample.length + 1);
  const values = new Float64Array(p.sample.length * n);
  p.sample.forEach((s, i) => {
    const vs = s.value ?? [];
    if (vs.length !== n) invalid(`mismatch: sample ${i} has ${vs.length} values vs. ${n} types`);
    vs.forEach((v, j) => { values[i * n + j] = v as number; });
    for (const lid of s.locationId ?? []) {
      const at = locationIndex.get(lid as number);
      if (at === undefined) invalid(`sample ${i} refers to location id ${lid as number} that does not exist`);
      stacks.push(at);
    }
    stackStart[i + 1] = stacks.length;
  });

  return { sampleTypes, sampleCount: p.sample.length, values, stackStart, stacks: Uint32Array.from(stacks), locations };
}

/** A value that cannot be (a negative counter, a sum past 2^53): the source fails, nothing is rendered. */
export function inconsistent(message: string): never {
  throw new ScrapeError('validating', 'PPROF_INCONSISTENT', `inconsistent values: ${message}`);
}

// A goroutine-style count profile: one sample type "<kind>/count", counts >= 0.
export function expectCountProfile(idx: ProfileIndex, kind: string): void {
  const t = idx.sampleTypes;
  if (t.length !== 1 || t[0]!.type !== kind || t[0]!.unit !== 'count') {
    const got = t.map((x) => `${x.type}/${x.unit}`).join(', ') || 'none';
    invalid(`expected a ${kind} profile (sample type ${kind}/count), got sample types: ${got}`);
  }
  let total = 0;
  for (let i = 0; i < idx.sampleCount; i++) {
    const v = idx.values[i]!;
    if (!(v >= 0)) invalid(`sample ${i} has a negative ${kind} count ${v}`);
    total += v;
  }
  if (!(total <= Number.MAX_SAFE_INTEGER)) inconsistent(`the ${kind} counts add up to ${total}, past 2^53`);
}
