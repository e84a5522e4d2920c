// Start the real leaky Go program on 127.0.0.1:0 and learn its URL.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { inject } from 'vitest';

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
