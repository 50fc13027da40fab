/**
 * The small built-in upstream `npm start` runs so the demo needs nothing
 * else: it echoes what it received as JSON, so the headers each example
 * plugin stamps are visible. `/redirect` answers with an internal Location
 * for the response-rewrite example.
 */
import { createServer, type Server } from 'node:http';

export function startDemoUpstream(port: number, host = '127.0.0.1'): Promise<Server> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= 64 * 1024) chunks.push(c);
    });
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://upstream.local');
      const headers: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = v;
      const body = JSON.stringify({
        upstream: 'wasmgate-demo',
        method: req.method,
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers,
        body_bytes: size,
      });
      const extra: Record<string, string> = {};
      if (url.pathname.endsWith('/redirect')) extra.location = 'http://internal.local/welcome';
      res.writeHead(url.pathname.endsWith('/redirect') ? 302 : 200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        ...extra,
      });
      res.end(body);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
