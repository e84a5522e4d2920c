// Bounds the bcrypt work wrong passwords can cause. bcryptjs runs on the
// event loop in slices of up to 100 ms; forty comparisons at once put forty
// slices between any two requests, so an authenticated scrape waited seconds.
// One comparison at a time (a short queue behind it) keeps the loop free
// between slices, and a wrong password tried again is answered from memory.

/** Too many comparisons waiting: the request is refused without one. */
export class AuthBusy extends Error {
  readonly code = 'PPROF_AUTH_BUSY';
}

/** Runs at most `concurrency` jobs at once; at most `queue` wait, the rest are refused with AuthBusy. */
export class WorkLimiter {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly concurrency: number, readonly queue: number) {}

  get inFlight(): number { return this.running; }
  get queued(): number { return this.waiting.length; }

  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) {
      if (this.waiting.length >= this.queue) throw new AuthBusy(`${this.queue} password checks already waiting`);
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await job();
    } finally {
      // Hand the slot straight to the next waiter, so running never drops and rises again in between.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}

/** Keys (digests, never passwords) seen recently, forgotten after ttlMs; the oldest go first when full. */
export class RecentSet {
  private readonly seen = new Map<string, number>();

  constructor(readonly ttlMs: number, readonly max: number, private readonly now: () => number = () => performance.now()) {}

  has(key: string): boolean {
    const at = this.seen.get(key);
    if (at === undefined) return false;
    if (this.now() - at <= this.ttlMs) return true;
    this.seen.delete(key);
    return false;
  }

  add(key: string): void {
    this.seen.delete(key);
    if (this.seen.size >= this.max) this.seen.delete(this.seen.keys().next().value!);
    this.seen.set(key, this.now());
  }

  get size(): number { return this.seen.size; }
}
