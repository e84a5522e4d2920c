// Count histories as inline SVG, drawn on the server: no JavaScript needed.
import { html, type Html } from './html.js';

type Pairs = readonly (readonly [number, number])[];

function trend(points: Pairs): 'up' | 'down' | 'flat' {
  const first = points[0]?.[1] ?? 0;
  const last = points.at(-1)?.[1] ?? 0;
  return last > first ? 'up' : last < first ? 'down' : 'flat';
}

/** x by time, y by count (min..max of the points), inside a box with padding. */
function scale(points: Pairs, w: number, h: number, pad: number): [number, number][] {
  const t0 = points[0]![0];
  const t1 = points.at(-1)![0];
  let lo = Infinity;
  let hi = -Infinity;
  for (const [, c] of points) { lo = Math.min(lo, c); hi = Math.max(hi, c); }
  const x = (t: number) => (t1 === t0 ? w / 2 : pad + ((t - t0) / (t1 - t0)) * (w - 2 * pad));
  const y = (c: number) => (hi === lo ? h / 2 : h - pad - ((c - lo) / (hi - lo)) * (h - 2 * pad));
  return points.map(([t, c]) => [round(x(t)), round(y(c))]);
}

const round = (n: number) => Math.round(n * 10) / 10;

export function sparkline(points: Pairs, w = 120, h = 24): Html {
  if (points.length === 0) return html`<span class="muted">no history yet</span>`;
  const counts = points.map(([, c]) => c).join(',');
  const label = `${points.length} scrapes, from ${points[0]![1]} to ${points.at(-1)![1]}`;
  const xy = scale(points, w, h, 2);
  const shape = xy.length === 1
    ? html`<circle cx="${xy[0]![0]}" cy="${xy[0]![1]}" r="2" fill="currentColor"/>`
    : html`<polyline points="${xy.map(([x, y]) => `${x},${y}`).join(' ')}" fill="none" stroke="currentColor" stroke-width="1.5"/>`;
  return html`<svg class="spark ${trend(points)}" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="${label}" data-counts="${counts}"><title>${label}</title>${shape}</svg>`;
}

/** A larger chart with the count range and time span written on it. */
export function chart(points: Pairs, nowS: number, w = 640, h = 160): Html {
  if (points.length === 0) return html`<p class="muted">No scrapes recorded yet.</p>`;
  const left = 48;
  const bottom = 18;
  const xy = scale(points, w - left, h - bottom, 6).map(([x, y]) => [x + left, y] as const);
  const counts = points.map(([, c]) => c);
  const lo = Math.min(...counts);
  const hi = Math.max(...counts);
  const ago = (t: number) => {
    const s = Math.max(0, nowS - t);
    return s < 90 ? `${Math.round(s)} s ago` : `${Math.round(s / 60)} min ago`;
  };
  const line = xy.length === 1
    ? html`<circle cx="${xy[0]![0]}" cy="${xy[0]![1]}" r="3" fill="currentColor"/>`
    : html`<polyline points="${xy.map(([x, y]) => `${x},${y}`).join(' ')}" fill="none" stroke="currentColor" stroke-width="2"/>`;
  return html`<svg class="chart ${trend(points)}" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="goroutines from ${counts[0]} to ${counts.at(-1)}" data-counts="${counts.join(',')}" data-first="${points[0]![0]}">
<line x1="${left}" y1="0" x2="${left}" y2="${h - bottom}" stroke="#999" stroke-width="1"/>
<line x1="${left}" y1="${h - bottom}" x2="${w}" y2="${h - bottom}" stroke="#999" stroke-width="1"/>
<text x="${left - 4}" y="12" text-anchor="end" class="axis">${hi}</text>
<text x="${left - 4}" y="${h - bottom}" text-anchor="end" class="axis">${lo}</text>
<text x="${left}" y="${h - 4}" class="axis">${ago(points[0]![0])}</text>
<text x="${w}" y="${h - 4}" text-anchor="end" class="axis">${ago(points.at(-1)![0])}</text>
${line}</svg>`;
}
