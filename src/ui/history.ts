// What the web page remembers between scrapes, bounded: per target the last
// scrape's status, a ring of recent counts per tracked signature (the
// sparklines), each signature's stack once, and periodic snapshots of all
// counts (the "now vs N minutes ago" diff). Every scrape of the targets,
// from /metrics or the idle refresh, is recorded here.
import { distinctOf, keepTop, type Frame } from '../summarize/signature.js';
import type { BlockedOn } from '../summarize/classify.js';
import { sourceResults, type TargetResult } from '../sources/target.js';

export interface HistoryLimits {
  /** Counts kept per signature (the sparkline): the last N scrapes. */
  pointsPerSignature: number;
  /**
   * Signatures tracked per target, largest first; the rest are counted as
   * dropped. Never fewer than the target's top_signatures, so every
   * signature on /metrics has a page.
   */
  signaturesPerTarget: number;
  /** Snapshots kept per target, for the diff. */
  snapshotsPerTarget: number;
  /** At most one snapshot per this many seconds. */
  snapshotEverySeconds: number;
  /** Stacks kept per target (tracked ones and those still in a snapshot), as a multiple of the tracked cap. */
  stacksPerTracked: number;
}

// 120 points are 30 minutes at Prometheus' usual 15 s; 61 snapshots a
// minute apart reach an hour back.
export const DEFAULT_LIMITS: Readonly<HistoryLimits> = Object.freeze({
  pointsPerSignature: 120,
  signaturesPerTarget: 500,
  snapshotsPerTarget: 61,
  snapshotEverySeconds: 60,
  stacksPerTracked: 4,
});

export interface Point { atMs: number; count: number; }

/** A fixed-size ring of (time, count). */
export class Ring {
  private readonly at: Float64Array;
  private readonly n: Float64Array;
  private start = 0;
  size = 0;

  constructor(readonly capacity: number) {
    this.at = new Float64Array(capacity);
    this.n = new Float64Array(capacity);
  }

  push(atMs: number, count: number): void {
    const i = (this.start + this.size) % this.capacity;
    this.at[i] = atMs;
    this.n[i] = count;
    if (this.size < this.capacity) this.size++;
    else this.start = (this.start + 1) % this.capacity;
  }

  points(): Point[] {
    const out: Point[] = [];
    for (let k = 0; k < this.size; k++) {
      const i = (this.start + k) % this.capacity;
      out.push({ atMs: this.at[i]!, count: this.n[i]! });
    }
    return out;
  }

  last(): Point | undefined {
    if (this.size === 0) return undefined;
    const i = (this.start + this.size - 1) % this.capacity;
    return { atMs: this.at[i]!, count: this.n[i]! };
  }

  allZero(): boolean {
    for (let k = 0; k < this.size; k++) if (this.n[(this.start + k) % this.capacity] !== 0) return false;
    return true;
  }
}

/**
 * A signature's counts, one per scrape of its target since it was tracked:
 * every tracked ring is pushed on every scrape, so their times are the last
 * `size` of the target's `totals` ring, held once rather than per signature
 * (a thousand targets × 100 signatures × 120 points: 190 MiB of times and
 * counts as doubles, 48 MiB as this).
 */
export class CountRing {
  private readonly n: Uint32Array;
  private start = 0;
  size = 0;

  /** `times`: the target's totals ring, pushed on the same scrapes, after this one. */
  constructor(readonly capacity: number, private readonly times: Ring) {
    this.n = new Uint32Array(capacity);
  }

  /** A goroutine count: a whole number, held as one up to 2^32 - 1. */
  push(count: number): void {
    const i = (this.start + this.size) % this.capacity;
    this.n[i] = Math.min(0xffffffff, Math.max(0, Math.round(count)));
    if (this.size < this.capacity) this.size++;
    else this.start = (this.start + 1) % this.capacity;
  }

  /** Paired with the times of the target's scrapes. */
  points(): Point[] {
    const at = this.times.points().slice(-this.size);
    const out: Point[] = [];
    for (let k = 0; k < at.length; k++) out.push({ atMs: at[k]!.atMs, count: this.n[(this.start + k) % this.capacity]! });
    return out;
  }

  allZero(): boolean {
    for (let k = 0; k < this.size; k++) if (this.n[(this.start + k) % this.capacity] !== 0) return false;
    return true;
  }
}

export interface SignatureMeta {
  id: string;
  function: string;
  blockedOn: BlockedOn;
  /** Visible frames of the most common stack when first seen; stored once per id. */
  frames: Frame[];
  firstSeenMs: number;
  lastSeenMs: number;
}

export interface ScrapeStatus {
  atMs: number;
  success: boolean;
  durationSeconds: number;
  goroutines?: number;
  signatures?: number;
  /** proto, or debug1 when the text fallback was used. */
  format?: string;
  errors: { source: string; stage: string; code: string; message: string }[];
}

export interface Snapshot {
  atMs: number;
  total: number;
  /** Signature id → count, for the tracked (largest) signatures. */
  counts: Map<string, number>;
  /** Goroutines of the signatures beyond the cap. */
  other: number;
}

// Frames kept by every target's history, one object per distinct frame and
// one string per distinct name: replicas of one service (and a target's own
// stacks) share most of them, and each profile decodes its names afresh.
// Bounded; started over when full.
const POOL_MAX = 1 << 16;
const framePool = new Map<string, Frame>();
const stringPool = new Map<string, string>();

function pooledString(s: string): string {
  let p = stringPool.get(s);
  if (p === undefined) {
    if (stringPool.size >= POOL_MAX) stringPool.clear();
    stringPool.set(s, s);
    p = s;
  }
  return p;
}

/** `seen`: this profile's frame objects already pooled (one per location, shared by its stacks). */
function pooled(frames: readonly Frame[], seen: Map<Frame, Frame>): Frame[] {
  return frames.map((f) => {
    const known = seen.get(f);
    if (known) return known;
    const fn = pooledString(f.function);
    const file = pooledString(f.file);
    const key = `${f.line}\n${fn}\n${file}`;
    let p = framePool.get(key);
    if (!p) {
      if (framePool.size >= POOL_MAX) framePool.clear();
      p = { function: fn, file, line: f.line };
      framePool.set(key, p);
    }
    seen.set(f, p);
    return p;
  });
}

export class TargetHistory {
  status?: ScrapeStatus;
  readonly stacks = new Map<string, SignatureMeta>();
  readonly rings = new Map<string, CountRing>();
  /** Total goroutines per scrape. */
  readonly totals: Ring;
  /** Signatures of the last profile not tracked because of signaturesPerTarget. */
  dropped = 0;
  readonly snapshots: Snapshot[] = [];
  /** The last successful scrape, whether or not it became a snapshot. */
  latest?: Snapshot;

  constructor(private readonly limits: HistoryLimits) {
    this.totals = new Ring(limits.pointsPerSignature);
  }

  record(r: TargetResult, nowMs: number): void {
    const results = sourceResults(r);
    const errors = results.flatMap((s) => (s.error
      ? [{ source: s.source, stage: s.error.stage, code: s.error.code, message: s.error.message }]
      : []));
    const g = r.goroutine?.data;
    this.status = {
      atMs: nowMs,
      success: errors.length === 0,
      durationSeconds: Math.max(0, ...results.map((s) => s.durationSeconds)),
      errors,
      ...(g && { goroutines: g.total, signatures: distinctOf(g), format: g.format }),
    };
    if (!g) return; // a failed scrape leaves a gap, not a zero

    const L = this.limits;
    const cap = Math.max(L.signaturesPerTarget, r.target.topSignatures);
    const top = keepTop(g, cap);
    const kept = top.signatures; // sorted by count
    const all = new Map(g.signatures.map((s) => [s.id, s.count]));
    const seen = new Map<Frame, Frame>();
    for (const s of kept) {
      const meta = this.stacks.get(s.id);
      if (meta) {
        meta.lastSeenMs = nowMs;
        meta.function = s.function;
        meta.blockedOn = s.blockedOn;
      } else {
        this.stacks.set(s.id, { id: s.id, function: s.function, blockedOn: s.blockedOn, frames: pooled(s.frames, seen), firstSeenMs: nowMs, lastSeenMs: nowMs });
      }
      if (!this.rings.has(s.id)) this.rings.set(s.id, new CountRing(L.pointsPerSignature, this.totals));
    }
    // Tracked signatures that fell out of the top keep counting (0 once gone).
    for (const [id, ring] of this.rings) {
      const count = all.get(id) ?? 0;
      ring.push(count);
      if (count > 0) this.stacks.get(id)!.lastSeenMs = nowMs;
    }
    this.totals.push(nowMs, g.total);

    // Over the cap: forget the smallest, longest-gone signatures first.
    const keptIds = new Set(kept.map((s) => s.id));
    for (const [id, ring] of this.rings) if (!keptIds.has(id) && ring.size === ring.capacity && ring.allZero()) this.rings.delete(id);
    if (this.rings.size > cap) {
      const extra = [...this.rings.keys()].filter((id) => !keptIds.has(id))
        .sort((a, b) => (all.get(a) ?? 0) - (all.get(b) ?? 0) || this.stacks.get(a)!.lastSeenMs - this.stacks.get(b)!.lastSeenMs);
      for (const id of extra.slice(0, this.rings.size - cap)) this.rings.delete(id);
    }
    this.dropped = g.signatures.filter((s) => !this.rings.has(s.id)).length + distinctOf(g) - g.signatures.length;

    const other = top.beyond ?? 0;
    this.latest = { atMs: nowMs, total: g.total, counts: new Map(kept.map((s) => [s.id, s.count])), other };
    const prev = this.snapshots.at(-1);
    if (!prev || nowMs - prev.atMs >= L.snapshotEverySeconds * 1000) {
      this.snapshots.push(this.latest);
      if (this.snapshots.length > L.snapshotsPerTarget) this.snapshots.shift();
    }
    this.pruneStacks(cap * L.stacksPerTracked);
  }

  // A stack is kept while its signature is tracked or in a kept snapshot.
  private pruneStacks(max: number): void {
    const oldest = this.snapshots[0]?.atMs ?? Infinity;
    for (const [id, m] of this.stacks) if (!this.rings.has(id) && m.lastSeenMs < oldest) this.stacks.delete(id);
    if (this.stacks.size > max) {
      const old = [...this.stacks.values()].filter((m) => !this.rings.has(m.id)).sort((a, b) => a.lastSeenMs - b.lastSeenMs);
      for (const m of old.slice(0, this.stacks.size - max)) this.stacks.delete(m.id);
    }
  }

  /** A tracked signature's counts with their scrapes' times. */
  pointsOf(id: string): Point[] {
    return this.rings.get(id)?.points() ?? [];
  }

  /** The newest snapshot taken at least `seconds` before the latest scrape, else the oldest kept. */
  snapshotBefore(seconds: number): Snapshot | undefined {
    const latest = this.latest;
    if (!latest) return undefined;
    let best: Snapshot | undefined;
    for (const s of this.snapshots) if (latest.atMs - s.atMs >= seconds * 1000) best = s;
    return best ?? this.snapshots[0];
  }
}

export class History {
  private readonly targets = new Map<string, TargetHistory>();
  /** Date.now() of the last recorded scrape of all targets. */
  lastScrapeMs: number | undefined;

  constructor(readonly limits: Readonly<HistoryLimits> = DEFAULT_LIMITS) {}

  record(results: readonly TargetResult[], nowMs = Date.now()): void {
    this.lastScrapeMs = nowMs;
    this.retainTargets(new Set(results.map((r) => r.target.name)));
    for (const r of results) {
      let t = this.targets.get(r.target.name);
      if (!t) {
        t = new TargetHistory(this.limits);
        this.targets.set(r.target.name, t);
      }
      t.record(r, nowMs);
    }
  }

  /** Forgets targets no longer configured. */
  retainTargets(names: ReadonlySet<string>): void {
    for (const name of this.targets.keys()) if (!names.has(name)) this.targets.delete(name);
  }

  get(name: string): TargetHistory | undefined {
    return this.targets.get(name);
  }
}
