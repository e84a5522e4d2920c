// Builds the leaky Go program once per test run with the machine's Go.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { tool } from './paths.mjs';

declare module 'vitest' {
  export interface ProvidedContext {
    leakyBin: string;
    leakyLeakProfileBin: string;
    promtool: string;
    prometheus: string;
    alertmanager: string;
  }
}

export default function setup(project: TestProject): void {
  // Per checkout: two clones testing at once must not overwrite each other's binaries.
  const out = join(project.config.root, '.cache', 'bin');
  mkdirSync(out, { recursive: true });
  const leakyBin = join(out, 'leaky');
  // Go 1.26 has the goroutineleak profile behind an experiment (default from 1.27).
  const leakyLeakProfileBin = join(out, 'leaky-goroutineleak');
  try {
    for (const [bin, extra] of [[leakyBin, {}], [leakyLeakProfileBin, { GOEXPERIMENT: 'goroutineleakprofile' }]] as const) {
      execFileSync('go', ['build', '-o', bin, '.'], {
        cwd: join(project.config.root, 'test/fixtures/go/leaky'),
        env: { ...process.env, GOFLAGS: '-buildvcs=false', GOTOOLCHAIN: 'local', ...extra },
        stdio: ['ignore', 'inherit', 'inherit'],
      });
    }
  } catch (err) {
    throw new Error(`building test/fixtures/go/leaky failed (${(err as Error).message}). ` +
      'The tests need Go 1.21 or newer on PATH: see https://go.dev/doc/install');
  }
  const found: Record<string, string> = {};
  for (const name of ['promtool', 'prometheus', 'alertmanager']) {
    const path = tool(name);
    if (!path) throw new Error(`${name} not found: run \`node test/setup/tools.mjs\` (npm test does) to install it`);
    found[name] = path;
  }
  project.provide('leakyBin', leakyBin);
  project.provide('leakyLeakProfileBin', leakyLeakProfileBin);
  project.provide('promtool', found.promtool!);
  project.provide('prometheus', found.prometheus!);
  project.provide('alertmanager', found.alertmanager!);
}
