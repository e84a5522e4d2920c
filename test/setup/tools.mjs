// Installs what the test suite needs besides npm packages, into a cache that
// survives between runs: promtool (from Debian's prometheus package, extracted
// without installing the server). Checks that Go is there.
// Run by `npm test` (pretest); safe to run again: it does nothing when all is present.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, copyFileSync, chmodSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { toolsDir, which } from './paths.mjs';

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

function ensurePromtool() {
  const bin = join(toolsDir(), 'promtool');
  if (which('promtool') || existsSync(bin)) return;
  log('promtool not found: extracting it from Debian\'s prometheus package');
  const tmp = mkdtempSync(join(tmpdir(), 'promtool-'));
  try {
    const download = () => spawnSync('apt-get', ['download', 'prometheus'], { cwd: tmp, stdio: 'inherit' }).status === 0;
    if (!download()) {
      log('apt-get download failed; refreshing package lists (apt-get update)');
      execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
      if (!download()) throw new Error('apt-get download prometheus failed');
    }
    const deb = readdirSync(tmp).find((f) => f.endsWith('.deb'));
    if (!deb) throw new Error('no .deb downloaded');
    execFileSync('dpkg-deb', ['-x', join(tmp, deb), join(tmp, 'x')]);
    mkdirSync(toolsDir(), { recursive: true });
    copyFileSync(join(tmp, 'x/usr/bin/promtool'), bin);
    chmodSync(bin, 0o755);
    log(`installed ${bin}`);
  } catch (err) {
    log(`could not install promtool: ${err.message}`);
    log('Install it yourself (Debian/Ubuntu: apt-get install prometheus) and run again.');
    process.exit(1);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

ensureGo();
ensurePromtool();
