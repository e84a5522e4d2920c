// Text dumps (`?debug=2`, `?debug=1`) as the same GoroutineSummary that
// groupGoroutines makes of a proto profile: one frame filter (visibleNames)
// for all three, so a stack gets the same signature id from any source.
import type { Debug1Record } from '../text/debug1.js';
import type { TextFrame, TextGoroutine } from '../text/debug2.js';
import { applicationFunction, blockedOn, type BlockedOn } from './classify.js';
import { dominant, signatureId, sortSignatures, visibleNames, type GoroutineSummary, type Signature } from './signature.js';

export interface WaitInfo {
  /** Signature id → longest wait in seconds (Go prints whole minutes, only after a GC saw the wait). */
  maxWaitSeconds: Map<string, number>;
  /** Bounded wait reason → goroutine count. */
  byWaitReason: Map<string, number>;
  /** Signature id → its wait reasons and creators, each capped (for the web page). */
  bySignature: Map<string, SignatureWait>;
}

export interface Creator { function: string; file: string; line: number; count: number; }

export interface SignatureWait {
  /** Bounded wait reason → goroutine count; at most MAX_REASONS_PER_SIGNATURE, the rest under "other". */
  reasons: Map<string, number>;
  /** `created by` sites, most goroutines first after result(); at most MAX_CREATORS_PER_SIGNATURE. */
  creators: Creator[];
}

export const MAX_REASONS_PER_SIGNATURE = 8;
export const MAX_CREATORS_PER_SIGNATURE = 3;

// Wait reasons become label values: keep them to what Go prints.
const SAFE_REASON = /^[a-zA-Z0-9 ._()-]{1,40}$/;
export function waitReasonLabel(reason: string): string {
  return SAFE_REASON.test(reason) ? reason : 'other';
}

const BY_REASON: Record<string, BlockedOn> = {
  'chan send': 'chan_send',
  'chan send (nil chan)': 'chan_send',
  'chan receive': 'chan_receive',
  'chan receive (nil chan)': 'chan_receive',
  'select': 'select',
  'select (no cases)': 'select_no_cases',
  'sync.Mutex.Lock': 'mutex',
  'sync.RWMutex.Lock': 'rwmutex',
  'sync.RWMutex.RLock': 'rwmutex',
  'sync.WaitGroup.Wait': 'waitgroup',
  'sync.Cond.Wait': 'cond',
  'sleep': 'sleep',
  'IO wait': 'io_wait',
  'syscall': 'syscall',
  'running': 'running',
  'runnable': 'running',
  'preempted': 'running',
};

/** blocked_on from a debug=2 header; vague reasons (semacquire, …) fall back to the frames. */
export function blockedOnWaitReason(reason: string, names: readonly string[]): BlockedOn {
  // Suffixes Go adds to the reason: leak detection, GC scan bit, synctest.
  const base = reason.replace(/ \((?:leaked|scan|durable)\)/g, '');
  const known = BY_REASON[base];
  if (known) return known;
  const b = blockedOn(names);
  return b === 'running' ? 'other' : b; // the header says it is waiting
}

interface Acc {
  id: string;
  count: number;
  function: string;
  blocked: Map<BlockedOn, number>;
  stacks: Map<string, { count: number; frames: TextFrame[] }>; // by file:line, for the most common one
}

function accumulator() {
  const bySignature = new Map<string, Acc>();
  let total = 0;
  return {
    add(frames: readonly TextFrame[], count: number, blocked: BlockedOn): string {
      const visible = visibleNames(frames);
      const id = signatureId(visible.map((f) => f.function));
      let acc = bySignature.get(id);
      if (!acc) {
        acc = { id, count: 0, function: applicationFunction(frames.map((f) => f.function)), blocked: new Map(), stacks: new Map() };
        bySignature.set(id, acc);
      }
      const key = visible.map((f) => `${f.file}:${f.line}`).join('\n');
      const stack = acc.stacks.get(key);
      if (stack) stack.count += count;
      else acc.stacks.set(key, { count, frames: visible });
      acc.count += count;
      acc.blocked.set(blocked, (acc.blocked.get(blocked) ?? 0) + count);
      total += count;
      return id;
    },
    result(): GoroutineSummary {
      const signatures: Signature[] = [];
      for (const a of bySignature.values()) {
        let top: { count: number; frames: TextFrame[] } | undefined;
        for (const s of a.stacks.values()) if (!top || s.count > top.count) top = s;
        signatures.push({ id: a.id, count: a.count, function: a.function, blockedOn: dominant(a.blocked), frames: top?.frames ?? [] });
      }
      return { total, signatures: sortSignatures(signatures) };
    },
  };
}

// Go prints these only when every other frame is hidden (a goroutine that has
// not started) or under GOTRACEBACK=system; the proto never has them.
const TEXT_ONLY = /^runtime\.goexit$|\.gowrap\d+$/;

export function debug2Summarizer(): { add(g: TextGoroutine): void; result(): { summary: GoroutineSummary; wait: WaitInfo } } {
  const acc = accumulator();
  const wait: WaitInfo = { maxWaitSeconds: new Map(), byWaitReason: new Map(), bySignature: new Map() };
  return {
    add(g) {
      const frames = g.frames.filter((f) => !TEXT_ONLY.test(f.function));
      const blocked = frames.length === 0 ? 'running' : blockedOnWaitReason(g.waitReason, frames.map((f) => f.function));
      const id = acc.add(frames, 1, blocked);
      const seconds = g.waitMinutes * 60;
      wait.maxWaitSeconds.set(id, Math.max(wait.maxWaitSeconds.get(id) ?? 0, seconds));
      const reason = waitReasonLabel(g.waitReason);
      wait.byWaitReason.set(reason, (wait.byWaitReason.get(reason) ?? 0) + 1);
      let sw = wait.bySignature.get(id);
      if (!sw) {
        sw = { reasons: new Map(), creators: [] };
        wait.bySignature.set(id, sw);
      }
      const r = sw.reasons.has(reason) || sw.reasons.size < MAX_REASONS_PER_SIGNATURE - 1 ? reason : 'other';
      sw.reasons.set(r, (sw.reasons.get(r) ?? 0) + 1);
      const c = g.createdBy;
      if (c) {
        const same = sw.creators.find((x) => x.function === c.function && x.file === c.file && x.line === c.line);
        if (same) same.count++;
        else if (sw.creators.length < MAX_CREATORS_PER_SIGNATURE) sw.creators.push({ function: c.function, file: c.file, line: c.line, count: 1 });
      }
    },
    result: () => {
      for (const sw of wait.bySignature.values()) sw.creators.sort((a, b) => b.count - a.count);
      return { summary: acc.result(), wait };
    },
  };
}

export function debug1Summarizer(): { add(r: Debug1Record): void; result(): GoroutineSummary } {
  const acc = accumulator();
  return {
    add(r) {
      // debug=1 hides the leading runtime frames, so a parked goroutine often
      // shows no park frame: without a wait reason, "running" would be a guess.
      // Frames debug=1 could not symbolize ("#\t0x…") carry no name.
      const frames = r.frames.filter((f) => f.function !== '');
      const names = frames.map((f) => f.function);
      const b = names.length === 0 ? 'running' : blockedOn(names);
      acc.add(frames, r.count, b === 'running' && names.length > 0 ? 'other' : b);
    },
    result: () => acc.result(),
  };
}
