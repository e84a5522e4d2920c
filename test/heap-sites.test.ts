// Heap profiles from every captured Go version grouped by allocation site.
import { describe, expect, it } from 'vitest';
import { decodeProfile, decompress } from '../src/decode/gunzip.js';
import { validateProfile } from '../src/decode/validate.js';
import { allocationSite, groupHeap, isAllocationHelper } from '../src/summarize/heapsites.js';
import { applicationFunction } from '../src/summarize/classify.js';
import { perftools } from '../src/decode/proto/profile.js';
import { fixture, goVersions } from './helpers/fixtures.js';

const load = async (gz: Buffer) => validateProfile(decodeProfile(await decompress(gz, 64 << 20)));

describe.each(goVersions())('heap profile from %s', (version) => {
  it('groups by function, reads sample types by name, and sums to the profile totals', async () => {
    const p = decodeProfile(await decompress(fixture(version, 'heap.pb.gz'), 64 << 20));
    const idx = validateProfile(p);
    const { totals, sites } = groupHeap(idx);
    const sum = (k: 'inuseBytes' | 'inuseObjects' | 'allocBytes' | 'allocObjects') => sites.reduce((a, s) => a + s[k], 0);
    const col = (type: string) => {
      const i = idx.sampleTypes.findIndex((t) => t.type === type);
      return p.sample.reduce((a, s) => a + (s.value![i] as number), 0);
    };
    expect(totals).toEqual({ inuseBytes: col('inuse_space'), inuseObjects: col('inuse_objects'), allocBytes: col('alloc_space'), allocObjects: col('alloc_objects') });
    expect(sum('inuseBytes')).toBe(totals.inuseBytes);
    expect(sum('allocObjects')).toBe(totals.allocObjects);
    expect(totals.allocBytes).toBeGreaterThan(0);
    expect(sites.map((s) => s.inuseBytes)).toEqual(sites.map((s) => s.inuseBytes).sort((a, b) => b - a));
    expect(new Set(sites.map((s) => s.function)).size).toBe(sites.length);
    // No site is a bare allocator frame when the stack had anything better.
    expect(sites.map((s) => s.function)).not.toContain('runtime.mallocgc');
  });
});

describe('heap attribution', () => {
  it('skips stdlib allocation helpers when a stack has no application frame', () => {
    const names = ['runtime.mallocgc', 'runtime.growslice', 'bytes.growSlice', 'bytes.(*Buffer).grow', 'bytes.(*Buffer).Write', 'fmt.Fprintf', 'net/http.(*conn).serve'];
    expect(applicationFunction(names, isAllocationHelper)).toBe('fmt.Fprintf');
    expect(applicationFunction(['runtime.mallocgc', 'bytes.growSlice', 'main.render'], isAllocationHelper)).toBe('main.render');
    // Runtime-only stacks name the runtime function past the allocator (here: new goroutine stacks).
    expect(allocationSite(['runtime.mallocgc', 'runtime.newobject', 'runtime.malg', 'runtime.newproc1', 'runtime.systemstack'])).toBe('runtime.malg');
    expect(allocationSite(['runtime.mallocgc', 'runtime.makeslice', 'main.buffer'])).toBe('main.buffer');
  });

  it('reads values by sample type name, whatever their order', () => {
    const p = perftools.profiles.Profile.encode({
      sampleType: [5, 3, 1, 7].map((t) => ({ type: t, unit: t + 1 })),
      sample: [{ locationId: [1], value: [10, 20, 30, 40] }],
      location: [{ id: 1, line: [{ functionId: 1 }] }],
      function: [{ id: 1, name: 9 }],
      stringTable: ['', 'alloc_objects', 'count', 'alloc_space', 'bytes', 'inuse_objects', 'count', 'inuse_space', 'bytes', 'main.alloc'],
    }).finish();
    const { sites } = groupHeap(validateProfile(decodeProfile(p)));
    expect(sites).toEqual([{ function: 'main.alloc', inuseObjects: 10, allocBytes: 20, allocObjects: 30, inuseBytes: 40 }]);
  });

  it('rejects a profile without the heap sample types', async () => {
    const empty = perftools.profiles.Profile.encode({ stringTable: [''] }).finish();
    expect(() => groupHeap(validateProfile(decodeProfile(empty))))
      .toThrow('malformed profile: expected a heap profile (sample types alloc_objects, alloc_space, inuse_objects, inuse_space), got sample types: none');
    const goroutine = await load(fixture(goVersions()[0]!, 'goroutine.pb.gz'));
    expect(() => groupHeap(goroutine)).toThrow('got sample types: goroutine/count');
  });
});
