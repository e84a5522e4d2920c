// A signature's id: 64 bits naming a sequence of function names.
//
// Each name is hashed once (the first 8 bytes of the SHA-256 of its UTF-8),
// and a stack is then hashed from those digests with MurmurHash3_x86_128
// (seed 0, the digests concatenated leaf first): integer work per frame, no
// string built or hashed per stack. The id is that hash's h1 and h2 as 8 hex
// digits each. It depends on the names alone: stable across restarts and
// across target builds that keep the functions.
import crypto from 'node:crypto';

/** The 8-byte digest of one function name, as Murmur's two little-endian words. */
export function nameDigest(name: string, out: Uint32Array, at: number): void {
  const d = typeof crypto.hash === 'function'
    ? crypto.hash('sha256', name, 'buffer')
    : crypto.createHash('sha256').update(name).digest();
  out[at] = d.readUInt32LE(0);
  out[at + 1] = d.readUInt32LE(4);
}

const C1 = 0x239b961b;
const C2 = 0xab0e9789;
const C3 = 0x38b34ae5;
const C4 = 0xa1e38b93;

const rotl = (x: number, r: number): number => (x << r) | (x >>> (32 - r));

function fmix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** Where stackHash leaves its result: h1 and h2 as unsigned 32-bit numbers. */
export const hashOut = { hi: 0, lo: 0 };

/**
 * MurmurHash3_x86_128 of words[0..n) (n even: two words a name), h1 and h2
 * into hashOut.
 */
export function stackHash(words: Uint32Array, n: number): void {
  let h1 = 0;
  let h2 = 0;
  let h3 = 0;
  let h4 = 0;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    h1 ^= Math.imul(rotl(Math.imul(words[i]!, C1), 15), C2);
    h1 = (Math.imul(rotl(h1, 19) + h2, 5) + 0x561ccd1b) | 0;
    h2 ^= Math.imul(rotl(Math.imul(words[i + 1]!, C2), 16), C3);
    h2 = (Math.imul(rotl(h2, 17) + h3, 5) + 0x0bcaa747) | 0;
    h3 ^= Math.imul(rotl(Math.imul(words[i + 2]!, C3), 17), C4);
    h3 = (Math.imul(rotl(h3, 15) + h4, 5) + 0x96cd1c35) | 0;
    h4 ^= Math.imul(rotl(Math.imul(words[i + 3]!, C4), 18), C1);
    h4 = (Math.imul(rotl(h4, 13) + h1, 5) + 0x32ac3b17) | 0;
  }
  if (i < n) { // an 8-byte tail: one name
    h2 ^= Math.imul(rotl(Math.imul(words[i + 1]!, C2), 16), C3);
    h1 ^= Math.imul(rotl(Math.imul(words[i]!, C1), 15), C2);
  }
  const len = n * 4;
  h1 ^= len; h2 ^= len; h3 ^= len; h4 ^= len;
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0; h3 = (h3 + h1) | 0; h4 = (h4 + h1) | 0;
  h1 = fmix(h1); h2 = fmix(h2); h3 = fmix(h3); h4 = fmix(h4);
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  hashOut.hi = h1 >>> 0;
  hashOut.lo = h2 >>> 0;
}

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** 16 hex digits: hi then lo. */
export function idText(hi: number, lo: number): string {
  return HEX[hi >>> 24]! + HEX[(hi >>> 16) & 255]! + HEX[(hi >>> 8) & 255]! + HEX[hi & 255]!
    + HEX[lo >>> 24]! + HEX[(lo >>> 16) & 255]! + HEX[(lo >>> 8) & 255]! + HEX[lo & 255]!;
}

// For callers with names as strings (the text dumps): digests of names seen
// lately, forgotten all at once past the cap.
const DIGEST_CACHE_NAMES = 1 << 16;
const digests = new Map<string, number>(); // name → its words' offset in cached
let cached = new Uint32Array(2 * 1024);
let scratch = new Uint32Array(64);

/** The id of a name sequence (leaf first), for callers that hold strings. */
export function signatureIdOf(names: readonly string[]): string {
  if (scratch.length < 2 * names.length) scratch = new Uint32Array(4 * names.length);
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    let at = digests.get(name);
    if (at === undefined) {
      if (digests.size >= DIGEST_CACHE_NAMES) digests.clear();
      at = 2 * digests.size;
      if (at + 2 > cached.length) {
        const grown = new Uint32Array(2 * cached.length);
        grown.set(cached);
        cached = grown;
      }
      nameDigest(name, cached, at);
      digests.set(name, at);
    }
    scratch[2 * i] = cached[at]!;
    scratch[2 * i + 1] = cached[at + 1]!;
  }
  stackHash(scratch, 2 * names.length);
  return idText(hashOut.hi, hashOut.lo);
}
