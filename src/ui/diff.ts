// Two sets of signature counts compared like `go tool pprof -base old new`:
// per signature the change, largest first.

export interface DiffSide {
  total: number;
  /** Signature id → goroutines. */
  counts: ReadonlyMap<string, number>;
  /** Goroutines not broken down by signature (beyond a cap). */
  other: number;
}

export type Change = 'grew' | 'shrank' | 'appeared' | 'vanished';

export interface DiffRow { id: string; base: number; new: number; delta: number; change: Change; }

export interface Diff {
  rows: DiffRow[];
  /** Signatures present on both sides with the same count. */
  unchanged: number;
  totalDelta: number;
  otherDelta: number;
  changes: Record<Change, number>;
}

export function diffCounts(base: DiffSide, next: DiffSide): Diff {
  const rows: DiffRow[] = [];
  let unchanged = 0;
  const changes: Record<Change, number> = { grew: 0, shrank: 0, appeared: 0, vanished: 0 };
  for (const id of new Set([...base.counts.keys(), ...next.counts.keys()])) {
    const b = base.counts.get(id) ?? 0;
    const n = next.counts.get(id) ?? 0;
    if (b === n) {
      if (b > 0) unchanged++;
      continue;
    }
    const change: Change = b === 0 ? 'appeared' : n === 0 ? 'vanished' : n > b ? 'grew' : 'shrank';
    changes[change]++;
    rows.push({ id, base: b, new: n, delta: n - b, change });
  }
  rows.sort((x, y) => Math.abs(y.delta) - Math.abs(x.delta) || y.delta - x.delta || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
  return { rows, unchanged, totalDelta: next.total - base.total, otherDelta: next.other - base.other, changes };
}
