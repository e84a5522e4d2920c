// Every failure a target can cause is a ScrapeError naming the stage it
// happened in, so one log line and one metric label say where it broke.
export type Stage = 'fetching' | 'decompressing' | 'decoding' | 'validating';

export const ERROR_CODES = {
  PPROF_FETCH_FAILED: 'the target could not be reached, timed out, or answered with an error status',
  PPROF_BODY_TOO_LARGE: 'the response body exceeded max_profile_bytes',
  PPROF_NOT_GZIP: 'the response is not gzip data (HTML, text or an error page)',
  PPROF_GUNZIP_FAILED: 'the gzip stream is corrupt or truncated',
  PPROF_INFLATED_TOO_LARGE: 'the profile inflates past max_decompressed_bytes (a gzip bomb is stopped here)',
  PPROF_BUSY: 'inflating this profile would pass the budget of inflated bytes that all scrapes, probes and uploads share; the newest request fails',
  PPROF_DECODE_FAILED: 'the bytes are not a valid profile.proto message',
  PPROF_TOO_COSTLY: 'decoding and grouping the profile was stopped at the scrape deadline or at the worker\'s heap limit (too many stacks)',
  PPROF_INVALID_PROFILE: 'the profile decodes but is inconsistent (dangling ids, wrong value counts, wrong profile type)',
  PPROF_INCONSISTENT: 'a value cannot be: a negative or non-finite counter, a count or sum past 2^53 (heap profile, /debug/vars MemStats)',
  PPROF_TARGET_DENIED: 'a /probe target, or an address it resolves or redirects to, is not in allowed_targets',
  PPROF_SECRET_UNREADABLE: 'a password_file, credentials_file or TLS file of an http_config cannot be read',
  PPROF_CONFIG_INVALID: 'the configuration file is invalid',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class ScrapeError extends Error {
  /** The target's HTTP status, when the failure was an error response. */
  readonly httpStatus: number | undefined;

  constructor(
    readonly stage: Stage,
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown; httpStatus?: number },
  ) {
    super(message, options);
    this.httpStatus = options?.httpStatus;
    this.name = 'ScrapeError';
  }
}

/** A file system error without its code and path: "ENOENT: no such file or directory, open 'x'" -> "no such file or directory". */
export function fileErrorReason(err: unknown): string {
  return (err as Error).message.replace(/^E[A-Z]+: /, '').replace(/, \w+( '.*')?$/, '');
}

// A short printable preview of a body that is not what we expected.
export function preview(body: Uint8Array, max = 60): string {
  const text = Buffer.from(body.subarray(0, max)).toString('utf8');
  const clean = text.replace(/[^\x20-\x7e]+/g, ' ').trim();
  return JSON.stringify(clean + (body.length > max ? '…' : ''));
}
