// The readable reference for the grouping: the straightforward code the
// optimized groupGoroutines/groupHeap replaced (string keys, names per
// stack, no memo). test/fastpath.test.ts checks both give the same answer.
import { createHash } from 'node:crypto';
import type { ProfileIndex } from '../../src/decode/validate.js';
import { applicationFunction, blockedOn, type BlockedOn } from '../../src/summarize/classify.js';
import { dominant, sortSignatures, visibleNames, type Frame, type GoroutineSummary, type Signature } from '../../src/summarize/signature.js';
import { allocationSite, type HeapSite, type HeapSummary, type HeapValues } from '../../src/summarize/heapsites.js';

const signatureId = (names: readonly string[]) => createHash('sha256').update(names.join('\n')).digest('hex').slice(0, 16);

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
