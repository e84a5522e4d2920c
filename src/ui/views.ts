// The data behind every page, as plain JSON-able objects: the API serves
// them as they are, pages.ts renders them as HTML. Nothing here escapes;
// everything that came from a target is still raw text.
import type { Summarizer } from '../sources/offthread.js';
import type { BackgroundSampler } from '../sources/background.js';
import type { Config, TargetConfig } from '../config/config.js';
import type { Frame, GoroutineSummary, Signature } from '../summarize/signature.js';
import { PATHS } from '../sources/harness.js';
import { diffCounts, type Change, type Diff, type DiffSide } from './diff.js';
import type { Point, Snapshot, TargetHistory } from './history.js';
import { IDLE_SCRAPE_SECONDS, type WebState } from './state.js';
import type { Upload } from './uploads.js';
import { printable } from '../printable.js';

/** What the web layer needs of the Exporter. */
export interface WebContext {
  readonly config: Config;
  readonly background: BackgroundSampler;
  readonly web: WebState;
  /** Decodes uploads off the event loop, within the shared inflate budget. */
  readonly summarizer: Summarizer;
  /** A goroutine profile of the target fetched now (the allowlist applies to probed names). */
  live(name: string, module?: string): Promise<{ atMs: number; data?: GoroutineSummary; error?: string; denied?: boolean }>;
}

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
/** [unix seconds, count], like Prometheus' range vectors. */
const pairs = (points: Point[]): [number, number][] => points.map((p) => [p.atMs / 1000, p.count]);

export const signaturePath = (target: string, id: string) =>
  `/targets/${encodeURIComponent(target)}/signatures/${encodeURIComponent(id)}`;

export function limitsView(ctx: WebContext) {
  const h = ctx.web.history.limits;
  const u = ctx.web.uploads.limits;
  return {
    pointsPerSignature: h.pointsPerSignature,
    signaturesPerTarget: h.signaturesPerTarget,
    stacksPerTracked: h.stacksPerTracked,
    snapshotsPerTarget: h.snapshotsPerTarget,
    snapshotEverySeconds: h.snapshotEverySeconds,
    idleScrapeSeconds: IDLE_SCRAPE_SECONDS,
    uploads: u.uploads,
    signaturesPerUpload: u.signaturesPerUpload,
    maxProfileBytes: ctx.config.global.maxProfileBytes,
    maxDecompressedBytes: ctx.config.global.maxDecompressedBytes,
  };
}

/** What the views need of a target: a configured one, or one Prometheus names by its `target` label. */
export type TargetRef = Pick<TargetConfig, 'name' | 'url' | 'sources'>;

export function findTarget(ctx: WebContext, name: string): TargetConfig | undefined {
  return ctx.config.targets.find((t) => t.name === name);
}

// --- targets --------------------------------------------------------------

export function targetView(ctx: WebContext, t: TargetRef, nowMs = Date.now()) {
  const h = ctx.web.history.get(t.name);
  const bg = ctx.background.get(t.name);
  const s = h?.status;
  const d2 = bg?.debug2;
  const leak = bg?.leak;
  return {
    name: t.name,
    url: t.url,
    sources: t.sources,
    lastScrape: s ? {
      at: iso(s.atMs),
      ageSeconds: Math.max(0, (nowMs - s.atMs) / 1000),
      success: s.success,
      durationSeconds: s.durationSeconds,
      goroutines: s.goroutines ?? null,
      signatures: s.signatures ?? null,
      format: s.format ?? null,
      errors: s.errors,
    } : null,
    history: {
      trackedSignatures: h?.rings.size ?? 0,
      droppedSignatures: h?.dropped ?? 0,
      stacks: h?.stacks.size ?? 0,
      snapshots: h?.snapshots.length ?? 0,
      oldestSnapshot: iso(h?.snapshots[0]?.atMs),
      goroutines: pairs(h?.totals.points() ?? []),
    },
    debug2: t.sources.includes('goroutine_debug2') ? {
      at: iso(d2?.last?.atMs),
      truncated: d2?.last?.truncated ?? null,
      error: d2?.result?.error?.message ?? null,
    } : null,
    goroutineleak: t.sources.includes('goroutineleak') ? {
      at: iso(leak?.last?.atMs),
      supported: leak?.supported ?? null,
      error: leak?.result?.error?.message ?? null,
    } : null,
  };
}
export type TargetView = ReturnType<typeof targetView>;

export function targetsView(ctx: WebContext, nowMs = Date.now()) {
  return { limits: limitsView(ctx), targets: ctx.config.targets.map((t) => targetView(ctx, t, nowMs)) };
}

// --- signatures -----------------------------------------------------------

export interface Growth { delta: number; seconds: number; }

function growth(points: Point[]): Growth {
  const first = points[0];
  const last = points.at(-1);
  if (!first || !last) return { delta: 0, seconds: 0 };
  return { delta: last.count - first.count, seconds: (last.atMs - first.atMs) / 1000 };
}

/** Longest wait and proven leaks per signature, from the background samplers. */
function backgroundIndex(ctx: WebContext, target: string) {
  const bg = ctx.background.get(target);
  const d2 = bg?.debug2.last;
  const leak = bg?.leak.last;
  const leaked = new Map(leak?.summary.signatures.map((s) => [s.id, s.count]) ?? []);
  return {
    d2,
    leak,
    waitOf: (id: string): number | null => (d2 ? d2.wait.maxWaitSeconds.get(id) ?? null : null),
    // Only a target whose goroutineleak profile was read can say "0 leaked".
    leakedOf: (id: string): number | null => (leak ? leaked.get(id) ?? 0 : null),
  };
}

export type SortBy = 'growth' | 'count';

export interface SignatureRow {
  id: string;
  function: string;
  blockedOn: string;
  count: number;
  growth: Growth;
  history: [number, number][];
  maxWaitSeconds: number | null;
  leaked: number | null;
  url: string;
}

/** Tracked signatures still present or that changed within the window; growing first unless sort=count. */
export function signatureRows(ctx: WebContext, t: TargetRef, sort: SortBy = 'growth', limit = Infinity): SignatureRow[] {
  const h = ctx.web.history.get(t.name);
  if (!h) return [];
  const bg = backgroundIndex(ctx, t.name);
  const rows: SignatureRow[] = [];
  for (const id of h.rings.keys()) {
    const points = h.pointsOf(id);
    const g = growth(points);
    const count = points.at(-1)?.count ?? 0;
    if (count === 0 && g.delta === 0) continue;
    const m = h.stacks.get(id)!;
    rows.push({
      id, function: m.function, blockedOn: m.blockedOn, count, growth: g, history: pairs(points),
      maxWaitSeconds: bg.waitOf(id), leaked: bg.leakedOf(id), url: signaturePath(t.name, id),
    });
  }
  const byCount = (a: SignatureRow, b: SignatureRow) => b.count - a.count || (a.id < b.id ? -1 : 1);
  rows.sort(sort === 'count' ? byCount : (a, b) => b.growth.delta - a.growth.delta || byCount(a, b));
  return rows.slice(0, limit);
}

export function signaturesView(ctx: WebContext, t: TargetRef, sort: SortBy, limit: number) {
  const h = ctx.web.history.get(t.name);
  return {
    target: t.name,
    at: iso(h?.latest?.atMs),
    goroutines: h?.latest?.total ?? null,
    droppedSignatures: h?.dropped ?? 0,
    sort,
    signatures: signatureRows(ctx, t, sort, limit),
  };
}

// --- one signature --------------------------------------------------------

/** A shell word: single-quoted, controls (terminal escapes) and bidi overrides replaced. */
export function shellQuote(s: string): string {
  return `'${printable(s).replace(/'/g, `'\\''`)}'`;
}

const regexQuote = (s: string) => s.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');

/** Commands that reproduce the page by hand, against the target itself. */
export function commands(t: TargetRef, fn: string) {
  const profile = `${t.url}/debug/pprof/goroutine`;
  return {
    debug2: `curl -s ${shellQuote(`${t.url}${PATHS.goroutineDebug2}`)} | awk -v RS= -v fn=${shellQuote(fn)} 'index($0, fn) { print $0 "\\n" }'`,
    traces: `go tool pprof -traces -focus=${shellQuote(`^${regexQuote(fn)}$`)} ${shellQuote(profile)}`,
    save: `curl -s -o "goroutine-$(date +%Y%m%d-%H%M%S).pb.gz" ${shellQuote(profile)}`,
    base: 'go tool pprof -top -base goroutine-OLD.pb.gz goroutine-NEW.pb.gz',
  };
}

export function signatureView(ctx: WebContext, t: TargetRef, id: string, nowMs = Date.now()) {
  const h = ctx.web.history.get(t.name);
  const bg = backgroundIndex(ctx, t.name);
  const fromBg = (s: Signature | undefined) => s && { function: s.function, blockedOn: s.blockedOn as string, frames: s.frames };
  // Tracked from the scrapes; else only seen by the background samplers.
  const tracked = h?.stacks.get(id);
  const meta = tracked
    ?? fromBg(bg.d2?.summary.signatures.find((s) => s.id === id))
    ?? fromBg(bg.leak?.summary.signatures.find((s) => s.id === id));
  if (!meta) return undefined;
  const points = h?.pointsOf(id) ?? [];
  const sw = bg.d2?.wait.bySignature.get(id);
  return {
    target: t.name,
    targetUrl: t.url,
    id,
    function: meta.function,
    blockedOn: meta.blockedOn,
    count: h?.latest ? h.latest.counts.get(id) ?? 0 : null,
    at: iso(h?.latest?.atMs),
    growth: growth(points),
    history: pairs(points),
    firstSeen: iso(tracked?.firstSeenMs),
    lastSeen: iso(tracked?.lastSeenMs),
    frames: meta.frames.map((f: Frame) => ({ function: f.function, file: f.file, line: f.line })),
    /** Frames left out (the info series' stack label is capped); never here. */
    moreFrames: 0,
    wait: bg.d2 ? {
      at: iso(bg.d2.atMs),
      ageSeconds: Math.max(0, (nowMs - bg.d2.atMs) / 1000),
      maxWaitSeconds: bg.waitOf(id),
      reasons: [...(sw?.reasons ?? [])].sort((a, b) => b[1] - a[1]).map(([reason, goroutines]) => ({ reason, goroutines })),
      createdBy: (sw?.creators ?? []).map((c) => ({ function: c.function, file: c.file, line: c.line, goroutines: c.count })),
    } : null,
    leaked: bg.leak ? { at: iso(bg.leak.atMs), goroutines: bg.leakedOf(id) } : null,
    commands: commands(t, meta.function),
  };
}
export type SignatureView = NonNullable<ReturnType<typeof signatureView>>;

// --- diffs ----------------------------------------------------------------

interface Described { function: string; blockedOn: string; frames: Frame[]; }

export interface DiffViewRow {
  id: string; change: Change; base: number; new: number; delta: number;
  function: string | null; blockedOn: string | null; frames: Frame[]; url: string | null;
}

function diffView<B extends object, N extends object>(
  d: Diff, describe: (id: string) => Described | undefined, url: (id: string) => string | null,
  base: B, next: N, baseSide: DiffSide, nextSide: DiffSide,
) {
  return {
    base: { ...base, total: baseSide.total },
    new: { ...next, total: nextSide.total },
    totalDelta: d.totalDelta,
    otherDelta: d.otherDelta,
    changes: d.changes,
    unchanged: d.unchanged,
    rows: d.rows.map((r): DiffViewRow => {
      const m = describe(r.id);
      return { ...r, function: m?.function ?? null, blockedOn: m?.blockedOn ?? null, frames: m?.frames ?? [], url: url(r.id) };
    }),
  };
}

const side = (s: Snapshot): DiffSide => ({ total: s.total, counts: s.counts, other: s.other });

/** Now against the snapshot `minutes` ago (or the oldest kept, said so in `base.requestedMinutes`). */
export function targetDiffView(ctx: WebContext, t: TargetRef, minutes: number) {
  const h: TargetHistory | undefined = ctx.web.history.get(t.name);
  const latest = h?.latest;
  const base = h?.snapshotBefore(minutes * 60);
  if (!h || !latest || !base) return undefined;
  const d = diffCounts(side(base), side(latest));
  return {
    target: t.name,
    ...diffView(d, (id) => h.stacks.get(id), (id) => signaturePath(t.name, id),
      { source: 'snapshot', at: iso(base.atMs), requestedMinutes: minutes, minutesBefore: (latest.atMs - base.atMs) / 60_000 },
      { source: 'scrape', at: iso(latest.atMs) }, side(base), side(latest)),
    commands: {
      save: commands(t, '').save,
      base: commands(t, '').base,
    },
  };
}

const uploadSide = (u: Upload): DiffSide => ({ total: u.total, counts: new Map(u.signatures.map((s) => [s.id, s.count])), other: u.other });

export function uploadView(u: Upload) {
  return { id: u.id, name: u.name, at: iso(u.atMs), bytes: u.bytes, kind: u.kind, goroutines: u.total, signatures: u.distinct };
}

export function uploadDiffView(base: Upload, next: Upload) {
  const byId = new Map<string, Signature>();
  for (const s of base.signatures) byId.set(s.id, s);
  for (const s of next.signatures) byId.set(s.id, s);
  const d = diffCounts(uploadSide(base), uploadSide(next));
  return diffView(d, (id) => byId.get(id), () => null,
    { source: 'upload', ...uploadView(base) }, { source: 'upload', ...uploadView(next) }, uploadSide(base), uploadSide(next));
}
export type TargetDiffView = NonNullable<ReturnType<typeof targetDiffView>>;
export type UploadDiffView = ReturnType<typeof uploadDiffView>;
export type DiffView = TargetDiffView | UploadDiffView;
