// A signature's stack as label values for pprof_goroutine_signature_info, so
// Grafana (and an alert's notification) can show which line leaks without
// reaching the exporter. Both are capped: label values are stored per series.
import { labelValue } from '../labelvalue.js';
import type { Signature } from './signature.js';

/** Frames kept in the `stack` label, leaf first. */
export const STACK_MAX_FRAMES = 16;
/** Characters kept in the `stack` label; longer stacks are cut at a frame boundary. */
export const STACK_MAX_CHARS = 1024;
/** Characters kept of one frame line (a generated function name can be huge). */
const FRAME_MAX_CHARS = 300;

/** `file:line` of the signature's own frame (the one its `function` label names), else of the leaf. */
export function signatureLocation(s: Pick<Signature, 'function' | 'frames'>): string {
  const f = s.frames.find((x) => x.function === s.function) ?? s.frames[0];
  return f ? labelValue(`${f.file}:${f.line}`, FRAME_MAX_CHARS) : '';
}

/**
 * The visible frames, leaf first, one `function file:line` per line; past
 * STACK_MAX_FRAMES or STACK_MAX_CHARS the rest is replaced by one
 * `… N more frames` line.
 */
export function stackLabel(frames: Signature['frames']): string {
  const lines: string[] = [];
  let chars = 0;
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i]!;
    const line = labelValue(`${f.function} ${f.file}:${f.line}`, FRAME_MAX_CHARS);
    const more = frames.length - i;
    if (lines.length === STACK_MAX_FRAMES || chars + line.length + 1 > STACK_MAX_CHARS - 32) {
      lines.push(`… ${more} more frame${more === 1 ? '' : 's'}`);
      break;
    }
    lines.push(line);
    chars += line.length + 1;
  }
  return lines.join('\n');
}
