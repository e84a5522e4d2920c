// Profiles are inflated, decoded and grouped in worker threads (piscina), so
// a target's CPU cost never holds the event loop (/-/healthy, other targets,
// the page) and is stopped at its scrape deadline: aborting a running task
// ends its thread. A profile that inflates to at most INLINE_MAX_INFLATED_BYTES
// is summarized in this thread instead: its cost is bounded by that size (well
// under a millisecond for 10k goroutines on a few hundred stacks), far below a
// hand-off, which costs milliseconds per task on a busy machine (waking the
// thread, cloning the answer), and its memo stays where its answers are used.
// Before a task starts, the bytes it will inflate are reserved from one budget
// shared by every scrape, probe and upload; the request that would pass it
// fails at once, and nothing already running does.
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { ScrapeError } from '../errors.js';
import { isGzip } from '../decode/gunzip.js';
import summarizeHere, { type SummarizeAnswer, type SummarizeTask } from './summarize-worker.js';

/** Inflated bytes all work in progress may hold together (raised to the largest max_decompressed_bytes). */
export const INFLATE_BUDGET_BYTES = 512 * 2 ** 20;
/**
 * A profile whose gzip trailer declares at most this is summarized on the
 * event loop (inflated under this cap: one that lies goes to a worker).
 * 64 KiB holds a 100k-goroutine profile of 1,000 stacks (34 KiB in the bench).
 */
export const INLINE_MAX_INFLATED_BYTES = 64 << 10;
// At least two, so that one costly profile leaves a thread for the others;
// more threads than cores only made 200 small targets slower (bench).
const THREADS = Math.max(2, availableParallelism());
// A worker's own heap (decoded profile, groups); past it the thread dies and the task fails.
const WORKER_HEAP_MIB = 768;

// Under vitest this module runs from src/*.ts, which a worker thread cannot
// load: it then uses the build (npm test builds first).
function workerFile(): string {
  const here = import.meta.url;
  const built = here.endsWith('.ts') ? here.replace('/src/', '/dist/').replace(/\.ts$/, '.js') : here;
  return fileURLToPath(new URL('./summarize-worker.js', built));
}

export class InflateBudget {
  inUse = 0;
  constructor(readonly maxBytes: number) {}

  /** Reserves n bytes; returns the release. Throws when n would pass the budget. */
  reserve(n: number): () => void {
    if (this.inUse + n > this.maxBytes) {
      throw new ScrapeError('decompressing', 'PPROF_BUSY',
        `decompressing profile: ${n} more inflated bytes would pass the budget all scrapes, probes and uploads share ` +
        `(${this.maxBytes} bytes, ${this.inUse} in use); try again later`);
    }
    this.inUse += n;
    let released = false;
    return () => {
      if (!released) this.inUse -= n;
      released = true;
    };
  }
}

/** What a gzip body says it inflates to (ISIZE, the last 4 bytes; one member, under 4 GiB). */
export function declaredInflatedSize(body: Uint8Array): number {
  if (body.length < 18) return 0;
  const end = body.length;
  return (body[end - 4]! | body[end - 3]! << 8 | body[end - 2]! << 16 | body[end - 1]! << 24) >>> 0;
}

type Ok<K> = Extract<SummarizeAnswer, { ok: true; kind: K }>;

// One pool per process: threads cost a module load each, and the budget is
// only one if everything inflates through it.
let shared: Piscina | undefined;
function pool(): Piscina {
  return (shared ??= new Piscina({
    // No thread until a profile too big for the event loop comes (most never do).
    filename: workerFile(), minThreads: 0, maxThreads: THREADS, idleTimeout: 60_000,
    resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MIB },
  }));
}

/** The process' summarizer: scrapes, probes and uploads of every Exporter share its threads and budget. */
export function summarizer(): Summarizer {
  return (sharedSummarizer ??= new Summarizer());
}
let sharedSummarizer: Summarizer | undefined;

export class Summarizer {
  private readonly pool = pool();
  readonly budget: InflateBudget;

  constructor(budgetBytes = INFLATE_BUDGET_BYTES) {
    this.budget = new InflateBudget(budgetBytes);
  }

  /** Sizes the budget so that any one target (or upload) fits alone. */
  fitAtLeast(maxDecompressedBytes: number): void {
    (this.budget as { maxBytes: number }).maxBytes = Math.max(this.budget.maxBytes, maxDecompressedBytes);
  }

  async goroutines(task: Omit<SummarizeTask, 'kind'> & { kind: 'goroutine' | 'goroutineleak' | 'upload' }, signal?: AbortSignal) {
    return (await this.run(task, signal)) as Ok<'goroutine' | 'goroutineleak'>;
  }

  async heap(task: Omit<SummarizeTask, 'kind'>, signal?: AbortSignal) {
    return (await this.run({ ...task, kind: 'heap' }, signal)) as Ok<'heap'>;
  }

  /**
   * Reserves what the gzip trailer declares (real Go profiles are one gzip
   * member, so it is exact); a body that inflates past that (several members,
   * or a trailer that lies) is inflated again under a reservation of
   * max_decompressed_bytes.
   */
  private async run(task: SummarizeTask, signal?: AbortSignal): Promise<SummarizeAnswer & { ok: true }> {
    // Not gzip: the worker says so at once, inflating nothing.
    const declared = isGzip(task.body) ? Math.max(INLINE_MAX_INFLATED_BYTES, declaredInflatedSize(task.body)) : 64;
    let reserved = Math.min(declared, task.maxInflatedBytes);
    for (;;) {
      const answer = await this.once({ ...task, maxInflatedBytes: reserved }, signal);
      if (answer.ok) return answer;
      if (answer.code === 'PPROF_INFLATED_TOO_LARGE' && reserved < task.maxInflatedBytes) {
        reserved = task.maxInflatedBytes;
        continue;
      }
      throw new ScrapeError(answer.stage, answer.code, answer.message);
    }
  }

  private async once(task: SummarizeTask, signal: AbortSignal | undefined): Promise<SummarizeAnswer> {
    const release = this.budget.reserve(task.maxInflatedBytes);
    try {
      if (task.maxInflatedBytes <= INLINE_MAX_INFLATED_BYTES) {
        if (signal?.aborted) throw signal.reason;
        return await summarizeHere(task);
      }
      return await this.pool.run(task, signal ? { signal } : {}) as SummarizeAnswer;
    } catch (err) {
      throw stopped(err, signal);
    } finally {
      release();
    }
  }

}

function stopped(err: unknown, signal: AbortSignal | undefined): ScrapeError {
  if (signal?.aborted) {
    const r = signal.reason as unknown;
    return new ScrapeError('decoding', 'PPROF_TOO_COSTLY',
      `decoding profile: stopped, ${r instanceof Error ? r.message : String(r)}`, { cause: err });
  }
  const e = err as { code?: string; message?: string };
  if (e.code === 'ERR_WORKER_OUT_OF_MEMORY') {
    return new ScrapeError('decoding', 'PPROF_TOO_COSTLY', `decoding profile: stopped, past the worker's ${WORKER_HEAP_MIB} MiB heap`, { cause: err });
  }
  return new ScrapeError('decoding', 'PPROF_DECODE_FAILED', `decoding profile: worker failed: ${e.message ?? String(err)}`, { cause: err });
}
