// The PromQL side's own parsing and quoting, without a Prometheus: the stack
// label read back into frames, and label values as PromQL strings.
import { describe, expect, it } from 'vitest';
import { stackLabel, STACK_MAX_FRAMES } from '../src/summarize/stacktext.js';
import { parseStack } from '../src/ui/promsource.js';
import { promString, selector } from '../src/ui/promql.js';

const frame = (i: number) => ({ function: `main.(*Server).handle${i}[go.shape.int]`, file: `/src/app dir/h${i}.go`, line: 10 + i });

describe('parseStack', () => {
  it('reads back the frames stackLabel wrote, file names with spaces included', () => {
    const frames = [0, 1, 2].map(frame);
    expect(parseStack(stackLabel(frames))).toEqual({ frames, more: 0 });
  });

  it('reports the frames the cap cut off instead of inventing a frame', () => {
    const frames = Array.from({ length: 40 }, (_, i) => frame(i));
    const { frames: kept, more } = parseStack(stackLabel(frames));
    expect(kept).toEqual(frames.slice(0, kept.length));
    expect(kept.length).toBeLessThanOrEqual(STACK_MAX_FRAMES);
    expect(kept.length + more).toBe(40);
  });

  it('keeps a line it cannot split as the function, with no location', () => {
    expect(parseStack('main.main')).toEqual({ frames: [{ function: 'main.main', file: '', line: 0 }], more: 0 });
  });
});

describe('promString', () => {
  it('escapes what would end or bend a double-quoted PromQL string', () => {
    expect(promString('a"b\\c\nd')).toBe('"a\\"b\\\\c\\nd"');
    expect(selector('pprof_goroutines', { target: 'x"} or vector(1) or {a="' }, 'signature!="other"'))
      .toBe('pprof_goroutines{target="x\\"} or vector(1) or {a=\\"", signature!="other"}');
  });
});
