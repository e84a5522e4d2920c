// Real Prometheus-ecosystem processes for end-to-end tests, on 127.0.0.1 only.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:net';

/** A free port on 127.0.0.1 (bound and released; for programs that cannot take port 0). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().once('error', reject).listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface Proc { proc: ChildProcess; stop(): Promise<void>; }

/** Start a program, its output to logFile, and wait until readyUrl answers 200 (or readyStatus). */
export async function startProc(bin: string, args: string[], readyUrl: string, logFile: string, readyStatus = 200): Promise<Proc> {
  const log = createWriteStream(logFile);
  const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout!.pipe(log);
  proc.stderr!.pipe(log);
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${bin} exited with ${proc.exitCode}; see ${logFile}`);
    try {
      if ((await fetch(readyUrl)).status === readyStatus) break;
    } catch { /* not up yet */ }
    if (Date.now() > deadline) throw new Error(`${bin} not ready at ${readyUrl} within 30s; see ${logFile}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    proc,
    stop: () => new Promise<void>((resolve) => {
      if (proc.exitCode !== null) return resolve();
      proc.once('exit', () => resolve());
      proc.kill('SIGTERM');
    }),
  };
}
