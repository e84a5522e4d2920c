// Fetch one URL from a target with undici: one deadline, a size cap counted
// on the wire, no redirects, and errors that say what the target did.
import { Agent, request, type Dispatcher } from 'undici';
import { ScrapeError } from './errors.js';
import { preview } from './profile/decode.js';

export function createDispatcher(): Dispatcher {
  return new Agent({ connect: { timeout: 10_000 }, keepAliveTimeout: 30_000, connections: 8 });
}

export interface FetchOptions {
  signal: AbortSignal;
  maxBytes: number;
  dispatcher: Dispatcher;
  userAgent: string;
  accept?: string;
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

function fetchError(message: string, code: 'PPROF_FETCH_FAILED' | 'PPROF_BODY_TOO_LARGE' = 'PPROF_FETCH_FAILED', cause?: unknown, httpStatus?: number) {
  return new ScrapeError('fetching', code, message, { cause, httpStatus });
}

/** GET url; resolves once the headers of a 200 response are in, else throws what the target said. */
async function open(url: string, opts: FetchOptions): Promise<Dispatcher.ResponseData> {
  let res: Dispatcher.ResponseData;
  try {
    res = await request(url, {
      method: 'GET',
      signal: opts.signal,
      dispatcher: opts.dispatcher,
      headers: { 'user-agent': opts.userAgent, accept: opts.accept ?? 'application/octet-stream, */*;q=0.1' },
    });
  } catch (err) {
    throw fetchError(`GET ${url}: ${reasonOf(opts.signal, err)}`, 'PPROF_FETCH_FAILED', err);
  }
  if (res.statusCode === 200) {
    const declared = Number(res.headers['content-length']);
    if (declared > opts.maxBytes) {
      res.body.destroy();
      throw fetchError(`GET ${url}: Content-Length ${declared} exceeds max_profile_bytes (${opts.maxBytes})`, 'PPROF_BODY_TOO_LARGE');
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
  res.body.destroy();
  const firstLine = body.toString('utf8').split('\n')[0]?.trim() ?? '';
  const what = res.headers['x-go-pprof']
    ? `pprof error: ${JSON.stringify(firstLine)}`
    : res.statusCode >= 300 && res.statusCode < 400
      ? `redirect to ${String(res.headers.location)} (redirects are not followed)`
      : body.length > 0 ? `body ${preview(body)}` : 'empty body';
  throw fetchError(`GET ${url}: HTTP ${res.statusCode}: ${what}`, 'PPROF_FETCH_FAILED', undefined, res.statusCode);
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
    res.body.destroy();
  }
}
