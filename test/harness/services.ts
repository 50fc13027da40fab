/**
 * Loopback services for the outbound tests: each answers every request
 * with what `answer(path)` says, after a delay, and records what it got and
 * when (arrival and answer times, for checks of what ran in parallel).
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';

export interface Hit {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** performance.now() when the request had arrived whole, and when its answer was written (null: not yet). */
  arrived: number;
  answered: number | null;
}

export interface Service {
  url: string;
  port: number;
  hits: Hit[];
  close(): Promise<void>;
}

/** `answer(path)` → [status, headers, body, delay ms]. */
export async function service(
  answer: (path: string) => [number, Record<string, string>, string | Buffer, number],
): Promise<Service> {
  const hits: Hit[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const hit: Hit = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
        arrived: performance.now(),
        answered: null,
      };
      hits.push(hit);
      const [status, headers, body, delay] = answer(req.url ?? '/');
      setTimeout(() => {
        if (res.destroyed) return;
        hit.answered = performance.now();
        res.writeHead(status, headers);
        res.end(body);
      }, delay);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    hits,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
