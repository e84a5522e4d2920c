// Throwaway HTTP servers on 127.0.0.1:0 that play a target.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface TestServer { url: string; close(): Promise<void>; }

export async function startServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<TestServer> {
  const sockets = new Set<Socket>();
  const server = createServer(handler);
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

/** A port on loopback that nothing listens on (bound, then released). */
export async function closedPort(): Promise<string> {
  const s = await startServer(() => {});
  await s.close();
  return s.url;
}

/** A target that serves one Go version's captured profiles by path, like net/http/pprof would. */
export async function startFixtureTarget(files: (name: string) => Buffer, opts: { expvar?: boolean } = {}): Promise<TestServer> {
  const routes: Record<string, string> = {
    '/debug/pprof/goroutine': 'goroutine.pb.gz',
    '/debug/pprof/heap': 'heap.pb.gz',
    ...(opts.expvar !== false && { '/debug/vars': 'vars.json' }),
  };
  return startServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const debug = u.searchParams.get('debug');
    const file = (debug === '1' || debug === '2') && (u.pathname === '/debug/pprof/heap' || u.pathname === '/debug/pprof/goroutine')
      ? `${u.pathname.slice('/debug/pprof/'.length)}.debug${debug}.txt`
      : routes[u.pathname];
    if (!file) {
      res.statusCode = 404;
      res.end('404 page not found\n');
      return;
    }
    res.end(files(file));
  });
}
