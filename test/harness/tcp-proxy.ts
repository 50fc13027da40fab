/**
 * A loopback TCP proxy that can delay every chunk in both directions, for
 * a slow dependency (a Redis that answers late) without touching it.
 *
 *   const proxy = await TcpProxy.start(redis.port);
 *   proxy.delayMs = 3_000;   // from now on, every chunk waits 3 s
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export class TcpProxy {
  delayMs = 0;
  readonly #sockets = new Set<Socket>();

  private constructor(
    readonly server: Server,
    readonly port: number,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(targetPort: number): Promise<TcpProxy> {
    let proxy: TcpProxy | null = null;
    const server = createServer((client) => {
      const upstream = connect(targetPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        proxy!.#sockets.add(s);
        s.on('close', () => proxy!.#sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      const pipe = (from: Socket, to: Socket) =>
        from.on('data', (chunk) => {
          const d = proxy!.delayMs;
          if (d === 0) to.write(chunk);
          else setTimeout(() => to.writable && to.write(chunk), d);
        });
      pipe(client, upstream);
      pipe(upstream, client);
      client.on('end', () => upstream.end());
      upstream.on('end', () => client.end());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    proxy = new TcpProxy(server, (server.address() as { port: number }).port);
    return proxy;
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
