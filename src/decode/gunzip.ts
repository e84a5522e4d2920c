// Decompress and decode a pprof profile.proto body, naming the failing stage
// the way pprof does ("decompressing profile: …", "parsing profile: …").
import { gunzip, gunzipSync } from 'node:zlib';
import { promisify } from 'node:util';
import { perftools } from './proto/profile.js';
import { preview, ScrapeError } from '../errors.js';

export type Profile = perftools.profiles.Profile;

const gunzipAsync = promisify(gunzip);

// Profiles that inflate to a few MiB (nearly all) are inflated synchronously:
// zlib's async mode costs a thread-pool round trip per 16 KiB of output, 5–10×
// the work itself. Bigger ones go async, in 1 MiB steps, so a large or
// hostile body never holds the event loop for more than this much inflating.
const SYNC_INFLATE_MAX = 4 << 20;
const ASYNC_CHUNK = 1 << 20;

const tooLarge = (e: NodeJS.ErrnoException) => e.code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError;

export function isGzip(body: Uint8Array): boolean {
  return body.length >= 2 && body[0] === 0x1f && body[1] === 0x8b;
}

export async function decompress(body: Uint8Array, maxBytes: number): Promise<Buffer> {
  if (body.length === 0) {
    throw new ScrapeError('decompressing', 'PPROF_NOT_GZIP', 'decompressing profile: empty response body');
  }
  if (!isGzip(body)) {
    throw new ScrapeError('decompressing', 'PPROF_NOT_GZIP',
      `decompressing profile: response is not gzip data (starts with ${preview(body)})`);
  }
  try {
    // maxOutputLength makes zlib stop inflating at the cap: a gzip bomb
    // costs at most maxBytes of memory.
    const syncMax = Math.min(maxBytes, SYNC_INFLATE_MAX);
    try {
      return gunzipSync(body, { maxOutputLength: syncMax });
    } catch (err) {
      if (!tooLarge(err as NodeJS.ErrnoException) || syncMax === maxBytes) throw err;
    }
    return await gunzipAsync(body, { maxOutputLength: maxBytes, chunkSize: ASYNC_CHUNK });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (tooLarge(e)) {
      throw new ScrapeError('decompressing', 'PPROF_INFLATED_TOO_LARGE',
        `decompressing profile: inflated size exceeds max_decompressed_bytes (${maxBytes} bytes)`, { cause: err });
    }
    throw new ScrapeError('decompressing', 'PPROF_GUNZIP_FAILED', `decompressing profile: ${e.message}`, { cause: err });
  }
}

export function decodeProfile(buf: Uint8Array): Profile {
  try {
    return perftools.profiles.Profile.decode(buf);
  } catch (err) {
    throw new ScrapeError('decoding', 'PPROF_DECODE_FAILED',
      `parsing profile: ${(err as Error).message}`, { cause: err });
  }
}
