// Fetch one URL from a target with undici: one deadline, a size cap counted
// on the wire, redirects only when allowed, and errors that say what the target did.
import { request, type Dispatcher } from 'undici';
import { TargetDenied } from './allowlist.js';
import { preview, ScrapeError } from '../errors.js';

const MAX_REDIRECTS = 10;

export interface FetchOptions {
  signal: AbortSignal;
  maxBytes: number;
  dispatcher: Dispatcher;
  userAgent: string;
  accept?: string;
  /** Credentials; sent to the target's own origin only, never after a redirect elsewhere. */
  headers?: Record<string, string>;
  followRedirects?: boolean;
  /** Checks each hop before it is asked for and gives the URL to send (see Prepared.pin in client.ts). */
  pin?: (url: URL) => Promise<URL>;
}

function reasonOf(signal: AbortSignal, err: unknown): string {
  if (signal.aborted) {
    const r = signal.reason as unknown;
    return r instanceof Error ? r.message : String(r);
  }
  const e = err as { message?: string; code?: string; cause?: { message?: string } };
  const base = e.message ?? String(err);
  return e.cause?.message && !base.includes(e.cause.message) ? `${base}: ${e.cause.message}` : base;
}

type FetchCode = 'PPROF_FETCH_FAILED' | 'PPROF_BODY_TOO_LARGE' | 'PPROF_TARGET_DENIED';

function fetchError(message: string, code: FetchCode = 'PPROF_FETCH_FAILED', cause?: unknown, httpStatus?: number) {
  return new ScrapeError('fetching', code, message, { cause, httpStatus });
}

/** Stop reading a body we don't want; the abort it causes is expected, not an error. */
function discard(res: Dispatcher.ResponseData): void {
  res.body.on('error', () => {});
  res.body.destroy();
}

const isDenied = (err: unknown) => err instanceof TargetDenied && !err.unresolved;

/** GET url; resolves once the headers of a 200 response are in, else throws what the target said. */
async function open(url: string, opts: FetchOptions): Promise<Dispatcher.ResponseData> {
  const origin = new URL(url).origin;
  let current = url;
  for (let hop = 0; ; hop++) {
    let res: Dispatcher.ResponseData;
    try {
      const asked = new URL(current);
      const sent = opts.pin ? await opts.pin(asked) : asked;
      res = await request(sent.href, {
        method: 'GET',
        signal: opts.signal,
        dispatcher: opts.dispatcher,
        headers: {
          'user-agent': opts.userAgent,
          accept: opts.accept ?? 'application/octet-stream, */*;q=0.1',
          // Sent to a pinned address, the request still names the host it is for.
          ...(sent !== asked && { host: asked.host }),
          ...(asked.origin === origin && opts.headers),
        },
      });
    } catch (err) {
      throw fetchError(`GET ${current}: ${reasonOf(opts.signal, err)}`, isDenied(err) ? 'PPROF_TARGET_DENIED' : 'PPROF_FETCH_FAILED', err);
    }
    const location = res.headers.location;
    if (opts.followRedirects && res.statusCode >= 300 && res.statusCode < 400 && typeof location === 'string') {
      discard(res);
      if (hop >= MAX_REDIRECTS) throw fetchError(`GET ${url}: stopped after ${MAX_REDIRECTS} redirects`);
      let next: URL;
      try {
        next = new URL(location, current);
      } catch {
        throw fetchError(`GET ${current}: HTTP ${res.statusCode}: redirect to an invalid URL ${JSON.stringify(location.slice(0, 200))}`);
      }
      if (next.protocol !== 'http:' && next.protocol !== 'https:') {
        throw fetchError(`GET ${current}: HTTP ${res.statusCode}: redirect to a ${next.protocol} URL`);
      }
      next.username = '';
      next.password = '';
      current = next.href;
      continue;
    }
    if (res.statusCode === 200) {
      const declared = Number(res.headers['content-length']);
      if (declared > opts.maxBytes) {
        discard(res);
        throw fetchError(`GET ${current}: Content-Length ${declared} exceeds max_profile_bytes (${opts.maxBytes})`, 'PPROF_BODY_TOO_LARGE');
      }
      return res;
    }
    // An error answer: read a preview's worth of its body for the message.
    let body = Buffer.alloc(0);
    try {
      for await (const chunk of res.body) {
        body = Buffer.concat([body, chunk as Buffer]);
        if (body.length >= 4096) break;
      }
    } catch { /* the status says enough */ }
    discard(res);
    const firstLine = body.toString('utf8').split('\n')[0]?.trim() ?? '';
    const what = res.headers['x-go-pprof']
      ? `pprof error: ${JSON.stringify(firstLine.slice(0, 200))}`
      : res.statusCode >= 300 && res.statusCode < 400
        ? `redirect to ${String(location).slice(0, 200)} (redirects are not followed; set follow_redirects in http_config)`
        : body.length > 0 ? `body ${preview(body)}` : 'empty body';
    throw fetchError(`GET ${current}: HTTP ${res.statusCode}: ${what}`, 'PPROF_FETCH_FAILED', undefined, res.statusCode);
  }
}

/** The body as it arrives, stopped at maxBytes; for text dumps that must not be held whole. */
export async function* fetchStream(url: string, opts: FetchOptions): AsyncGenerator<Buffer> {
  const res = await open(url, opts);
  let size = 0;
  try {
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > opts.maxBytes) throw fetchError(`GET ${url}: body exceeds max_profile_bytes (${opts.maxBytes})`, 'PPROF_BODY_TOO_LARGE');
      yield chunk as Buffer;
    }
  } catch (err) {
    if (err instanceof ScrapeError) throw err;
    throw fetchError(`GET ${url}: reading body: ${reasonOf(opts.signal, err)}`, 'PPROF_FETCH_FAILED', err);
  } finally {
    discard(res);
  }
}
