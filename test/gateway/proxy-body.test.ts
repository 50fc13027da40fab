/**
 * Upstream bodies over real HTTP: a large body streams to a client that is
 * not reading without the gateway holding it (the upstream is held back), a
 * body a response plugin needs is refused past maxResponseBodyBytes, and a
 * body that is never sent (a response plugin failed, or replaced it) is read
 * off so the upstream connection serves the next request.
 */

import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classicApi, startGateway, type TestGateway } from '../harness/gateway.ts';

const MB = 1024 * 1024;
let server: Server;
let upstreamUrl = '';
/** Bytes the upstream managed to hand to its socket for the current /huge answer. */
let hugeWritten = 0;
/** Connections the upstream has accepted so far. */
let opened = 0;
let gw: TestGateway;

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    if (req.url?.startsWith('/huge')) {
      // 32 MB in 64 KB chunks, only as fast as the reader takes them.
      hugeWritten = 0;
      const chunk = Buffer.alloc(64 * 1024, 120);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(32 * MB) });
      const pump = () => {
        while (hugeWritten < 32 * MB) {
          hugeWritten += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    } else if (req.url?.startsWith('/half')) {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(Buffer.alloc(512 * 1024, 98));
    } else if (req.url?.startsWith('/mb')) {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(Buffer.alloc(2 * MB, 97));
    } else {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('small answer');
    }
  });
  server.on('connection', () => opened++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  upstreamUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const mw = (m: Record<string, unknown>) => ({ custom_middleware: { driver: 'wasm', ...m } });
  gw = await startGateway({
    plugins: ['probe'],
    settings: { maxResponseBodyBytes: 1 * MB, upstreamConnections: 1 },
    apis: [
      classicApi('plain', upstreamUrl),
      {
        ...classicApi('needs-body', upstreamUrl),
        ...mw({ response: [{ name: 'response_body', path: 'probe@1.0.0', needs_body: true }] }),
      },
      { ...classicApi('fails', upstreamUrl), ...mw({ response: [{ name: 'fail', path: 'probe@1.0.0' }] }) },
      {
        ...classicApi('replaces', upstreamUrl),
        ...mw({ response: [{ name: 'response_body', path: 'probe@1.0.0', needs_body: true }] }),
      },
    ],
  });
}, 120_000);

afterAll(async () => {
  await gw?.close();
  server?.closeAllConnections();
  await new Promise<void>((r) => server?.close(() => r()));
});

describe('upstream bodies', () => {
  it('a large body to a client that does not read is held back at the upstream, not buffered in the gateway', async () => {
    const socket = connect(gw.port, '127.0.0.1');
    await new Promise<void>((r) => socket.once('connect', () => r()));
    socket.write('GET /plain/huge HTTP/1.1\r\nHost: gw\r\n\r\n');
    socket.pause();
    // Let the upstream write until every buffer on the way is full.
    let last = -1;
    for (let i = 0; i < 40 && hugeWritten !== last; i++) {
      last = hugeWritten;
      await new Promise((r) => setTimeout(r, 150));
    }
    // Socket buffers on two connections and the gateway's hold limit: a few MB at most, never the 32.
    expect(hugeWritten).toBeLessThan(12 * MB);
    expect(hugeWritten).toBeGreaterThan(0);
    // Reading resumes the flow: every byte arrives.
    let received = 0;
    let head = '';
    await new Promise<void>((resolve) => {
      socket.on('data', (d: Buffer) => {
        if (!head.includes('\r\n\r\n')) {
          head += d.toString('latin1');
          const end = head.indexOf('\r\n\r\n');
          if (end >= 0) received += Buffer.byteLength(head.slice(end + 4), 'latin1');
        } else received += d.length;
        if (received >= 32 * MB) resolve();
      });
      socket.resume();
    });
    socket.destroy();
    expect(head).toMatch(/^HTTP\/1\.1 200/);
    expect(received).toBe(32 * MB);
  }, 60_000);

  it('a body a response plugin needs is refused past maxResponseBodyBytes: 502, and the next request is served', async () => {
    const res = await fetch(`${gw.url}/needs-body/mb`);
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ error: 'upstream_response_too_large' });
    const next = await fetch(`${gw.url}/needs-body/small`);
    expect(next.status).toBe(299);
    expect(await next.text()).toBe('[200]small answer');
  });

  it('a body that is never sent is read off: the one upstream connection serves every request after it', async () => {
    await (await fetch(`${gw.url}/plain/small`)).text();
    const before = opened;
    for (let i = 0; i < 5; i++) {
      // 512 KB, still arriving when the response plugin fails: dropped, read to its end.
      const failed = await fetch(`${gw.url}/fails/half`);
      expect(failed.status).toBe(500);
      await failed.text();
      const ok = await fetch(`${gw.url}/plain/small`);
      expect(await ok.text()).toBe('small answer');
    }
    expect(opened).toBe(before);
  });
});
