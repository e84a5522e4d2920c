// The debug=2 and debug=1 text parsers, and their agreement with the proto
// profile on signature ids, counts, function and blocked_on.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseDebug1, type Debug1Record } from '../src/decode/debug1.js';
import { GO_DUMP_CAP, parseDebug2, type TextGoroutine } from '../src/decode/debug2.js';
import { debug1Summarizer, debug2Summarizer } from '../src/summarize/textstacks.js';
import { groupGoroutines, signatureId, type GoroutineSummary } from '../src/summarize/signature.js';
import { decodeProfile, decompress } from '../src/decode/gunzip.js';
import { validateProfile } from '../src/decode/validate.js';
import { perftools } from '../src/decode/proto/profile.js';
import { fixture, goVersions, meta } from './helpers/fixtures.js';
import { parkedIn, startLeaky, waitForGoroutines, type Leaky } from './helpers/leaky.js';

const BLOCKED: Record<string, string> = {
  'main.computeResult': 'chan_send',
  'main.drainQueue': 'chan_receive',
  'main.produceEvents': 'chan_send',
  'main.waitForReply': 'select',
  'main.blockForever': 'select_no_cases',
  'main.updateCache': 'mutex',
  'main.poolWorker': 'chan_receive',
};

async function* chunked(data: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}
const bytes = (s: string | Uint8Array) => (typeof s === 'string' ? Buffer.from(s) : s);

async function parse2(text: string | Uint8Array, size = 1 << 16, cap?: number) {
  const gs: TextGoroutine[] = [];
  const res = await parseDebug2(chunked(bytes(text), size), (g) => gs.push(g), cap);
  return { gs, res };
}
async function parse1(text: string | Uint8Array, size = 1 << 16) {
  const rs: Debug1Record[] = [];
  const res = await parseDebug1(chunked(bytes(text), size), (r) => rs.push(r));
  return { rs, res };
}
async function summary2(text: string | Uint8Array) {
  const s = debug2Summarizer();
  const res = await parseDebug2(chunked(bytes(text), 4096), (g) => s.add(g));
  return { ...s.result(), res };
}
async function summary1(text: string | Uint8Array) {
  const s = debug1Summarizer();
  const res = await parseDebug1(chunked(bytes(text), 4096), (r) => s.add(r));
  return { summary: s.result(), res };
}
async function protoSummary(version: string): Promise<GoroutineSummary> {
  return groupGoroutines(validateProfile(decodeProfile(await decompress(fixture(version, 'goroutine.pb.gz'), 64 << 20))));
}
const count = (s: string, re: RegExp) => s.match(re)?.length ?? 0;

describe.each(goVersions())('captured %s', (version) => {
  const { expected } = meta(version);
  const d2 = fixture(version, 'goroutine.debug2.txt').toString('utf8');
  const d1 = fixture(version, 'goroutine.debug1.txt').toString('utf8');

  it('debug=2: every leak shape has the proto signature id, count, function and blocked_on', async () => {
    const proto = await protoSummary(version);
    const { summary, wait, res } = await summary2(d2);
    expect(res).toEqual({ goroutines: count(d2, /^goroutine \d+ \[/gm), truncated: false, bytes: Buffer.byteLength(d2) });
    expect(summary.total).toBe(res.goroutines);
    for (const [fn, n] of Object.entries(expected)) {
      const p = proto.signatures.filter((x) => x.function === fn);
      const t = summary.signatures.filter((x) => x.function === fn);
      expect(t, fn).toHaveLength(1);
      expect(p, fn).toHaveLength(1);
      expect(t[0], fn).toMatchObject({ id: p[0]!.id, count: n, blockedOn: BLOCKED[fn] });
      expect(t[0]!.frames, fn).toEqual(p[0]!.frames);
      expect(wait.maxWaitSeconds.get(t[0]!.id), fn).toBe(0);
    }
    // Same snapshot moment: all but the request's and a transient goroutine agree.
    const protoIds = new Set(proto.signatures.map((x) => x.id));
    expect(summary.signatures.filter((x) => !protoIds.has(x.id)).length).toBeLessThanOrEqual(2);
    expect(wait.byWaitReason.get('chan receive (nil chan)')).toBe(expected['main.drainQueue']);
    expect(wait.byWaitReason.get('sync.Mutex.Lock')).toBe(expected['main.updateCache']);
    expect(wait.byWaitReason.get('running')).toBe(1);
  });

  it('debug=1: every leak shape has the proto signature id, count and function; labels per record', async () => {
    const proto = await protoSummary(version);
    const { summary, res } = await summary1(d1);
    const total = Number(/^goroutine profile: total (\d+)$/m.exec(d1)![1]);
    expect(res).toEqual({ total, records: count(d1, /^\d+ @/gm), truncated: false });
    expect(summary.total).toBe(total);
    for (const [fn, n] of Object.entries(expected)) {
      const p = proto.signatures.find((x) => x.function === fn)!;
      const t = summary.signatures.filter((x) => x.function === fn);
      expect(t, fn).toHaveLength(1);
      // No wait reason and no parked frames in debug=1: only sync frames tell.
      expect(t[0], fn).toMatchObject({ id: p.id, count: n, blockedOn: fn === 'main.updateCache' ? 'mutex' : 'other' });
      expect(t[0]!.frames.map((f) => f.function), fn).toEqual(p.frames.map((f) => f.function));
    }
    const protoIds = new Set(proto.signatures.map((x) => x.id));
    expect(summary.signatures.filter((x) => !protoIds.has(x.id)).length).toBeLessThanOrEqual(2);
    const { rs } = await parse1(d1);
    expect(rs.find((r) => r.frames.some((f) => f.function === 'main.poolWorker'))?.labels).toEqual({ shape: 'pool' });
    expect(rs.find((r) => r.frames.some((f) => f.function === 'main.updateCache'))?.frames.at(-1))
      .toEqual({ function: 'main.updateCache', file: 'leaky/shapes.go', line: expect.any(Number) as number });
  });

  it('debug=2 cut at every byte offset: no throw, truncated, exactly the records completed before the cut', async () => {
    const full = (await parse2(d2)).gs;
    const buf = Buffer.from(d2);
    for (let k = 0; k < buf.length; k += k < 400 ? 1 : 13) {
      const cut = buf.subarray(0, k);
      const done = count(cut.toString('latin1'), /\n\n/g); // records whose blank line is in
      // As Go cuts it: at the cap, anywhere.
      const capped = await parse2(cut, 1 << 16, k);
      expect(capped.res.truncated, `offset ${k}`).toBe(true);
      expect(capped.gs, `offset ${k}`).toEqual(full.slice(0, done));
      // Cut by anything else: detectable mid-line only.
      if (k > 0 && buf[k - 1] !== 0x0a) {
        const plain = await parse2(cut);
        expect(plain.res.truncated, `offset ${k}`).toBe(true);
        expect(plain.gs, `offset ${k}`).toEqual(full.slice(0, done));
      }
    }
  });

  it('debug=1 cut at any offset is truncated and keeps only complete records', async () => {
    const full = (await parse1(d1)).rs;
    const buf = Buffer.from(d1);
    for (let k = 0; k < buf.length; k += k < 200 ? 1 : 7) {
      const { rs, res } = await parse1(buf.subarray(0, k));
      expect(res.truncated, `offset ${k}`).toBe(true);
      expect(rs, `offset ${k}`).toEqual(full.slice(0, count(buf.subarray(0, k).toString('latin1'), /\n\n/g)));
    }
  });
});

describe('debug=2 headers and records', () => {
  const one = async (text: string) => {
    const { gs, res } = await parse2(text);
    expect(res.truncated).toBe(false);
    expect(gs).toHaveLength(1);
    return gs[0]!;
  };
  const body = 'main.f()\n\t/src/m.go:3 +0x1d\n';

  it.each([
    ['running', 'running'], ['runnable', 'runnable'], ['chan receive (nil chan)', 'chan receive (nil chan)'],
    ['select (no cases)', 'select (no cases)'], ['sync.Mutex.Lock', 'sync.Mutex.Lock'], ['semacquire', 'semacquire'],
    ['IO wait, 12 minutes', 'IO wait'], ['chan send (leaked)', 'chan send (leaked)'],
  ])('[%s]', async (status, reason) => {
    const g = await one(`goroutine 7 [${status}]:\n${body}`);
    expect(g).toMatchObject({ id: 7, waitReason: reason, waitMinutes: status.includes('12 minutes') ? 12 : 0, lockedToThread: false });
  });

  it('minutes and locked to thread together', async () => {
    expect(await one(`goroutine 1 [syscall, 3 minutes, locked to thread]:\n${body}`))
      .toMatchObject({ waitReason: 'syscall', waitMinutes: 3, lockedToThread: true });
  });

  it('GOTRACEBACK=system header and frame suffixes', async () => {
    const g = await one('goroutine 9 gp=0xc000007c00 m=nil [select]:\nmain.g(0x1)\n\t/src/m.go:8 +0x2a fp=0xc0000 sp=0xc0000 pc=0x4a\n');
    expect(g).toMatchObject({ id: 9, waitReason: 'select', frames: [{ function: 'main.g', file: '/src/m.go', line: 8 }] });
  });

  it('Go 1.26 tracebacklabels header (Go-quoted, escaped)', async () => {
    const g = await one(String.raw`goroutine 5 [chan send, 2 minutes labels:{"a]:": "x, y", "fizzle": "b\x1bit\n", "u": "\u03a3\U0001f600"}]:` + '\n' + body);
    expect(g).toMatchObject({ waitReason: 'chan send', waitMinutes: 2, labels: { 'a]:': 'x, y', fizzle: 'b\x1bit\n', u: 'Σ😀' } });
    // Malformed labels are dropped, the record is kept.
    expect((await one(`goroutine 5 [chan send labels:{"a": nope}]:\n${body}`)).labels).toBeUndefined();
  });

  it('Go 1.27 header: labels after the bracket, quoted only when needed', async () => {
    const g = await one(String.raw`goroutine 7 [chan send, 3 minutes] {shape: pool, "a]: b": "x, y}", k.v/w_1: "\u03a3\n"}:` + '\n' + body);
    expect(g).toMatchObject({ id: 7, waitReason: 'chan send', waitMinutes: 3, labels: { shape: 'pool', 'a]: b': 'x, y}', 'k.v/w_1': 'Σ\n' } });
    expect(g.frames.map((f) => f.function)).toEqual(['main.f']);
    // Malformed labels are dropped, the record is kept.
    const bad = await one(`goroutine 7 [select] {shape pool}:\n${body}`);
    expect([bad.waitReason, bad.labels]).toEqual(['select', undefined]);
  });

  it('frames: receivers, arguments, inlined (...), generics, panic; file with and without +0x', async () => {
    const g = await one([
      'goroutine 3 [running]:',
      'panic({0x4a5b20?, 0xc000012345?})', '\t/go/src/runtime/panic.go:770 +0x132',
      'main.(*T).run(0xc000010000, {0x1, 0x2})', '\t/src/m.go:12 +0x1d',
      'main.helper(...)', '\t/src/m.go:20',
      'main.Map[...](0xc00001)', '\tC:/src/g.go:4 +0x5',
      'created by main.start in goroutine 1', '\t/src/m.go:30 +0x66', '',
    ].join('\n'));
    expect(g.frames).toEqual([
      { function: 'panic', file: '/go/src/runtime/panic.go', line: 770 },
      { function: 'main.(*T).run', file: '/src/m.go', line: 12 },
      { function: 'main.helper', file: '/src/m.go', line: 20 },
      { function: 'main.Map[...]', file: 'C:/src/g.go', line: 4 },
    ]);
    expect(g.createdBy).toEqual({ function: 'main.start', goroutine: 1, file: '/src/m.go', line: 30 });
    expect(g.elided).toBe(false);
  });

  it('created by, older form (no goroutine id)', async () => {
    expect((await one(`goroutine 7 [select]:\n${body}created by main.start\n\t/src/m.go:30 +0x66\n`)).createdBy)
      .toEqual({ function: 'main.start', file: '/src/m.go', line: 30 });
  });

  it.each(['...additional frames elided...', '...12 frames elided...'])('%s', async (marker) => {
    const g = await one(`goroutine 7 [chan receive]:\n${body}${marker}\nmain.root()\n\t/src/m.go:1 +0x1\n`);
    expect(g.elided).toBe(true);
    expect(g.frames.map((f) => f.function)).toEqual(['main.f', 'main.root']);
  });

  it('ancestor tracebacks are not part of the stack', async () => {
    const g = await one(`goroutine 7 [select]:\n${body}created by main.a in goroutine 2\n\t/src/m.go:5 +0x1\n` +
      '[originating from goroutine 2]:\nmain.a(...)\n\t/src/m.go:5 +0x1\ncreated by main.b\n\t/src/m.go:9 +0x1\n');
    expect(g.frames.map((f) => f.function)).toEqual(['main.f']);
    expect(g.createdBy?.function).toBe('main.a');
  });

  it('skips garbage, CRLF and stray lines; throws only on something that is not a dump', async () => {
    const { gs, res } = await parse2([
      '', 'goroutine 1 [select]:', 'main.main()', '\t/src/m.go:1 +0x1', 'non-Go function at pc=0x1', '\tnonsense',
      '\tgoroutine running on other thread; stack unavailable', '', 'junk line (x)', '\t/orphan.go:1', '',
      'goroutine 2 [chan send]:\r', 'main.f()\r', '\t/src/m.go:3\r', '',
    ].join('\n'));
    expect(res.truncated).toBe(false);
    expect(gs.map((g) => [g.id, g.frames.map((f) => `${f.function}@${f.line}`)])).toEqual([[1, ['main.main@1']], [2, ['main.f@3']]]);
    await expect(parse2('goroutine profile: total 41\n1 @ 0x1\n')).rejects.toThrow('not a goroutine debug=2 dump: starts with "goroutine profile: total 41"');
    await expect(parse2('<html>404</html>')).rejects.toThrow('not a goroutine debug=2 dump: starts with "<html>404</html>"');
    expect((await parse2('')).res).toEqual({ goroutines: 0, truncated: true, bytes: 0 });
  });

  it('a function line without its file line at the end is a cut record', async () => {
    const { gs, res } = await parse2(`goroutine 1 [select]:\n${body}\ngoroutine 2 [select]:\nmain.g(0x1, 0x2)\n`);
    expect(res.truncated).toBe(true);
    expect(gs.map((g) => g.id)).toEqual([1]);
  });
});

describe('debug=2 file lines', () => {
  // What the parser's hand-written file:line split must agree with.
  const FILE_LINE = /^\t(.+):(\d+)(?: .*)?$/;
  it.each([
    '\t/a/b.go:12 +0x1f', '\t/a/b.go:12', '\tC:/go/src/x.go:7 +0x2', '\t/a b/c:d.go:3 fp=0x1 sp=0x2 pc=0x3',
    '\t/x:1:2', '\t/a.go:', '\t/a.go:12abc', '\t/a.go:12:', '\t:5', '\t/a\u2028b.go:5', '\t/a.go:12345678901234567890 +0x1',
  ])('%j', async (fileLine) => {
    const { gs } = await parse2(`goroutine 1 [running]:\nmain.f()\n${fileLine}\nmain.g()\n\t/g.go:1\n`);
    const m = FILE_LINE.exec(fileLine);
    const g = { function: 'main.g', file: '/g.go', line: 1 };
    expect(gs[0]!.frames).toEqual(m ? [{ function: 'main.f', file: m[1], line: Number(m[2]) }, g] : [g]);
  });
});

describe('debug=1 records', () => {
  it('nameless frames, empty stacks, labels with escapes, garbage', async () => {
    const text = [
      'goroutine profile: total 4', '2 @ 0x1 0x2 0x3', '# labels: {"k":"v \\"q\\"", "z":"ü"}',
      '#\t0x2\tmain.(*T).run+0x1d\t\t/src/m.go:12', '#\t0x3', '', 'garbage', '',
      '1 @', '#\t0x0', '', '1 @ 0x4', '#\t0x4\tmain.g+0x1\tC:/src/m.go:7', '', '',
    ].join('\n');
    const { rs, res } = await parse1(text);
    expect(res).toEqual({ total: 4, records: 3, truncated: false });
    expect(rs).toEqual([
      { count: 2, labels: { k: 'v "q"', z: 'ü' }, frames: [{ function: 'main.(*T).run', file: '/src/m.go', line: 12 }, { function: '', file: '', line: 0 }] },
      { count: 1, frames: [{ function: '', file: '', line: 0 }] },
      { count: 1, frames: [{ function: 'main.g', file: 'C:/src/m.go', line: 7 }] },
    ]);
    const s = debug1Summarizer();
    for (const r of rs) s.add(r);
    // The empty stack gets the proto's empty-stack signature, unknown and running.
    expect(s.result().signatures.find((x) => x.id === signatureId([]))).toMatchObject({ count: 1, function: 'unknown', blockedOn: 'running' });
    await expect(parse1('goroutine 1 [running]:\nmain.main()\n')).rejects.toThrow('not a goroutine debug=1 dump: starts with "goroutine 1 [running]:"');
  });

  it('counts that do not add up to the total mean a cut body', async () => {
    expect((await parse1('goroutine profile: total 3\n2 @ 0x1\n#\t0x1\tmain.f+0x1\tm.go:1\n\n')).res.truncated).toBe(true);
  });
});

describe('chunk boundaries', () => {
  const v = goVersions().at(-1)!;
  // A multi-byte label and CRLF on top of a real dump.
  const d2 = Buffer.from(fixture(v, 'goroutine.debug2.txt').toString('utf8')
    .replace('goroutine 1 [select]:', 'goroutine 1 [select labels:{"ключ": "värde"}]:').replace('main.main()\n', 'main.main()\r\n'));
  const d1 = fixture(v, 'goroutine.debug1.txt');

  it.each([1, 7, d2.length])('debug=2 in %i-byte chunks parses the same', async (size) => {
    const whole = await parse2(d2, d2.length);
    expect(whole.gs.find((g) => g.id === 1)?.labels).toEqual({ ключ: 'värde' });
    expect(await parse2(d2, size)).toEqual(whole);
  });

  it.each([1, 7, d1.length])('debug=1 in %i-byte chunks parses the same', async (size) => {
    const whole = await parse1(d1, d1.length);
    expect(whole.rs.length).toBeGreaterThan(7);
    expect(await parse1(d1, size)).toEqual(whole);
  });
});

describe('one frame rule for proto, debug=1 and debug=2', () => {
  // Parked inside an exported runtime function: debug=2 shows runtime.GC,
  // debug=1 hides it (leading runtime frame), the proto has every frame.
  it('a goroutine waiting in runtime.GC gets one id from all three', async () => {
    const names = ['runtime.gopark', 'runtime.gcWaitOnMark', 'runtime.GC', 'main.gcLoop', 'runtime.goexit'];
    const strings = ['', 'goroutine', 'count', ...names, 'm.go'];
    const p = perftools.profiles.Profile.encode({
      sampleType: [{ type: 1, unit: 2 }],
      sample: [{ locationId: names.map((_, i) => i + 1), value: [3] }],
      location: names.map((_, i) => ({ id: i + 1, mappingId: 1, line: [{ functionId: i + 1, line: 10 + i }] })),
      function: names.map((_, i) => ({ id: i + 1, name: 3 + i, filename: strings.length - 1 })),
      mapping: [{ id: 1 }],
      stringTable: strings,
    }).finish();
    const proto = groupGoroutines(validateProfile(decodeProfile(Buffer.from(p))));
    const two = await summary2('goroutine 9 [GC mark termination]:\nruntime.GC()\n\tm.go:12 +0x1\nmain.gcLoop(0x1)\n\tm.go:13 +0x1\n');
    const one = await summary1('goroutine profile: total 3\n3 @ 0x1 0x2 0x3 0x4\n#\t0x4\tmain.gcLoop+0x1\tm.go:13\n\n');
    const ids = [proto, two.summary, one.summary].map((s) => s.signatures.map((x) => x.id));
    expect(ids[0]).toEqual([signatureId(['main.gcLoop'])]);
    expect(ids[1]).toEqual(ids[0]);
    expect(ids[2]).toEqual(ids[0]);
  });

  it('runtime frames printed because all were hidden (not started yet) or GOTRACEBACK=system: same id as the proto', async () => {
    // Go 1.25 fixture: the proto has this goroutine as an empty stack.
    const notStarted = await summary2('goroutine 61 [runnable]:\nnet/http.(*connReader).startBackgroundRead.gowrap2()\n' +
      '\tnet/http/server.go:686\nruntime.goexit({})\n\truntime/asm_amd64.s:1700 +0x1\n' +
      'created by net/http.(*connReader).startBackgroundRead in goroutine 60\n\tnet/http/server.go:686 +0xb6\n');
    expect(notStarted.summary.signatures).toEqual([{ id: signatureId([]), count: 1, function: 'unknown', blockedOn: 'running', frames: [] }]);
    const system = await summary2('goroutine 7 gp=0xc000 m=nil [chan receive]:\nruntime.gopark(0x1)\n\t/go/src/runtime/proc.go:435 +0xce fp=0x1 sp=0x2 pc=0x3\n' +
      'runtime.chanrecv1(0x1)\n\t/go/src/runtime/chan.go:1 +0x1 fp=0x1 sp=0x2 pc=0x3\nmain.f(0x1)\n\t/src/m.go:3 +0x1 fp=0x1 sp=0x2 pc=0x3\n' +
      'main.start.gowrap1()\n\t/src/m.go:9 +0x1 fp=0x1 sp=0x2 pc=0x3\nruntime.goexit({})\n\t/go/src/runtime/asm_amd64.s:1700 +0x1 fp=0x1 sp=0x2 pc=0x3\n');
    expect(system.summary.signatures).toMatchObject([{ id: signatureId(['main.f']), function: 'main.f', blockedOn: 'chan_receive' }]);
  });
});

describe('blocked_on from debug=2 wait reasons', () => {
  it.each([
    ['chan send (nil chan)', [], 'chan_send'], ['sync.RWMutex.RLock', [], 'rwmutex'], ['sync.WaitGroup.Wait', [], 'waitgroup'],
    ['sync.Cond.Wait', [], 'cond'], ['sleep', [], 'sleep'], ['IO wait', [], 'io_wait'], ['syscall', [], 'syscall'],
    ['runnable', [], 'running'], ['chan receive (leaked)', [], 'chan_receive'],
    // Vague: the frames decide (Go <1.25 WaitGroup.Wait is "semacquire"), else other.
    ['semacquire', ['sync.runtime_Semacquire', 'sync.(*WaitGroup).Wait', 'main.f'], 'waitgroup'],
    ['semacquire', ['main.f'], 'other'], ['GC worker (idle)', ['runtime.gopark', 'runtime.gcBgMarkWorker'], 'other'],
  ] as const)('[%s] %j → %s', async (reason, fns, want) => {
    const frames = (fns.length ? fns : ['main.f']).map((f, i) => `${f}()\n\tm.go:${i + 1} +0x1\n`).join('');
    const { summary } = await summary2(`goroutine 4 [${reason}]:\n${frames}`);
    expect(summary.signatures[0]!.blockedOn).toBe(want);
  });

  it('keeps wait reason label values bounded', async () => {
    const { wait } = await summary2('goroutine 4 [a{b}c]:\nmain.f()\n\tm.go:1\n\ngoroutine 5 [' + 'x'.repeat(41) + ']:\nmain.f()\n\tm.go:1\n\ngoroutine 6 [sleep]:\nmain.f()\n\tm.go:1\n');
    expect([...wait.byWaitReason]).toEqual([['other', 2], ['sleep', 1]]);
  });
});

function goMinor(): number {
  const v = execFileSync('go', ['env', 'GOVERSION'], { env: { ...process.env, GOTOOLCHAIN: 'local' } }).toString();
  return Number(/^go1\.(\d+)/.exec(v)?.[1] ?? 0);
}

describe('live leaky program', () => {
  it('streams a dump Go cut at 64 MiB with bounded memory', async () => {
    const leaky = await startLeaky(['-deep=25000', '-pool=2']);
    try {
      // fetch() loads and compiles undici on first use (~25 MB): not a per-dump cost.
      await (await fetch(`${leaky.url}/debug/pprof/goroutine?debug=1`)).arrayBuffer();
      const s = debug2Summarizer();
      const rss0 = process.memoryUsage.rss();
      let peak = rss0;
      const sample = () => { peak = Math.max(peak, process.memoryUsage.rss()); };
      const timer = setInterval(sample, 5);
      const res = await fetch(`${leaky.url}/debug/pprof/goroutine?debug=2`);
      const t0 = performance.now();
      const out = await parseDebug2(res.body!, (g) => { s.add(g); if (g.id % 512 === 0) sample(); });
      const ms = performance.now() - t0;
      clearInterval(timer);
      sample();
      const { summary } = s.result();
      console.log(`64 MiB debug=2 dump: ${out.bytes} bytes, ${out.goroutines} goroutines in ${ms.toFixed(0)} ms ` +
        `(incl. download), peak RSS +${((peak - rss0) / 2 ** 20).toFixed(1)} MiB`);
      expect(out.bytes).toBe(GO_DUMP_CAP);
      expect(out.truncated).toBe(true);
      expect(out.goroutines).toBeGreaterThan(15000);
      expect(summary.total).toBe(out.goroutines);
      const deep = summary.signatures[0]!;
      expect(deep).toMatchObject({ function: 'main.descend', blockedOn: 'chan_receive' });
      expect(deep.frames.filter((f) => f.function === 'main.descend')).toHaveLength(40);
      expect(deep.count).toBeGreaterThan(15000);
      expect(peak - rss0).toBeLessThan(48 * 2 ** 20);
    } finally {
      await leaky.stop();
    }
  }, 120_000);

  // 1.26 needs GODEBUG=tracebacklabels=1; 1.27 prints them by default (for a go 1.27 module).
  const labelled: [string, boolean, string | undefined, Record<string, string>][] = [
    ['Go 1.26 GODEBUG=tracebacklabels=1', goMinor() >= 26, undefined, { GODEBUG: 'tracebacklabels=1' }],
    [`${inject('goCurrent')} by default`, true, inject('leakyCurrentBin'), {}],
  ];
  for (const [name, runs, bin, env] of labelled) it.runIf(runs)(`reads labels from a ${name} dump`, async () => {
    const leaky = await startLeaky(['-pool=2', '-blockforever=1', '-labels'], env, bin);
    try {
      // The shapes park on their own time after the listening line: wait for what is asserted.
      await waitForGoroutines(leaky.url, 'the pool workers and blockForever parked', (gs) =>
        parkedIn(gs, 'main.poolWorker').length === 2 && parkedIn(gs, 'main.blockForever').length === 1);
      const { gs, res } = await parse2(new Uint8Array(await (await fetch(`${leaky.url}/debug/pprof/goroutine?debug=2`)).arrayBuffer()));
      expect(res.truncated).toBe(false);
      const pool = gs.filter((g) => g.frames[0]?.function === 'main.poolWorker');
      expect(pool.map((g) => [g.waitReason, g.labels])).toEqual([['chan receive', { shape: 'pool' }], ['chan receive', { shape: 'pool' }]]);
      expect(gs.find((g) => g.frames[0]?.function === 'main.blockForever')).toMatchObject({ waitReason: 'select (no cases)', labels: { shape: 'blockforever' } });
    } finally {
      await leaky.stop();
    }
  });
  // Minutes waited on a live program: see background.test.ts (end to end through /metrics).
});
