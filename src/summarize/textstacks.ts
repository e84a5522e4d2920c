// Text dumps (`?debug=2`, `?debug=1`) as the same GoroutineSummary that
// groupGoroutines makes of a proto profile: one frame filter (visibleNames)
// for all three, so a stack gets the same signature id from any source.
import type { Debug1Record } from '../decode/debug1.js';
import type { TextFrame, TextGoroutine } from '../decode/debug2.js';
import { applicationFunction, blockedOn, type BlockedOn } from './classify.js';
import { dominant, signatureId, sortSignatures, visibleNames, type GoroutineSummary, type Signature } from './signature.js';
import { labelValue } from '../labelvalue.js';
import type { DumpWaits } from './waitsince.js';

export interface WaitInfo {
  /** Signature id → longest wait in seconds (Go prints whole minutes, only after a GC saw the wait; leaked goroutines: since first seen). */
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
  return byWaitReason(reason, blockedOn(names));
}

/** As blockedOnWaitReason, given blockedOn() of the names. */
function byWaitReason(reason: string, namesBlockedOn: BlockedOn): BlockedOn {
  // Suffixes Go adds to the reason: leak detection, GC scan bit, synctest.
  const base = reason.includes(' (') ? reason.replace(/ \((?:leaked|scan|durable)\)/g, '') : reason;
  const known = BY_REASON[base];
  if (known) return known;
  return namesBlockedOn === 'running' ? 'other' : namesBlockedOn; // the header says it is waiting
}

// What a frame sequence's names mean, memoized by the names: the same few
// stacks repeat across a dump's goroutines. Keyed by a hash of a few
// characters per name (interning every name cost more than the rest of the
// parse), checked by comparing the names. One memo per dump: nothing one
// target sends outlives its dump.
interface Meaning {
  names: string[];
  id: string;
  function: string;
  blocked: BlockedOn; // blockedOn() of the names
  visible: Uint32Array; // positions of the visible frames
}

function namesHash(frames: readonly TextFrame[]): number {
  let h = 0x811c9dc5 ^ frames.length;
  for (const { function: n } of frames) {
    const k = n.length | n.charCodeAt(n.length - 1) << 12 | n.charCodeAt(n.length >> 1) << 20 | n.charCodeAt(n.length * 3 >> 2) << 26;
    h = Math.imul(h ^ k, 0x01000193) ^ (h >>> 15);
  }
  return h;
}

class Meanings {
  private readonly byHash = new Map<number, Meaning[]>();
  // What is kept (memo, top stacks) holds one copy of each name and file: a
  // parser's strings are slices of its line strings, which V8 keeps whole
  // (arguments and all) while a slice lives, and 10k stacks repeat few names.
  private readonly interned = new Map<string, string>();

  own(s: string): string {
    let c = this.interned.get(s);
    if (c === undefined) {
      c = (s + ' ').slice(0, -1);
      this.interned.set(c, c);
    }
    return c;
  }

  of(frames: readonly TextFrame[]): Meaning {
    const h = namesHash(frames);
    const bucket = this.byHash.get(h);
    if (bucket) {
      next: for (const m of bucket) {
        if (m.names.length !== frames.length) continue;
        for (let i = 0; i < frames.length; i++) if (m.names[i] !== frames[i]!.function) continue next;
        return m;
      }
    }
    const names = frames.map((f) => this.own(f.function));
    const visible = visibleNames(names.map((function_, at) => ({ function: function_, at })));
    const m: Meaning = {
      names, id: signatureId(visible.map((f) => f.function)), function: labelValue(applicationFunction(names)), blocked: blockedOn(names),
      visible: Uint32Array.from(visible, (f) => f.at),
    };
    if (bucket) bucket.push(m);
    else this.byHash.set(h, [m]);
    return m;
  }
}

interface Stack { count: number; frames: TextFrame[]; hash: number; next: Stack | undefined; }

// Most signatures have one stack and one blocked_on: maps only past that.
interface Acc {
  id: string;
  count: number;
  function: string;
  blocked: BlockedOn; // the first one seen
  blockedCounts: Map<BlockedOn, number> | undefined; // once a second one shows up
  order: Stack[]; // distinct file:line sequences, first seen first, for the most common one
  stacks: Map<number, Stack> | undefined; // by hash, once there are many
}

const MANY_STACKS = 8;

/** The same file:line sequence (frames' functions are the same names already). */
function sameLines(a: readonly TextFrame[], b: readonly TextFrame[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i]!.line !== b[i]!.line || a[i]!.file !== b[i]!.file) return false;
  return true;
}

function accumulator() {
  const meanings = new Meanings();
  const own = (x: string) => meanings.own(x);
  const bySignature = new Map<string, Acc>();
  let total = 0;
  return {
    /** `frames` with their names; returns the signature id. */
    add(frames: readonly TextFrame[], count: number, blocked: (namesBlockedOn: BlockedOn) => BlockedOn): string {
      const m = meanings.of(frames);
      let acc = bySignature.get(m.id);
      if (!acc) {
        acc = { id: m.id, count: 0, function: m.function, blocked: blocked(m.blocked), blockedCounts: undefined, order: [], stacks: undefined };
        bySignature.set(m.id, acc);
      }
      let sh = 0x811c9dc5;
      for (let i = 0; i < m.visible.length; i++) {
        const f = frames[m.visible[i]!]!;
        sh = Math.imul(sh ^ f.line ^ f.file.length << 16, 0x01000193) ^ (sh >>> 15);
      }
      const visible = m.visible.length === frames.length ? frames : pick(frames, m.visible);
      let stack = acc.stacks ? acc.stacks.get(sh) : acc.order[0];
      while (stack && !(stack.hash === sh && sameLines(stack.frames, visible))) stack = acc.stacks ? stack.next : acc.order[acc.order.indexOf(stack) + 1];
      if (stack) {
        stack.count += count;
      } else {
        const kept = Array.from(m.visible, (i) => ({ ...frames[i]!, function: labelValue(m.names[i]!), file: labelValue(own(frames[i]!.file)) }));
        stack = { count, frames: kept, hash: sh, next: acc.stacks?.get(sh) };
        acc.order.push(stack);
        if (acc.stacks) acc.stacks.set(sh, stack);
        else if (acc.order.length > MANY_STACKS) {
          acc.stacks = new Map();
          for (const x of acc.order) { x.next = acc.stacks.get(x.hash); acc.stacks.set(x.hash, x); }
        }
      }
      const b = blocked(m.blocked);
      if (b !== acc.blocked || acc.blockedCounts) {
        acc.blockedCounts ??= new Map([[acc.blocked, acc.count]]);
        acc.blockedCounts.set(b, (acc.blockedCounts.get(b) ?? 0) + count);
      }
      acc.count += count;
      total += count;
      return m.id;
    },
    result(): GoroutineSummary {
      const signatures: Signature[] = [];
      for (const a of bySignature.values()) {
        let top: Stack | undefined;
        for (const s of a.order) if (!top || s.count > top.count) top = s;
        signatures.push({ id: a.id, count: a.count, function: a.function, blockedOn: a.blockedCounts ? dominant(a.blockedCounts) : a.blocked, frames: top?.frames ?? [] });
      }
      return { total, signatures: sortSignatures(signatures) };
    },
  };
}

const pick = (frames: readonly TextFrame[], at: Uint32Array): TextFrame[] => Array.from(at, (i) => frames[i]!);

// Go prints these only when every other frame is hidden (a goroutine that has
// not started) or under GOTRACEBACK=system; the proto never has them.
const TEXT_ONLY = /^runtime\.goexit$|\.gowrap\d+$/;
const isTextOnly = (name: string) => (name.endsWith('goexit') || name.includes('.gowrap')) && TEXT_ONLY.test(name);

/** `waits`: the target's wait tracking (waitsince.ts), for leaked goroutines Go prints without minutes. */
export function debug2Summarizer(waits?: DumpWaits): { add(g: TextGoroutine): void; result(): { summary: GoroutineSummary; wait: WaitInfo } } {
  const acc = accumulator();
  const wait: WaitInfo = { maxWaitSeconds: new Map(), byWaitReason: new Map(), bySignature: new Map() };
  return {
    add(g) {
      const frames = g.frames.some((f) => isTextOnly(f.function)) ? g.frames.filter((f) => !isTextOnly(f.function)) : g.frames;
      const id = acc.add(frames, 1, (b) => (frames.length === 0 ? 'running' : byWaitReason(g.waitReason, b)));
      const seconds = waits ? waits.seconds(g, id) : g.waitMinutes * 60;
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
        const same = sw.creators.find((x) => x.function === labelValue(c.function) && x.file === labelValue(c.file) && x.line === c.line);
        if (same) same.count++;
        else if (sw.creators.length < MAX_CREATORS_PER_SIGNATURE) sw.creators.push({ function: labelValue(c.function), file: labelValue(c.file), line: c.line, count: 1 });
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
      acc.add(frames, r.count, (b) => (frames.length === 0 ? 'running' : b === 'running' ? 'other' : b));
    },
    result: () => acc.result(),
  };
}
