// The shapes a goroutine count takes, one value a minute, for the alert rule
// tests (test/alerts.test.ts): the leaks the growth alerts must catch and the
// harmless shapes they must not. Plain JS so a script can print firing times too.

/** `minutes + 1` values from f(0) … f(minutes), rounded to whole goroutines. */
export function shape(minutes, f) {
  return Array.from({ length: minutes + 1 }, (_, t) => Math.round(f(t)));
}

/** A sawtooth: from `low`, up `step` a minute for `period - 1` minutes, then back to `low`. */
export const sawtooth = (low, step, period) => (t) => low + step * (t % period);

// Gaps between the steps of a staircase: irregular, 15 to 90 minutes, with
// two 90-minute gaps in a row (the longest the alert must ride out).
export const STAIR_GAPS = [37, 15, 90, 90, 52, 23, 78, 61, 15, 84, 44, 29, 90, 66, 18, 57, 73, 38, 90, 25, 49, 81, 33, 62, 17, 70];
export const STAIR_SIZES = [3, 2, 5, 4, 2, 3, 5, 2, 4, 3];

/** A producer left blocked each time its consumer fails: +2…5 at each gap, never down. */
export function staircase(start, firstStepAt, minutes) {
  const steps = [];
  for (let at = firstStepAt, i = 0; at <= minutes; at += STAIR_GAPS[i % STAIR_GAPS.length], i++) {
    steps.push([at, STAIR_SIZES[i % STAIR_SIZES.length]]);
  }
  return { steps, values: shape(minutes, (t) => start + steps.filter(([at]) => at <= t).reduce((n, [, size]) => n + size, 0)) };
}

/** Flat at `level` until `from`, then `perMinute` more every minute. */
export const flood = (level, from, perMinute) => (t) => level + perMinute * Math.max(0, t - from);

/** A pool warming up: fast at first, slower, flat at `level` from `flatAt` (an exponential approach, cut off). */
export function warmup(base, level, flatAt) {
  const tau = flatAt / 6;
  return (t) => (t >= flatAt ? base + level : base + level * (1 - Math.exp(-t / tau)));
}
