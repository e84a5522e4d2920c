// The web page's building blocks without a browser: the bounded history,
// the diff, the escaping, the shell quoting of copied commands, and the
// per-signature wait reasons and creators of a debug=2 dump.
import { describe, expect, it } from 'vitest';
import { parseDebug2 } from '../src/decode/debug2.js';
import { debug2Summarizer, MAX_CREATORS_PER_SIGNATURE, MAX_REASONS_PER_SIGNATURE } from '../src/summarize/textstacks.js';
import type { Signature } from '../src/summarize/signature.js';
import type { TargetResult } from '../src/sources/target.js';
import { configFor } from './helpers/exporter.js';
import { History, Ring, type HistoryLimits } from '../src/ui/history.js';
import { IDLE_SCRAPE_SECONDS, WebState } from '../src/ui/state.js';
import { diffCounts } from '../src/ui/diff.js';
import { esc, html } from '../src/ui/html.js';
import { sparkline } from '../src/ui/svg.js';
import { commands, shellQuote } from '../src/ui/views.js';
import { rate } from '../src/ui/pages.js';
import { fixture, meta, newestGo } from './helpers/fixtures.js';

const target = configFor([{ name: 't', url: 'http://127.0.0.1:1', top_signatures: 2 }]).targets[0]!;

const sig = (id: string, count: number, fn = `main.f${id}`): Signature =>
  ({ id, count, function: fn, blockedOn: 'chan_send', frames: [{ function: fn, file: '/src/m.go', line: 1 }] });

function result(counts: Record<string, number>): TargetResult {
  const signatures = Object.entries(counts).map(([id, n]) => sig(id, n)).sort((a, b) => b.count - a.count || (a.id < b.id ? -1 : 1));
  const total = signatures.reduce((a, s) => a + s.count, 0);
  return { target, goroutine: { source: 'goroutine', durationSeconds: 0.01, data: { total, signatures, format: 'proto' } } };
}

const LIMITS: HistoryLimits = { pointsPerSignature: 4, signaturesPerTarget: 3, snapshotsPerTarget: 3, snapshotEverySeconds: 60, stacksPerTracked: 2 };

describe('Ring', () => {
  it('keeps the last `capacity` points in order', () => {
    const r = new Ring(3);
    for (let i = 1; i <= 5; i++) r.push(i * 1000, i * 10);
    expect(r.points()).toEqual([{ atMs: 3000, count: 30 }, { atMs: 4000, count: 40 }, { atMs: 5000, count: 50 }]);
    expect(r.last()).toEqual({ atMs: 5000, count: 50 });
  });
});

describe('History', () => {
  it('tracks at most signaturesPerTarget signatures, largest first, and counts the rest as dropped', () => {
    const h = new History(LIMITS);
    h.record([result({ a: 9, b: 5, c: 4, d: 1, e: 1 })], 0);
    const t = h.get('t')!;
    expect([...t.rings.keys()].sort()).toEqual(['a', 'b', 'c']);
    expect(t.dropped).toBe(2);
    expect(t.latest).toMatchObject({ total: 20, other: 2 });
  });

  it('never tracks fewer than the target\'s top_signatures', () => {
    const h = new History({ ...LIMITS, signaturesPerTarget: 1 });
    h.record([result({ a: 3, b: 2, c: 1 })], 0);
    expect(h.get('t')!.rings.size).toBe(2); // top_signatures: 2
  });

  it('records 0 for a tracked signature that is gone, and forgets it after a full ring of zeros', () => {
    const h = new History(LIMITS);
    h.record([result({ a: 2, b: 1 })], 0);
    for (let i = 1; i <= 3; i++) h.record([result({ a: 2 + i })], i * 1000);
    const t = h.get('t')!;
    expect(t.rings.get('b')!.points().map((p) => p.count)).toEqual([1, 0, 0, 0]);
    h.record([result({ a: 6 })], 4000);
    expect(t.rings.has('b')).toBe(false);
    expect(t.rings.get('a')!.points().map((p) => p.count)).toEqual([3, 4, 5, 6]);
  });

  it('a new large signature evicts the smallest gone one when the cap is reached', () => {
    const h = new History(LIMITS);
    h.record([result({ a: 5, b: 4, c: 3 })], 0);
    h.record([result({ a: 5, b: 4, d: 9 })], 1000);
    expect([...h.get('t')!.rings.keys()].sort()).toEqual(['a', 'b', 'd']);
    expect(h.get('t')!.dropped).toBe(0);
  });

  it('a failed scrape updates the status and leaves a gap, not a zero', () => {
    const h = new History(LIMITS);
    h.record([result({ a: 5 })], 0);
    h.record([{ target, goroutine: { source: 'goroutine', durationSeconds: 1, error: Object.assign(new Error('boom'), { stage: 'fetching', code: 'PPROF_FETCH_FAILED' }) as never } }], 1000);
    const t = h.get('t')!;
    expect(t.status).toMatchObject({ success: false, errors: [{ source: 'goroutine', stage: 'fetching', message: 'boom' }] });
    expect(t.rings.get('a')!.points()).toHaveLength(1);
  });

  it('keeps at most one snapshot per snapshotEverySeconds and at most snapshotsPerTarget', () => {
    const h = new History(LIMITS);
    for (let s = 0; s <= 300; s += 30) h.record([result({ a: s })], s * 1000);
    const t = h.get('t')!;
    expect(t.snapshots.map((x) => x.atMs / 1000)).toEqual([180, 240, 300]);
    expect(t.latest!.atMs).toBe(300_000);
    expect(t.snapshotBefore(60)!.atMs).toBe(240_000);
    expect(t.snapshotBefore(120)!.atMs).toBe(180_000);
    expect(t.snapshotBefore(3600)!.atMs).toBe(180_000); // the oldest kept
  });

  it('keeps the stack of a signature still in a snapshot after it stopped being tracked', () => {
    const h = new History({ ...LIMITS, snapshotEverySeconds: 1000 });
    h.record([result({ a: 1, b: 1 })], 0);
    for (let i = 1; i <= 4; i++) h.record([result({ a: 1 })], i * 1000);
    const t = h.get('t')!;
    expect(t.rings.has('b')).toBe(false);
    expect(t.stacks.get('b')?.frames[0]?.function).toBe('main.fb');
  });

  it('forgets targets that are no longer configured', () => {
    const h = new History(LIMITS);
    h.record([result({ a: 1 })], 0);
    h.record([], 1000);
    expect(h.get('t')).toBeUndefined();
  });
});

describe('idle refresh', () => {
  it('scrapes only when nothing has for IDLE_SCRAPE_SECONDS', async () => {
    let scrapes = 0;
    const web: WebState = new WebState(async () => { scrapes++; web.history.record([result({ a: 1 })], now); });
    let now = 1_000_000;
    await web.refreshIfIdle(now); // never scraped
    expect(scrapes).toBe(1);
    now += (IDLE_SCRAPE_SECONDS - 1) * 1000;
    await web.refreshIfIdle(now);
    expect(scrapes).toBe(1);
    web.history.record([result({ a: 2 })], now); // a /metrics scrape
    now += (IDLE_SCRAPE_SECONDS - 1) * 1000;
    await web.refreshIfIdle(now);
    expect(scrapes).toBe(1);
    now += 1000;
    await web.refreshIfIdle(now);
    expect(scrapes).toBe(2);
    expect(web.history.get('t')!.rings.get('a')!.points().map((p) => p.count)).toEqual([1, 2, 1]);
  });
});

describe('diffCounts', () => {
  it('classifies like pprof -base, largest change first', () => {
    const d = diffCounts(
      { total: 20, other: 1, counts: new Map([['grew', 2], ['shrank', 8], ['same', 3], ['vanished', 6]]) },
      { total: 30, other: 0, counts: new Map([['grew', 12], ['shrank', 5], ['same', 3], ['appeared', 10]]) },
    );
    expect(d.rows.map((r) => [r.id, r.delta, r.change])).toEqual([
      ['appeared', 10, 'appeared'], ['grew', 10, 'grew'], ['vanished', -6, 'vanished'], ['shrank', -3, 'shrank'],
    ]);
    expect(d).toMatchObject({ unchanged: 1, totalDelta: 10, otherDelta: -1, changes: { grew: 1, shrank: 1, appeared: 1, vanished: 1 } });
  });
});

describe('html', () => {
  const hostile = `<script>alert("x")</script>&'`;
  it('escapes every interpolated value', () => {
    expect(html`<td title="${hostile}">${hostile}</td>`.text)
      .toBe('<td title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;</td>');
  });
  it('does not escape html output twice, and escapes inside arrays', () => {
    expect(html`<ul>${['<a>', 'b'].map((x) => html`<li>${x}</li>`)}</ul>`.text).toBe('<ul><li>&lt;a&gt;</li><li>b</li></ul>');
    expect(html`${['<i>']}`.text).toBe('&lt;i&gt;');
    expect(esc('"\'')).toBe('&quot;&#39;');
  });
  it('draws a rising sparkline upwards', () => {
    const svg = sparkline([[0, 1], [1, 2], [2, 5]]).text;
    expect(svg).toContain('class="spark up"');
    expect(svg).toContain('data-counts="1,2,5"');
    const points = /points="([^"]*)"/.exec(svg)![1]!.split(' ');
    const ys = points.map((p) => Number(p.split(',')[1]));
    expect(ys).toHaveLength(3);
    expect(ys[0]).toBeGreaterThan(ys.at(-1)!); // SVG y grows downwards
  });
});

describe('copied commands', () => {
  it('single-quote a hostile function name so the shell sees one word', () => {
    expect(shellQuote(`a'; rm -rf ~; echo '`)).toBe(`'a'\\''; rm -rf ~; echo '\\'''`);
    expect(shellQuote('x\x1b[2Jy\n')).toBe(`'x?[2Jy?'`);
  });
  it('focus pprof on exactly the function', () => {
    expect(commands(target, 'main.(*T).run').traces)
      .toBe(`go tool pprof -traces -focus='^main\\.\\(\\*T\\)\\.run$' 'http://127.0.0.1:1/debug/pprof/goroutine'`);
  });
});

describe('debug=2 per-signature details', () => {
  it(`has wait reasons and created-by per signature (${newestGo()} dump)`, async () => {
    const s = debug2Summarizer();
    async function* one() { yield fixture(newestGo(), 'goroutine.debug2.txt'); }
    await parseDebug2(one(), (g) => s.add(g));
    const { summary, wait } = s.result();
    const compute = summary.signatures.find((x) => x.function === 'main.computeResult')!;
    const sw = wait.bySignature.get(compute.id)!;
    const n = meta(newestGo()).expected['main.computeResult']!;
    expect([...sw.reasons.values()].reduce((a, b) => a + b, 0)).toBe(n);
    expect([...sw.reasons.keys()].every((r) => r.startsWith('chan send'))).toBe(true);
    expect(sw.creators).toEqual([expect.objectContaining({ function: 'main.handleWithTimeout', count: n })]);
    expect(sw.creators[0]!.file).toMatch(/leaky\/shapes\.go$/);
  });

  it('caps reasons and creators per signature', () => {
    const s = debug2Summarizer();
    for (let i = 0; i < 20; i++) {
      s.add({ id: i, waitReason: `reason ${i}`, waitMinutes: 0, lockedToThread: false, elided: false,
        frames: [{ function: 'main.f', file: '/m.go', line: 1 }], createdBy: { function: `main.c${i}`, file: '/m.go', line: i } });
    }
    const sw = [...s.result().wait.bySignature.values()][0]!;
    expect(sw.reasons.size).toBe(MAX_REASONS_PER_SIGNATURE);
    expect(sw.reasons.get('other')).toBe(20 - (MAX_REASONS_PER_SIGNATURE - 1));
    expect(sw.creators).toHaveLength(MAX_CREATORS_PER_SIGNATURE);
  });
});

describe('growth on the page', () => {
  it('is a rate per minute (or per hour when slow) with the window it was measured over, not a per-scrape delta', () => {
    expect(rate({ delta: 12, seconds: 15 })).toBe('+48/min over 15 s');
    expect(rate({ delta: 30, seconds: 1800 })).toBe('+1/min over 30 min');
    expect(rate({ delta: 3, seconds: 1800 })).toBe('+6/h over 30 min');
    expect(rate({ delta: -90, seconds: 60 })).toBe('-90/min over 60 s');
    expect(rate({ delta: 0, seconds: 600 })).toBe('0/min over 10 min');
    expect(rate({ delta: 0, seconds: 0 })).toBe('0');
  });
});
