// Builds the leaky Go program once per test run with the machine's Go, and
// hands the tests the paths of the tools tools.mjs installed.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import {
  alertmanager3Bin, hadolintBin, helmBin, kubeconformBin, K8S_VERSIONS, prometheus3Bin, promtool3Bin, schemaLocations, tool,
} from './paths.mjs';

declare module 'vitest' {
  export interface ProvidedContext {
    leakyBin: string;
    leakyLeakProfileBin: string;
    promtool: string;
    prometheus: string;
    alertmanager: string;
    /** Prometheus 3.16 and Alertmanager 0.35, built from the Go module proxy. */
    promtool3: string;
    prometheus3: string;
    alertmanager3: string;
    helm: string;
    kubeconform: string;
    hadolint: string;
    schemaLocations: string[];
    k8sVersions: string[];
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
  // The chart's tools are pinned (never taken from PATH): exact versions, exact messages.
  for (const path of [helmBin(), kubeconformBin(), hadolintBin(), promtool3Bin(), prometheus3Bin(), alertmanager3Bin()]) {
    if (!existsSync(path)) throw new Error(`${path} not found: run \`node test/setup/tools.mjs\` (npm test does) to install it`);
  }
  project.provide('promtool3', promtool3Bin());
  project.provide('prometheus3', prometheus3Bin());
  project.provide('alertmanager3', alertmanager3Bin());
  project.provide('helm', helmBin());
  project.provide('kubeconform', kubeconformBin());
  project.provide('hadolint', hadolintBin());
  project.provide('schemaLocations', schemaLocations());
  project.provide('k8sVersions', K8S_VERSIONS);
  project.provide('leakyBin', leakyBin);
  project.provide('leakyLeakProfileBin', leakyLeakProfileBin);
  project.provide('promtool', found.promtool!);
  project.provide('prometheus', found.prometheus!);
  project.provide('alertmanager', found.alertmanager!);
}
