// Which addresses /probe may connect to. Checked on the resolved IP of every
// connection (see client.ts), so a DNS name that resolves to the metadata
// service or a rebinding answer is refused like the literal address would be.
import { BlockList, isIP } from 'node:net';
import { lookup } from 'node:dns/promises';

/** Resolves a host name to IP addresses; injected in tests so no lookup leaves the machine. */
export type Resolver = (hostname: string) => Promise<string[]>;

export const systemResolver: Resolver = async (hostname) =>
  (await lookup(hostname, { all: true, verbatim: true })).map((a) => a.address);

// Never reachable through /probe, whatever allowed_targets says: cloud metadata
// endpoints, link-local, "this network" (0.0.0.0 reaches localhost), multicast.
const ALWAYS_DENIED = ['169.254.0.0/16', '0.0.0.0/8', '224.0.0.0/4', '255.255.255.255/32',
  'fd00:ec2::254/128', 'fe80::/10', '::/128', 'ff00::/8'];

/** allowed_targets when unset, and the address ranges when it lists only host patterns. */
export const DEFAULT_ALLOWED_TARGETS: readonly string[] = Object.freeze([
  '127.0.0.0/8', '::1/128', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7',
]);

const HOST_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

type Entry = { kind: 'cidr'; address: string; prefix: number; family: 'ipv4' | 'ipv6' } | { kind: 'host'; pattern: string };

/** One allowed_targets entry: a CIDR, an IP, or a host name with an optional leading "*." wildcard. */
export function parseAllowEntry(raw: string): Entry {
  const v = raw.trim().toLowerCase();
  const [addr, bits, extra] = v.split('/');
  const fam = isIP(addr ?? '');
  if (fam !== 0) {
    const max = fam === 4 ? 32 : 128;
    const prefix = bits === undefined ? max : /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
    if (extra !== undefined || !(prefix >= 0 && prefix <= max)) {
      throw new Error(`invalid CIDR ${JSON.stringify(raw)}: prefix length must be 0-${max}`);
    }
    return { kind: 'cidr', address: canonicalIp(addr!), prefix, family: fam === 4 ? 'ipv4' : 'ipv6' };
  }
  if (v.includes('/')) throw new Error(`invalid CIDR ${JSON.stringify(raw)}: not an IP address before "/"`);
  const labels = (v.startsWith('*.') ? v.slice(2) : v).split('.');
  if (v.length > 253 || !labels.every((l) => HOST_LABEL.test(l))) {
    throw new Error(`invalid host pattern ${JSON.stringify(raw)}: want a CIDR ("10.0.0.0/8"), an IP, a host name or "*.domain"`);
  }
  return { kind: 'host', pattern: v };
}

/** The address as the kernel sees it: IPv4-mapped IPv6 (::ffff:a.b.c.d) becomes the IPv4 address. */
export function canonicalIp(ip: string): string {
  const bare = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
  if (isIP(bare) !== 6) return bare;
  // The URL parser writes IPv6 in its canonical compressed form, hex only.
  const host = new URL(`http://[${bare}]/`).hostname.slice(1, -1);
  const m = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
  if (!m) return host;
  const hi = parseInt(m[1]!, 16);
  const lo = parseInt(m[2]!, 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

function blockList(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const c of cidrs) {
    const e = parseAllowEntry(c);
    if (e.kind === 'cidr') list.addSubnet(e.address, e.prefix, e.family);
  }
  return list;
}

const denied = blockList(ALWAYS_DENIED);

export class Allowlist {
  private readonly allowed: BlockList;
  private readonly hosts: string[];
  /** A list of host patterns only: names must match one, and an IP literal matches none. */
  private readonly namesOnly: boolean;

  constructor(readonly entries: readonly string[]) {
    const parsed = entries.map(parseAllowEntry);
    const cidrs = parsed.some((e) => e.kind === 'cidr');
    this.allowed = blockList(cidrs ? entries : DEFAULT_ALLOWED_TARGETS);
    this.hosts = parsed.flatMap((e) => (e.kind === 'host' ? [e.pattern] : []));
    this.namesOnly = !cidrs && this.hosts.length > 0;
  }

  /** Why this IP may not be connected to, or undefined when it may. */
  ipDenial(ip: string): string | undefined {
    const a = canonicalIp(ip);
    const family = isIP(a) === 4 ? 'ipv4' : isIP(a) === 6 ? 'ipv6' : undefined;
    if (!family) return `${JSON.stringify(ip)} is not an IP address`;
    if (denied.check(a, family)) return `address ${a} is never allowed (link-local, metadata, unspecified or multicast)`;
    if (!this.allowed.check(a, family)) return `address ${a} is not in allowed_targets`;
    return undefined;
  }

  /** Why this host name may not be probed, or undefined. Without host patterns every name may be (its IPs are still checked). */
  hostDenial(hostname: string): string | undefined {
    if (this.hosts.length === 0) return undefined;
    const h = hostname.toLowerCase().replace(/\.$/, '');
    const ok = this.hosts.some((p) => (p.startsWith('*.') ? h.endsWith(p.slice(1)) && h.length > p.length - 1 : h === p));
    return ok ? undefined : `host ${JSON.stringify(hostname)} matches no host pattern in allowed_targets`;
  }

  /**
   * The addresses of a host that may be connected to; throws TargetDenied if
   * the name or any of its addresses is not allowed (all or nothing, so a
   * name cannot mix a private and a metadata answer).
   */
  async resolve(hostname: string, resolver: Resolver): Promise<string[]> {
    const bare = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
    if (isIP(bare) !== 0) {
      if (this.namesOnly) {
        throw new TargetDenied(`address ${canonicalIp(bare)} is not in allowed_targets (it lists host names only; an address needs an address or CIDR entry)`);
      }
      const why = this.ipDenial(bare);
      if (why) throw new TargetDenied(why);
      return [canonicalIp(bare)];
    }
    const nameWhy = this.hostDenial(bare);
    if (nameWhy) throw new TargetDenied(nameWhy);
    let ips: string[];
    try {
      ips = await resolver(bare);
    } catch (err) {
      throw new TargetDenied(`cannot resolve ${JSON.stringify(bare)}: ${(err as Error).message}`, { unresolved: true });
    }
    if (ips.length === 0) throw new TargetDenied(`${JSON.stringify(bare)} resolves to no address`, { unresolved: true });
    for (const ip of ips) {
      const why = this.ipDenial(ip);
      if (why) throw new TargetDenied(`${JSON.stringify(bare)} resolves to ${why.replace(/^address /, '')}`);
    }
    return ips.map(canonicalIp);
  }
}

export class TargetDenied extends Error {
  readonly code = 'PPROF_TARGET_DENIED';
  /** A lookup failure: the target is unreachable, not forbidden. */
  readonly unresolved: boolean;
  constructor(message: string, opts: { unresolved?: boolean } = {}) {
    super(message);
    this.name = 'TargetDenied';
    this.unresolved = opts.unresolved ?? false;
  }
}
