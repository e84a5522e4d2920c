// Byte sizes as Prometheus configs write them (alecthomas/units Base2Bytes):
// KB and KiB both mean 1024, so "64MB" is never off by 5%.

const UNITS: ReadonlyMap<string, number> = new Map([
  ['B', 1],
  ['KB', 2 ** 10], ['KiB', 2 ** 10],
  ['MB', 2 ** 20], ['MiB', 2 ** 20],
  ['GB', 2 ** 30], ['GiB', 2 ** 30],
  ['TB', 2 ** 40], ['TiB', 2 ** 40],
]);

const SIZE_RE = /^(\d+(?:\.\d+)?)([A-Za-z]*)$/;

const HINT = 'use a whole number of bytes or a size like "64MiB" (units: B, KiB, MiB, GiB, TiB; KB, MB, GB, TB are base 2 too)';

/** Parses a byte count (non-negative integer) or a size string into bytes. */
export function parseByteSize(v: string | number): number {
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v) && v >= 0) return v;
    throw new Error(`invalid byte size ${v}: ${HINT}`);
  }
  const [, num = '', unit = ''] = SIZE_RE.exec(v) ?? [];
  // A bare digit string counts bytes, like the unquoted YAML number would.
  const size = unit === '' ? (/^\d+$/.test(num) ? 1 : undefined) : UNITS.get(unit);
  if (size === undefined) throw new Error(`invalid byte size ${JSON.stringify(v)}: ${HINT}`);
  const bytes = Number(num) * size;
  if (!Number.isSafeInteger(bytes)) {
    throw new Error(`invalid byte size ${JSON.stringify(v)}: not a whole number of bytes, or too large`);
  }
  return bytes;
}

/** Formats bytes with the largest binary unit that divides them exactly: 67108864 -> "64MiB". */
export function formatByteSize(bytes: number): string {
  for (const [unit, size] of [['TiB', 2 ** 40], ['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10]] as const) {
    if (bytes !== 0 && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return `${bytes}B`;
}
