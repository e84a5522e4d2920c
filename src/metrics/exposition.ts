// The per-scrape families as Prometheus text, written by us rather than by
// prom-client: a /metrics over a thousand targets holds a few hundred thousand
// series, and prom-client hashes every label set on set() and escapes every
// label value again when printing, which cost more than scraping the targets
// (bench: 1000 targets). Here a series is its line's text up to the value,
// or, for the big families, a block that writes its lines from the summary
// when the page is written; the body is UTF-8 in 64 KiB chunks handed out one
// by one, so no string or Buffer of the whole body is ever made. The output
// is prom-client's byte for byte: "# HELP", "# TYPE", the series in the order
// set, families apart by a blank line.
import type { Metric, Registry } from 'prom-client';

type Labels = Record<string, string>;
/** Given the family's name, the pieces of some series' lines (each `name{labels} value\n`). */
export type Block = (name: string) => Iterable<string | Buffer>;
export type FamilyType = 'gauge' | 'counter' | 'summary';

/** Prometheus' label value escaping (backslash, double quote, newline). */
export function escapeLabel(v: string): string {
  return /[\\"\n]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"') : v;
}

const escapeHelp = (s: string) => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

/** `{a="x",b="y"}`, labels in the object's order; "" for none. */
export function labelText(labels: Labels): string {
  let out = '';
  for (const k in labels) out += `${out ? ',' : '{'}${k}="${escapeLabel(labels[k]!)}"`;
  return out ? `${out}}` : '';
}

export const valueText = (v: number) => (Number.isNaN(v) ? 'Nan' : v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : `${v}`);

export class TextFamily {
  /** Each series' line up to its value: the name (with a summary's suffix) and labels. */
  private readonly heads: string[] = [];
  /** Where an entry is a block of series (lines()), its pieces; else undefined. */
  private readonly blocks: (Block | undefined)[] = [];
  private readonly values: number[] = [];
  private readonly at = new Map<string, number>();

  constructor(readonly name: string, readonly help: string, readonly type: FamilyType) {}

  /** Sets the series with these labels (a second set replaces the value, as prom-client's). */
  set(labels: Labels, value: number, suffix = ''): void {
    const line = `${this.name}${suffix}${labelText(labels)}`;
    const i = this.at.get(line);
    if (i !== undefined) this.values[i] = value;
    else this.push(line, value);
  }

  /** Adds to the series with these labels. */
  inc(labels: Labels, value: number): void {
    const line = `${this.name}${labelText(labels)}`;
    const i = this.at.get(line);
    if (i !== undefined) this.values[i] = this.values[i]! + value;
    else this.push(line, value);
  }

  /**
   * Series the caller knows are not in the family yet, written only when
   * the page is: `block` gives their lines' pieces (labels escaped) from data
   * the caller keeps anyway, so a big page holds no text of its own, and a
   * piece made once (as UTF-8) serves every scrape.
   */
  lines(block: Block): void {
    this.heads.push('');
    this.values.push(0);
    this.blocks.push(block);
  }

  private push(line: string, value: number): void {
    this.at.set(line, this.heads.length);
    this.heads.push(line);
    this.values.push(value);
    this.blocks.push(undefined);
  }

  get size(): number {
    return this.heads.length;
  }

  header(): string {
    return `# HELP ${this.name} ${escapeHelp(this.help)}\n# TYPE ${this.name} ${this.type}\n`;
  }

  /** Entry i's pieces as written. */
  *pieces(i: number): Generator<string | Buffer> {
    const block = this.blocks[i];
    if (block) {
      for (const piece of block(this.name)) yield piece;
      return;
    }
    yield `${this.heads[i]!} ${valueText(this.values[i]!)}\n`;
  }

  /** As prom-client's get(): each series with its full name as metricName and no labels to format. */
  asMetric(): Metric {
    const { name, help, type } = this;
    const values = () => {
      const text = Buffer.concat(Array.from({ length: this.size }, (_, i) => [...this.pieces(i)])
        .flat().map((p) => (typeof p === 'string' ? Buffer.from(p) : p))).toString('utf8');
      return text.split('\n').filter(Boolean).map((line) => {
        const cut = line.lastIndexOf(' ');
        const v = line.slice(cut + 1);
        return { metricName: line.slice(0, cut), labels: {}, value: v === '+Inf' ? Infinity : v === '-Inf' ? -Infinity : Number(v) };
      });
    };
    return { name, help, type, aggregator: 'sum', get: async () => ({ name, help, type, aggregator: 'sum', values: values() }), reset() {} } as unknown as Metric;
  }
}

// Chunks of this many bytes: big enough to write efficiently, small enough
// that a slow reader holds little.
const CHUNK_BYTES = 64 << 10;

/** One buffer, filled with pieces and handed out; reused once the taker is done with it. */
class ChunkWriter {
  private buf = Buffer.allocUnsafe(CHUNK_BYTES);
  at = 0;

  /** Writes the piece if it fits (a string takes at most 3 bytes per UTF-16 unit); false if not. */
  put(piece: string | Buffer): boolean {
    const most = typeof piece === 'string' ? piece.length * 3 : piece.length;
    if (this.at + most > this.buf.length) {
      if (this.at > 0) return false;
      if (most > this.buf.length) this.buf = Buffer.allocUnsafe(most);
    }
    this.at += typeof piece === 'string' ? this.buf.write(piece, this.at, 'utf8') : piece.copy(this.buf, this.at);
    return true;
  }

  take(): Buffer {
    const out = this.buf.subarray(0, this.at);
    this.at = 0;
    return out;
  }
}

/** One page of families, in the order they were made. */
export class Exposition {
  private readonly families: TextFamily[] = [];
  private readonly byName = new Map<string, TextFamily>();

  family(name: string, help: string, type: FamilyType): TextFamily {
    if (this.byName.has(name)) throw new Error(`A metric with the name ${name} has already been registered.`);
    const f = new TextFamily(name, help, type);
    this.families.push(f);
    this.byName.set(name, f);
    return f;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /**
   * The body after `head` (another registry's text, ending in a newline), as
   * UTF-8 chunks of one reused buffer: a chunk is valid until the next is asked for.
   */
  *chunks(head = ''): Generator<Buffer> {
    const w = new ChunkWriter();
    for (const piece of this.pieces(head)) {
      if (!w.put(piece)) {
        yield w.take();
        w.put(piece);
      }
    }
    if (w.at > 0) yield w.take();
  }

  private *pieces(head: string): Generator<string | Buffer> {
    if (head) yield head;
    for (const [k, f] of this.families.entries()) {
      yield `${k > 0 || head ? '\n' : ''}${f.header()}`;
      for (let i = 0; i < f.size; i++) yield* f.pieces(i);
    }
  }

  /** The whole body as one Buffer: for a small page (a probe's). */
  bytes(head = ''): Buffer {
    return Buffer.concat(Array.from(this.chunks(head), (c) => Buffer.from(c)));
  }

  /** Registers every family in a prom-client registry (the same text from its metrics()). */
  registerInto(r: Registry): void {
    for (const f of this.families) r.registerMetric(f.asMetric());
  }
}
