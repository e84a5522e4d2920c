// npm run bench:stall [-- --json] [-- --quick] [-- --go=go1.27.3,local] [-- --depth=30] [-- --only=goroutine_debug2]
// What one fetch of each pprof source does to the target: starts a real Go
// program with N parked goroutines (test/bench/go/stall), pings it every 2 ms
// from a second process while the exporter's source is fetched once, and
// prints the fetch time and the longest the target took to answer a ping.
// The exporter's defaults for the costly sources (debug2_max_goroutines,
// goroutineleak_max_goroutines, goroutineleak_max_sync_waiters) come from it.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { cacheDir } from '../setup/paths.mjs';

const argv = process.argv.slice(2);
const json = argv.includes('--json');
const quick = argv.includes('--quick');
const goArg = argv.find((a) => a.startsWith('--go='))?.slice(5);
// Frames above each parked goroutine's blocking call (the defaults' table: 1; real services: 20-40).
const depth = Number(argv.find((a) => a.startsWith('--depth='))?.slice(8) ?? 1);
const here = fileURLToPath(new URL('.', import.meta.url));
const goDir = join(here, 'go');
const bin = join(cacheDir(), 'bench', 'bin');
mkdirSync(bin, { recursive: true });
const say = (m) => process.stderr.write(`${m}\n`);

// The machine's Go (goroutineleak behind GOEXPERIMENT before 1.27: set for "local") and the current release.
const TOOLCHAINS = (goArg ?? 'local,go1.27.3').split(',');
const PATHS = {
  goroutine: '/debug/pprof/goroutine',
  heap: '/debug/pprof/heap',
  expvar: '/debug/vars',
  goroutine_debug2: '/debug/pprof/goroutine?debug=2',
  goroutineleak: '/debug/pprof/goroutineleak',
};
const CHEAP = ['goroutine', 'heap', 'expvar'];
const only = argv.find((a) => a.startsWith('--only='))?.slice(7).split(',');
const K = 1000;
// [shape, goroutine counts, sources]. The cheap sources also at 1M; the quadratic
// shapes (every waiter on one lock) only for the goroutineleak profile, whose cost they drive.
const PLAN = [
  ['mix', quick ? [K, 10 * K] : [K, 3 * K, 10 * K, 30 * K, 100 * K, 1000 * K], [...CHEAP, 'goroutine_debug2', 'goroutineleak']],
  ['chan', quick ? [K, 10 * K] : [K, 3 * K, 10 * K, 30 * K, 100 * K], ['goroutine_debug2', 'goroutineleak']],
  ['mutex', quick ? [K, 5 * K] : [K, 2 * K, 5 * K, 20 * K, 100 * K], ['goroutineleak']],
  ['waitgroup', quick ? [K, 5 * K] : [K, 2 * K, 5 * K, 20 * K, 100 * K], ['goroutineleak']],
];
// The costly sources get nothing past these goroutine counts (a fetch would take minutes).
const COSTLY_MAX = { goroutine_debug2: 100 * K, goroutineleak: 100 * K };
const FETCH_TIMEOUT_MS = 240_000;
// A shape whose cost grows faster than its goroutines is not fetched at the next
// size once the last fetch predicts (cost × size ratio²) more than this.
const PREDICTED_MAX_MS = 100_000;

function build(toolchain) {
  const out = join(bin, `stall-${toolchain}`);
  const started = Date.now();
  say(`building test/bench/go/stall with ${toolchain === 'local' ? 'the machine\'s Go' : toolchain}`);
  execFileSync('go', ['build', '-o', out, './stall'], {
    cwd: goDir, stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, GOFLAGS: '-buildvcs=false', GOTOOLCHAIN: toolchain, ...(toolchain === 'local' && { GOEXPERIMENT: 'goroutineleakprofile' }) },
  });
  const version = execFileSync('go', ['version', out], { encoding: 'utf8' }).trim().split(': ').at(-1);
  say(`  built ${version} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { out, version };
}

/** Starts a child and resolves with it and its first stdout line, parsed. */
function startChild(cmd, args) {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const first = new Promise((resolve, reject) => {
    lines.once('line', (l) => resolve(JSON.parse(l)));
    child.once('exit', (code) => reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}`)));
  });
  return { child, lines, first };
}

async function pauseHistograms(addr) {
  return (await fetch(`http://${addr}/pauses`)).json();
}

/** The longest stop-the-world pause between two reads: the upper edge of the highest bucket that grew. */
function longestPause(before, after) {
  let max = 0;
  for (const [name, h] of Object.entries(after)) {
    const old = before[name].counts;
    for (let i = h.counts.length - 1; i >= 0; i--) {
      if (h.counts[i] > old[i]) { max = Math.max(max, h.buckets[i + 1] ?? h.buckets[i]); break; }
    }
  }
  return max * 1000;
}

async function pinged(stall, addr, what) {
  const p = startChild(stall, ['ping', '-url', `http://${addr}/ping`, '-every', '2ms']);
  await new Promise((r) => setTimeout(r, 300));
  const before = await pauseHistograms(addr);
  const started = performance.now();
  const extra = await what();
  const ms = performance.now() - started;
  await new Promise((r) => setTimeout(r, 300));
  const after = await pauseHistograms(addr);
  p.child.stdin.end();
  const ping = await p.first;
  return { ms, ping, stwMs: longestPause(before, after), ...extra };
}

async function fetchOnce(addr, source) {
  const res = await fetch(`http://${addr}${PATHS[source]}`, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  let bytes = 0;
  for await (const chunk of res.body) bytes += chunk.length;
  return { status: res.status, bytes };
}

const rows = [];
const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

for (const toolchain of TOOLCHAINS) {
  const { out: stall, version } = build(toolchain);
  for (const [shape, counts, sources] of PLAN) {
    const lastMs = new Map(); // source → [goroutines, fetch ms] of its last fetch in this shape
    for (const n of counts) {
      const todo = sources.filter((s) => {
        if (n > (COSTLY_MAX[s] ?? Infinity) || (only && !only.includes(s))) return false;
        const last = lastMs.get(s);
        if (last && last[1] * (n / last[0]) ** 2 > PREDICTED_MAX_MS) {
          say(`${version} ${shape} ${n}: ${s} not fetched, predicted over ${PREDICTED_MAX_MS / 1000} s`);
          rows.push({ go: version, shape, goroutines: n, source: s, status: 'skipped', fetch_ms: `> ${PREDICTED_MAX_MS}`, stall_ms: '-', stw_ms: '-', idle_stall_ms: '-', response_mib: '-' });
          return false;
        }
        return true;
      });
      if (todo.length === 0) continue;
      const t0 = Date.now();
      const target = startChild(stall, ['serve', '-n', String(n), '-shape', shape, '-depth', String(depth)]);
      const { addr } = await target.first;
      say(`${version} ${shape} ${n}: parked in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      const idle = await pinged(stall, addr, async () => { await new Promise((r) => setTimeout(r, 700)); return {}; });
      for (const source of todo) {
        const r = await pinged(stall, addr, () => fetchOnce(addr, source));
        const row = {
          go: version, shape, depth, goroutines: n, source, status: r.status, fetch_ms: round(r.ms), stall_ms: round(r.ping.max_ms), stw_ms: round(r.stwMs, 2),
          idle_stall_ms: round(idle.ping.max_ms), p99_ping_ms: round(r.ping.p99_ms), response_mib: round(r.bytes / 2 ** 20, 2),
        };
        rows.push(row);
        lastMs.set(source, [n, r.ms]);
        say(`  ${source}: ${r.status}, fetch ${row.fetch_ms} ms, longest stall ${row.stall_ms} ms, world stopped ≤ ${row.stw_ms} ms (idle ${row.idle_stall_ms} ms)`);
      }
      target.child.stdin.end();
      await new Promise((r) => target.child.once('exit', r));
    }
  }
}

if (json) {
  process.stdout.write(`${JSON.stringify(rows)}\n`);
} else {
  const cols = ['go', 'shape', 'goroutines', 'source', 'fetch_ms', 'stall_ms', 'stw_ms', 'idle_stall_ms', 'response_mib'];
  const cell = (v) => String(v);
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals) => `| ${vals.map((v, i) => v.padEnd(widths[i])).join(' | ')} |`;
  console.log(line(cols));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(cols.map((c) => cell(r[c]))));
  console.log('\nfetch_ms: one GET of the source, body read to the end; stall_ms: the longest a 2 ms ping loop from');
  console.log('another process waited for the target to answer during that fetch; stw_ms: the longest stop-the-world pause');
  console.log('the target\'s runtime recorded meanwhile (runtime/metrics /sched/pauses, bucket upper edge); idle_stall_ms: ping, no fetch.');
}
