// Peer: fastify + @fastify/http-proxy in front of the same upstream.
import proxy from '@fastify/http-proxy';
import Fastify from 'fastify';

const upstream = `http://127.0.0.1:${process.argv[2]}`;
const app = Fastify({ logger: false });
await app.register(proxy, { upstream, prefix: '/', http: { agentOptions: { keepAlive: true } } });
await app.listen({ port: 0, host: '127.0.0.1' });
process.send?.({ port: app.server.address().port });
