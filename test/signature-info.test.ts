// pprof_goroutine_signature_info: each exported signature's location and
// stack as labels, so Grafana shows which line leaks without the exporter.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFor, startExporter, type RunningExporter } from './helpers/exporter.js';
import { startLeaky, type Leaky } from './helpers/leaky.js';
import { one, parseMetrics, promtoolCheck, select } from './helpers/prom.js';
import { STACK_MAX_CHARS, STACK_MAX_FRAMES } from '../src/summarize/stacktext.js';

const SHAPES = join(import.meta.dirname, 'fixtures/go/leaky/shapes.go');
// The line of the blocking send in computeResult, as the source has it.
const sendLine = readFileSync(SHAPES, 'utf8').split('\n').findIndex((l) => l.includes('ch <- buf')) + 1;

describe('pprof_goroutine_signature_info on a live program', () => {
  let leaky: Leaky;
  let exp: RunningExporter;
  beforeAll(async () => {
    // -deep: goroutines parked under a 60-frame recursion, more than the stack label keeps.
    leaky = await startLeaky(['-sendleak=4', '-pool=3', '-deep=2', '-deep-depth=60']);
    exp = await startExporter(configFor([{ name: 'leaky', url: leaky.url, sources: ['goroutine'], top_signatures: 5 }]));
  });
  afterAll(async () => {
    await exp?.close();
    await leaky?.stop();
  });

  it('names the leaking line and the whole stack of each exported signature', async () => {
    const text = (await exp.scrape()).text;
    const s = parseMetrics(text);
    const send = one(s, 'pprof_goroutines', { target: 'leaky', function: 'main.computeResult' });
    const info = one(s, 'pprof_goroutine_signature_info', { target: 'leaky', signature: send.labels.signature! });
    expect(info.value).toBe(1);
    expect(info.labels).toMatchObject({ function: 'main.computeResult', blocked_on: 'chan_send' });
    expect(info.labels.location).toMatch(new RegExp(`/shapes\\.go:${sendLine}$`));
    const lines = info.labels.stack!.split('\n');
    // Leaf first, without the runtime frames a traceback hides; then who started it.
    expect(lines[0]).toBe(`main.computeResult ${info.labels.location}`);
    expect(lines.slice(1).every((l) => /^\S+ \S+:\d+$/.test(l))).toBe(true);
    expect(promtoolCheck(text)).toBe('');
  });

  it('has one info series per exported signature, "other" excluded', async () => {
    const s = parseMetrics((await exp.scrape()).text);
    const counted = select(s, 'pprof_goroutines', { target: 'leaky' }).map((x) => x.labels.signature).filter((id) => id !== 'other');
    const described = select(s, 'pprof_goroutine_signature_info', { target: 'leaky' }).map((x) => x.labels.signature);
    expect(counted.length).toBe(5);
    expect(described.sort()).toEqual(counted.sort());
  });

  it('cuts a deep stack at its cap with a visible marker', async () => {
    const s = parseMetrics((await exp.scrape()).text);
    const deep = one(s, 'pprof_goroutines', { target: 'leaky', function: 'main.descend' });
    const stack = one(s, 'pprof_goroutine_signature_info', { target: 'leaky', signature: deep.labels.signature! }).labels.stack!;
    const lines = stack.split('\n');
    // Whichever cap comes first: 16 frames, or 1024 characters (a long checkout path makes frames longer).
    const kept = lines.length - 1;
    expect(lines.at(-1)).toMatch(/^… \d+ more frames$/);
    expect(kept === STACK_MAX_FRAMES || stack.length > STACK_MAX_CHARS - 32 - 300).toBe(true);
    expect(kept).toBeLessThanOrEqual(STACK_MAX_FRAMES);
    expect(Number(/\d+/.exec(lines.at(-1)!)![0]) + kept).toBeGreaterThanOrEqual(60);
    expect(stack.length).toBeLessThanOrEqual(STACK_MAX_CHARS);
  });

  it('is in a /probe answer too, without the target label', async () => {
    const r = await exp.probe({ target: new URL(leaky.url).host });
    const s = parseMetrics(r.text);
    const send = one(s, 'pprof_goroutines', { function: 'main.computeResult' });
    const info = one(s, 'pprof_goroutine_signature_info', { signature: send.labels.signature! });
    expect(info.labels).not.toHaveProperty('target');
    expect(info.labels.location).toMatch(new RegExp(`/shapes\\.go:${sendLine}$`));
  });
});
