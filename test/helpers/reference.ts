// The readable reference for the grouping: the straightforward code the
// optimized groupGoroutines/groupHeap replaced (string keys, names per
// stack, no memo). test/fastpath.test.ts checks both give the same answer.
import { createHash } from 'node:crypto';
import type { ProfileIndex } from '../../src/decode/validate.js';
import { applicationFunction, blockedOn, type BlockedOn } from '../../src/summarize/classify.js';
import { dominant, sortSignatures, visibleNames, type Frame, type GoroutineSummary, type Signature } from '../../src/summarize/signature.js';
import { allocationSite, type HeapSite, type HeapSummary, type HeapValues } from '../../src/summarize/heapsites.js';

// The id as README defines it, written from the spec on bytes (not the
// word-at-a-time code of src/summarize/stackid.ts): MurmurHash3_x86_128,
// seed 0, of the names' SHA-256 prefixes (8 bytes each) concatenated; h1, h2.
export function referenceSignatureId(names: readonly string[]): string {
  const data = Buffer.concat(names.map((n) => createHash('sha256').update(n, 'utf8').digest().subarray(0, 8)));
  const c = [0x239b961b, 0xab0e9789, 0x38b34ae5, 0xa1e38b93];
  const rot = [15, 16, 17, 18];
  const hrot = [19, 17, 15, 13];
  const add = [0x561ccd1b, 0x0bcaa747, 0x96cd1c35, 0x32ac3b17];
  const u = (x: number) => x >>> 0;
  const rotl = (x: number, r: number) => u((x << r) | (x >>> (32 - r)));
  const mul = (a: number, b: number) => u(Math.imul(a, b));
  const mixK = (k: number, j: number) => mul(rotl(mul(k, c[j]!), rot[j]!), c[(j + 1) % 4]!);
  const h = [0, 0, 0, 0];
  const blocks = Math.floor(data.length / 16);
  for (let b = 0; b < blocks; b++) {
    for (let j = 0; j < 4; j++) {
      h[j] = u(h[j]! ^ mixK(data.readUInt32LE(16 * b + 4 * j), j));
      h[j] = u(mul(u(rotl(h[j]!, hrot[j]!) + h[(j + 1) % 4]!), 5) + add[j]!);
    }
  }
  const tail = data.subarray(16 * blocks);
  for (let j = 0; j < 4; j++) {
    let k = 0;
    for (let i = 3; i >= 0; i--) if (4 * j + i < tail.length) k = u((k << 8) | tail[4 * j + i]!);
    if (4 * j < tail.length) h[j] = u(h[j]! ^ mixK(k, j));
  }
  const fmix = (x: number) => {
    x = mul(x ^ (x >>> 16), 0x85ebca6b);
    x = mul(x ^ (x >>> 13), 0xc2b2ae35);
    return u(x ^ (x >>> 16));
  };
  for (let j = 0; j < 4; j++) h[j] = u(h[j]! ^ data.length);
  h[0] = u(h[0]! + h[1]! + h[2]! + h[3]!);
  for (let j = 1; j < 4; j++) h[j] = u(h[j]! + h[0]!);
  for (let j = 0; j < 4; j++) h[j] = fmix(h[j]!);
  h[0] = u(h[0]! + h[1]! + h[2]! + h[3]!);
  h[1] = u(h[1]! + h[0]!);
  return h.slice(0, 2).map((x) => x.toString(16).padStart(8, '0')).join('');
}
const signatureId = referenceSignatureId;

function stackOf(idx: ProfileIndex, i: number): number[] {
  return [...idx.stacks.subarray(idx.stackStart[i], idx.stackStart[i + 1])];
}

export function referenceGroupGoroutines(idx: ProfileIndex): GoroutineSummary {
  // Merge samples by location sequence; names once per distinct sequence.
  const byLocations = new Map<string, { ids: number[]; count: number }>();
  let total = 0;
  for (let i = 0; i < idx.sampleCount; i++) {
    const count = idx.values[i * idx.sampleTypes.length]!;
    total += count;
    const ids = stackOf(idx, i);
    const key = ids.join(',');
    const g = byLocations.get(key);
    if (g) g.count += count;
    else byLocations.set(key, { ids, count });
  }

  const bySignature = new Map<string, { id: string; count: number; function: string; blocked: Map<BlockedOn, number>; top: { count: number; frames: Frame[] } }>();
  for (const { ids, count } of byLocations.values()) {
    const all: Frame[] = [];
    for (const id of ids) for (const f of idx.locations[id]!.frames) all.push({ function: f.fn.name, file: f.fn.file, line: f.line });
    const allNames = all.map((f) => f.function);
    const visible = visibleNames(all);
    const id = signatureId(visible.map((f) => f.function));
    const blocked = blockedOn(allNames);
    let acc = bySignature.get(id);
    if (!acc) {
      acc = { id, count: 0, function: applicationFunction(allNames), blocked: new Map(), top: { count, frames: visible } };
      bySignature.set(id, acc);
    } else if (count > acc.top.count) {
      acc.top = { count, frames: visible };
    }
    acc.count += count;
    acc.blocked.set(blocked, (acc.blocked.get(blocked) ?? 0) + count);
  }
  const signatures: Signature[] = [];
  for (const a of bySignature.values()) {
    signatures.push({ id: a.id, count: a.count, function: a.function, blockedOn: dominant(a.blocked), frames: a.top.frames });
  }
  return { total, signatures: sortSignatures(signatures) };
}

const TYPES = { allocObjects: 'alloc_objects', allocBytes: 'alloc_space', inuseObjects: 'inuse_objects', inuseBytes: 'inuse_space' } as const;

export function referenceGroupHeap(idx: ProfileIndex): HeapSummary {
  const names = idx.sampleTypes.map((t) => t.type);
  const at = Object.fromEntries(Object.entries(TYPES).map(([k, t]) => [k, names.indexOf(t)])) as Record<keyof HeapValues, number>;
  if (Object.values(at).some((i) => i < 0)) throw new Error('not a heap profile');
  const totals: HeapValues = { inuseBytes: 0, inuseObjects: 0, allocBytes: 0, allocObjects: 0 };
  const byFunction = new Map<string, HeapSite>();
  for (let i = 0; i < idx.sampleCount; i++) {
    const fn = allocationSite(stackOf(idx, i).flatMap((l) => idx.locations[l]!.frames.map((f) => f.fn.name)));
    let site = byFunction.get(fn);
    if (!site) {
      site = { function: fn, inuseBytes: 0, inuseObjects: 0, allocBytes: 0, allocObjects: 0 };
      byFunction.set(fn, site);
    }
    for (const k of Object.keys(at) as (keyof HeapValues)[]) {
      const v = idx.values[i * names.length + at[k]]!;
      site[k] += v;
      totals[k] += v;
    }
  }
  const sites = [...byFunction.values()].sort((a, b) =>
    b.inuseBytes - a.inuseBytes || b.allocBytes - a.allocBytes || (a.function < b.function ? -1 : 1));
  return { totals, sites };
}
