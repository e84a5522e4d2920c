// Long setup steps (go install, apt-get, pip, Go builds) say what they do,
// show a heartbeat while they run and end with their elapsed time, so a slow
// first run on a busy machine never looks hung. Async on purpose: a blocking
// execFileSync would also block the heartbeat timer.
import { spawn } from 'node:child_process';

const HEARTBEAT_MS = 15_000;

export function stderrLog(prefix) {
  return (msg) => process.stderr.write(`${prefix}${msg}\n`);
}

const seconds = (since) => Math.round((Date.now() - since) / 1000);

/**
 * Runs `cmd args` as the step `what` ("building helm v3.21.4"): logs it when it
 * starts, "still <what>, N s" every 15 s, and "<what>: done in N s" at the end.
 * Resolves to the child's stdout when `capture` is set (else the child inherits
 * stdout); rejects with the exit status and the tail of stderr when it fails.
 */
export function step(what, cmd, args, { log = stderrLog(''), env = process.env, cwd, capture = false, quiet = false } = {}) {
  const started = Date.now();
  log(`${what}: ${[cmd, ...args].join(' ')}`);
  const timer = setInterval(() => log(`still ${what}, ${seconds(started)} s`), HEARTBEAT_MS);
  return new Promise((resolve, reject) => {
    // stderr is kept (for the error) and, unless quiet, passed through.
    const child = spawn(cmd, args, { env, cwd, stdio: ['ignore', capture ? 'pipe' : (quiet ? 'ignore' : 'inherit'), 'pipe'] });
    const out = [];
    let err = '';
    child.stdout?.on('data', (b) => out.push(b));
    child.stderr.on('data', (b) => {
      if (!quiet) process.stderr.write(b);
      err = (err + b.toString()).slice(-4000);
    });
    child.once('error', (e) => { clearInterval(timer); reject(new Error(`${what}: ${e.message}`)); });
    child.once('close', (code, signal) => {
      clearInterval(timer);
      if (code === 0) {
        log(`${what}: done in ${seconds(started)} s`);
        resolve(Buffer.concat(out).toString('utf8'));
      } else {
        const e = new Error(`${what}: ${cmd} exited with ${signal ?? code} after ${seconds(started)} s${err.trim() ? `: ${err.trim().split('\n').slice(-5).join('\n')}` : ''}`);
        e.stderr = err;
        reject(e);
      }
    });
  });
}
