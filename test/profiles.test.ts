// The decoder on real profiles captured from the leaky program under every Go
// version we could get, and pprof CheckValid-style rejection of broken ones.
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeProfile, decompress } from '../src/decode/gunzip.js';
import { expectCountProfile, validateProfile } from '../src/decode/validate.js';
import { perftools } from '../src/decode/proto/profile.js';
import { groupGoroutines, type GoroutineSummary } from '../src/summarize/signature.js';
import { ScrapeError } from '../src/errors.js';
import { fixture, goVersions, meta } from './helpers/fixtures.js';

const BLOCKED: Record<string, string> = {
  'main.computeResult': 'chan_send',
  'main.drainQueue': 'chan_receive',
  'main.produceEvents': 'chan_send',
  'main.waitForReply': 'select',
  'main.blockForever': 'select_no_cases',
  'main.updateCache': 'mutex',
  'main.poolWorker': 'chan_receive',
};

async function summarize(gz: Buffer): Promise<GoroutineSummary> {
  const idx = validateProfile(decodeProfile(await decompress(gz, 64 << 20)));
  expectCountProfile(idx, 'goroutine');
  return groupGoroutines(idx);
}

describe.each(goVersions())('goroutine profile from %s', (version) => {
  it('yields each leak shape with its count, function and blocked_on', async () => {
    const s = await summarize(fixture(version, 'goroutine.pb.gz'));
    const { expected } = meta(version);
    expect(Object.keys(expected).sort()).toEqual(Object.keys(BLOCKED).sort());
    for (const [fn, count] of Object.entries(expected)) {
      const sigs = s.signatures.filter((x) => x.function === fn);
      expect(sigs, fn).toHaveLength(1);
      expect(sigs[0], fn).toMatchObject({ count, blockedOn: BLOCKED[fn] });
      const frame = sigs[0]!.frames.find((f) => f.function === fn);
      expect(frame?.file, fn).toMatch(/leaky\/\w+\.go$/);
      expect(frame?.line, fn).toBeGreaterThan(0);
      // No hidden runtime frame is part of the signature.
      expect(sigs[0]!.frames.map((f) => f.function).filter((n) => n === 'runtime.gopark' || n === 'runtime.goexit')).toEqual([]);
    }
  });

  it('sums signatures to the total and orders them by count', async () => {
    const s = await summarize(fixture(version, 'goroutine.pb.gz'));
    expect(s.signatures.reduce((a, x) => a + x.count, 0)).toBe(s.total);
    const leaks = Object.values(meta(version).expected).reduce((a, b) => a + b, 0);
    expect(s.total).toBeGreaterThanOrEqual(leaks);
    const counts = s.signatures.map((x) => x.count);
    expect(counts).toEqual([...counts].sort((a, b) => b - a));
    expect(new Set(s.signatures.map((x) => x.id)).size).toBe(s.signatures.length);
    // The goroutine serving the profile request is running.
    expect(s.signatures.some((x) => x.blockedOn === 'running')).toBe(true);
  });

  it('rejects its heap profile as the wrong profile type', async () => {
    await expect(summarize(fixture(version, 'heap.pb.gz'))).rejects.toThrow(
      /^malformed profile: expected a goroutine profile \(sample type goroutine\/count\), got sample types: alloc_objects\/count, alloc_space\/bytes, inuse_objects\/count, inuse_space\/bytes$/);
  });
});

describe('broken input', () => {
  const encode = (p: perftools.profiles.IProfile) => Buffer.from(perftools.profiles.Profile.encode(p).finish());
  const base = (): perftools.profiles.IProfile => ({
    sampleType: [{ type: 1, unit: 2 }],
    sample: [{ locationId: [1], value: [2] }],
    location: [{ id: 1, mappingId: 1, line: [{ functionId: 1, line: 10 }] }],
    function: [{ id: 1, name: 3, filename: 4 }],
    mapping: [{ id: 1 }],
    stringTable: ['', 'goroutine', 'count', 'main.f', 'main.go'],
  });
  const check = (p: perftools.profiles.IProfile) => {
    const idx = validateProfile(decodeProfile(encode(p)));
    expectCountProfile(idx, 'goroutine');
    return idx;
  };

  it('accepts the well-formed base profile', () => {
    expect(groupGoroutines(check(base()))).toMatchObject({ total: 2, signatures: [{ count: 2, function: 'main.f' }] });
  });

  it.each<[string, (p: perftools.profiles.IProfile) => void, string]>([
    ['missing location', (p) => { p.sample![0]!.locationId = [9]; }, 'sample 0 refers to location id 9 that does not exist'],
    ['missing function', (p) => { p.location![0]!.line![0]!.functionId = 7; }, 'location id: 1 has a line with function id 7 that does not exist'],
    ['missing mapping', (p) => { p.location![0]!.mappingId = 5; }, 'location id: 1 has a mapping id 5 that does not exist'],
    ['zero location id', (p) => { p.location![0]!.id = 0; }, 'found location with reserved ID=0'],
    ['duplicate function id', (p) => { p.function!.push({ id: 1, name: 3 }); }, 'multiple functions with same id: 1'],
    ['duplicate mapping id', (p) => { p.mapping!.push({ id: 1 }); }, 'multiple mappings with same id: 1'],
    ['value count mismatch', (p) => { p.sample![0]!.value = [1, 2]; }, 'mismatch: sample 0 has 2 values vs. 1 types'],
    ['string index out of range', (p) => { p.function![0]!.name = 99; }, 'function 1 name refers to string 99, but the string table has 5 entries'],
    ['string_table[0] not empty', (p) => { p.stringTable![0] = 'x'; }, 'string_table[0] must be ""'],
    ['negative count', (p) => { p.sample![0]!.value = [-1]; }, 'sample 0 has a negative goroutine count -1'],
    ['no sample types', (p) => { p.sampleType = []; }, 'missing sample type information'],
  ])('%s', (_name, mutate, message) => {
    const p = base();
    mutate(p);
    let err: unknown;
    try { check(p); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(ScrapeError);
    expect(err).toMatchObject({ stage: 'validating', code: 'PPROF_INVALID_PROFILE', message: `malformed profile: ${message}` });
  });

  it.each<[string, Buffer, string, string]>([
    ['empty body', Buffer.alloc(0), 'PPROF_NOT_GZIP', 'decompressing profile: empty response body'],
    ['plain text', Buffer.from('Unknown profile: goroutinez\n'), 'PPROF_NOT_GZIP', 'decompressing profile: response is not gzip data (starts with "Unknown profile: goroutinez")'],
    ['truncated gzip', gzipSync(Buffer.alloc(1000, 7)).subarray(0, 15), 'PPROF_GUNZIP_FAILED', 'decompressing profile: unexpected end of file'],
    ['gzip bomb', gzipSync(Buffer.alloc(8 << 20)), 'PPROF_INFLATED_TOO_LARGE', 'decompressing profile: inflated size exceeds max_decompressed_bytes (1048576 bytes)'],
  ])('%s is a decompressing error', async (_n, body, code, message) => {
    await expect(decompress(body, 1 << 20)).rejects.toMatchObject({ stage: 'decompressing', code, message });
  });

  it('garbage protobuf is a decoding error', () => {
    expect(() => decodeProfile(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01])))
      .toThrow(expect.objectContaining({ stage: 'decoding', code: 'PPROF_DECODE_FAILED' }) as Error);
  });
});
