// The on-call pages, rendered on the server from the same views as the JSON
// API. Every value goes through the `html` tag (html.ts), which escapes it.
import { formatByteSize } from '../config/bytesize.js';
import { VERSION } from '../version.js';
import { html, type Html } from './html.js';
import { chart, sparkline } from './svg.js';
import type { DiffView, DiffViewRow, SignatureRow, SignatureView, TargetDiffView, TargetView, UploadDiffView } from './views.js';
import type { StoreInfo } from './source.js';
import type { LiveView } from './router.js';

export const DIFF_MINUTES = [5, 15, 60] as const;

// --- formatting -----------------------------------------------------------

export function ago(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)} s ago`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
  return `${(seconds / 3600).toFixed(1)} h ago`;
}

/**
 * Growth as a rate with the window it was measured over: per minute, or per
 * hour when that reads better; the raw delta when the window is empty.
 */
export function rate(g: { delta: number; seconds: number }): string {
  if (g.seconds <= 0) return signed(g.delta);
  const perMinute = (g.delta * 60) / g.seconds;
  const r = Math.abs(perMinute) >= 1 || perMinute === 0
    ? `${signed(round(perMinute))}/min`
    : `${signed(round(perMinute * 60))}/h`;
  return `${r} over ${span(g.seconds)}`;
}

const round = (x: number) => (Math.abs(x) >= 10 ? Math.round(x) : Math.round(x * 10) / 10);

function span(seconds: number): string {
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

/** Go reports waits in whole minutes, and 0 until a GC saw the goroutine blocked. */
function wait(seconds: number | null): Html | string {
  if (seconds === null) return html`<span class="muted" title="no debug=2 dump yet">—</span>`;
  if (seconds === 0) return '< 1 min';
  return span(seconds);
}

const signed = (n: number) => (n > 0 ? `+${n}` : String(n));

function leaked(n: number | null): Html | string {
  if (n === null) return html`<span class="muted" title="no goroutineleak profile">—</span>`;
  return n > 0 ? html`<strong class="bad">${n}</strong>` : '0';
}

function frames(list: readonly { function: string; file: string; line: number }[]): Html {
  if (list.length === 0) return html`<p class="muted">No frames: a goroutine that has not started yet.</p>`;
  return html`<ol class="stack">${list.map((f) => html`<li><code class="fn">${f.function}</code><br><span class="loc">${f.file}:${f.line}</span></li>`)}</ol>`;
}

function command(id: string, label: string, text: string): Html {
  return html`<div class="cmd"><div class="cmd-head">${label} <button type="button" class="copy" data-copy-for="${id}">Copy</button></div><pre id="${id}"><code>${text}</code></pre></div>`;
}

// --- layout ---------------------------------------------------------------

export interface PageOptions { telemetryPath: string; }

export function page(title: string, body: Html, o: PageOptions): string {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · pprof-exporter</title>
<link rel="stylesheet" href="/static/app.css"><script src="/static/app.js" defer></script></head>
<body><header><nav><a class="brand" href="/">pprof-exporter</a> <span class="muted">${VERSION}</span>
<a href="/diff">Compare profiles</a> <a href="${o.telemetryPath}">Metrics</a> <a href="/api/v1/targets">API</a></nav></header>
<main>
${body}
</main></body></html>
`.text;
}

// --- targets --------------------------------------------------------------

function statusBadge(t: TargetView): Html {
  const s = t.lastScrape;
  if (!s) return html`<span class="badge">not scraped yet</span>`;
  return s.success ? html`<span class="badge ok">ok</span>` : html`<span class="badge fail">failing</span>`;
}

/** When each column's figures were taken: they come from three different fetches. */
function asOf(t: TargetView): Html {
  const at = (iso: string | null | undefined, what: string) => (iso ? html`${what} <time datetime="${iso}">${iso}</time>` : html`${what} <span class="muted">none yet</span>`);
  return html`<p class="asof muted">Goroutines and growth: ${at(t.lastScrape?.at, 'scrapes up to')}${t.debug2 ? html` · longest wait: ${at(t.debug2.at, 'debug=2 dump of')}` : ''}${t.goroutineleak ? html` · leaked: ${at(t.goroutineleak.at, 'goroutineleak profile of')}` : ''}.</p>`;
}

function signatureTable(target: string, rows: SignatureRow[]): Html {
  if (rows.length === 0) return html`<p class="muted">No signatures recorded yet.</p>`;
  return html`<table class="sigs"><thead><tr>
<th class="num">Goroutines</th><th>Growth</th><th>Function</th><th>Blocked on</th><th class="num">Longest wait</th><th class="num">Leaked</th><th>Signature</th>
</tr></thead><tbody>
${rows.map((r) => html`<tr data-signature="${r.id}" data-target="${target}">
<td class="num">${r.count}</td>
<td class="growth">${sparkline(r.history)} <span class="${r.growth.delta > 0 ? 'bad' : 'muted'}">${rate(r.growth)}</span></td>
<td><a href="${r.url}"><code class="fn">${r.function}</code></a></td>
<td><code>${r.blockedOn}</code></td>
<td class="num">${wait(r.maxWaitSeconds)}</td>
<td class="num">${leaked(r.leaked)}</td>
<td><a href="${r.url}"><code>${r.id}</code></a></td>
</tr>`)}
</tbody></table>`;
}

function targetSection(t: TargetView, rows: SignatureRow[], more: number | undefined): Html {
  const s = t.lastScrape;
  const base = `/targets/${encodeURIComponent(t.name)}`;
  return html`<section class="target" id="target-${t.name}" data-target="${t.name}">
<h2><a href="${base}">${t.name}</a> ${statusBadge(t)}</h2>
<p class="facts">${t.url ? html`<a href="${t.url}/debug/pprof/">${t.url}</a>` : html`<span class="muted">address not known here</span>`}
${s ? html` · last scrape <time datetime="${s.at}">${ago(s.ageSeconds)}</time> (${s.durationSeconds.toFixed(2)} s)` : ''}
${s?.goroutines !== null && s?.goroutines !== undefined ? html` · <strong>${s.goroutines}</strong> goroutines ${sparkline(t.history.goroutines)}` : ''}
${s?.signatures !== null && s?.signatures !== undefined ? html` · ${s.signatures} signatures` : ''}
${t.history.droppedSignatures > 0 ? html` · <span class="warn">${t.history.droppedSignatures} not tracked (over the cap)</span>` : ''}</p>
${s && s.errors.length > 0 ? html`<ul class="errors">${s.errors.map((e) => html`<li><strong>${e.source}</strong> (${e.stage}, ${e.code}): ${e.message}</li>`)}</ul>` : ''}
${t.debug2?.error ? html`<p class="warn">debug=2 dump: ${t.debug2.error}</p>` : ''}
${t.goroutineleak?.error ? html`<p class="warn">goroutineleak profile: ${t.goroutineleak.error}</p>` : ''}
<p>What changed since: ${DIFF_MINUTES.map((m, i) => html`${i > 0 ? ' · ' : ''}<a href="${base}/diff?minutes=${m}">${m} min ago</a>`)}${more !== undefined ? html` · <a href="${base}">all ${more} signatures</a>` : ''}</p>
${rows.length > 0 ? asOf(t) : ''}
${signatureTable(t.name, rows)}
</section>`;
}

function historyNote(store: StoreInfo, o: PageOptions & { idleScrapeSeconds: number }): Html {
  if (store.kind === 'prometheus') {
    return html`<p class="muted" id="store">Per target, the signatures that grew most over the last ${span(store.stepSeconds * store.points)}, then the largest.
Every figure comes from <a href="${store.url}">Prometheus</a> (range queries at ${span(store.stepSeconds)} resolution), so the history survives exporter restarts;
targets are named by their <code>target</code> label, probed ones included.</p>`;
  }
  return html`<p class="muted" id="store">Per target, the signatures that grew most over the last ${store.points} scrapes, then the largest. History comes from every scrape of
<a href="${o.telemetryPath}">${o.telemetryPath}</a>; when nothing scrapes it for ${o.idleScrapeSeconds} s, the exporter scrapes its targets itself.</p>`;
}

export function indexPage(targets: { view: TargetView; rows: SignatureRow[]; tracked: number }[], o: PageOptions & { idleScrapeSeconds: number; store: StoreInfo }): string {
  return page('Targets', html`<h1>Which stacks grow</h1>
${historyNote(o.store, o)}
${targets.length === 0 ? html`<p>${o.store.kind === 'prometheus' ? 'Prometheus has no pprof series of any target yet.' : 'No targets configured.'}</p>` : targets.map((t) => targetSection(t.view, t.rows, t.tracked))}`, o);
}

export function targetPage(t: TargetView, rows: SignatureRow[], sort: string, o: PageOptions): string {
  const base = `/targets/${encodeURIComponent(t.name)}`;
  return page(t.name, html`<p><a href="/">← all targets</a></p>
<p>Order: ${sort === 'count' ? html`<a href="${base}">by growth</a> · <strong>by count</strong>` : html`<strong>by growth</strong> · <a href="${base}?sort=count">by count</a>`}</p>
${targetSection(t, rows, undefined)}`, o);
}

// --- one signature --------------------------------------------------------

/** The "Now" section: a fresh profile of the target, or why there is none. */
function liveSection(v: SignatureView, live: LiveView | undefined, store: StoreInfo | undefined): Html {
  const here = `/targets/${encodeURIComponent(v.target)}/signatures/${encodeURIComponent(v.id)}`;
  const ask = html`<form method="get" action="${here}" class="inline-form" id="now-form"><input type="hidden" name="now" value="1"><button type="submit">Fetch ${v.target} now</button></form>`;
  if (!live) {
    return store?.kind === 'prometheus'
      ? html`<h2>Now</h2><p class="muted">The figures above come from Prometheus. ${ask}</p>`
      : html``;
  }
  if (live.error !== null) {
    return html`<h2>Now</h2><p class="${live.denied ? 'warn' : 'error'}" id="now-error" role="alert">${live.denied ? 'Not fetched: ' : 'The fetch failed: '}${live.error}</p>${ask}`;
  }
  return html`<h2>Now</h2><p class="facts" id="now"><strong id="now-count">${live.count}</strong> goroutines of this signature
out of ${live.goroutines} <span class="muted">(profile fetched <time datetime="${live.at}">${live.at}</time>)</span> ${ask}</p>
${live.frames.length > 0 ? html`<details><summary>The full stack from that profile</summary>${frames(live.frames)}</details>` : ''}`;
}

export function signaturePage(v: SignatureView, nowS: number, o: PageOptions & { store?: StoreInfo }, live?: LiveView): string {
  const base = `/targets/${encodeURIComponent(v.target)}`;
  const w = v.wait;
  const fromProm = o.store?.kind === 'prometheus';
  return page(`${v.function} on ${v.target}`, html`<p><a href="/">← all targets</a> · <a href="${base}">${v.target}</a></p>
<h1><code class="fn" id="function">${v.function}</code></h1>
<p class="facts">signature <code id="signature">${v.id}</code> on <strong>${v.target}</strong> · blocked on <code>${v.blockedOn}</code></p>
<dl class="facts-grid">
<dt>Goroutines</dt><dd><span id="count">${v.count ?? '—'}</span>${v.at ? html` <span class="muted">(scrape of <time datetime="${v.at}">${v.at}</time>)</span>` : ''}</dd>
<dt>Growth</dt><dd>${rate(v.growth)}</dd>
<dt>Longest wait</dt><dd>${w ? html`${wait(w.maxWaitSeconds)} <span class="muted">(debug=2 dump ${ago(w.ageSeconds)})</span>` : html`<span class="muted">no debug=2 dump yet</span>`}</dd>
<dt>Proven leaked</dt><dd>${v.leaked ? html`${leaked(v.leaked.goroutines)} <span class="muted">(goroutineleak profile of ${v.leaked.at})</span>` : html`<span class="muted">no goroutineleak profile (Go 1.26+)</span>`}</dd>
<dt>Wait reasons</dt><dd>${w && w.reasons.length > 0 ? html`<ul class="inline">${w.reasons.map((r) => html`<li><code>${r.reason}</code>: ${r.goroutines}</li>`)}</ul>` : html`<span class="muted">—</span>`}</dd>
<dt>Created by</dt><dd>${w && w.createdBy.length > 0 ? html`<ul class="created">${w.createdBy.map((c) => html`<li><code class="fn">${c.function}</code> <span class="loc">${c.file}:${c.line}</span> <span class="muted">(${c.goroutines} goroutines)</span></li>`)}</ul>` : html`<span class="muted">—</span>`}</dd>
<dt>First seen</dt><dd>${v.firstSeen ?? '—'}${fromProm && o.store?.kind === 'prometheus' ? html` <span class="muted">(within the last ${span(o.store.stepSeconds * o.store.points)})</span>` : ''}</dd>
</dl>
${liveSection(v, live, o.store)}
<h2>Goroutines over the last ${v.history.length} ${fromProm ? 'steps' : 'scrapes'}</h2>
${chart(v.history, nowS)}
<h2>Stack <span class="muted">(leaf first, as in a Go traceback${fromProm ? '; from pprof_goroutine_signature_info' : ''})</span></h2>
${frames(v.frames)}
${v.moreFrames > 0 ? html`<p class="muted" id="more-frames">… ${v.moreFrames} more frames, cut from the info series' stack label (“Fetch now” shows them all).</p>` : ''}
<h2>Reproduce by hand</h2>
${command('cmd-debug2', 'These goroutines in the debug=2 dump (wait reasons, minutes, created by):', v.commands.debug2)}
${command('cmd-traces', 'Their stacks from the profile, with pprof:', v.commands.traces)}
${command('cmd-save', 'Save the profile now, and again later:', v.commands.save)}
${command('cmd-base', 'Then diff the two, like this page\'s diff:', v.commands.base)}
<p>What changed on ${v.target} since: ${DIFF_MINUTES.map((m, i) => html`${i > 0 ? ' · ' : ''}<a href="${base}/diff?minutes=${m}">${m} min ago</a>`)}</p>`, o);
}

// --- diffs ----------------------------------------------------------------

const CHANGE_CLASS = { grew: 'bad', appeared: 'bad', shrank: 'good', vanished: 'good' } as const;

function diffTable(d: DiffView): Html {
  const c = d.changes;
  return html`<p class="facts">Goroutines ${d.base.total} → ${d.new.total} (<strong>${signed(d.totalDelta)}</strong>):
${c.grew} grew, ${c.appeared} appeared, ${c.shrank} shrank, ${c.vanished} vanished, ${d.unchanged} unchanged${d.otherDelta !== 0 ? `; ${signed(d.otherDelta)} in signatures beyond the cap` : ''}.</p>
${d.rows.length === 0 ? html`<p class="muted">No signature changed.</p>` : html`<table class="diff"><thead><tr>
<th class="num">Change</th><th class="num">Before → now</th><th></th><th>Function</th><th>Blocked on</th><th>Signature</th></tr></thead><tbody>
${d.rows.map((r: DiffViewRow) => html`<tr data-signature="${r.id}" data-change="${r.change}">
<td class="num ${CHANGE_CLASS[r.change]}">${signed(r.delta)}</td>
<td class="num">${r.base} → ${r.new}</td>
<td><span class="badge ${r.change}">${r.change}</span></td>
<td>${r.function === null ? html`<span class="muted">stack no longer kept</span>` : r.url ? html`<a href="${r.url}"><code class="fn">${r.function}</code></a>` : html`<code class="fn">${r.function}</code>`}
${r.frames.length > 0 ? html`<details><summary>stack</summary>${frames(r.frames)}</details>` : ''}</td>
<td><code>${r.blockedOn ?? ''}</code></td>
<td><code>${r.id}</code></td>
</tr>`)}
</tbody></table>`}`;
}

export function targetDiffPage(d: TargetDiffView | undefined, target: string, minutes: number, o: PageOptions): string {
  const base = `/targets/${encodeURIComponent(target)}`;
  const picker = html`<form method="get" action="${base}/diff" class="inline-form">Compare now with
<select name="minutes">${[...new Set([...DIFF_MINUTES, minutes])].sort((a, b) => a - b).map((m) => html`<option value="${m}"${m === minutes ? html` selected` : ''}>${m} min ago</option>`)}</select>
<button type="submit">Show</button></form>`;
  if (!d) {
    return page(`What changed on ${target}`, html`<p><a href="/">← all targets</a> · <a href="${base}">${target}</a></p>
<h1>What changed on ${target}</h1>${picker}<p>No successful scrape recorded yet.</p>`, o);
  }
  const before = d.base.minutesBefore;
  const fromProm = (d.base.source as string) === 'prometheus';
  return page(`What changed on ${target}`, html`<p><a href="/">← all targets</a> · <a href="${base}">${target}</a></p>
<h1>What changed on ${target}</h1>
${picker}
<p class="facts">Now (<time datetime="${d.new.at}">${d.new.at}</time>) against the ${fromProm ? 'scrape' : 'snapshot'} of <time datetime="${d.base.at}">${d.base.at}</time>, ${span(before * 60)} before.
${before + 1 / 60 < minutes ? html`<span class="warn">The oldest ${fromProm ? 'scrape Prometheus has' : 'snapshot kept'} is ${span(before * 60)} old, not ${minutes} min.</span>` : ''}</p>
${diffTable(d)}
<h2>Reproduce by hand</h2>
${command('cmd-save', 'Save the profile now, and again later:', d.commands.save)}
${command('cmd-base', 'Then diff the two:', d.commands.base)}`, o);
}

export function uploadPage(o: PageOptions & { maxProfileBytes: number; uploads: number },
  diff?: { d: UploadDiffView } | { error: string }): string {
  const describe = (u: UploadDiffView['base']) => html`<strong>${u.name || '(unnamed)'}</strong> <span class="muted">(${u.goroutines} goroutines, ${u.signatures} signatures)</span>`;
  return page('Compare profiles', html`<h1>Compare two goroutine profiles</h1>
<p>Like <code>go tool pprof -base old.pb.gz new.pb.gz</code>: pick two goroutine profiles (<code>curl -o old.pb.gz http://…/debug/pprof/goroutine</code>),
at most ${formatByteSize(o.maxProfileBytes)} each (max_profile_bytes). They are decoded by the exporter and kept in memory (the last ${o.uploads}).</p>
<form id="upload-form" class="upload">
<label>Before <input type="file" id="base-file" name="base" required></label>
<label>Now <input type="file" id="new-file" name="new" required></label>
<button type="submit">Compare</button>
</form>
<p id="upload-error" class="error" role="alert" hidden></p>
${diff && 'error' in diff ? html`<p class="error" role="alert">${diff.error}</p>` : ''}
${diff && 'd' in diff ? html`<h2>${describe(diff.d.base)} → ${describe(diff.d.new)}</h2>${diffTable(diff.d)}` : ''}`, o);
}

export function errorPage(title: string, message: string, o: PageOptions): string {
  return page(title, html`<p><a href="/">← all targets</a></p><h1>${title}</h1><p class="error" role="alert" id="error">${message}</p>`, o);
}

export function notFoundPage(message: string, o: PageOptions): string {
  return page('Not found', html`<p><a href="/">← all targets</a></p><h1>Not found</h1><p>${message}</p>`, o);
}
