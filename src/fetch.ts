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

export async function fetchBody(url: string, opts: FetchOptions): Promise<Buffer> {
  const fail = (message: string, code: 'PPROF_FETCH_FAILED' | 'PPROF_BODY_TOO_LARGE' = 'PPROF_FETCH_FAILED', cause?: unknown, httpStatus?: number) =>
    new ScrapeError('fetching', code, message, { cause, httpStatus });
  let res: Dispatcher.ResponseData;
  try {
    res = await request(url, {
      method: 'GET',
      signal: opts.signal,
      dispatcher: opts.dispatcher,
      headers: { 'user-agent': opts.userAgent, accept: opts.accept ?? 'application/octet-stream, */*;q=0.1' },
    });
  } catch (err) {
    throw fail(`GET ${url}: ${reasonOf(opts.signal, err)}`, 'PPROF_FETCH_FAILED', err);
  }

  const declared = Number(res.headers['content-length']);
  if (res.statusCode === 200 && declared > opts.maxBytes) {
    res.body.destroy();
    throw fail(`GET ${url}: Content-Length ${declared} exceeds max_profile_bytes (${opts.maxBytes})`, 'PPROF_BODY_TOO_LARGE');
  }
  // Error bodies are read only up to a preview's worth.
  const limit = res.statusCode === 200 ? opts.maxBytes : 4096;
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > limit) {
        res.body.destroy();
        if (res.statusCode !== 200) break;
        throw fail(`GET ${url}: body exceeds max_profile_bytes (${opts.maxBytes})`, 'PPROF_BODY_TOO_LARGE');
      }
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    if (err instanceof ScrapeError) throw err;
    throw fail(`GET ${url}: reading body: ${reasonOf(opts.signal, err)}`, 'PPROF_FETCH_FAILED', err);
  }
  const body = Buffer.concat(chunks);

  if (res.statusCode !== 200) {
    const firstLine = body.toString('utf8').split('\n')[0]?.trim() ?? '';
    const location = res.headers.location;
    const what = res.headers['x-go-pprof']
      ? `pprof error: ${JSON.stringify(firstLine)}`
      : res.statusCode >= 300 && res.statusCode < 400
        ? `redirect to ${String(location)} (redirects are not followed)`
        : body.length > 0 ? `body ${preview(body)}` : 'empty body';
    throw fail(`GET ${url}: HTTP ${res.statusCode}: ${what}`, 'PPROF_FETCH_FAILED', undefined, res.statusCode);
  }
  return body;
}
