// Start the real leaky Go program on 127.0.0.1:0 and learn its URL.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { inject } from 'vitest';
import { parseDebug2, type TextGoroutine } from '../../src/decode/debug2.js';

export interface Leaky { url: string; proc: ChildProcess; stop(): Promise<void>; }

export async function startLeaky(flags: string[], env: Record<string, string> = {}, bin = inject('leakyBin')): Promise<Leaky> {
  const proc = spawn(bin, ['-listen=127.0.0.1:0', '-exit-on-stdin-eof', '-max-lifetime=10m', ...flags], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('leaky did not print its address within 10s')), 10_000);
    proc.once('exit', (code) => reject(new Error(`leaky exited early with code ${code}`)));
    createInterface({ input: proc.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      const m = /^listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(line.trim());
      if (m) resolve(m[1]!);
      else reject(new Error(`unexpected first line from leaky: ${line}`));
    });
  });
  return {
    url,
    proc,
    stop: () => new Promise<void>((resolve) => {
      if (proc.exitCode !== null) return resolve();
      proc.once('exit', () => resolve());
      proc.kill('SIGTERM');
    }),
  };
}

// States a goroutine passes through on its way to where a shape parks it
// (computeResult sleeps before its send; any of them can still be runnable).
const TRANSIENT = /^(runnable|running|syscall|sleep|preempted|idle)\b/;

/** The innermost main.* function of a goroutine: the shape it belongs to. */
export const shapeOf = (g: TextGoroutine): string | undefined => g.frames.find((f) => f.function.startsWith('main.'))?.function;

/** Goroutines of `fn` that are parked (not runnable, running or sleeping). */
export const parkedIn = (gs: TextGoroutine[], fn: string): TextGoroutine[] =>
  gs.filter((g) => shapeOf(g) === fn && !TRANSIENT.test(g.waitReason));

/** The program's goroutines, from its debug=2 dump. */
export async function goroutines(url: string): Promise<TextGoroutine[]> {
  const gs: TextGoroutine[] = [];
  const res = await fetch(`${url}/debug/pprof/goroutine?debug=2`);
  await parseDebug2(res.body!, (g) => gs.push(g));
  return gs;
}

/**
 * Waits until `ready` holds for the program's goroutines. The shapes start
 * before the listening line but park on their own time: on a busy machine a
 * test that looks at once sees some still runnable. Rejects after timeoutMs
 * (a bound, not the condition), naming what it waited for.
 */
export async function waitForGoroutines(url: string, what: string, ready: (gs: TextGoroutine[]) => boolean, timeoutMs = 60_000): Promise<TextGoroutine[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const gs = await goroutines(url);
    if (ready(gs)) return gs;
    if (Date.now() > deadline) throw new Error(`gave up after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until at least `want[fn]` goroutines of each shape are parked. */
export function waitUntilParked(url: string, want: Record<string, number>, timeoutMs?: number): Promise<TextGoroutine[]> {
  return waitForGoroutines(url, `parked goroutines ${JSON.stringify(want)}`,
    (gs) => Object.entries(want).every(([fn, n]) => parkedIn(gs, fn).length >= n), timeoutMs);
}

/**
 * How many goroutines the send leak (-sendleak=N, no rate) ended up with, once
 * it has settled: no handleWithTimeout still choosing between the result and
 * its 5 ms timer, no computeResult still on its way to the send. On a loaded
 * machine a timer fires late and its handler takes the result: fewer than N leak.
 */
export async function settledSendLeak(url: string, timeoutMs?: number): Promise<number> {
  const gs = await waitForGoroutines(url, 'the send leak to settle', (all) => !all.some((g) => shapeOf(g) === 'main.handleWithTimeout'
    || (shapeOf(g) === 'main.computeResult' && TRANSIENT.test(g.waitReason))), timeoutMs);
  return parkedIn(gs, 'main.computeResult').length;
}
