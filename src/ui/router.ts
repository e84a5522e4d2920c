// The on-call pages and their JSON API, mounted by server.ts's createApp.
import { readFileSync } from 'node:fs';
import express, { type Request, type Response, type Router } from 'express';
import { errorPage, indexPage, notFoundPage, signaturePage, targetDiffPage, targetPage, uploadPage, type PageOptions } from './pages.js';
import { readBody, UploadError } from './uploads.js';
import { uploadDiffView, uploadView, type SortBy, type WebContext } from './views.js';
import { MemorySource, type HistorySource } from './source.js';
import { PrometheusError } from './promql.js';
import { IDLE_SCRAPE_SECONDS } from './state.js';

const STATIC: Record<string, { type: string; body: Buffer }> = Object.fromEntries(
  [['app.js', 'text/javascript'], ['app.css', 'text/css']].map(([f, type]) =>
    [f!, { type: `${type!}; charset=utf-8`, body: readFileSync(new URL(`./static/${f}`, import.meta.url)) }]),
);

// Defence in depth behind the escaping: no inline script, nothing off-origin.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
  + "form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

const TOP_ON_INDEX = 10;
const MAX_DIFF_MINUTES = 24 * 60;
const UPLOAD_ID = /^[0-9a-f]{16}$/;

function query(req: Request, name: string): string | undefined {
  const v = (req.query as Record<string, unknown>)[name];
  const first = Array.isArray(v) ? v[0] : v;
  return typeof first === 'string' ? first : undefined;
}

function minutesOf(req: Request): number | undefined {
  const raw = query(req, 'minutes') ?? '60';
  const m = Number(raw);
  return Number.isFinite(m) && m > 0 && m <= MAX_DIFF_MINUTES ? m : undefined;
}

const sortOf = (req: Request): SortBy => (query(req, 'sort') === 'count' ? 'count' : 'growth');

function sendPage(res: Response, body: string, status = 200): void {
  res.status(status).set({
    'Content-Security-Policy': CSP, 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer', 'Cache-Control': 'no-store',
  }).type('html').send(body);
}

function sendJson(res: Response, body: unknown, status = 200): void {
  res.status(status).set({ 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-store' }).json(body);
}

/** A page's "Now": the signature in a goroutine profile fetched this moment. */
export interface LiveView {
  at: string;
  goroutines: number | null;
  count: number | null;
  frames: { function: string; file: string; line: number }[];
  /** Why there is no count: not allowed (no fetch made), or the fetch failed. */
  error: string | null;
  denied: boolean;
}

async function liveView(ctx: WebContext, target: string, id: string, module: string | undefined): Promise<LiveView> {
  const r = await ctx.live(target, module);
  const s = r.data?.signatures.find((x) => x.id === id);
  return {
    at: new Date(r.atMs).toISOString(),
    goroutines: r.data?.total ?? null,
    count: r.data ? s?.count ?? 0 : null,
    frames: s?.frames.map((f) => ({ function: f.function, file: f.file, line: f.line })) ?? [],
    error: r.error ?? null,
    denied: r.denied ?? false,
  };
}

export function webRouter(ctx: WebContext, o: PageOptions, source: HistorySource = new MemorySource(ctx)): Router {
  const r = express.Router();
  const notFound = (res: Response, message: string) => sendPage(res, notFoundPage(message, o), 404);
  const apiError = (res: Response, status: number, error: string, code?: string) => sendJson(res, { error, ...(code && { code }) }, status);
  const unknownTarget = source.store.kind === 'prometheus'
    ? (name: string) => `No target named “${name}” has pprof series in Prometheus (${source.store.kind === 'prometheus' ? source.store.url : ''}) within the last ${source.store.kind === 'prometheus' ? source.store.stepSeconds * source.store.points : 0} s.`
    : (name: string) => `No target named “${name}” is configured.`;
  // Prometheus down, slow or refusing: one message naming the cause, 502 (the page's store is behind it).
  const answered = (api: boolean, handler: (req: Request, res: Response) => Promise<void>) => async (req: Request, res: Response) => {
    try {
      await handler(req, res);
    } catch (err) {
      if (!(err instanceof PrometheusError)) throw err;
      if (api) apiError(res, 502, err.message, `PROMETHEUS_${err.result.toUpperCase()}`);
      else sendPage(res, errorPage('Prometheus did not answer', err.message, o), 502);
    }
  };
  const targetOr404 = async (req: Request, res: Response, api: boolean) => {
    const name = String(req.params.target);
    const t = await source.find(name);
    if (!t) {
      if (api) apiError(res, 404, `no target named ${JSON.stringify(name)}`);
      else notFound(res, unknownTarget(name));
    }
    return t;
  };
  const signatureMissing = (target: string, id: string) => (source.store.kind === 'prometheus'
    ? `Signature ${id} has no series for ${target} in Prometheus within the history window, or is not a signature id (“other” sums the signatures beyond top_signatures).`
    : `Signature ${id} is not known for ${target}: not in the last scrape, no longer tracked, or not a signature id (“other” sums the signatures beyond top_signatures).`);
  const wantsNow = (req: Request) => query(req, 'now') !== undefined;

  // --- pages ---
  r.get('/', answered(false, async (_req, res) => {
    const targets = await source.index(TOP_ON_INDEX);
    sendPage(res, indexPage(targets, { ...o, idleScrapeSeconds: IDLE_SCRAPE_SECONDS, store: source.store }));
  }));
  r.get('/targets/:target', answered(false, async (req, res) => {
    const t = await targetOr404(req, res, false);
    if (t) {
      const [view, rows] = await Promise.all([source.target(t), source.rows(t, sortOf(req))]);
      sendPage(res, targetPage(view, rows, sortOf(req), o));
    }
  }));
  r.get('/targets/:target/signatures/:id', answered(false, async (req, res) => {
    const t = await targetOr404(req, res, false);
    if (!t) return;
    const id = String(req.params.id);
    const v = await source.signature(t, id);
    if (!v) return notFound(res, signatureMissing(t.name, id));
    const live = wantsNow(req) ? await liveView(ctx, t.name, id, query(req, 'module')) : undefined;
    sendPage(res, signaturePage(v, Date.now() / 1000, { ...o, store: source.store }, live));
  }));
  r.get('/targets/:target/diff', answered(false, async (req, res) => {
    const t = await targetOr404(req, res, false);
    if (!t) return;
    const minutes = minutesOf(req);
    if (minutes === undefined) return sendPage(res, notFoundPage(`minutes must be a number in (0, ${MAX_DIFF_MINUTES}]`, o), 400);
    sendPage(res, targetDiffPage(await source.diff(t, minutes), t.name, minutes, o));
  }));
  r.get('/diff', (req, res) => {
    const opts = { ...o, maxProfileBytes: ctx.config.global.maxProfileBytes, uploads: ctx.web.uploads.limits.uploads };
    const [b, n] = [query(req, 'base'), query(req, 'new')];
    if (b === undefined && n === undefined) return sendPage(res, uploadPage(opts));
    const [base, next] = [b, n].map((id) => (id !== undefined && UPLOAD_ID.test(id) ? ctx.web.uploads.get(id) : undefined));
    if (!base || !next) {
      return sendPage(res, uploadPage(opts, { error: `Upload not found: the exporter keeps only the last ${opts.uploads} uploads, and not across restarts. Upload the files again.` }), 404);
    }
    sendPage(res, uploadPage(opts, { d: uploadDiffView(base, next) }));
  });
  r.get('/favicon.ico', (_req, res) => { res.status(204).end(); }); // none, and no 404 in every page's console
  r.get('/static/:file', (req, res, next) => {
    const f = STATIC[String(req.params.file)];
    if (!f) return next();
    res.set({ 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff' }).type(f.type).send(f.body);
  });

  // --- JSON API ---
  r.get('/api/v1/targets', answered(true, async (_req, res) => sendJson(res, await source.targets())));
  r.get('/api/v1/targets/:target', answered(true, async (req, res) => {
    const t = await targetOr404(req, res, true);
    if (t) sendJson(res, await source.target(t));
  }));
  r.get('/api/v1/targets/:target/signatures', answered(true, async (req, res) => {
    const t = await targetOr404(req, res, true);
    if (!t) return;
    const limit = Number(query(req, 'limit') ?? Infinity);
    if (!(limit > 0)) return apiError(res, 400, 'limit must be a positive number');
    sendJson(res, await source.signatures(t, sortOf(req), limit));
  }));
  r.get('/api/v1/targets/:target/signatures/:id', answered(true, async (req, res) => {
    const t = await targetOr404(req, res, true);
    if (!t) return;
    const id = String(req.params.id);
    const v = await source.signature(t, id);
    if (!v) return apiError(res, 404, signatureMissing(t.name, id));
    const live = wantsNow(req) ? await liveView(ctx, t.name, id, query(req, 'module')) : undefined;
    sendJson(res, live ? { ...v, now: live } : v);
  }));
  r.get('/api/v1/targets/:target/diff', answered(true, async (req, res) => {
    const t = await targetOr404(req, res, true);
    if (!t) return;
    const minutes = minutesOf(req);
    if (minutes === undefined) return apiError(res, 400, `minutes must be a number in (0, ${MAX_DIFF_MINUTES}]`);
    const d = await source.diff(t, minutes);
    if (!d) return apiError(res, 404, `no successful scrape of ${t.name} recorded yet`);
    sendJson(res, d);
  }));
  r.post('/api/v1/profiles', async (req, res) => {
    try {
      const body = await readBody(req, ctx.config.global.maxProfileBytes);
      const u = await ctx.web.uploads.add(body, query(req, 'name') ?? '', ctx.config.global.maxDecompressedBytes,
        ctx.summarizer, ctx.config.global.scrapeTimeoutSeconds * 1000);
      sendJson(res, { ...uploadView(u), url: `/api/v1/profiles/${u.id}` }, 201);
    } catch (err) {
      if (!(err instanceof UploadError)) throw err;
      apiError(res, err.status, err.message, err.code);
    }
  });
  r.all('/api/v1/profiles', (req, res) => {
    res.set('Allow', 'POST');
    apiError(res, 405, `${req.method} not allowed: upload with POST`);
  });
  r.get('/api/v1/profiles/:id', (req, res) => {
    const u = ctx.web.uploads.get(String(req.params.id));
    if (!u) return apiError(res, 404, 'no such upload (the last few are kept, not across restarts)');
    sendJson(res, uploadView(u));
  });
  r.get('/api/v1/diff', (req, res) => {
    const [base, next] = ['base', 'new'].map((k) => ctx.web.uploads.get(query(req, k) ?? ''));
    if (!base || !next) return apiError(res, 404, 'base and new must be ids of uploads (POST /api/v1/profiles) still kept');
    sendJson(res, uploadDiffView(base, next));
  });
  r.use('/api', (_req, res) => apiError(res, 404, 'no such API endpoint'));
  return r;
}
