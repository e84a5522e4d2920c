// Wait times for leaked goroutines. Once the goroutineleak profile has run,
// Go prints a leaked goroutine as `[chan send (leaked)]`, without the minutes
// it has waited (runtime/traceback.go computes them for _Gwaiting only), so
// the longest wait of exactly the goroutines that matter would read 0. Per
// target, remember since when each goroutine id has been seen blocked in the
// same signature and wait reason, and report that as a lower bound for the
// leaked ones: a leaked goroutine can never wake up, so it has been blocked
// since at least then.
//
// A goroutine that woke in between (a worker back at the same receive) must
// not count as blocked since the first dump: Go forces a GC at least every
// 2 minutes (runtime.forcegcperiod) and prints the minutes of every blocked
// goroutine a GC has seen, so a goroutine shown blocked for fewer minutes
// than (time since first seen - 3 minutes) blocked again meanwhile; its start
// moves to what Go says. (Without forced GCs, GOGC=off, this only makes the
// bound lower.) Goroutines Go gives minutes for keep Go's figure.

/** Tracked goroutines per target; more are reported with Go's own figure (memory: ~100 bytes each). */
export const MAX_TRACKED_GOROUTINES = 100_000;

const GC_LAG_MS = 3 * 60_000; // up to a minute of rounding down, up to 2 until a GC sees it
const NOT_BLOCKED = new Set(['running', 'runnable', 'preempted', 'syscall', 'idle', 'dead', 'copystack']);

interface Seen { signature: string; reason: string; sinceMs: number; }

/** What one debug=2 dump tells about a goroutine. */
export interface Observed { id: number; waitReason: string; waitMinutes: number; }

/** The waits of one dump: `seconds` for each goroutine as it is summarized, then `finish`. */
export interface DumpWaits {
  /** Seconds `g` (in `signature`) has waited: Go's minutes, or for a leaked goroutine the tracked lower bound if longer. */
  seconds(g: Observed, signature: string): number;
  /** Make this dump the one the next is compared with (after a successful parse only). */
  finish(truncated: boolean): void;
}

// Wait reasons are few; the parser's strings are slices of whole header lines.
const reasons = new Map<string, string>();
function canonical(reason: string): string {
  let r = reasons.get(reason);
  if (r === undefined) {
    r = (reason + ' ').slice(0, -1);
    if (reasons.size < 256) reasons.set(r, r);
  }
  return r;
}

export class WaitSince {
  private seen = new Map<number, Seen>();

  constructor(private readonly cap = MAX_TRACKED_GOROUTINES) {}

  get tracked(): number {
    return this.seen.size;
  }

  /** Starts reading a dump taken at `nowMs` (wall clock). */
  dump(nowMs: number): DumpWaits {
    const prev = this.seen;
    const next = new Map<number, Seen>();
    return {
      seconds: (g, signature) => {
        const goSeconds = g.waitMinutes * 60;
        const leaked = g.waitReason.endsWith(' (leaked)');
        const reason = leaked ? g.waitReason.slice(0, -' (leaked)'.length) : g.waitReason;
        if (NOT_BLOCKED.has(reason)) return goSeconds;
        const before = prev.get(g.id);
        let sinceMs = before && before.signature === signature && before.reason === reason ? before.sinceMs : nowMs;
        if (!leaked) {
          const goSinceMs = nowMs - goSeconds * 1000;
          sinceMs = sinceMs < goSinceMs - GC_LAG_MS ? goSinceMs : Math.min(sinceMs, goSinceMs);
        }
        if (next.size < this.cap) next.set(g.id, { signature, reason: canonical(reason), sinceMs });
        return leaked ? Math.max(goSeconds, Math.floor((nowMs - sinceMs) / 1000)) : goSeconds;
      },
      finish: (truncated) => {
        // A cut dump lists only some goroutines: keep what the rest were, within the cap.
        if (truncated) for (const [id, s] of prev) if (next.size < this.cap && !next.has(id)) next.set(id, s);
        this.seen = next;
      },
    };
  }
}
