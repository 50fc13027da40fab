/**
 * Infrastructure faults under load: Redis slowed past its command timeout
 * and Redis restarted, while clients keep sending (keyed requests get 503,
 * never 401/403 and never a hang; keyless ones pass; both recover by
 * themselves); and SIGTERM with requests in flight (they finish, analytics
 * is flushed, exit 0). Upstream refusing, slow and resetting are in
 * test/gateway/chain.test.ts; Redis down for analytics in
 * test/gateway/analytics.test.ts; a plugin swapped under load in
 * test/gateway/hotswap.test.ts.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashKey } from '../../gateway/sessions/credentials.ts';
import { classicApi, startGateway, startUpstream, type TestGateway, type Upstream } from '../harness/gateway.ts';
import { freePort, RedisServer, redisAvailable } from '../harness/redis.ts';
import { TcpProxy } from '../harness/tcp-proxy.ts';

const redis = redisAvailable();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let up: Upstream;
beforeAll(async () => {
  up = await startUpstream();
});
afterAll(async () => {
  await up?.close();
});

interface Tally {
  statuses: Map<number, number>;
  errors: number;
  slowest: number;
}

/** Clients looping on `path` until stopped; statuses, connection errors and the slowest answer. */
function traffic(base: string, path: string, headers: Record<string, string>, workers = 4) {
  const agent = new Agent({ connections: workers });
  const tally: Tally = { statuses: new Map(), errors: 0, slowest: 0 };
  let running = true;
  const loops = Array.from({ length: workers }, async () => {
    while (running) {
      const started = Date.now();
      try {
        const res = await request(`${base}${path}`, { dispatcher: agent, headers });
        await res.body.dump();
        tally.statuses.set(res.statusCode, (tally.statuses.get(res.statusCode) ?? 0) + 1);
      } catch {
        tally.errors++;
      }
      tally.slowest = Math.max(tally.slowest, Date.now() - started);
      await sleep(10);
    }
  });
  return {
    tally,
    /** Resets the tally (a new window). */
    window(): Tally {
      const snapshot = { statuses: new Map(tally.statuses), errors: tally.errors, slowest: tally.slowest };
      tally.statuses.clear();
      tally.errors = 0;
      tally.slowest = 0;
      return snapshot;
    },
    async stop() {
      running = false;
      await Promise.all(loops);
      await agent.close();
    },
  };
}

const only = (t: Tally, ...codes: number[]) => [...t.statuses.keys()].every((s) => codes.includes(s));

describe.skipIf(!redis.ok)('Redis faults under load', () => {
  let server: RedisServer;
  let proxy: TcpProxy;
  let gw: TestGateway;

  beforeAll(async () => {
    // Durable, so the key written before the restart is there after it.
    server = await RedisServer.start(['--appendonly', 'yes', '--appendfsync', 'always']);
    proxy = await TcpProxy.start(server.port);
    gw = await startGateway({
      apis: [classicApi('keyed', up.url, { use_keyless: false }), classicApi('open', up.url)],
      settings: { redisUrl: proxy.url, analytics: false },
    });
    await gw.gateway.store.putSession(hashKey('fault-key'), { rate: 1e9, per: 1, quota_max: -1 }, 0);
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
    await proxy?.close();
    await server?.close();
  });

  it('slowed past the command timeout: keyed requests get 503 quickly, keyless pass, all recover', async () => {
    const keyed = traffic(gw.url, '/keyed/x', { authorization: 'fault-key' });
    const open = traffic(gw.url, '/open/x', {});
    try {
      await sleep(500);
      const before = keyed.window();
      expect(before.statuses.get(200)).toBeGreaterThan(0);
      expect(only(before, 200)).toBe(true);
      open.window();

      proxy.delayMs = 3_000; // past the store's 1 s command timeout
      await sleep(3_000);
      const slow = keyed.window();
      const openSlow = open.window();
      // Bounded: an answer within the command timeout and a little, never the 3 s delay or a hang.
      expect(slow.slowest).toBeLessThan(2_500);
      expect(slow.statuses.get(503)).toBeGreaterThan(0);
      expect(only(slow, 200, 503)).toBe(true); // never 401/403: a slow store is not a bad key
      expect(slow.errors).toBe(0);
      expect(only(openSlow, 200)).toBe(true);
      expect(openSlow.errors).toBe(0);

      proxy.delayMs = 0;
      const deadline = Date.now() + 15_000;
      let recovered = false;
      while (!recovered && Date.now() < deadline) {
        await sleep(500);
        const w = keyed.window();
        recovered = (w.statuses.get(200) ?? 0) > 0 && only(w, 200);
      }
      expect(recovered).toBe(true);
    } finally {
      await keyed.stop();
      await open.stop();
    }
  }, 60_000);

  it('stopped and restarted under load: 503 while down, never 401/403, recovers by itself', async () => {
    const keyed = traffic(gw.url, '/keyed/y', { authorization: 'fault-key' });
    const open = traffic(gw.url, '/open/y', {});
    try {
      await sleep(300);
      keyed.window();
      open.window();
      await server.stop();
      await sleep(1_500);
      const down = keyed.window();
      const openDown = open.window();
      expect(down.statuses.get(503)).toBeGreaterThan(0);
      expect(only(down, 200, 503)).toBe(true);
      expect(down.slowest).toBeLessThan(4_000);
      expect(only(openDown, 200)).toBe(true);
      expect(openDown.errors).toBe(0);

      await server.resume();
      const deadline = Date.now() + 20_000;
      let recovered = false;
      while (!recovered && Date.now() < deadline) {
        await sleep(500);
        const w = keyed.window();
        recovered = (w.statuses.get(200) ?? 0) > 0 && only(w, 200);
      }
      expect(recovered).toBe(true);
    } finally {
      await keyed.stop();
      await open.stop();
    }
  }, 60_000);
});

describe('SIGTERM with requests in flight', () => {
  it('stops accepting, lets in-flight requests finish, flushes their analytics and exits 0', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wasmgate-sigterm-'));
    const apis = join(dir, 'apis');
    await (await import('node:fs/promises')).mkdir(apis);
    await writeFile(join(apis, 'slow.json'), JSON.stringify(classicApi('slow', up.url)));
    const [port, admin] = [await freePort(), await freePort()];
    const child = spawn(
      process.execPath,
      [
        resolve(import.meta.dirname, '..', '..', 'bin', 'wasmgate.js'),
        'start',
        '--demo=false',
        '--port',
        String(port),
        '--admin-port',
        String(admin),
        '--apis-dir',
        apis,
        '--data-dir',
        join(dir, 'data'),
        '--log-level',
        'warn',
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, WASMGATE_ADMIN_SECRET: 'sigterm-secret-0123456789' },
      },
    );
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      const deadline = Date.now() + 120_000;
      while (!out.includes('listening on') && Date.now() < deadline) await sleep(100);
      expect(out).toContain('listening on');
      // Five requests the upstream holds for 1.5 s each, then SIGTERM while they are in flight.
      const inflight = Array.from({ length: 5 }, (_, i) =>
        fetch(`http://127.0.0.1:${port}/slow/slow/1500?i=${i}`).then(async (r) => ({
          status: r.status,
          body: await r.text(),
        })),
      );
      await sleep(400);
      child.kill('SIGTERM');
      await sleep(200);
      // Not accepting any more: a new connection is refused or answered 503 while draining.
      const late = await fetch(`http://127.0.0.1:${port}/slow/x`).then(
        (r) => r.status,
        () => 'refused',
      );
      expect([503, 'refused']).toContain(late);
      const answers = await Promise.all(inflight);
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
      expect(answers.every((a) => a.body === 'slow')).toBe(true);
      expect(await exited).toBe(0);
      const adir = join(dir, 'data', 'analytics');
      const records = (await Promise.all((await readdir(adir)).map((f) => readFile(join(adir, f), 'utf8'))))
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l));
      expect(records.filter((r) => r.api_id === 'slow' && r.response_code === 200)).toHaveLength(5);
    } finally {
      child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
