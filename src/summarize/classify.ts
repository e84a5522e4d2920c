// Which function a stack belongs to (the `function` label) and what it is
// blocked on (the `blocked_on` label), from Go symbol names alone.

// Top-level path elements of Go's standard library. A dotless first element
// outside this list is an application module (`module myservice`), not std.
const STD_ROOTS = new Set([
  'archive', 'arena', 'bufio', 'builtin', 'bytes', 'cmd', 'cmp', 'compress', 'container', 'context',
  'crypto', 'database', 'debug', 'embed', 'encoding', 'errors', 'expvar', 'flag', 'fmt', 'go', 'hash',
  'html', 'image', 'index', 'internal', 'io', 'iter', 'log', 'maps', 'math', 'mime', 'net', 'os',
  'path', 'plugin', 'reflect', 'regexp', 'runtime', 'slices', 'sort', 'strconv', 'strings', 'structs',
  'sync', 'syscall', 'testing', 'text', 'time', 'unicode', 'unique', 'unsafe', 'vendor', 'weak',
]);

/** Import path of the package a Go symbol belongs to: `net/http.(*conn).serve` → `net/http`. */
export function packageOf(symbol: string): string {
  const slash = symbol.lastIndexOf('/');
  const dot = symbol.indexOf('.', slash + 1);
  return dot < 0 ? symbol : symbol.slice(0, dot);
}

function firstElement(pkg: string): string {
  const slash = pkg.indexOf('/');
  return slash < 0 ? pkg : pkg.slice(0, slash);
}

export function isStandardLibrary(symbol: string): boolean {
  const first = firstElement(packageOf(symbol));
  return !first.includes('.') && first !== 'main' && STD_ROOTS.has(first);
}

// The machinery a goroutine blocks inside; never the interesting frame.
function isMachinery(symbol: string): boolean {
  const pkg = packageOf(symbol);
  return pkg === 'runtime' || pkg === 'sync' || pkg === 'syscall' || pkg.startsWith('internal/');
}

/**
 * Innermost application frame; else the innermost frame outside
 * runtime/sync/internal (and outside `alsoSkip`); else the leaf.
 */
export function applicationFunction(names: readonly string[], alsoSkip?: (name: string) => boolean): string {
  for (const n of names) if (!isStandardLibrary(n)) return n;
  for (const n of names) if (!isMachinery(n) && !alsoSkip?.(n)) return n;
  return names[0] ?? 'unknown';
}

export const BLOCKED_ON = [
  'chan_send', 'chan_receive', 'select', 'select_no_cases', 'mutex', 'rwmutex', 'waitgroup',
  'cond', 'sleep', 'io_wait', 'syscall', 'running', 'other',
] as const;
export type BlockedOn = (typeof BLOCKED_ON)[number];

// Frame name → what the goroutine waits for. Exported for the README table test.
export const BLOCKING_FRAMES: ReadonlyArray<[string, BlockedOn]> = [
  ['runtime.chansend', 'chan_send'],
  ['runtime.chansend1', 'chan_send'],
  ['runtime.chanrecv', 'chan_receive'],
  ['runtime.chanrecv1', 'chan_receive'],
  ['runtime.chanrecv2', 'chan_receive'],
  ['runtime.selectgo', 'select'],
  ['reflect.rselect', 'select'],
  ['runtime.block', 'select_no_cases'],
  ['sync.runtime_SemacquireMutex', 'mutex'],
  ['internal/sync.runtime_SemacquireMutex', 'mutex'],
  ['sync.(*Mutex).lockSlow', 'mutex'],
  ['sync.(*Mutex).Lock', 'mutex'],
  ['internal/sync.(*Mutex).lockSlow', 'mutex'],
  ['internal/sync.(*Mutex).Lock', 'mutex'],
  ['sync.runtime_SemacquireRWMutex', 'rwmutex'],
  ['sync.runtime_SemacquireRWMutexR', 'rwmutex'],
  ['sync.(*RWMutex).Lock', 'rwmutex'],
  ['sync.(*RWMutex).RLock', 'rwmutex'],
  ['sync.runtime_SemacquireWaitGroup', 'waitgroup'],
  ['sync.(*WaitGroup).Wait', 'waitgroup'],
  ['sync.runtime_notifyListWait', 'cond'],
  ['sync.(*Cond).Wait', 'cond'],
  ['time.Sleep', 'sleep'],
  ['runtime.timeSleep', 'sleep'],
  ['runtime.netpollblock', 'io_wait'],
  ['internal/poll.runtime_pollWait', 'io_wait'],
  ['syscall.Syscall', 'syscall'],
  ['syscall.Syscall6', 'syscall'],
  ['syscall.RawSyscall', 'syscall'],
  ['syscall.RawSyscall6', 'syscall'],
  ['syscall.syscall', 'syscall'],
  ['syscall.syscall6', 'syscall'],
  ['internal/runtime/syscall.Syscall6', 'syscall'],
  ['runtime/internal/syscall.Syscall6', 'syscall'],
  ['runtime.cgocall', 'syscall'],
];
const BLOCKING = new Map(BLOCKING_FRAMES);
const PARKED = new Set(['runtime.gopark', 'runtime.goparkunlock']);

// The same rules over name facts: what the functions above ask of each name,
// answered once per distinct name (classifyName) so that a stack never seen
// before costs a loop over small integers, not string tests per frame.
export const FACT = Object.freeze({
  /** Not standard library (applicationFunction's first choice). */
  application: 1,
  /** Outside runtime/sync/syscall/internal (its second choice). */
  outsideMachinery: 2,
  parked: 4,
  /** blocked_on of a blocking frame, as BLOCKED_ON index + 1, in these bits. */
  blockedShift: 8,
  blockedMask: 0xff00,
});

export function classifyName(name: string): number {
  let f = 0;
  if (!isStandardLibrary(name)) f |= FACT.application;
  if (!isMachinery(name)) f |= FACT.outsideMachinery;
  if (PARKED.has(name)) f |= FACT.parked;
  const hit = BLOCKING.get(name);
  if (hit) f |= (BLOCKED_ON.indexOf(hit) + 1) << FACT.blockedShift;
  return f;
}

/**
 * applicationFunction over the names keys[from..to) with facts[key] from
 * classifyName: the key of the frame it picks, -1 for 'unknown'. `skip`
 * facts mark the second choice's alsoSkip.
 */
export function applicationKey(keys: Uint32Array, from: number, to: number, facts: Uint32Array, skip = 0): number {
  for (let i = from; i < to; i++) if (facts[keys[i]!]! & FACT.application) return keys[i]!;
  for (let i = from; i < to; i++) {
    const f = facts[keys[i]!]!;
    if ((f & FACT.outsideMachinery) && !(f & skip)) return keys[i]!;
  }
  return to > from ? keys[from]! : -1;
}

/** blockedOn over the names keys[from..to) with facts[key] from classifyName. */
export function blockedOnFacts(keys: Uint32Array, from: number, to: number, facts: Uint32Array): BlockedOn {
  let found = 0;
  let parked = false;
  for (let i = from; i < to; i++) {
    const f = facts[keys[i]!]!;
    const hit = (f & FACT.blockedMask) >>> FACT.blockedShift;
    if (hit) found = hit;
    else if (f & FACT.parked) parked = true;
    else if (f & FACT.outsideMachinery) break;
  }
  if (found) return BLOCKED_ON[found - 1]!;
  return parked ? 'other' : 'running';
}

/**
 * Walk leaf → root through the blocking machinery; the outermost match wins,
 * so RWMutex.Lock (which takes an inner Mutex) is `rwmutex`, not `mutex`.
 */
export function blockedOn(names: readonly string[]): BlockedOn {
  let found: BlockedOn | undefined;
  let parked = false;
  for (const n of names) {
    const hit = BLOCKING.get(n);
    if (hit) found = hit;
    else if (PARKED.has(n)) parked = true;
    else if (!isMachinery(n)) break;
  }
  if (found) return found;
  return parked ? 'other' : 'running';
}
