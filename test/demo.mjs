// npm run demo: build the leaky Go program, start it and the exporter on
// loopback, print where to look, and stop both cleanly on Ctrl-C.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { cacheDir } from './setup/paths.mjs';
import { step, stderrLog } from './setup/progress.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const work = join(cacheDir(), 'demo');
mkdirSync(work, { recursive: true });
const log = stderrLog('[demo] ');
const started = Date.now();

// `npm ci` has built dist/ (prepare): build again only when a source is newer.
const newest = (dir) => readdirSync(dir, { recursive: true, withFileTypes: true })
  .filter((e) => e.isFile()).reduce((t, e) => Math.max(t, statSync(join(e.parentPath, e.name)).mtimeMs), 0);
const cli = join(root, 'dist/cli.js');
if (!existsSync(cli) || newest(join(root, 'src')) > statSync(cli).mtimeMs) {
  try {
    await step('building the exporter (src/ changed since dist/ was built)', 'npm', ['run', '--silent', 'build'], { log, cwd: root });
  } catch (err) {
    console.error(err.message);
    process.exit(1);
  }
}

// With the goroutineleak profile where the Go has it (1.26 experiment, default from 1.27).
const build = (what, extra) => step(`building the leaking Go program with ${what}`, 'go', ['build', '-o', join(work, 'leaky'), '.'], {
  log, cwd: join(root, 'test/fixtures/go/leaky'), env: { ...process.env, GOFLAGS: '-buildvcs=false', ...extra }, quiet: Boolean(extra.GOEXPERIMENT),
});
try {
  await build('GOEXPERIMENT=goroutineleakprofile', { GOEXPERIMENT: 'goroutineleakprofile' }).catch(() => {
    log('this Go has no goroutineleak experiment (it is Go 1.27+, where it is on, or older than 1.26): building without it');
    return build('the default settings', {});
  });
} catch (err) {
  console.error(`\n${err.message}`);
  console.error('The demo builds a real leaking Go program and needs Go 1.21 or newer on PATH.');
  console.error('Install Go (https://go.dev/doc/install), then run `npm run demo` again.');
  process.exit(1);
}

const children = [];
function start(cmd, args, onLine, stream = 'stdout') {
  const child = spawn(cmd, args, { stdio: ['pipe', stream === 'stdout' ? 'pipe' : 'inherit', stream === 'stderr' ? 'pipe' : 'inherit'] });
  children.push(child);
  createInterface({ input: child[stream] }).on('line', onLine);
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`${cmd} exited (${signal ?? code}); stopping the demo`);
      stop(1);
    }
  });
  return child;
}

let stopping = false;
function stop(code = 0) {
  stopping = true;
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  setTimeout(() => process.exit(code), 300).unref();
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

const leakyUrl = await new Promise((resolve) => {
  start(join(work, 'leaky'), [
    '-listen=127.0.0.1:0', '-exit-on-stdin-eof',
    '-sendleak=5', '-sendleak-rate=2', '-nilchan=3', '-producer=2', '-producer-rate=0.2',
    '-selectleak=2', '-mutexleak=1', '-pool=8', '-churn=20',
  ], (line) => {
    const m = /^listening on (\S+)$/.exec(line);
    if (m) resolve(m[1]);
  });
});

const config = join(work, 'pprof-exporter.yml');
writeFileSync(config, `# written by npm run demo
global:
  debug2_interval: 30s          # wait reasons and times, every 30 s (default 5m)
  goroutineleak_interval: 30s   # proven leaks, every 30 s (default 5m)
targets:
  - name: leaky
    url: ${leakyUrl}
`);

const portFree = await new Promise((resolve) => {
  import('node:net').then(({ createServer }) => {
    const s = createServer().once('error', () => resolve(false)).listen(10066, '127.0.0.1', () => s.close(() => resolve(true)));
  });
});
const listen = `127.0.0.1:${portFree ? 10066 : 0}`;

start(process.execPath, [join(root, 'dist/cli.js'), `--config.file=${config}`, `--web.listen-address=${listen}`], (line) => {
  process.stderr.write(`exporter: ${line}\n`);
  let rec;
  try { rec = JSON.parse(line); } catch { return; }
  if (rec.msg !== 'listening') return;
  const url = `http://${rec.address}`;
  console.log(`
pprof-exporter demo is running (${Math.round((Date.now() - started) / 1000)} s to start).
  leaking Go program:  ${leakyUrl}/debug/pprof/
  on-call page:        ${url}/   (which stacks grow, full stacks, diffs; scrapes itself every 60 s when nothing else does)
  metrics:             ${url}/metrics
  config:              ${config}

The send-leak grows by 2 goroutines a second; watch it climb:
  curl -s ${url}/metrics | grep '^pprof_goroutines{' | sort -t' ' -k2 -n -r | head
What the runtime proves leaked, and where the heap sits:
  curl -s ${url}/metrics | grep -E '^pprof_goroutines_leaked|^pprof_heap_inuse_bytes'
The same target the way Prometheus' multi-target relabelling asks for it:
  curl -s '${url}/probe?target=${leakyUrl.replace('http://', '')}' | grep -E '^probe_|^pprof_goroutines{'

Press Ctrl-C to stop.
`);
}, 'stderr');
