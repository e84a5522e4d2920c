// Group a goroutine profile's samples into stack signatures.
//
// A signature is the sequence of function names of a stack, leaf to root,
// without the runtime frames Go's tracebacks hide (so a `debug=2` text dump
// of the same stack yields the same id). Its id is the first 16 hex digits of
// the SHA-256 of those names joined by "\n": stable across scrapes, exporter
// and target restarts, and rebuilds that keep the functions.
import { createHash } from 'node:crypto';
import type { ProfileIndex } from '../profile/validate.js';
import { applicationFunction, blockedOn, type BlockedOn } from './classify.js';

export interface Frame { function: string; file: string; line: number; }

export interface Signature {
  id: string;
  count: number;
  function: string;
  blockedOn: BlockedOn;
  /** Visible frames (as in a traceback) of the most common stack with this signature. */
  frames: Frame[];
}

export interface GoroutineSummary {
  total: number;
  signatures: Signature[]; // sorted by count desc, then id
}

/** Frames Go's traceback hides at the default GOTRACEBACK level (runtime.showfuncinfo). */
export function isHiddenFrame(name: string): boolean {
  if (!name.startsWith('runtime.')) return !name.includes('.');
  return !isExportedRuntime(name);
}

function isExportedRuntime(name: string): boolean {
  let rest = name.slice('runtime.'.length);
  let rcvr = '';
  const dot = rest.lastIndexOf('.');
  if (dot >= 0) {
    rcvr = rest.slice(0, dot).replace(/^\(\*(.*)\)$/, '$1');
    rest = rest.slice(dot + 1);
  }
  const upper = (s: string) => s.length > 0 && s[0]! >= 'A' && s[0]! <= 'Z';
  return upper(rest) && (rcvr === '' || upper(rcvr));
}

/**
 * The frames a signature is made of, the same for every source of one stack:
 * hidden frames (above) anywhere, and the leading `runtime.`/`internal/runtime/`
 * frames, which `debug=1` text never shows (pprof's printStackRecord) even when
 * exported (runtime.GC). Accepts names or frames.
 */
export function visibleNames<T extends string | { function: string }>(frames: readonly T[]): T[] {
  const name = (f: T): string => (typeof f === 'string' ? f : f.function);
  const leading = (n: string) => n.startsWith('runtime.') || n.startsWith('internal/runtime/') || isHiddenFrame(n);
  let i = 0;
  while (i < frames.length && leading(name(frames[i]!))) i++;
  return frames.slice(i).filter((f) => !isHiddenFrame(name(f)));
}

export function signatureId(names: readonly string[]): string {
  return createHash('sha256').update(names.join('\n')).digest('hex').slice(0, 16);
}

interface Stack { count: number; frames: Frame[]; }

interface Acc {
  id: string;
  count: number;
  function: string;
  blocked: Map<BlockedOn, number>;
  top: Stack;
}

export function groupGoroutines(idx: ProfileIndex): GoroutineSummary {
  // Pass 1: merge samples by location-id sequence; cheap keys, no names yet.
  const byLocations = new Map<string, { ids: number[]; count: number }>();
  let total = 0;
  for (const s of idx.profile.sample) {
    const count = s.value![0] as number; // checked by validateProfile
    total += count;
    const ids = (s.locationId ?? []) as number[];
    const key = ids.join(',');
    const g = byLocations.get(key);
    if (g) g.count += count;
    else byLocations.set(key, { ids, count });
  }

  // Pass 2: names once per distinct location sequence; frame objects once
  // per location (stacks share most of their locations).
  const locationFrames = new Map<number, Frame[]>();
  const framesOf = (id: number): Frame[] => {
    let frames = locationFrames.get(id);
    if (!frames) {
      frames = idx.locations.get(id)!.frames.map((f) => ({ function: f.fn.name, file: f.fn.file, line: f.line }));
      locationFrames.set(id, frames);
    }
    return frames;
  };
  const bySignature = new Map<string, Acc>();
  for (const { ids, count } of byLocations.values()) {
    const all: Frame[] = [];
    for (const id of ids) for (const f of framesOf(id)) all.push(f);
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

/** By count, largest first; ties by id so the output is stable. */
export function sortSignatures(signatures: Signature[]): Signature[] {
  return signatures.sort((x, y) => y.count - x.count || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
}

// One signature can cover stacks parked in different places of the same
// functions; the label reports where most of its goroutines wait.
export function dominant(m: Map<BlockedOn, number>): BlockedOn {
  let best: BlockedOn = 'other';
  let n = -1;
  for (const [k, v] of m) if (v > n || (v === n && k < best)) { best = k; n = v; }
  return best;
}
