// The benchmark upstream: node:http answering every request with the same
// ~200-byte JSON body, keep-alive. Runs in its own process.
import { createServer } from 'node:http';

const body = Buffer.from(
  JSON.stringify({
    ok: true,
    service: 'bench-upstream',
    items: [1, 2, 3, 4, 5, 6, 7, 8],
    message: 'a fixed reply of about two hundred bytes for every request',
    padding: 'x'.repeat(40),
  }),
);
// `/kb…`: a 1 KB JSON answer (the services the aggregate scenarios call).
const kb = Buffer.from(JSON.stringify({ ok: true, items: 'k'.repeat(1000) }).slice(0, 1024));
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    const answer = req.url?.startsWith('/kb') ? kb : body;
    // `delay=<ms>`: a service that takes that long to answer, as real ones do.
    const delay = Number(/[?&]delay=(\d+)/.exec(req.url ?? '')?.[1] ?? 0);
    const send = () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': answer.length });
      res.end(answer);
    };
    if (delay > 0) setTimeout(send, delay);
    else send();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  process.send?.({ port: server.address().port });
  if (!process.send) console.log(server.address().port);
});
