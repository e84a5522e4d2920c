import { readdirSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { formatByteSize, parseByteSize } from '../src/config/bytesize.js';
import { type Config, ConfigError, DEFAULT_GLOBAL, loadConfig, parseConfig } from '../src/config/config.js';
import { formatDuration, parseDuration } from '../src/config/duration.js';
import { DEFAULT_ALLOWED_TARGETS } from '../src/http/allowlist.js';

const limitsOf = ({ scrapeTimeoutSeconds: _t, timeoutOffsetSeconds: _o, ...limits }: typeof DEFAULT_GLOBAL) => limits;

const DIR = 'test/fixtures/config';
const MiB = 2 ** 20;
const TARGET_KEYS = 'name, url, timeout, http_config, sources, top_signatures, top_heap_functions, max_expvar_metrics, debug2_interval, debug2_max_goroutines, goroutineleak_interval, goroutineleak_max_goroutines, goroutineleak_max_sync_waiters, costly_fetch_backoff_after, max_profile_bytes, max_decompressed_bytes';
const LIMIT_KEYS = 'sources, top_signatures, top_heap_functions, max_expvar_metrics, debug2_interval, debug2_max_goroutines, goroutineleak_interval, goroutineleak_max_goroutines, goroutineleak_max_sync_waiters, costly_fetch_backoff_after, max_profile_bytes, max_decompressed_bytes';
const GLOBAL_KEYS = 'scrape_timeout, timeout_offset, sources, top_signatures, top_heap_functions, max_expvar_metrics, debug2_interval, debug2_max_goroutines, goroutineleak_interval, goroutineleak_max_goroutines, goroutineleak_max_sync_waiters, costly_fetch_backoff_after, max_profile_bytes, max_decompressed_bytes';

async function loadError(path: string): Promise<ConfigError> {
  try {
    await loadConfig(path);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error(`${path} loaded without error`);
}

// One fixture per invalid config, each with its exact one-line message (blackbox_exporter style).
const INVALID: Record<string, string> = {
  'invalid-unknown-top-key.yml': '4:1: target: unknown key (allowed: global, targets, modules, allowed_targets, max_concurrent_probes)',
  'invalid-unknown-target-key.yml': `4:5: targets[0].timout: unknown key (allowed: ${TARGET_KEYS})`,
  'invalid-unknown-global-key.yml': `3:3: global.scrape_interval: unknown key (allowed: ${GLOBAL_KEYS})`,
  'invalid-missing-url.yml': '4:5: targets[1].url: missing required key',
  'invalid-missing-name.yml': '2:5: targets[0].name: missing required key',
  'invalid-name-chars.yml':
    '2:11: targets[0].name: invalid target name "check out": use 1-64 characters of [A-Za-z0-9_.-], starting with a letter or digit',
  'invalid-url-unparsable.yml':
    '3:10: targets[0].url: invalid URL "htp//x": not an absolute URL like "http://127.0.0.1:6060"',
  'invalid-url-scheme.yml':
    '3:10: targets[0].url: invalid URL "ftp://127.0.0.1:6060": scheme must be http or https, got "ftp"',
  // The password itself must not appear in the message.
  'invalid-url-credentials.yml':
    '3:10: targets[0].url: invalid URL "http://***@127.0.0.1:6060": must not contain credentials (they would leak into logs)',
  'invalid-url-query.yml':
    '3:10: targets[0].url: invalid URL "http://127.0.0.1:6060/?debug=1": must not contain a query string',
  'invalid-url-fragment.yml': '3:10: targets[0].url: invalid URL "http://127.0.0.1:6060/#pprof": must not contain a fragment',
  'invalid-duplicate-name.yml': '6:11: targets[2].name: duplicate target name "checkout" (first defined at line 2)',
  'invalid-bad-duration.yml':
    '2:19: global.scrape_timeout: invalid duration "10 seconds": use integers with units y, w, d, h, m, s, ms, largest first (e.g. "10s", "500ms", "1h30m")',
  'invalid-zero-timeout.yml': '4:14: targets[0].timeout: must be greater than 0, got "0s"',
  'invalid-offset-not-below-timeout.yml': '3:19: global.timeout_offset: must be less than scrape_timeout (2s), got 2s',
  'invalid-top-signatures-type.yml': '4:21: targets[0].top_signatures: expected an integer, got string "ten"',
  'invalid-top-signatures-fraction.yml': '2:19: global.top_signatures: expected an integer, got number 1.5',
  'invalid-top-signatures-range.yml': '2:19: global.top_signatures: must be between 1 and 10000, got 10001',
  'invalid-bad-bytesize.yml':
    '2:22: global.max_profile_bytes: invalid byte size "64 megs": use a whole number of bytes or a size like "64MiB" (units: B, KiB, MiB, GiB, TiB; KB, MB, GB, TB are base 2 too)',
  'invalid-zero-bytesize.yml': '2:22: global.max_profile_bytes: must be greater than 0, got 0',
  'invalid-yaml-syntax.yml': '4:1: YAML: Missing closing "quote',
  // yaml blames the value above an over-indented line: name both lines.
  'invalid-yaml-indent.yml': '2:11: YAML: Nested mappings are not allowed in compact mappings (lines 2-3: check the indentation of line 3)',
  'invalid-yaml-dedent.yml': '3:1: YAML: All mapping items must start at the same column',
  'invalid-duplicate-yaml-key.yml': '4:5: YAML: Map keys must be unique',
  'invalid-empty.yml': '1:1: config is empty: expected a mapping with a "targets" list',
  'invalid-comments-only.yml': '1:1: config is empty: expected a mapping with a "targets" list',
  'invalid-not-a-mapping.yml': '1:1: config must be a mapping with a "targets" list, got a list',
  'invalid-targets-not-list.yml': '2:3: targets: expected a list, got a mapping',
  'invalid-decompressed-below-profile.yml':
    '6:29: targets[0].max_decompressed_bytes: must be at least max_profile_bytes (64MiB), got 16MiB',
  'invalid-global-decompressed-below-profile.yml':
    '2:22: global.max_profile_bytes: must be at most max_decompressed_bytes (256MiB), got 512MiB',
  'invalid-unknown-source.yml': '5:26: targets[0].sources[1]: unknown source "profile" (known: goroutine, heap, expvar, goroutine_debug2, goroutineleak)',
  'invalid-sources-empty.yml': '5:14: targets[0].sources: must name at least one of goroutine, heap, expvar, goroutine_debug2, goroutineleak',
  'invalid-top-heap-functions.yml': '3:23: global.top_heap_functions: must be between 1 and 10000, got 0',
  'invalid-module-unknown-key.yml': `4:5: modules.pods.timout: unknown key (allowed: timeout, path_prefix, http_config, ${LIMIT_KEYS})`,
  'invalid-module-name.yml': '2:3: modules.bad name: invalid module name "bad name": use 1-64 characters of [A-Za-z0-9_.-]',
  'invalid-module-path-prefix.yml':
    '3:18: modules.pods.path_prefix: must be a plain path without query, fragment, escapes or dot segments, got "/x/../debug/pprof/profile?seconds=30"',
  'invalid-allowed-target.yml':
    '3:5: allowed_targets[1]: invalid CIDR "10.0.0.0/33": prefix length must be 0-32',
  'invalid-allowed-target-pattern.yml':
    '2:5: allowed_targets[0]: invalid host pattern "*.*.svc": want a CIDR ("10.0.0.0/8"), an IP, a host name or "*.domain"',
  'invalid-http-two-auths.yml': '9:9: modules.pods.http_config.authorization: at most one of basic_auth and authorization may be set',
  'invalid-http-cert-without-key.yml': '7:9: targets[0].http_config.tls_config: key_file is required when cert_file is set',
  'invalid-http-password-inline.yml':
    '7:9: modules.pods.http_config.basic_auth.password: unknown key (allowed: username, password_file)',
  'invalid-proxy-url-path.yml': '5:18: modules.pods.http_config.proxy_url: invalid proxy_url "http://proxy:3128/x": must not have a path',
  'invalid-max-concurrent-probes.yml': '1:24: max_concurrent_probes: must be between 1 and 10000, got 0',
  'invalid-first-by-position.yml': `4:5: targets[0].bogus: unknown key (allowed: ${TARGET_KEYS})`,
};

describe('invalid configs', () => {
  test.each(Object.entries(INVALID))('%s', async (file, expected) => {
    const err = await loadError(`${DIR}/${file}`);
    expect(err.message).toBe(`${DIR}/${file}:${expected}`);
    expect(err.code).toBe('PPROF_CONFIG_INVALID');
  });

  test('every invalid-*.yml fixture has an expected message', () => {
    const fixtures = readdirSync(DIR).filter((f) => f.startsWith('invalid-'));
    expect(fixtures.sort()).toEqual(Object.keys(INVALID).sort());
  });

  test('unreadable files are ConfigErrors naming the reason', async () => {
    expect((await loadError(`${DIR}/no-such-file.yml`)).message).toBe(
      `${DIR}/no-such-file.yml: cannot read config file: no such file or directory`,
    );
    expect((await loadError(DIR)).message).toBe(`${DIR}: cannot read config file: illegal operation on a directory`);
  });
});

describe('parseConfig edge cases', () => {
  const cases: Array<[string, string]> = [
    ['targets: [{name: a, url: "http://x", bogus: 1}]', `1:38: targets[0].bogus: unknown key (allowed: ${TARGET_KEYS})`],
    ['targets:\n  - name: 123\n    url: http://x\n', '2:11: targets[0].name: expected a string, got number 123'],
    ['targets:\n  - name: a\n    url:\n', '3:9: targets[0].url: expected a string, got null'],
    ['targets:\n  -\n', '2:4: targets[0]: expected a mapping, got null'],
    [`targets:\n  - name: ${'a'.repeat(65)}\n    url: http://x\n`, `2:11: targets[0].name: invalid target name "${'a'.repeat(65)}": use 1-64 characters of [A-Za-z0-9_.-], starting with a letter or digit`],
    ['targets:\n  - name: .hidden\n    url: http://x\n', '2:11: targets[0].name: invalid target name ".hidden": use 1-64 characters of [A-Za-z0-9_.-], starting with a letter or digit'],
    ['global: {timeout_offset: true}', '1:26: global.timeout_offset: expected a duration like "10s", got boolean true'],
    ['global:\n  scrape_timeout: 300ms\n', '2:19: global.scrape_timeout: must be greater than timeout_offset (500ms), got 300ms'],
    ['global:\n  max_decompressed_bytes: 1MiB\n', '2:27: global.max_decompressed_bytes: must be at least max_profile_bytes (64MiB), got 1MiB'],
    ['targets:\n  - name: a\n    url: *nope\n', '3:10: YAML: Unresolved alias (the anchor must be set before the alias): nope'],
    ['42', '1:1: config must be a mapping with a "targets" list, got number 42'],
  ];
  test.each(cases)('%j', (text, expected) => {
    expect(() => parseConfig(text, 'c.yml')).toThrow(new ConfigError(`c.yml:${expected}`));
  });

  test('null global and targets (everything below commented out) mean defaults', () => {
    expect(parseConfig('global:\ntargets:\n', 'c.yml')).toStrictEqual({
      global: { ...DEFAULT_GLOBAL }, targets: [], allowedTargets: [...DEFAULT_ALLOWED_TARGETS], maxConcurrentProbes: 16,
      modules: { default: { name: 'default', pathPrefix: '', http: { followRedirects: false }, ...limitsOf(DEFAULT_GLOBAL) } },
    });
  });

  test('timeout_offset may be a bare 0, KB means KiB, a bare digit string counts bytes', () => {
    const cfg = parseConfig('global:\n  timeout_offset: 0\n  max_profile_bytes: 64KB\n  max_decompressed_bytes: "1048576"\n', 'c.yml');
    expect(cfg.global.timeoutOffsetSeconds).toBe(0);
    expect(cfg.global.maxProfileBytes).toBe(64 * 1024);
    expect(cfg.global.maxDecompressedBytes).toBe(MiB);
  });

  test('a target may override only max_profile_bytes as long as it stays below the inherited cap', () => {
    const text = 'targets:\n  - name: a\n    url: http://x\n    max_profile_bytes: 512MiB\n';
    expect(() => parseConfig(text, 'c.yml')).toThrow(
      'c.yml:4:24: targets[0].max_profile_bytes: must be at most max_decompressed_bytes (256MiB), got 512MiB',
    );
    const ok = parseConfig(text.replace('512MiB', '128MiB'), 'c.yml');
    expect(ok.targets[0]?.maxProfileBytes).toBe(128 * MiB);
    expect(ok.targets[0]?.maxDecompressedBytes).toBe(256 * MiB);
  });

  test('URLs: host lowercased, default port and trailing slashes dropped, IPv6 kept', () => {
    const urls = (u: string) => parseConfig(`targets:\n  - name: a\n    url: "${u}"\n`, 'c.yml').targets[0]?.url;
    expect(urls('HTTP://Example.COM:80/')).toBe('http://example.com');
    expect(urls('https://h:8443/internal//')).toBe('https://h:8443/internal');
    expect(urls('http://[::1]:6060')).toBe('http://[::1]:6060');
  });
});

describe('valid configs', () => {
  test('minimal: defaults applied, URL normalized, no timeout', async () => {
    const cfg = await loadConfig(`${DIR}/valid-minimal.yml`);
    expect(cfg).toStrictEqual({
      global: { scrapeTimeoutSeconds: 10, timeoutOffsetSeconds: 0.5, topSignatures: 100, maxProfileBytes: 64 * MiB, maxDecompressedBytes: 256 * MiB, sources: ['goroutine', 'heap', 'expvar', 'goroutine_debug2', 'goroutineleak'], topHeapFunctions: 100, maxExpvarMetrics: 100, debug2IntervalSeconds: 300, debug2MaxGoroutines: 1000, goroutineleakIntervalSeconds: 300, goroutineleakMaxGoroutines: 10000, goroutineleakMaxSyncWaiters: 1000, costlyFetchBackoffAfterSeconds: 1 },
      targets: [{ name: 'checkout', url: 'http://127.0.0.1:6060', topSignatures: 100, maxProfileBytes: 64 * MiB, maxDecompressedBytes: 256 * MiB, sources: ['goroutine', 'heap', 'expvar', 'goroutine_debug2', 'goroutineleak'], topHeapFunctions: 100, maxExpvarMetrics: 100, debug2IntervalSeconds: 300, debug2MaxGoroutines: 1000, goroutineleakIntervalSeconds: 300, goroutineleakMaxGoroutines: 10000, goroutineleakMaxSyncWaiters: 1000, costlyFetchBackoffAfterSeconds: 1, http: { followRedirects: false } }],
      modules: { default: { name: 'default', pathPrefix: '', http: { followRedirects: false }, ...limitsOf(DEFAULT_GLOBAL) } },
      // Unset: loopback and private ranges only.
      allowedTargets: ['127.0.0.0/8', '::1/128', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
      maxConcurrentProbes: 16,
    });
    expect(cfg.targets[0]).not.toHaveProperty('timeoutSeconds');
  });

  test('full: global values, target overrides, inheritance, URL with path prefix', async () => {
    const cfg = await loadConfig(`${DIR}/valid-full.yml`);
    expect(cfg).toStrictEqual({
      global: { scrapeTimeoutSeconds: 90, timeoutOffsetSeconds: 0.25, topSignatures: 200, maxProfileBytes: 32 * MiB, maxDecompressedBytes: 1024 * MiB, sources: ['goroutine', 'expvar'], topHeapFunctions: 30, maxExpvarMetrics: 10, debug2IntervalSeconds: 60, debug2MaxGoroutines: 5000, goroutineleakIntervalSeconds: 300, goroutineleakMaxGoroutines: 20000, goroutineleakMaxSyncWaiters: 1000, costlyFetchBackoffAfterSeconds: 1 },
      targets: [
        {
          name: 'checkout',
          url: 'https://checkout.example.com/internal',
          timeoutSeconds: 5,
          topSignatures: 50,
          maxProfileBytes: 16 * MiB,
          maxDecompressedBytes: 64 * MiB,
          // Listed in any order and with repeats, kept once each in the canonical order.
          sources: ['goroutine', 'heap'],
          topHeapFunctions: 5,
          maxExpvarMetrics: 0,
          debug2IntervalSeconds: 60,
          debug2MaxGoroutines: 500,
          goroutineleakIntervalSeconds: 1800,
          goroutineleakMaxGoroutines: 20000,
          goroutineleakMaxSyncWaiters: 0,
          costlyFetchBackoffAfterSeconds: 5,
          http: { followRedirects: false },
        },
        {
          name: 'payments_v2.eu-1', url: 'http://10.0.0.7:6060', topSignatures: 200, maxProfileBytes: 32 * MiB, maxDecompressedBytes: 1024 * MiB,
          sources: ['goroutine', 'expvar'], topHeapFunctions: 30, maxExpvarMetrics: 10, debug2IntervalSeconds: 60, debug2MaxGoroutines: 5000, goroutineleakIntervalSeconds: 300, goroutineleakMaxGoroutines: 20000, goroutineleakMaxSyncWaiters: 1000, costlyFetchBackoffAfterSeconds: 1,
          http: {
            followRedirects: false,
            basicAuth: { username: 'scraper', passwordFile: '/etc/pprof/payments.pw' },
            tls: { caFile: '/etc/pprof/ca.pem', serverName: 'payments.internal', insecureSkipVerify: false },
          },
        },
      ],
      modules: {
        // Always there; a module may override it.
        default: {
          name: 'default', pathPrefix: '', http: { followRedirects: false }, topSignatures: 200, maxProfileBytes: 32 * MiB, maxDecompressedBytes: 1024 * MiB,
          sources: ['goroutine', 'expvar'], topHeapFunctions: 30, maxExpvarMetrics: 10, debug2IntervalSeconds: 60, debug2MaxGoroutines: 5000, goroutineleakIntervalSeconds: 300, goroutineleakMaxGoroutines: 20000, goroutineleakMaxSyncWaiters: 1000, costlyFetchBackoffAfterSeconds: 1,
        },
        pods: {
          name: 'pods', timeoutSeconds: 8, pathPrefix: '/internal', topSignatures: 20, maxProfileBytes: 32 * MiB, maxDecompressedBytes: 1024 * MiB,
          sources: ['goroutine', 'heap', 'goroutine_debug2'], topHeapFunctions: 30, maxExpvarMetrics: 10, debug2IntervalSeconds: 60, debug2MaxGoroutines: 5000, goroutineleakIntervalSeconds: 300, goroutineleakMaxGoroutines: 20000, goroutineleakMaxSyncWaiters: 1000, costlyFetchBackoffAfterSeconds: 1,
          http: { followRedirects: true, authorization: { type: 'Bearer', credentialsFile: '/var/run/secrets/token' }, proxyUrl: 'http://proxy.internal:3128' },
        },
      },
      allowedTargets: ['10.0.0.0/8', '*.svc.cluster.local'],
      maxConcurrentProbes: 64,
    } satisfies Config);
  });

  test('the result is deep-frozen', async () => {
    const cfg = await loadConfig(`${DIR}/valid-full.yml`);
    for (const obj of [cfg, cfg.global, cfg.targets, ...cfg.targets]) expect(Object.isFrozen(obj)).toBe(true);
    expect(() => cfg.targets.push(cfg.targets[0]!)).toThrow(TypeError);
    expect(() => {
      (cfg.global as { topSignatures: number }).topSignatures = 1;
    }).toThrow(TypeError);
  });

  test('DEFAULT_GLOBAL is frozen and matches the documented defaults', () => {
    expect(Object.isFrozen(DEFAULT_GLOBAL)).toBe(true);
    expect(DEFAULT_GLOBAL).toStrictEqual({
      scrapeTimeoutSeconds: 10,
      timeoutOffsetSeconds: 0.5,
      topSignatures: 100,
      maxProfileBytes: 64 * MiB,
      maxDecompressedBytes: 256 * MiB,
      sources: ['goroutine', 'heap', 'expvar', 'goroutine_debug2', 'goroutineleak'],
      topHeapFunctions: 100,
      maxExpvarMetrics: 100,
      debug2IntervalSeconds: 300,
      debug2MaxGoroutines: 1000,
      goroutineleakIntervalSeconds: 300,
      goroutineleakMaxGoroutines: 10000,
      goroutineleakMaxSyncWaiters: 1000,
      costlyFetchBackoffAfterSeconds: 1,
    });
  });
});

describe('parseDuration', () => {
  test.each([
    ['10s', 10],
    ['500ms', 0.5],
    ['2m', 120],
    ['1h30m', 5400],
    ['1d', 86400],
    ['1w', 7 * 86400],
    ['1y', 365 * 86400],
    ['1h0m30s250ms', 3630.25],
    ['0', 0],
    ['0s', 0],
  ])('%s = %d s', (s, seconds) => {
    expect(parseDuration(s)).toBe(seconds);
  });

  test.each(['', '10', '1.5s', '-1s', 's', '1m1h', '1h 30m', '10S', '5 s', '1e3s', '10s '])('rejects %j', (s) => {
    expect(() => parseDuration(s)).toThrow(`invalid duration ${JSON.stringify(s)}: use integers with units`);
  });

  test('rejects overflow', () => {
    expect(() => parseDuration('99999999999999y')).toThrow('too large');
  });

  test.each([
    [5400, '1h30m'],
    [0.5, '500ms'],
    [0, '0s'],
    [90061.001, '1d1h1m1s1ms'],
    [-2, '-2s'],
  ])('formatDuration(%d) = %s', (seconds, s) => {
    expect(formatDuration(seconds)).toBe(s);
    if (seconds >= 0) expect(parseDuration(s)).toBe(seconds);
  });
});

describe('parseByteSize', () => {
  test.each<[string | number, number]>([
    [0, 0],
    [1024, 1024],
    ['100B', 100],
    ['512KiB', 512 * 1024],
    ['512KB', 512 * 1024],
    ['64MiB', 64 * MiB],
    ['64MB', 64 * MiB],
    ['1GiB', 2 ** 30],
    ['1GB', 2 ** 30],
    ['2TiB', 2 * 2 ** 40],
    ['1.5KiB', 1536],
    ['4096', 4096],
  ])('%j = %d bytes', (v, bytes) => {
    expect(parseByteSize(v)).toBe(bytes);
  });

  test.each<string | number>([-1, 1.5, Number.NaN, 2 ** 60, '', 'MiB', '64 MiB', '64mib', '64XB', '1.5', '-1B', '1constructor'])(
    'rejects %j',
    (v) => {
      expect(() => parseByteSize(v)).toThrow(/^invalid byte size /);
    },
  );

  test('rejects fractional bytes and sizes past 2^53', () => {
    expect(() => parseByteSize('1.5B')).toThrow('not a whole number of bytes');
    expect(() => parseByteSize('9000000TiB')).toThrow('too large');
  });

  test.each([
    [64 * MiB, '64MiB'],
    [1536, '1536B'],
    [2048, '2KiB'],
    [2 ** 30, '1GiB'],
    [0, '0B'],
  ])('formatByteSize(%d) = %s', (bytes, s) => {
    expect(formatByteSize(bytes)).toBe(s);
  });
});
