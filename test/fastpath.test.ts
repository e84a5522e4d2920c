// The fast path (hand-written decoder, memoized grouping) against the
// reference path (protobufjs + validateProfile, test/helpers/reference.ts)
// on every captured profile and the benchmark's profiles when generated:
// the same index, the same summaries, the same /metrics text. Broken bytes
// must give the same result or the same error either way.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { decodeProfile } from '../src/decode/gunzip.js';
import { fastDecode, readProfile } from '../src/decode/profile.js';
import { expectCountProfile, validateProfile, type ProfileIndex } from '../src/decode/validate.js';
import { perftools } from '../src/decode/proto/profile.js';
import { goroutineMemo, groupGoroutines, keepTop } from '../src/summarize/signature.js';
import { groupHeap, heapMemo } from '../src/summarize/heapsites.js';
import { renderTargets } from '../src/metrics/render.js';
import type { TargetConfig } from '../src/config/config.js';
import type { TargetResult } from '../src/sources/target.js';
import { referenceGroupGoroutines, referenceGroupHeap } from './helpers/reference.js';
import { fixture, goVersions } from './helpers/fixtures.js';
import { cacheDir } from './setup/paths.mjs';

type Kind = 'goroutine' | 'goroutineleak' | 'heap';

const captured: [string, Kind, () => Buffer][] = goVersions().flatMap((v) =>
  (['goroutine', 'goroutineleak', 'heap'] as const)
    .filter((k) => existsSync(join(import.meta.dirname, 'fixtures/profiles', v, `${k}.pb.gz`)))
    .map((k): [string, Kind, () => Buffer] => [`${v}/${k}.pb.gz`, k, () => gunzipSync(fixture(v, `${k}.pb.gz`))]));

// npm run bench caches its generated profiles here; checked when present,
// up to 10k distinct stacks (on 100k the reference alone takes a minute).
const benchDir = join(cacheDir(), 'bench');
const generated: [string, Kind, () => Buffer][] = (existsSync(benchDir) ? readdirSync(benchDir) : [])
  .filter((d) => /^\d+_\d+$/.test(d) && Number(d.split('_')[1]) <= 10_000 && existsSync(join(benchDir, d, 'meta.json')))
  .flatMap((d) => (['goroutine', 'heap'] as const).map((k): [string, Kind, () => Buffer] =>
    [`bench ${d}/${k}.pb.gz`, k, () => gunzipSync(readFileSync(join(benchDir, d, `${k}.pb.gz`)))]));

const target = { name: 't', url: 'http://127.0.0.1:1', topSignatures: 100, topHeapFunctions: 100, sources: ['goroutine', 'heap'] } as unknown as TargetConfig;

async function metricsText(result: Omit<TargetResult, 'target'>): Promise<string> {
  const r = new Registry();
  renderTargets(r, [{ target, ...result }]);
  return r.metrics();
}

async function bothWays(kind: Kind, raw: Buffer): Promise<void> {
  const fast = fastDecode(raw);
  expect(fast, 'the fast decoder handles it itself').toBeDefined();
  const ref = validateProfile(decodeProfile(raw));
  expect(fast).toEqual(ref);
  if (kind === 'heap') {
    const want = referenceGroupHeap(ref);
    const memo = heapMemo();
    expect(groupHeap(fast!, memo)).toEqual(want);
    expect(groupHeap(fast!, memo), 'memoized').toEqual(want);
    const data = (x: typeof want) => ({ heap: { source: 'heap' as const, durationSeconds: 0, data: x } });
    expect(await metricsText(data(groupHeap(fast!)))).toBe(await metricsText(data(want)));
    return;
  }
  expectCountProfile(fast!, kind);
  const want = referenceGroupGoroutines(ref);
  const memo = goroutineMemo();
  expect(groupGoroutines(fast!, memo)).toEqual(want);
  expect(groupGoroutines(fast!, memo), 'memoized').toEqual(want);
  expect(groupGoroutines(fast!, memo, 100), 'the top 100 alone').toEqual(keepTop(want, 100));
  const data = (x: typeof want) => ({ goroutine: { source: 'goroutine' as const, durationSeconds: 0, data: { ...x, format: 'proto' as const } } });
  expect(await metricsText(data(groupGoroutines(fast!)))).toBe(await metricsText(data(want)));
}

describe('fast path = reference path', () => {
  it.each(captured)('%s', async (_name, kind, load) => bothWays(kind, load()));
  it.each(generated)('%s', async (_name, kind, load) => bothWays(kind, load()), 120_000);
});

describe('grouping corner cases = reference', () => {
  // main.f parked in two places (lines 10 and 11) and behind different
  // runtime frames; one stack split by labels; a zero count; two blocked kinds.
  const p: perftools.profiles.IProfile = {
    sampleType: [{ type: 1, unit: 2 }],
    sample: [
      { locationId: [3, 1], value: [2] },
      { locationId: [4, 2], value: [2] },
      { locationId: [5, 2], value: [1], label: [{ key: 7, str: 8 }] },
      { locationId: [5, 2], value: [1], label: [{ key: 7, str: 9 }] },
      { locationId: [6, 1], value: [0] },
      { locationId: [1], value: [1] },
    ],
    location: [
      { id: 1, line: [{ functionId: 1, line: 10 }] },
      { id: 2, line: [{ functionId: 1, line: 11 }] },
      { id: 3, line: [{ functionId: 2, line: 1 }, { functionId: 3, line: 2 }] },
      { id: 4, line: [{ functionId: 3, line: 5 }] },
      { id: 5, line: [{ functionId: 4, line: 3 }] },
      { id: 6, line: [{ functionId: 5, line: 4 }] },
    ],
    function: [
      { id: 1, name: 3, filename: 4 }, { id: 2, name: 5, filename: 4 }, { id: 3, name: 6, filename: 4 },
      { id: 4, name: 10, filename: 4 }, { id: 5, name: 11, filename: 4 },
    ],
    stringTable: ['', 'goroutine', 'count', 'main.f', 'main.go', 'runtime.gopark', 'runtime.chanrecv1', 'k', 'a', 'b', 'runtime.selectgo', 'runtime.chansend1'],
  };
  it('signatures over several stacks, ties, labels, zero counts', () => {
    const b = Buffer.from(perftools.profiles.Profile.encode(p).finish());
    const idx = fastDecode(b)!;
    const want = referenceGroupGoroutines(validateProfile(decodeProfile(b)));
    expect(want.signatures).toMatchObject([{ count: 7, frames: [{ line: 10 }] }]); // the first of three stacks of 2
    expect(groupGoroutines(idx)).toEqual(want);
    expect(groupGoroutines(idx)).toEqual(want);
  });
});

describe('a memo shared by profiles, and one past its cap', () => {
  // Each Go version's profile numbers its locations its own way: a memo
  // filled by one must still give every other the reference's answer.
  const profiles = captured.filter(([, kind]) => kind !== 'heap').map(([name, , load]) => [name, readProfile(load())] as const);
  const heaps = captured.filter(([, kind]) => kind === 'heap').map(([name, , load]) => [name, readProfile(load())] as const);

  it('gives the reference answer across profiles and after starting over', () => {
    for (const limits of [{ names: 1 << 16, entries: 1 << 15 }, { names: 1 << 16, entries: 3 }, { names: 4, entries: 1 << 15 }]) {
      const g = goroutineMemo(limits);
      const h = heapMemo(limits);
      for (let round = 0; round < 2; round++) {
        for (const [name, idx] of profiles) {
          const want = referenceGroupGoroutines(idx);
          expect(groupGoroutines(idx, g), `${name} ${JSON.stringify(limits)}`).toEqual(want);
          expect(want.signatures.length).toBeGreaterThan(3);
          expect(groupGoroutines(idx, g, 3), `${name} top 3`).toEqual(keepTop(want, 3));
        }
        for (const [name, idx] of heaps) expect(groupHeap(idx, h), `${name} ${JSON.stringify(limits)}`).toEqual(referenceGroupHeap(idx));
      }
    }
  });
});

type Outcome = { index: ProfileIndex } | { error: string };
const outcome = (f: () => ProfileIndex): Outcome => {
  try {
    return { index: f() };
  } catch (err) {
    return { error: `${(err as Error).name}: ${(err as Error).message}` };
  }
};

// A small deterministic PRNG: the same cases on every run.
function rng(seed: number): () => number {
  return () => {
    seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) | 0;
    return ((seed ^ (seed >>> 12)) >>> 0) / 2 ** 32;
  };
}

describe('broken bytes: the same index or the same error either way', () => {
  const newest = goVersions().at(-1)!;
  const raws = (['goroutine', 'heap'] as const).map((k) => gunzipSync(fixture(newest, `${k}.pb.gz`)));

  it('on every truncation and on random byte changes', () => {
    const random = rng(42);
    let accepted = 0;
    let cases = 0;
    for (const raw of raws) {
      const variants: Buffer[] = [];
      for (let n = 0; n < raw.length; n += Math.max(1, Math.floor(raw.length / 400))) variants.push(raw.subarray(0, n));
      for (let i = 0; i < 600; i++) {
        const b = Buffer.from(raw);
        for (let j = 1 + Math.floor(random() * 3); j > 0; j--) b[Math.floor(random() * b.length)] = Math.floor(random() * 256);
        variants.push(b);
      }
      for (const b of variants) {
        const want = outcome(() => validateProfile(decodeProfile(b)));
        expect(outcome(() => readProfile(b))).toEqual(want);
        if ('index' in want && fastDecode(b)) accepted++;
        cases++;
      }
    }
    // Most changed profiles still decode; the fast path must not leave them all to the reference.
    expect(accepted).toBeGreaterThan(cases / 10);
  });

  const encode = (p: perftools.profiles.IProfile) => Buffer.from(perftools.profiles.Profile.encode(p).finish());
  const base = (): perftools.profiles.IProfile => ({
    sampleType: [{ type: 1, unit: 2 }],
    sample: [{ locationId: [1], value: [2] }],
    location: [{ id: 1, mappingId: 1, line: [{ functionId: 1, line: 10 }] }],
    function: [{ id: 1, name: 3, filename: 4 }],
    mapping: [{ id: 1 }],
    stringTable: ['', 'goroutine', 'count', 'main.f', 'main.go'],
  });

  it.each([
    ['dangling location', (p: perftools.profiles.IProfile) => { p.sample![0]!.locationId = [42]; }],
    ['dangling function', (p: perftools.profiles.IProfile) => { p.location![0]!.line![0]!.functionId = 9; }],
    ['dangling mapping', (p: perftools.profiles.IProfile) => { p.location![0]!.mappingId = 7; }],
    ['string index out of range', (p: perftools.profiles.IProfile) => { p.function![0]!.name = 99; }],
    ['negative string index', (p: perftools.profiles.IProfile) => { p.function![0]!.filename = -1; }],
    ['duplicate location id', (p: perftools.profiles.IProfile) => { p.location!.push({ id: 1 }); }],
    ['value count mismatch', (p: perftools.profiles.IProfile) => { p.sample![0]!.value = [1, 2]; }],
    ['no sample types', (p: perftools.profiles.IProfile) => { p.sampleType = []; }],
    ['string_table[0] not empty', (p: perftools.profiles.IProfile) => { p.stringTable![0] = 'x'; }],
    ['location id 0', (p: perftools.profiles.IProfile) => { p.location![0]!.id = 0; }],
  ])('%s: the reference path\'s message', (_name, breakIt) => {
    const p = base();
    breakIt(p);
    const b = encode(p);
    expect(fastDecode(b)).toBeUndefined();
    const want = outcome(() => validateProfile(decodeProfile(b)));
    expect(want).toMatchObject({ error: expect.stringMatching(/^ScrapeError: malformed profile: /) });
    expect(outcome(() => readProfile(b))).toEqual(want);
  });

  it('leaves 64-bit ids and unknown group fields to the reference, which decodes them', () => {
    const big = base();
    big.location![0]!.id = 2 ** 40;
    big.sample![0]!.locationId = [2 ** 40];
    const group = Buffer.concat([encode(base()), Buffer.from([0x7b, 0x08, 0x01, 0x7c])]); // field 15: start group, varint, end group
    for (const b of [encode(big), group]) {
      expect(fastDecode(b)).toBeUndefined();
      expect(readProfile(b)).toEqual(validateProfile(decodeProfile(b)));
      expect(readProfile(b).sampleCount).toBe(1);
    }
  });
});
