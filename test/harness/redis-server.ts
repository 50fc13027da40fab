/**
 * Real redis-server processes for the tests and benchmarks, each on a free
 * loopback port in its own temporary directory: a single server, or a
 * 3-master Cluster created with `redis-cli --cluster create`. No vitest
 * here, so bench scripts can use it; test/harness/redis.ts adds the skip.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

async function ping(port: number): Promise<string> {
  const { stdout } = await run('redis-cli', ['-p', String(port), 'ping'], { timeout: 2_000 });
  return stdout.trim();
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export class RedisServer {
  #proc: ChildProcess | null = null;

  private constructor(
    readonly port: number,
    readonly dir: string,
    readonly extraArgs: string[],
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(extraArgs: string[] = []): Promise<RedisServer> {
    const dir = await mkdtemp(join(tmpdir(), 'wasmgate-redis-'));
    const server = new RedisServer(await freePort(), dir, extraArgs);
    await server.resume();
    return server;
  }

  /** Starts (again) on the same port. */
  async resume(): Promise<void> {
    if (this.#proc) return;
    this.#proc = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        this.dir,
        ...this.extraArgs,
      ],
      { stdio: 'ignore' },
    );
    await waitFor(async () => (await ping(this.port)) === 'PONG', `redis-server on ${this.port}`);
  }

  /** Stops the server (the port stays reserved for resume()). */
  async stop(): Promise<void> {
    const proc = this.#proc;
    if (!proc) return;
    this.#proc = null;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await exited;
  }

  async close(): Promise<void> {
    await this.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}

export class RedisCluster {
  private constructor(readonly nodes: RedisServer[]) {}

  get nodeList(): string[] {
    return this.nodes.map((n) => `127.0.0.1:${n.port}`);
  }

  static async start(masters = 3): Promise<RedisCluster> {
    const nodes: RedisServer[] = [];
    for (let i = 0; i < masters; i++) {
      nodes.push(
        await RedisServer.start([
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          'nodes.conf',
          '--cluster-node-timeout',
          '2000',
        ]),
      );
    }
    const cluster = new RedisCluster(nodes);
    await run('redis-cli', ['--cluster', 'create', ...cluster.nodeList, '--cluster-replicas', '0', '--cluster-yes'], {
      timeout: 30_000,
    });
    await waitFor(
      async () => {
        for (const n of nodes) {
          const { stdout } = await run('redis-cli', ['-p', String(n.port), 'cluster', 'info'], { timeout: 2_000 });
          if (!stdout.includes('cluster_state:ok')) return false;
        }
        return true;
      },
      'cluster_state:ok',
      20_000,
    );
    return cluster;
  }

  async close(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.close()));
  }
}
