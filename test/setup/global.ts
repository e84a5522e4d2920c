// Builds the leaky Go program once per test run with the machine's Go.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { cacheDir, tool } from './paths.mjs';

declare module 'vitest' {
  export interface ProvidedContext {
    leakyBin: string;
    promtool: string;
  }
}

export default function setup(project: TestProject): void {
  const out = join(cacheDir(), 'bin');
  mkdirSync(out, { recursive: true });
  const leakyBin = join(out, 'leaky');
  try {
    execFileSync('go', ['build', '-o', leakyBin, '.'], {
      cwd: join(project.config.root, 'test/fixtures/go/leaky'),
      env: { ...process.env, GOFLAGS: '-buildvcs=false', GOTOOLCHAIN: 'local' },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
  } catch (err) {
    throw new Error(`building test/fixtures/go/leaky failed (${(err as Error).message}). ` +
      'The tests need Go 1.21 or newer on PATH: see https://go.dev/doc/install');
  }
  const promtool = tool('promtool');
  if (!promtool) throw new Error('promtool not found: run `node test/setup/tools.mjs` (npm test does) to install it');
  project.provide('leakyBin', leakyBin);
  project.provide('promtool', promtool);
}
