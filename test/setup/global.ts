// Builds the leaky Go program once per test run, with the machine's Go and
// with the current Go release, and hands the tests the paths of the tools
// tools.mjs installed.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import {
  alertmanager3Bin, GO_CURRENT, hadolintBin, helmBin, kubeconformBin, K8S_VERSIONS, prometheus3Bin, promtool3Bin, schemaLocations, tool,
} from './paths.mjs';
import { step, stderrLog } from './progress.mjs';

declare module 'vitest' {
  export interface ProvidedContext {
    leakyBin: string;
    leakyLeakProfileBin: string;
    /** The leaky program built with GO_CURRENT (goroutineleak and traceback labels by default). */
    leakyCurrentBin: string;
    goCurrent: string;
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

export default async function setup(project: TestProject): Promise<void> {
  // Per checkout: two clones testing at once must not overwrite each other's binaries.
  const out = join(project.config.root, '.cache', 'bin');
  mkdirSync(out, { recursive: true });
  const leakyBin = join(out, 'leaky');
  // Go 1.26 has the goroutineleak profile behind an experiment (default from 1.27).
  const leakyLeakProfileBin = join(out, 'leaky-goroutineleak');
  const leakyCurrentBin = join(out, `leaky-${GO_CURRENT}`);
  // The program's go.mod says go 1.21, which keeps the GODEBUG defaults of 1.21
  // (no traceback labels) under any toolchain. A workspace whose go line is the
  // current release gives it that release's defaults, as a go 1.27 module has.
  const leakyDir = join(project.config.root, 'test/fixtures/go/leaky');
  const work = join(out, `${GO_CURRENT}.work`);
  writeFileSync(work, `go ${GO_CURRENT.slice(2)}\n\nuse ${leakyDir}\n`);
  const builds: [string, string, Record<string, string>][] = [
    [leakyBin, 'the machine\'s Go', { GOTOOLCHAIN: 'local', GOWORK: 'off' }],
    [leakyLeakProfileBin, 'the machine\'s Go, GOEXPERIMENT=goroutineleakprofile', { GOTOOLCHAIN: 'local', GOWORK: 'off', GOEXPERIMENT: 'goroutineleakprofile' }],
    // From the module cache once fetched (the first time: ~70 MB from the Go module proxy).
    [leakyCurrentBin, `${GO_CURRENT} and its defaults`, { GOTOOLCHAIN: GO_CURRENT, GOWORK: work }],
  ];
  const log = stderrLog('[setup] ');
  for (const [bin, what, extra] of builds) {
    try {
      await step(`building test/fixtures/go/leaky with ${what}`, 'go', ['build', '-o', bin, '.'], {
        log, cwd: leakyDir, env: { ...process.env, GOFLAGS: '-buildvcs=false', ...extra },
      });
    } catch (err) {
      throw new Error(`${(err as Error).message}. The tests need Go 1.21 or newer on PATH (https://go.dev/doc/install), ` +
        `and the Go module proxy once for ${GO_CURRENT}`);
    }
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
  project.provide('leakyCurrentBin', leakyCurrentBin);
  project.provide('goCurrent', GO_CURRENT);
  project.provide('promtool', found.promtool!);
  project.provide('prometheus', found.prometheus!);
  project.provide('alertmanager', found.alertmanager!);
}
