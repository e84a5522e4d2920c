// The on-call pages' figures from Prometheus (--prometheus.url): every target
// Prometheus has series of, probed ones included, named by its `target` label;
// counts and history from range queries, stacks from the info series. Nothing
// is kept between requests, so a restarted exporter (or another replica)
// shows the same history. Each figure carries the time of the scrape it is from.
import type { Config, Source } from '../config/config.js';
import { OTHER } from '../metrics/catalog.js';
import { parseProbeTarget } from '../probe.js';
import { diffCounts, type DiffSide } from './diff.js';
import { Prometheus, selector, type Series } from './promql.js';
import type { HistorySource, IndexEntry, SignaturesView, StoreInfo, TargetsView } from './source.js';
import {
  commands, signaturePath, type SignatureRow, type SignatureView, type SortBy, type TargetDiffView, type TargetRef, type TargetView,
} from './views.js';
import type { Frame } from '../summarize/signature.js';

export interface PromSourceOptions {
  prometheus: Prometheus;
  config: () => Config;
  /** Resolution of the history: set it to the scrape interval. */
  stepSeconds: number;
  /** Points of history per series (the window is step × points). */
  points: number;
  /** Unix seconds of "now"; the bench sets it to where its backfilled data ends. */
  now?: () => number;
}

/** Targets listed at most; the rest are left off (and said so in the API's `truncated`). */
export const MAX_TARGETS = 1000;
const SIGNATURE_ID = /^[0-9a-f]{16}$/;

const iso = (s: number | undefined) => (s === undefined || !Number.isFinite(s) ? null : new Date(s * 1000).toISOString());
const byTarget = (series: Series[]) => new Map(series.map((s) => [s.metric.target ?? '', s.values.at(-1)?.[1]]));
const first = (series: Series[]) => series[0]?.values.at(-1)?.[1];

/** A stack label (`function file:line` per line, leaf first, maybe a last `… N more frames`) as frames. */
export function parseStack(stack: string): { frames: Frame[]; more: number } {
  const frames: Frame[] = [];
  let more = 0;
  for (const line of stack === '' ? [] : stack.split('\n')) {
    const cut = /^… (\d+) more frames?$/.exec(line);
    if (cut) { more = Number(cut[1]); break; }
    // Function names can hold spaces (generic shapes), paths too: the path is absolute, so split before it.
    const m = /^(.+?) ((?:[A-Za-z]:)?\/.*):(\d+)$/.exec(line) ?? /^(.+) (\S+):(\d+)$/.exec(line);
    frames.push(m ? { function: m[1]!, file: m[2]!, line: Number(m[3]) } : { function: line, file: '', line: 0 });
  }
  return { frames, more };
}

interface Status {
  success?: number; at?: number; goroutines?: number; signatures?: number; duration?: number;
  debug2At?: number; leakAt?: number; history: [number, number][];
}

export class PromSource implements HistorySource {
  private readonly p: Prometheus;
  private readonly nowS: () => number;
  constructor(private readonly o: PromSourceOptions) {
    this.p = o.prometheus;
    this.nowS = o.now ?? (() => Date.now() / 1000);
  }

  get store(): StoreInfo {
    return { kind: 'prometheus', url: this.p.url, stepSeconds: this.o.stepSeconds, points: this.o.points };
  }

  private get windowSeconds(): number { return this.o.stepSeconds * this.o.points; }
  private get w(): string { return `${Math.round(this.windowSeconds)}s`; }

  /** A configured target keeps its URL; a probed one's `target` label is host:port or a URL. */
  private ref(name: string, sources: Source[] = ['goroutine']): TargetRef {
    const configured = this.o.config().targets.find((t) => t.name === name);
    if (configured) return { name, url: configured.url, sources };
    let url = '';
    try { url = parseProbeTarget(name).origin; } catch { /* a name, not an address */ }
    return { name, url, sources };
  }

  async find(name: string): Promise<TargetRef | undefined> {
    if (name.length > 1024) return undefined;
    const r = await this.p.instant(`count(last_over_time(${selector('pprof_exporter_scrape_success', { target: name })}[${this.w}]))`, this.nowS());
    return r.length > 0 ? this.ref(name) : undefined;
  }

  /** Last scrape, totals and background-sample times of one target, or of all (target=""). */
  private async status(target: string | undefined, t: number): Promise<Map<string, Status>> {
    const sel = (m: string, extra = '') => (target === undefined
      ? selector(m, {}, ['target!=""', extra].filter(Boolean).join(', '))
      : selector(m, { target }, extra));
    const age = (m: string) => `max by (target) (timestamp(${sel(m)}) - ${sel(m)})`;
    const [success, at, goroutines, signatures, duration, debug2At, leakAt, history] = await Promise.all([
      this.p.instant(`max by (target) (last_over_time(${sel('pprof_exporter_scrape_success', 'source="goroutine"')}[${this.w}]))`, t),
      this.p.instant(`max by (target) (timestamp(${sel('go_goroutines')}))`, t),
      this.p.instant(`max by (target) (${sel('go_goroutines')})`, t),
      this.p.instant(`max by (target) (${sel('pprof_goroutine_signatures')})`, t),
      this.p.instant(`max by (target) (${sel('pprof_exporter_scrape_duration_seconds', 'source="goroutine"')})`, t),
      this.p.instant(age('pprof_goroutine_dump_age_seconds'), t),
      this.p.instant(age('pprof_goroutineleak_profile_age_seconds'), t),
      this.p.range(`max by (target) (${sel('go_goroutines')})`, t - this.windowSeconds, t, this.o.stepSeconds),
    ]);
    const out = new Map<string, Status>();
    const maps = { success, at, goroutines, signatures, duration, debug2At, leakAt };
    const names = [...new Set(success.map((s) => s.metric.target ?? ''))].sort().slice(0, MAX_TARGETS);
    const hist = new Map(history.map((s) => [s.metric.target ?? '', s.values]));
    for (const name of names) out.set(name, { history: hist.get(name) ?? [] });
    for (const [k, series] of Object.entries(maps)) {
      for (const [name, v] of byTarget(series)) {
        const s = out.get(name);
        if (s && v !== undefined) (s as unknown as Record<string, number>)[k] = v;
      }
    }
    return out;
  }

  private view(name: string, s: Status, t: number, tracked: number): TargetView {
    const sources: Source[] = ['goroutine'];
    if (s.debug2At !== undefined) sources.push('goroutine_debug2');
    if (s.leakAt !== undefined) sources.push('goroutineleak');
    const ref = this.ref(name, sources);
    return {
      name, url: ref.url, sources,
      lastScrape: s.at === undefined ? null : {
        at: iso(s.at), ageSeconds: Math.max(0, t - s.at), success: s.success === 1, durationSeconds: s.duration ?? 0,
        goroutines: s.goroutines ?? null, signatures: s.signatures ?? null, format: null,
        errors: s.success === 0 ? [{ source: 'goroutine', stage: 'unknown', code: 'PPROF_SCRAPE_FAILED', message: 'the last scrape failed (pprof_exporter_scrape_success 0; the exporter\'s log says why)' }] : [],
      },
      history: { trackedSignatures: tracked, droppedSignatures: 0, stacks: 0, snapshots: 0, oldestSnapshot: iso(s.history[0]?.[0]), goroutines: s.history },
      debug2: s.debug2At === undefined ? null : { at: iso(s.debug2At), truncated: null, error: null },
      goroutineleak: s.leakAt === undefined ? null : { at: iso(s.leakAt), supported: true, error: null },
    };
  }

  async targets(): Promise<TargetsView> {
    const t = this.nowS();
    const st = await this.status(undefined, t);
    const counts = byTarget(await this.p.instant(`count by (target) (${selector('pprof_goroutines', {}, `target!="", signature!="${OTHER}"`)})`, t));
    return {
      limits: this.limits(),
      targets: [...st].map(([name, s]) => this.view(name, s, t, counts.get(name) ?? 0)),
    } as unknown as TargetsView;
  }

  private limits() {
    return { store: 'prometheus', prometheusUrl: this.p.url, stepSeconds: this.o.stepSeconds, pointsPerSignature: this.o.points, maxTargets: MAX_TARGETS };
  }

  async target(r: TargetRef): Promise<TargetView> {
    const t = this.nowS();
    const st = (await this.status(r.name, t)).get(r.name) ?? { history: [] };
    const tracked = first(await this.p.instant(`count(${selector('pprof_goroutines', { target: r.name }, `signature!="${OTHER}"`)})`, t)) ?? 0;
    return this.view(r.name, st, t, tracked);
  }

  /** The index: per target its top rows by growth over the window, from instant queries over every target at once. */
  async index(top: number): Promise<IndexEntry[]> {
    const t = this.nowS();
    const W = this.w;
    const g = selector('pprof_goroutines', {}, `target!="", signature!="${OTHER}"`);
    const growth = `((${g} - ${g} offset ${W}) or ${g})`;
    const chosen = `topk by (target) (${Math.max(1, Math.floor(top))}, ${growth})`;
    const [st, grew, counts] = await Promise.all([
      this.status(undefined, t),
      this.p.instant(chosen, t),
      this.p.instant(`count by (target) (${g})`, t),
    ]);
    // The rest only for the chosen rows: topk is the costly part, so it runs once; the ids are
    // Prometheus' own 16-hex-digit labels, checked, at most top × MAX_TARGETS of them.
    const ids = [...new Set(grew.map((s) => s.metric.signature ?? '').filter((id) => SIGNATURE_ID.test(id)))];
    const set = `signature=~"${ids.join('|')}"`;
    const [now, waits, leaked] = ids.length === 0 ? [[], [], []] : await Promise.all([
      this.p.instant(selector('pprof_goroutines', {}, `target!="", ${set}`), t),
      this.p.instant(`max by (target, signature) (${selector('pprof_goroutine_wait_seconds_max', {}, `target!="", ${set}`)})`, t),
      this.p.instant(`max by (target, signature) (${selector('pprof_goroutines_leaked', {}, `target!="", ${set}`)})`, t),
    ]);
    const key = (m: Record<string, string>) => `${m.target}\u0000${m.signature}`;
    const nowOf = new Map(now.map((s) => [key(s.metric), s]));
    const waitOf = new Map(waits.map((s) => [key(s.metric), s.values[0]?.[1]]));
    const leakOf = new Map(leaked.map((s) => [key(s.metric), s.values[0]?.[1]]));
    const tracked = byTarget(counts);
    const rowsOf = new Map<string, SignatureRow[]>();
    for (const s of grew) {
      const n = nowOf.get(key(s.metric));
      const id = s.metric.signature ?? '';
      const name = s.metric.target ?? '';
      const status = st.get(name);
      if (!n || !status) continue;
      const count = n.values[0]?.[1] ?? 0;
      const delta = s.values[0]?.[1] ?? 0;
      if (count === 0 && delta === 0) continue;
      const row: SignatureRow = {
        id, function: n.metric.function ?? '', blockedOn: n.metric.blocked_on ?? '', count,
        growth: { delta, seconds: this.windowSeconds },
        history: [[t - this.windowSeconds, count - delta], [t, count]],
        maxWaitSeconds: status.debug2At === undefined ? null : waitOf.get(key(s.metric)) ?? null,
        leaked: status.leakAt === undefined ? null : leakOf.get(key(s.metric)) ?? 0,
        url: signaturePath(name, id),
      };
      rowsOf.set(name, [...(rowsOf.get(name) ?? []), row]);
    }
    return [...st].map(([name, s]) => {
      const rows = sortRows(rowsOf.get(name) ?? [], 'growth');
      return { view: this.view(name, s, t, tracked.get(name) ?? 0), rows, tracked: tracked.get(name) ?? 0 };
    });
  }

  async rows(r: TargetRef, sort: SortBy): Promise<SignatureRow[]> {
    return (await this.rowsAt(r, sort, this.nowS())).rows;
  }

  private async rowsAt(r: TargetRef, sort: SortBy, t: number) {
    const sel = { target: r.name };
    const [series, waits, leaked, st] = await Promise.all([
      this.p.range(`max by (signature, function, blocked_on) (${selector('pprof_goroutines', sel, `signature!="${OTHER}"`)})`,
        t - this.windowSeconds, t, this.o.stepSeconds),
      this.p.instant(`max by (signature) (${selector('pprof_goroutine_wait_seconds_max', sel)})`, t),
      this.p.instant(`max by (signature) (${selector('pprof_goroutines_leaked', sel)})`, t),
      this.status(r.name, t),
    ]);
    const status = st.get(r.name);
    const waitOf = new Map(waits.map((s) => [s.metric.signature, s.values[0]?.[1]]));
    const leakOf = new Map(leaked.map((s) => [s.metric.signature, s.values[0]?.[1]]));
    const rows: SignatureRow[] = [];
    for (const s of series) {
      const id = s.metric.signature ?? '';
      const pts = s.values;
      const last = pts.at(-1);
      // A series gone from the last step is gone now (its last scrape ended it).
      const count = last && last[0] >= t - this.o.stepSeconds / 2 ? last[1] : 0;
      const delta = count - (pts[0]?.[1] ?? 0);
      if (count === 0 && delta === 0) continue;
      rows.push({
        id, function: s.metric.function ?? '', blockedOn: s.metric.blocked_on ?? '', count,
        growth: { delta, seconds: pts.length > 0 ? (last![0] - pts[0]![0]) : 0 }, history: pts,
        maxWaitSeconds: status?.debug2At === undefined ? null : waitOf.get(id) ?? null,
        leaked: status?.leakAt === undefined ? null : leakOf.get(id) ?? 0,
        url: signaturePath(r.name, id),
      });
    }
    return { rows: sortRows(rows, sort), status };
  }

  async signatures(r: TargetRef, sort: SortBy, limit: number): Promise<SignaturesView> {
    const t = this.nowS();
    const { rows, status } = await this.rowsAt(r, sort, t);
    return {
      target: r.name, at: iso(status?.at), goroutines: status?.goroutines ?? null, droppedSignatures: 0, sort,
      signatures: rows.slice(0, limit),
    };
  }

  async signature(r: TargetRef, id: string): Promise<SignatureView | undefined> {
    if (!SIGNATURE_ID.test(id)) return undefined;
    const t = this.nowS();
    const sel = { target: r.name, signature: id };
    const [series, info, at, count, wait, leaked, st] = await Promise.all([
      this.p.range(`max by (function, blocked_on) (${selector('pprof_goroutines', sel)})`, t - this.windowSeconds, t, this.o.stepSeconds),
      this.p.instant(`last_over_time(${selector('pprof_goroutine_signature_info', sel)}[${this.w}])`, t),
      this.p.instant(`max(timestamp(${selector('pprof_goroutines', sel)}))`, t),
      this.p.instant(`max(${selector('pprof_goroutines', sel)})`, t),
      this.p.instant(`max(${selector('pprof_goroutine_wait_seconds_max', sel)})`, t),
      this.p.instant(`max(${selector('pprof_goroutines_leaked', sel)})`, t),
      this.status(r.name, t),
    ]);
    const s = series[0];
    const i = info[0]?.metric;
    if (!s && !i) return undefined;
    const status = st.get(r.name);
    const fn = i?.function ?? s?.metric.function ?? '';
    const stack = parseStack(i?.stack ?? '');
    const pts = s?.values ?? [];
    const lastAt = first(at);
    const ref = this.ref(r.name);
    return {
      target: r.name, targetUrl: ref.url, id,
      function: fn, blockedOn: i?.blocked_on ?? s?.metric.blocked_on ?? '',
      count: lastAt === undefined ? (status?.at === undefined ? null : 0) : first(count) ?? 0,
      at: iso(lastAt ?? status?.at),
      growth: { delta: (pts.at(-1)?.[1] ?? 0) - (pts[0]?.[1] ?? 0), seconds: pts.length > 0 ? pts.at(-1)![0] - pts[0]![0] : 0 },
      history: pts,
      firstSeen: iso(pts[0]?.[0]), lastSeen: iso(pts.at(-1)?.[0]),
      frames: stack.frames, moreFrames: stack.more,
      wait: status?.debug2At === undefined ? null : {
        at: iso(status.debug2At), ageSeconds: Math.max(0, t - status.debug2At), maxWaitSeconds: first(wait) ?? null,
        // Per-signature wait reasons and creators are not exported as series (only the debug=2 dump has them).
        reasons: [], createdBy: [],
      },
      leaked: status?.leakAt === undefined ? null : { at: iso(status.leakAt), goroutines: first(leaked) ?? 0 },
      commands: commands(ref, fn),
    };
  }

  async diff(r: TargetRef, minutes: number): Promise<TargetDiffView | undefined> {
    const t = this.nowS();
    const then = t - minutes * 60;
    const sel = selector('pprof_goroutines', { target: r.name });
    const total = selector('go_goroutines', { target: r.name });
    let [nowCounts, baseCounts, nowTotal, baseTotal, nowAt, baseAt, info] = await Promise.all([
      this.p.instant(`max by (signature) (${sel})`, t),
      this.p.instant(`max by (signature) (${sel})`, then),
      this.p.instant(`max(${total})`, t),
      this.p.instant(`max(${total})`, then),
      this.p.instant(`max(timestamp(${total}))`, t),
      this.p.instant(`max(timestamp(${total}))`, then),
      this.p.instant(`last_over_time(${selector('pprof_goroutine_signature_info', { target: r.name })}[${Math.round(minutes * 60 + 300)}s])`, t),
    ]);
    const na = first(nowAt);
    let ba = first(baseAt);
    if (na === undefined) return undefined;
    if (ba === undefined) {
      // Nothing that long ago: the oldest scrape since then (the page says how far back it is).
      const step = Math.max(this.o.stepSeconds, Math.ceil((minutes * 60) / 500));
      const oldest = await this.p.range(`max(timestamp(${total}))`, then, t, step);
      ba = oldest[0]?.values[0]?.[1];
      const firstAt = oldest[0]?.values[0]?.[0];
      if (firstAt !== undefined && step > this.o.stepSeconds) {
        // That point saw the newest sample up to it, which may be up to `step` late (or now): look inside the step.
        const fine = await this.p.range(`max(timestamp(${total}))`, firstAt - step, firstAt, this.o.stepSeconds);
        ba = fine[0]?.values[0]?.[1] ?? ba;
      }
      if (ba === undefined || ba >= na) return undefined;
      [baseCounts, baseTotal] = await Promise.all([this.p.instant(`max by (signature) (${sel})`, ba), this.p.instant(`max(${total})`, ba)]);
    }
    const side = (series: Series[], tot: Series[]): DiffSide => {
      const counts = new Map<string, number>();
      let other = 0;
      for (const s of series) {
        const v = s.values[0]?.[1] ?? 0;
        if (s.metric.signature === OTHER) other = v;
        else counts.set(s.metric.signature ?? '', v);
      }
      return { total: first(tot) ?? 0, counts, other };
    };
    const b = side(baseCounts, baseTotal);
    const n = side(nowCounts, nowTotal);
    const d = diffCounts(b, n);
    const described = new Map(info.map((s) => [s.metric.signature ?? '', s.metric]));
    const ref = this.ref(r.name);
    return {
      target: r.name,
      base: { source: 'prometheus', at: iso(ba)!, requestedMinutes: minutes, minutesBefore: (na - ba) / 60, total: b.total },
      new: { source: 'prometheus', at: iso(na)!, total: n.total },
      totalDelta: d.totalDelta, otherDelta: d.otherDelta, changes: d.changes, unchanged: d.unchanged,
      rows: d.rows.map((row) => {
        const m = described.get(row.id);
        return {
          ...row, function: m?.function ?? null, blockedOn: m?.blocked_on ?? null,
          frames: m?.stack ? parseStack(m.stack).frames : [], url: signaturePath(r.name, row.id),
        };
      }),
      commands: { save: commands(ref, '').save, base: commands(ref, '').base },
    } as unknown as TargetDiffView;
  }
}

function sortRows(rows: SignatureRow[], sort: SortBy): SignatureRow[] {
  const byCount = (a: SignatureRow, b: SignatureRow) => b.count - a.count || (a.id < b.id ? -1 : 1);
  return rows.sort(sort === 'count' ? byCount : (a, b) => b.growth.delta - a.growth.delta || byCount(a, b));
}

