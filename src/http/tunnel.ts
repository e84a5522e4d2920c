// HTTPS through a proxy for /probe: an undici connector that checks the
// target's address against the allowlist, then asks the proxy for a tunnel
// (CONNECT) to that checked address, never to a name the proxy would resolve
// itself. TLS runs inside the tunnel with the target's own server name.
import { buildConnector } from 'undici';
import type { Socket } from 'node:net';

const MAX_HEAD_BYTES = 16 * 1024;

/** host:port for a request line; IPv6 in brackets. */
export function hostPort(ip: string, port: number): string {
  return `${ip.includes(':') ? `[${ip}]` : ip}:${port}`;
}

/** Reads the proxy's answer to CONNECT; resolves on 200, the socket then carries the tunnel. */
function awaitConnect(socket: Socket, target: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let head = Buffer.alloc(0);
    const fail = (err: Error) => { cleanup(); socket.destroy(); reject(err); };
    // A proxy that never answers must not hold the socket (and the connection slot) forever.
    const timer = setTimeout(() => fail(new Error(`proxy did not answer CONNECT ${target} within ${timeoutMs / 1000}s`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > MAX_HEAD_BYTES) fail(new Error(`proxy answered CONNECT ${target} with an oversized header`));
        return;
      }
      cleanup();
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(head.subarray(0, end).toString('latin1'));
      if (status?.[1] !== '200') {
        socket.destroy();
        reject(new Error(`proxy refused CONNECT ${target}: ${head.subarray(0, head.indexOf('\r\n')).toString('latin1').slice(0, 200)}`));
        return;
      }
      // Bytes after the head belong to TLS; a proxy has no business sending them first.
      if (end + 4 < head.length) socket.unshift(head.subarray(end + 4));
      resolve();
    };
    const onClose = () => fail(new Error(`proxy closed the connection before answering CONNECT ${target}`));
    const onError = (err: Error) => fail(err);
    const cleanup = () => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('error', onError);
    };
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.on('error', onError);
  });
}

export interface TunnelOptions {
  proxy: URL;
  /** The checked addresses of a host; throws TargetDenied when it may not be reached. */
  resolve: (hostname: string) => Promise<string[]>;
  tls: buildConnector.BuildOptions;
  timeoutMs: number;
}

export function tunnelConnector(o: TunnelOptions): buildConnector.connector {
  const toProxy = buildConnector({ timeout: o.timeoutMs });
  const inTunnel = buildConnector({ ...o.tls, timeout: o.timeoutMs });
  const auth = o.proxy.username
    ? `Proxy-Authorization: Basic ${Buffer.from(`${decodeURIComponent(o.proxy.username)}:${decodeURIComponent(o.proxy.password)}`).toString('base64')}\r\n`
    : '';
  const proxyPort = Number(o.proxy.port) || (o.proxy.protocol === 'https:' ? 443 : 80);
  return (opts, callback) => {
    const port = Number(opts.port) || (opts.protocol === 'https:' ? 443 : 80);
    o.resolve(opts.hostname).then((ips) => {
      const target = hostPort(ips[0]!, port);
      toProxy({
        hostname: o.proxy.hostname.replace(/^\[|\]$/g, ''), host: o.proxy.host, protocol: o.proxy.protocol, port: String(proxyPort),
        servername: o.proxy.protocol === 'https:' ? o.proxy.hostname : undefined,
      } as Parameters<buildConnector.connector>[0], (err, socket) => {
        if (err || !socket) return callback(err ?? new Error('cannot connect to the proxy'), null);
        socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n${auth}\r\n`);
        awaitConnect(socket as Socket, target, o.timeoutMs).then(
          // The server name comes from the Host header (the name asked for), not from the address.
          () => inTunnel({ ...opts, hostname: ips[0]!, httpSocket: socket } as Parameters<buildConnector.connector>[0], callback),
          (e: Error) => callback(e, null),
        );
      });
    }, (err: Error) => callback(err, null));
  };
}
