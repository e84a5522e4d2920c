// Goroutine profiles uploaded for a diff (`go tool pprof -base old new`),
// decoded with the scrape pipeline and kept, summarised, in a small LRU.
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { ScrapeError } from '../errors.js';
import { distinctOf, type Signature } from '../summarize/signature.js';
import type { Summarizer } from '../sources/offthread.js';

export const UPLOAD_LIMITS = Object.freeze({
  /** Uploads kept; the least recently used goes first. */
  uploads: 16,
  /** Signatures kept per upload, largest first; the rest summed as "other". */
  signaturesPerUpload: 2000,
  /** Characters of the file name kept for display. */
  nameChars: 200,
});

export interface Upload {
  id: string;
  name: string;
  atMs: number;
  bytes: number;
  /** The profile's sample type: goroutine or goroutineleak. */
  kind: string;
  total: number;
  /** Distinct signatures before the cap. */
  distinct: number;
  signatures: Signature[];
  /** Goroutines of the signatures beyond the cap. */
  other: number;
}

/** A client error: the status to answer with and the message to show. */
export class UploadError extends Error {
  constructor(readonly status: number, message: string, readonly code?: string) {
    super(message);
    this.name = 'UploadError';
  }
}

/** The request body, refused as soon as it passes maxBytes. */
export async function readBody(req: Readable & { headers: Record<string, string | string[] | undefined> }, maxBytes: number): Promise<Buffer> {
  const tooLarge = () => new UploadError(413, `profile exceeds max_profile_bytes (${maxBytes} bytes)`, 'PPROF_BODY_TOO_LARGE');
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    req.resume(); // drain, so the client reads the answer
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of req) {
    n += (chunk as Buffer).length;
    if (n > maxBytes) {
      req.resume();
      throw tooLarge();
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export class Uploads {
  private readonly byId = new Map<string, Upload>();

  constructor(readonly limits = UPLOAD_LIMITS) {}

  /**
   * Decodes a gzipped goroutine (or goroutineleak) profile.proto off the
   * event loop, within the shared inflate budget and timeoutMs, and keeps its summary.
   */
  async add(body: Buffer, name: string, maxDecompressedBytes: number, summarizer: Summarizer, timeoutMs: number): Promise<Upload> {
    if (body.length === 0) throw new UploadError(400, 'empty upload: no profile bytes received', 'PPROF_NOT_GZIP');
    const cap = this.limits.signaturesPerUpload;
    let answer: Awaited<ReturnType<Summarizer['goroutines']>>;
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new Error(`timed out after ${(timeoutMs / 1000).toFixed(3)}s (upload deadline)`)), timeoutMs);
    try {
      answer = await summarizer.goroutines({ kind: 'upload', body, maxInflatedBytes: maxDecompressedBytes, keep: cap }, deadline.signal);
    } catch (err) {
      if (!(err instanceof ScrapeError)) throw err;
      const status = err.code === 'PPROF_BUSY' ? 503 : err.code === 'PPROF_TOO_COSTLY' ? 422 : 400;
      throw new UploadError(status, err.message.replace(/\bresponse\b/g, 'file'), err.code);
    } finally {
      clearTimeout(timer);
    }
    const { kind, goroutines: summary } = answer;
    const other = summary.beyond ?? 0;
    const u: Upload = {
      id: randomBytes(8).toString('hex'),
      name: name.slice(0, this.limits.nameChars),
      atMs: Date.now(),
      bytes: body.length,
      kind,
      total: summary.total,
      distinct: distinctOf(summary),
      signatures: summary.signatures,
      other,
    };
    this.byId.set(u.id, u);
    while (this.byId.size > this.limits.uploads) this.byId.delete(this.byId.keys().next().value!);
    return u;
  }

  get(id: string): Upload | undefined {
    const u = this.byId.get(id);
    if (u) { // most recently used last
      this.byId.delete(id);
      this.byId.set(id, u);
    }
    return u;
  }

  get size(): number {
    return this.byId.size;
  }
}
