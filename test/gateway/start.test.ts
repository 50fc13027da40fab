/**
 * `wasmgate start` as a user runs it: a child process with the demo
 * (upstream, example APIs, example plugins built from source), answering
 * the curl lines it prints, and stopping cleanly on SIGTERM.
 */
import { spawn } from 'node:child_process';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../harness/redis.ts';

const BIN = resolve(import.meta.dirname, '..', '..', 'bin', 'wasmgate.js');

describe('wasmgate start', () => {
  it('serves the demo APIs through every hook and exits 0 on SIGTERM', async () => {
    const [port, upstream, admin] = [await freePort(), await freePort(), await freePort()];
    const child = spawn(
      process.execPath,
      [
        BIN,
        'start',
        '--port',
        String(port),
        '--demo-upstream-port',
        String(upstream),
        '--admin-port',
        String(admin),
        '--log-level',
        'warn',
        '--data-dir',
        `/tmp/wasmgate-start-${port}`,
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      const deadline = Date.now() + 120_000;
      while (!out.includes('listening on') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(out).toContain(`wasmgate listening on http://localhost:${port} (2 APIs)`);
      expect(out).toContain('curl -i');
      const res = await fetch(`http://127.0.0.1:${port}/demo/anything?x=1`);
      expect(res.status).toBe(200);
      const echoed = await res.json();
      expect(echoed.headers['x-wasmgate-trace']).toBe('pre, post_auth, post');
      expect(res.headers.getSetCookie()).toHaveLength(2);
      const hello = await fetch(`http://127.0.0.1:${port}/demo/hello?name=Zo%C3%AB`);
      expect(await hello.json()).toEqual({ hello: 'Zoë', path: '/hello' });
      const secure = await fetch(`http://127.0.0.1:${port}/secure/anything`, {
        headers: { authorization: 'Bearer demo-token' },
      });
      expect((await secure.json()).headers['x-user']).toBe('alice');
      expect((await fetch(`http://127.0.0.1:${port}/secure/anything`)).status).toBe(401);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    // Every request was recorded, and the buffer was flushed before the process exited.
    const dir = `/tmp/wasmgate-start-${port}/analytics`;
    const lines = (await Promise.all((await readdir(dir)).map((f) => readFile(join(dir, f), 'utf8'))))
      .join('')
      .split('\n')
      .filter(Boolean);
    const apis = lines.map((l) => JSON.parse(l).api_id);
    expect(apis.filter((a) => a === 'demo-keyless').length).toBeGreaterThanOrEqual(2);
    expect(apis.filter((a) => a === 'demo-auth').length).toBeGreaterThanOrEqual(2);
    await rm(`/tmp/wasmgate-start-${port}`, { recursive: true, force: true });
  }, 180_000);

  it('--help lists the settings and environment variables', async () => {
    const child = spawn(process.execPath, [BIN, 'start', '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const code = await new Promise((r) => child.on('exit', r));
    expect(code).toBe(0);
    for (const s of ['--port', '--apis-dir', '--data-dir', 'WASMGATE_PORT', 'REDIS_URL', 'WASMGATE_LIMIT_'])
      expect(out).toContain(s);
  });

  it('a bad setting exits 2 naming it', async () => {
    const child = spawn(process.execPath, [BIN, 'start', '--port', '99999'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    expect(await new Promise((r) => child.on('exit', r))).toBe(2);
    expect(err).toMatch(/port/);
  });
});
