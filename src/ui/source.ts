// Where the on-call pages and the JSON API get their figures: the exporter's
// own memory (the default: one exporter, the demo) or Prometheus
// (--prometheus.url, promsource.ts). Both answer with the same view objects.
import {
  findTarget, signatureRows, signaturesView, signatureView, targetDiffView, targetsView, targetView,
  type SignatureRow, type SignatureView, type SortBy, type TargetDiffView, type TargetRef, type TargetView, type WebContext,
} from './views.js';

export type SignaturesView = ReturnType<typeof signaturesView>;
export type TargetsView = ReturnType<typeof targetsView>;
export interface IndexEntry { view: TargetView; rows: SignatureRow[]; tracked: number; }

/** How the index page describes where its history comes from. */
export type StoreInfo =
  | { kind: 'memory'; points: number }
  | { kind: 'prometheus'; url: string; stepSeconds: number; points: number };

export interface HistorySource {
  readonly store: StoreInfo;
  /** The target by the name the pages use, or undefined when the source knows none. */
  find(name: string): Promise<TargetRef | undefined>;
  index(topPerTarget: number): Promise<IndexEntry[]>;
  targets(): Promise<TargetsView>;
  target(t: TargetRef): Promise<TargetView>;
  rows(t: TargetRef, sort: SortBy): Promise<SignatureRow[]>;
  signatures(t: TargetRef, sort: SortBy, limit: number): Promise<SignaturesView>;
  signature(t: TargetRef, id: string): Promise<SignatureView | undefined>;
  diff(t: TargetRef, minutes: number): Promise<TargetDiffView | undefined>;
}

/** The exporter's History and background samplers: configured targets only, since its start. */
export class MemorySource implements HistorySource {
  constructor(private readonly ctx: WebContext) {}

  get store(): StoreInfo {
    return { kind: 'memory', points: this.ctx.web.history.limits.pointsPerSignature };
  }

  async find(name: string) { return findTarget(this.ctx, name); }

  async index(top: number) {
    const now = Date.now();
    return this.ctx.config.targets.map((t) => ({
      view: targetView(this.ctx, t, now),
      rows: signatureRows(this.ctx, t, 'growth', top),
      tracked: signatureRows(this.ctx, t).length,
    }));
  }

  async targets() { return targetsView(this.ctx); }
  async target(t: TargetRef) { return targetView(this.ctx, t); }
  async rows(t: TargetRef, sort: SortBy) { return signatureRows(this.ctx, t, sort); }
  async signatures(t: TargetRef, sort: SortBy, limit: number) { return signaturesView(this.ctx, t, sort, limit); }
  async signature(t: TargetRef, id: string) { return signatureView(this.ctx, t, id); }
  async diff(t: TargetRef, minutes: number) { return targetDiffView(this.ctx, t, minutes); }
}
