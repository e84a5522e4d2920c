// The `location` and `stack` labels of pprof_goroutine_signature_info, as
// escaped UTF-8, made once per distinct stack: the same stacks are rendered
// every scrape, and targets running one binary share them (a thousand
// targets × 100 signatures rebuilt ~200k label values a scrape). Keyed by
// signature id, checked against the function and frames (a signature's most
// common stack may move to other lines); bounded, started over when full.
import type { Signature } from '../summarize/signature.js';
import { signatureLocation, stackLabel } from '../summarize/stacktext.js';
import { escapeLabel } from './exposition.js';

const MAX_ENTRIES = 16_384;

interface Entry { function: string; frames: Signature['frames']; bytes: Buffer; }
const cache = new Map<string, Entry>();

function sameFrames(a: Signature['frames'], b: Signature['frames']): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x !== y && (x.line !== y.line || x.function !== y.function || x.file !== y.file)) return false;
  }
  return true;
}

/** `location="…",stack="…"}` (the end of the series' labels) as UTF-8, label values escaped. */
export function signatureTail(s: Pick<Signature, 'id' | 'function' | 'frames'>): Buffer {
  const hit = cache.get(s.id);
  if (hit && hit.function === s.function && sameFrames(hit.frames, s.frames)) return hit.bytes;
  const bytes = Buffer.from(`location="${escapeLabel(signatureLocation(s))}",stack="${escapeLabel(stackLabel(s.frames))}"}`, 'utf8');
  if (cache.size >= MAX_ENTRIES) cache.clear();
  cache.set(s.id, { function: s.function, frames: s.frames, bytes });
  return bytes;
}
