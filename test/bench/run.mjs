// npm run bench [-- --json] [-- --quick]
// Generates real profiles with a Go program (cached), then times, in the same
// run, our pipeline (warm in-process and cold in a fresh process) against a Go
// peer (google/pprof's profile.Parse + the same grouping; panicparse for
// debug=2), and one exporter scraping 1000 targets × 10k goroutines, by
// /metrics and by /probe (scale.mjs).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheDir } from '../setup/paths.mjs';
import { step, stderrLog } from '../setup/progress.mjs';
import { forgetStacks, pipeline } from './pipeline.mjs';

const args = new Set(process.argv.slice(2));
const json = args.has('--json');
const quick = args.has('--quick');
const here = fileURLToPath(new URL('.', import.meta.url));
const goDir = join(here, 'go');
const work = join(cacheDir(), 'bench');
const bin = join(work, 'bin');
mkdirSync(bin, { recursive: true });
const say = (m) => { if (!json) process.stderr.write(`${m}\n`); };

for (const cmd of ['gen', 'peer']) {
  await step(`building test/bench/go/${cmd}`, 'go', ['build', '-o', join(bin, cmd), `./${cmd}`],
    { log: json ? () => {} : stderrLog('[bench] '), cwd: goDir, quiet: json, env: { ...process.env, GOFLAGS: '-buildvcs=false' } });
}

// Heap sites: one allocating stack per goroutine stack shape (K of them).
// `distinct`: every goroutine on a stack of its own, the goroutine proto
// alone (no text dumps): what naming stacks never seen before costs.
const SIZES = [
  { goroutines: 10_000, stacks: 100, heapSites: 100 },
  { goroutines: 100_000, stacks: 1_000, heapSites: 1_000 },
  ...(quick ? [] : [{ goroutines: 1_000_000, stacks: 10_000, heapSites: 10_000 }]),
  { goroutines: 100_000, stacks: 100_000, heapSites: 0, distinct: true },
  ...(quick ? [] : [{ goroutines: 1_000_000, stacks: 1_000_000, heapSites: 0, distinct: true }]),
];

function dataset(s) {
  const dir = join(work, `${s.goroutines}_${s.stacks}`);
  if (!existsSync(join(dir, 'meta.json'))) {
    say(`generating ${s.goroutines} goroutines / ${s.stacks} stacks / ${s.heapSites} heap sites (cached in ${dir})`);
    execFileSync(join(bin, 'gen'), ['-goroutines', String(s.goroutines), '-stacks', String(s.stacks), '-heap-sites', String(s.heapSites), `-text=${!s.distinct}`, '-out', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  return dir;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// Warm = what a long-running exporter does on each scrape: V8 has optimized
// the hot code (the first ~20 runs of a small profile are several times
// slower: that is cold_ms, not a fixed per-scrape cost) and, unless `forget`,
// the stacks' meanings are memoized from the previous scrape of the target.
async function warm(kind, file, iterations, forget = false, minWarmup = 3) {
  const run = pipeline(kind, file);
  const start = performance.now();
  for (let n = 0; n < 200 && (n < minWarmup || performance.now() - start < 1000); n++) {
    if (forget) forgetStacks();
    await run();
  }
  const times = [];
  for (let i = 0; i < iterations; i++) {
    if (forget) forgetStacks();
    const t = performance.now();
    await run();
    times.push(performance.now() - t);
  }
  return median(times);
}

function cold(kind, file) {
  const r = spawnSync(process.execPath, [join(here, 'pipeline.mjs'), kind, file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cold run failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

function peer(kind, file, iterations) {
  const r = spawnSync(join(bin, 'peer'), ['-kind', kind, '-file', file, '-iterations', String(iterations)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`peer failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1));
}

const rows = [];
for (const s of SIZES) {
  const dir = dataset(s);
  const huge = s.goroutines >= 1_000_000;
  // A run over 1M distinct stacks takes seconds: one warm-up, three timed.
  const iterations = huge ? (s.distinct ? 3 : 5) : 15;
  const minWarmup = huge && s.distinct ? 1 : 3;
  const cases = s.distinct
    ? [['goroutine', 'goroutine.pb.gz', `goroutine ${s.goroutines / 1000}k distinct`, 'google/pprof profile.Parse']]
    : [
      ['goroutine', 'goroutine.pb.gz', `goroutine ${s.goroutines / 1000}k/${s.stacks}`, 'google/pprof profile.Parse'],
      ['heap', 'heap.pb.gz', `heap ${s.heapSites} sites`, 'google/pprof profile.Parse'],
      ['debug2', 'goroutine.debug2.txt', `debug=2 ${s.goroutines / 1000}k/${s.stacks}`, 'panicparse/v2'],
    ];
  for (const [kind, f, name, peerName] of cases) {
    const file = join(dir, f);
    say(`timing ${name}`);
    const oursWarm = await warm(kind, file, iterations, false, minWarmup);
    const unmemo = kind === 'debug2' ? null : await warm(kind, file, iterations, true, minWarmup);
    const c = cold(kind, file);
    const p = peer(kind, file, iterations);
    rows.push({
      case: name, ours_ms: round(oursWarm), unmemo_ms: unmemo === null ? null : round(unmemo), cold_ms: round(c.ms), peer: peerName, peer_ms: round(p.median_ms),
      ratio: round(oursWarm / p.median_ms, 2), unmemo_ratio: unmemo === null ? null : round(unmemo / p.median_ms, 2),
      rss_mib: round(c.rss_mib, 1), peer_rss_mib: round(p.maxrss_mib, 1), file_mib: round(statSync(file).size / 2 ** 20, 2),
    });
  }
}

// One exporter, many targets × 10k goroutines: one /metrics over all of them,
// and as many /probe requests, through its real HTTP server on loopback
// (scale.mjs: each path in a fresh exporter process, its peak RSS).
{
  const small = dataset(SIZES[0]);
  const concurrency = 16; // the default max_concurrent_probes
  for (const n of [1000]) {
    say(`timing ${n} targets × 10k goroutines: /metrics, and /probe ${concurrency} at a time`);
    const r = spawnSync(process.execPath, [join(here, 'scale.mjs'), join(small, 'goroutine.pb.gz'), String(n), String(concurrency)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`scale run failed: ${r.stderr}`);
    const { metrics: m, probe: p } = JSON.parse(r.stdout);
    const row = (name, x) => ({ case: name, ours_ms: round(x.ms), unmemo_ms: null, cold_ms: round(x.first_ms), peer: '-', peer_ms: null, ratio: null, unmemo_ratio: null, rss_mib: round(x.rss_mib, 1), peer_rss_mib: null, file_mib: null });
    rows.push(row(`${n} targets × 10k goroutines (one /metrics)`, m));
    rows.push(row(`${n} targets × 10k goroutines (${n} /probe, ${concurrency} at a time)`, p));
  }
}

function round(x, d = 1) {
  return Math.round(x * 10 ** d) / 10 ** d;
}

if (json) {
  process.stdout.write(`${JSON.stringify(rows)}\n`);
} else {
  const cols = ['case', 'ours_ms', 'unmemo_ms', 'cold_ms', 'peer', 'peer_ms', 'ratio', 'unmemo_ratio', 'rss_mib', 'peer_rss_mib', 'file_mib'];
  const cell = (v) => (v === null || v === undefined ? '-' : String(v));
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals) => `| ${vals.map((v, i) => v.padEnd(widths[i])).join(' | ')} |`;
  console.log(line(cols));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(cols.map((c) => cell(r[c]))));
  console.log('\nours_ms: median warm run of our pipeline (gunzip → decode → validate → group → metrics text; debug=2 streamed),');
  console.log('  after V8 has optimized it, with the stacks seen on the previous scrape (their signature ids etc. memoized);');
  console.log('unmemo_ms: the same with the memo emptied before each run (a scrape whose stacks are all new);');
  console.log('cold_ms: once in a fresh process; ratio = ours_ms / peer_ms, unmemo_ratio = unmemo_ms / peer_ms;');
  console.log('  rss_mib: peak RSS of that fresh process; peer_rss_mib: the Go peer\'s.');
}
