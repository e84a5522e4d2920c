// Prometheus duration syntax (model.ParseDuration): each unit at most once,
// largest first, integers only, e.g. "1h30m", "500ms". "0" is allowed bare.

const UNITS: ReadonlyArray<readonly [string, number]> = [
  ['y', 365 * 24 * 3600_000],
  ['w', 7 * 24 * 3600_000],
  ['d', 24 * 3600_000],
  ['h', 3600_000],
  ['m', 60_000],
  ['s', 1000],
  ['ms', 1],
];

const DURATION_RE = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;

/** Parses a Prometheus duration into seconds. Throws on anything else. */
export function parseDuration(s: string): number {
  if (s === '0') return 0;
  const m = s === '' ? null : DURATION_RE.exec(s);
  if (!m) {
    throw new Error(
      `invalid duration ${JSON.stringify(s)}: use integers with units y, w, d, h, m, s, ms, largest first (e.g. "10s", "500ms", "1h30m")`,
    );
  }
  let ms = 0;
  UNITS.forEach(([, size], i) => {
    const n = m[i + 1];
    if (n !== undefined) ms += Number(n) * size;
  });
  if (!Number.isSafeInteger(ms)) throw new Error(`invalid duration ${JSON.stringify(s)}: too large`);
  return ms / 1000;
}

/** Formats seconds the way Prometheus prints durations: 5400 -> "1h30m", 0.5 -> "500ms". */
export function formatDuration(seconds: number): string {
  let ms = Math.round(seconds * 1000);
  if (ms === 0) return '0s';
  const sign = ms < 0 ? '-' : '';
  ms = Math.abs(ms);
  let out = '';
  for (const [unit, size] of UNITS) {
    const n = Math.floor(ms / size);
    if (n > 0) {
      out += `${n}${unit}`;
      ms -= n * size;
    }
  }
  return sign + out;
}
