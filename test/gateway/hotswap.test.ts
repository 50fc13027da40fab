/**
 * Plugin versions swapped through the admin API under continuous load: a
 * real gateway and upstream, eight concurrent clients looping for about
 * three seconds while the API moves from one plugin version to the next
 * (each sets a different x-plugin-version header). Zero non-2xx answers,
 * zero connection errors; each client sees versions only move forward; a
 * version the pipeline refuses, or one that lacks the export, never
 * replaces the working one.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../gateway/app.ts';
import { classicApi, startTestApp, startUpstream, type Upstream } from '../harness/gateway.ts';
import { pluginModule } from '../harness/versioned-plugin.ts';
import { wat } from '../harness/wat.ts';

const SECRET = 'hotswap-admin-secret-0123456789';

let up: Upstream;
let app: App;
let dir: string;

async function admin(method: string, path: string, body?: Uint8Array | object) {
  const raw = body instanceof Uint8Array;
  const res = await fetch(`http://127.0.0.1:${app.adminPort}${path}`, {
    method,
    headers: {
      'x-tyk-authorization': SECRET,
      ...(body && { 'content-type': raw ? 'application/wasm' : 'application/json' }),
    },
    body: body ? (raw ? new Uint8Array(body) : JSON.stringify(body)) : undefined,
  });
  return { status: res.status, json: (await res.json()) as { error?: string } };
}

const apiUsing = (ref: string) => ({
  ...classicApi('swap', up.url),
  custom_middleware: { driver: 'wasm', pre: [{ name: 'run', path: ref }] },
});

beforeAll(async () => {
  up = await startUpstream();
  dir = await mkdtemp(join(tmpdir(), 'wasmgate-hotswap-'));
  app = await startTestApp({
    dataDir: dir,
    adminSecret: SECRET,
    analytics: false,
    // The looping start function below must run out of fuel well inside the start deadline
    // however busy the machine is (otherwise it is START_TIMEOUT, a refusal too).
    limits: { fuelForInit: 50_000_000 },
  });
}, 60_000);
afterAll(async () => {
  await app?.close();
  await up?.close();
  await rm(dir, { recursive: true, force: true });
});

interface Sample {
  client: number;
  start: number;
  status: number;
  version: string | undefined;
}

describe('hot swap under load', () => {
  it('drops no request while plugin versions change, and never swaps in a broken one', async () => {
    expect((await admin('POST', '/tyk/plugins/hs/1', pluginModule('v1'))).status).toBe(201);
    expect((await admin('POST', '/tyk/apis', apiUsing('hs@1'))).status).toBe(201);

    const pool = new Pool(`http://127.0.0.1:${app.port}`, { connections: 8, pipelining: 1 });
    const samples: Sample[] = [];
    const errors: string[] = [];
    let running = true;
    const client = async (id: number) => {
      while (running) {
        const start = performance.now();
        try {
          const res = await pool.request({ method: 'GET', path: `/swap/load/${id}` });
          const body = (await res.body.json()) as { headers?: Record<string, string> };
          samples.push({ client: id, start, status: res.statusCode, version: body.headers?.['x-plugin-version'] });
        } catch (err) {
          errors.push((err as Error).message);
        }
      }
    };
    const load = Promise.all(Array.from({ length: 8 }, (_, i) => client(i)));
    const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

    const swappedAt: { version: string; at: number }[] = [];
    try {
      await pause(300);
      for (let v = 2; v <= 6; v++) {
        expect((await admin('POST', `/tyk/plugins/hs/${v}`, pluginModule(`v${v}`))).status).toBe(201);
        const put = await admin('PUT', '/tyk/apis/swap', apiUsing(`hs@${v}`));
        expect(put.status, JSON.stringify(put.json)).toBe(200);
        swappedAt.push({ version: `v${v}`, at: performance.now() });
        await pause(350);
      }
      // Refused by the pipeline: never stored, so the API cannot move to it.
      const refused = await admin('POST', '/tyk/plugins/hs/7', wat('loop-start'));
      expect(refused.status).toBe(422);
      expect(refused.json.error).toBe('START_FAILED');
      const toRefused = await admin('PUT', '/tyk/apis/swap', apiUsing('hs@7'));
      expect(toRefused.status).toBe(422);
      // Accepted by the pipeline but without the export: the API update is refused.
      expect((await admin('POST', '/tyk/plugins/hs/8', wat('echo-fast'))).status).toBe(201);
      const toNoExport = await admin('PUT', '/tyk/apis/swap', apiUsing('hs@8'));
      expect(toNoExport.status).toBe(422);
      expect(toNoExport.json.error).toBe('EXPORT_NOT_FOUND');
      const afterBroken = performance.now();
      await pause(500);
      running = false;
      await load;

      expect(errors).toEqual([]);
      const failed = samples.filter((s) => s.status < 200 || s.status > 299);
      expect(failed).toEqual([]);
      expect(samples.length).toBeGreaterThan(100);

      const seen = new Set(samples.map((s) => s.version));
      expect([...seen].sort()).toEqual(['v1', 'v2', 'v3', 'v4', 'v5', 'v6']);
      // Per client (sequential requests), versions only move forward.
      for (let c = 0; c < 8; c++) {
        const versions = samples.filter((s) => s.client === c).map((s) => Number(s.version!.slice(1)));
        for (let i = 1; i < versions.length; i++) expect(versions[i]).toBeGreaterThanOrEqual(versions[i - 1]!);
      }
      // A request that started after a swap answered never runs an older version.
      for (const { version, at } of swappedAt) {
        const stale = samples.filter((s) => s.start > at && Number(s.version!.slice(1)) < Number(version.slice(1)));
        expect(stale).toEqual([]);
      }
      // After the refused updates, everything is still served by v6.
      const tail = samples.filter((s) => s.start > afterBroken);
      expect(tail.length).toBeGreaterThan(10);
      expect(new Set(tail.map((s) => s.version))).toEqual(new Set(['v6']));
    } finally {
      running = false;
      await load;
      await pool.close();
    }
  }, 30_000);
});
