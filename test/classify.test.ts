import { describe, expect, it } from 'vitest';
import { applicationFunction, blockedOn, isStandardLibrary, packageOf } from '../src/summarize/classify.js';
import { isHiddenFrame, signatureId } from '../src/summarize/signature.js';
import { referenceSignatureId } from './helpers/reference.js';

describe('packageOf / isStandardLibrary', () => {
  it.each([
    ['net/http.(*conn).serve', 'net/http', true],
    ['runtime.gopark', 'runtime', true],
    ['internal/poll.runtime_pollWait', 'internal/poll', true],
    ['main.computeResult', 'main', false],
    ['main.main.func1', 'main', false],
    ['github.com/acme/shop/cart.(*Cart).Checkout', 'github.com/acme/shop/cart', false],
    ['golang.org/x/sync/errgroup.(*Group).Wait', 'golang.org/x/sync/errgroup', false],
    // A module path without a dot is the application, not the standard library.
    ['myservice/worker.Run', 'myservice/worker', false],
  ])('%s is in %s (std: %s)', (sym, pkg, std) => {
    expect(packageOf(sym)).toBe(pkg);
    expect(isStandardLibrary(sym)).toBe(std);
  });
});

describe('applicationFunction', () => {
  it('picks the innermost application frame', () => {
    expect(applicationFunction(['runtime.gopark', 'runtime.chansend', 'runtime.chansend1', 'main.computeResult', 'main.handle']))
      .toBe('main.computeResult');
  });
  it('falls back to the innermost frame outside runtime/sync/internal for std-only stacks', () => {
    expect(applicationFunction([
      'runtime.gopark', 'runtime.netpollblock', 'internal/poll.runtime_pollWait', 'internal/poll.(*pollDesc).wait',
      'internal/poll.(*FD).Accept', 'net.(*netFD).accept', 'net.(*TCPListener).Accept', 'net/http.(*Server).Serve',
    ])).toBe('net.(*netFD).accept');
  });
  it('falls back to the leaf when everything is runtime', () => {
    expect(applicationFunction(['runtime.gopark', 'runtime.goexit'])).toBe('runtime.gopark');
  });
});

describe('blockedOn', () => {
  const park = ['runtime.gopark'];
  it.each([
    [[...park, 'runtime.chansend', 'runtime.chansend1', 'main.f'], 'chan_send'],
    [[...park, 'runtime.chanrecv', 'runtime.chanrecv2', 'main.f'], 'chan_receive'],
    [[...park, 'runtime.chanrecv', 'runtime.chanrecv1', 'main.f'], 'chan_receive'],
    [[...park, 'runtime.selectgo', 'main.f'], 'select'],
    [[...park, 'runtime.block', 'main.f'], 'select_no_cases'],
    [[...park, 'runtime.goparkunlock', 'runtime.semacquire1', 'sync.runtime_SemacquireMutex', 'sync.(*Mutex).lockSlow', 'sync.(*Mutex).Lock', 'main.f'], 'mutex'],
    [[...park, 'runtime.semacquire1', 'internal/sync.runtime_SemacquireMutex', 'internal/sync.(*Mutex).lockSlow', 'internal/sync.(*Mutex).Lock', 'sync.(*Mutex).Lock', 'main.f'], 'mutex'],
    // RWMutex.Lock takes an inner Mutex: the outer frame decides.
    [[...park, 'runtime.semacquire1', 'sync.runtime_SemacquireMutex', 'sync.(*Mutex).lockSlow', 'sync.(*Mutex).Lock', 'sync.(*RWMutex).Lock', 'main.f'], 'rwmutex'],
    [[...park, 'runtime.semacquire1', 'sync.runtime_SemacquireRWMutexR', 'sync.(*RWMutex).RLock', 'main.f'], 'rwmutex'],
    [[...park, 'runtime.semacquire1', 'sync.runtime_SemacquireWaitGroup', 'sync.(*WaitGroup).Wait', 'main.f'], 'waitgroup'],
    [[...park, 'sync.runtime_notifyListWait', 'sync.(*Cond).Wait', 'main.f'], 'cond'],
    [[...park, 'time.Sleep', 'main.f'], 'sleep'],
    [[...park, 'runtime.netpollblock', 'internal/poll.runtime_pollWait', 'internal/poll.(*pollDesc).wait', 'net.(*netFD).Read', 'main.f'], 'io_wait'],
    [['internal/runtime/syscall.Syscall6', 'syscall.Syscall', 'syscall.read', 'os.(*File).Read', 'main.f'], 'syscall'],
    [['runtime/pprof.runtime_goroutineProfileWithLabels', 'runtime/pprof.writeGoroutine', 'main.f'], 'running'],
    // Parked somewhere the table does not know, e.g. a channel op in the caller of a std function.
    [[...park, 'runtime.semacquire1', 'sync.runtime_Semacquire', 'main.f'], 'other'],
    // A match further up, past an application frame, does not count.
    [['main.spin', 'runtime.chansend1', 'main.f'], 'running'],
  ] as [string[], string][])('%j → %s', (names, want) => {
    expect(blockedOn(names)).toBe(want);
  });
});

describe('signatures', () => {
  it('hides the frames a Go traceback hides', () => {
    expect(isHiddenFrame('runtime.gopark')).toBe(true);
    expect(isHiddenFrame('runtime.chansend1')).toBe(true);
    expect(isHiddenFrame('runtime.goexit')).toBe(true);
    expect(isHiddenFrame('runtime.Gosched')).toBe(false);
    expect(isHiddenFrame('runtime.(*Func).Name')).toBe(false);
    expect(isHiddenFrame('runtime.(*thing).Name')).toBe(true);
    expect(isHiddenFrame('sync.(*Mutex).Lock')).toBe(false);
    expect(isHiddenFrame('internal/sync.runtime_SemacquireMutex')).toBe(false);
    expect(isHiddenFrame('main.f')).toBe(false);
  });
  it('has a stable 16-hex-digit id that depends on every name and their order', () => {
    const a = signatureId(['main.a', 'main.b']);
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(signatureId(['main.a', 'main.b'])).toBe(a);
    expect(signatureId(['main.b', 'main.a'])).not.toBe(a);
    expect(signatureId(['main.a'])).not.toBe(a);
    // Pinned: an id must not change between releases, or every dashboard and alert loses its history.
    // MurmurHash3_x86_128 (h1, h2) of sha256("main.a")[:8] + sha256("main.b")[:8], as Python's mmh3.hash128(x64arch=False) gives it.
    expect(a).toBe('ef296a3b25b03324');
    expect(signatureId([])).toBe('0000000000000000'); // no visible frame: Murmur of nothing is 0
  });
  it('is the id README defines, for any number of names (the word-at-a-time code = the byte-wise reference)', () => {
    let seed = 7;
    const next = () => (seed = (Math.imul(seed, 0x2c1b3c6d) + 0x6d2b79f5) >>> 0);
    const pool = ['main.f', 'runtime.gopark', 'net/http.(*conn).serve', 'é.ü', 'a', ''];
    for (let n = 0; n < 40; n++) {
      const names = Array.from({ length: n }, () => `${pool[next() % pool.length]}${next() % 3}`);
      expect(signatureId(names), names.join(' ')).toBe(referenceSignatureId(names));
    }
  });
});
