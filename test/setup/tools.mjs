// Installs what the test suite needs besides npm packages, into a cache that
// survives between runs: promtool, prometheus and alertmanager (extracted from
// Debian's packages, not installed). Installs Debian's chromium for the web
// page tests. Checks that Go is there.
// Run by `npm test` (pretest); safe to run again: it does nothing when all is present.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, copyFileSync, chmodSync, cpSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tmpdir } from 'node:os';
import { chromiumPath, toolsDir, which } from './paths.mjs';

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

ensureGo();
ensureChromium();
ensureFromDeb('prometheus', { promtool: 'usr/bin/promtool', prometheus: 'usr/bin/prometheus' });
ensureFromDeb('prometheus-alertmanager', { alertmanager: 'usr/bin/prometheus-alertmanager' }, ['usr/share/prometheus/alertmanager/default.tmpl', 'usr/share/prometheus/alertmanager/email.tmpl']);
