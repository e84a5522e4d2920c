// The README's reference tables are derived from the code (metric catalogue,
// blocked_on table, error codes). This test fails on drift; run with
// UPDATE_DOCS=1 to rewrite them.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { METRICS } from '../src/metrics/catalog.js';
import { MEMSTATS_METRICS } from '../src/decode/memstats.js';
import { BLOCKED_ON, BLOCKING_FRAMES } from '../src/summarize/classify.js';
import { ERROR_CODES } from '../src/errors.js';
import { HELP_FLAGS } from './helpers/help.js';
import { PRODUCTION, rules } from '../src/alerts/rules.js';
import { dashboards } from '../src/dashboards/generate.js';

const README = join(import.meta.dirname, '../README.md');

const TABLES: Record<string, () => string> = {
  metrics: () => [
    '| metric | type | labels | meaning |',
    '| --- | --- | --- | --- |',
    ...[...Object.values(METRICS), ...MEMSTATS_METRICS.map((m) => ({ ...m, labels: ['target'] }))].map((m) =>
      `| \`${m.name}\` | ${m.type} | ${m.labels.map((l) => `\`${l}\``).join(', ') || '—'} | ${m.help.replace(/\|/g, '\\|')} |`),
    '| `expvar_<name>` | gauge | `target`, `path` | Every other numeric Go expvar variable, nested objects flattened with `.` in `path`; `<name>` is `path` with characters outside `[a-zA-Z0-9_]` replaced by `_`. At most `max_expvar_metrics` per target. |',
  ].join('\n'),
  blocked_on: () => [
    '| `blocked_on` | frames (any of) |',
    '| --- | --- |',
    ...BLOCKED_ON.map((b) => {
      const frames = BLOCKING_FRAMES.filter(([, v]) => v === b).map(([f]) => `\`${f}\``);
      const text = b === 'running' ? 'no `runtime.gopark` in the stack: running or runnable'
        : b === 'other' ? 'parked (`runtime.gopark`) somewhere not listed above'
          : frames.join(', ');
      return `| \`${b}\` | ${text} |`;
    }),
  ].join('\n'),
  alerts: () => [
    '| alert | severity | for | fires when |',
    '| --- | --- | --- | --- |',
    ...rules(PRODUCTION).map((r) => `| [\`${r.alert}\`](alerts/RUNBOOK.md#${r.alert.toLowerCase()}) | ${r.labels.severity} | ${r.for} | ${r.annotations.summary!.replace(/\{\{ \$labels\.(\w+) \}\}/g, '<$1>').replace(/\{\{ \$value[^}]*\}\}/g, 'N')} |`),
  ].join('\n'),
  dashboards: () => Object.entries(dashboards()).flatMap(([file, d]) => {
    const db = d as { title: string; uid: string; panels: { title: string; description?: string; type: string }[] };
    return [
      `**\`dashboards/${file}.json\`**: ${db.title} (uid \`${db.uid}\`)`,
      '',
      '| panel | answers |',
      '| --- | --- |',
      ...db.panels.filter((p) => p.type !== 'row').map((p) => `| ${p.title} | ${(p.description ?? '').replace(/\|/g, '\\|')} |`),
      '',
    ];
  }).join('\n').trimEnd(),
  errors: () => [
    '| code | meaning |',
    '| --- | --- |',
    ...Object.entries(ERROR_CODES).map(([code, text]) => `| \`${code}\` | ${text} |`),
  ].join('\n'),
};

function section(text: string, name: string): { start: number; end: number } {
  const open = `<!-- generated:${name} -->\n`;
  const close = `\n<!-- /generated:${name} -->`;
  const start = text.indexOf(open);
  const end = text.indexOf(close);
  if (start < 0 || end < start) throw new Error(`README.md has no <!-- generated:${name} --> section`);
  return { start: start + open.length, end };
}

describe('README', () => {
  let text = readFileSync(README, 'utf8');
  if (process.env.UPDATE_DOCS) {
    for (const [name, render] of Object.entries(TABLES)) {
      const { start, end } = section(text, name);
      text = text.slice(0, start) + render() + text.slice(end);
    }
    writeFileSync(README, text);
  }

  it.each(Object.keys(TABLES))('%s table matches the code (UPDATE_DOCS=1 rewrites it)', (name) => {
    const { start, end } = section(text, name);
    expect(text.slice(start, end)).toBe(TABLES[name]!());
  });

  it('documents every command-line flag', () => {
    for (const flag of HELP_FLAGS) expect(text).toContain(flag);
  });

  it('shows the two front-door commands', () => {
    expect(text).toContain('npm ci && npm run demo');
    expect(text).toContain('npm ci && npm test');
  });
});
