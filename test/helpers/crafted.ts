// Profiles built to order, as a hostile (or just unusual) target would serve
// them: encoded with protobufjs, the tests' reference encoder, and gzipped.
import { gzipSync } from 'node:zlib';
import { perftools } from '../../src/profile/proto/profile.js';

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
