/**
 * The seed's example definitions (test/fixtures/apis) load into a running
 * gateway with real plugins behind their paths, and serve traffic.
 */
import { copyFile, mkdir, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseApiDefinition } from '../../gateway/config/load.ts';
import {
  FIXTURES,
  probeWasm,
  startGateway,
  startUpstream,
  type TestGateway,
  type Upstream,
} from '../harness/gateway.ts';

let gw: TestGateway;
let up: Upstream;
let dir: string;

const load = async (file: string) => JSON.parse(await readFile(join(FIXTURES, 'apis', file), 'utf8'));
const bundleMiddleware = async () =>
  JSON.parse(await readFile(join(FIXTURES, 'bundles', 'bundle.zip.manifest.json'), 'utf8')).custom_middleware;

beforeAll(async () => {
  up = await startUpstream();
  gw = await startGateway({ plugins: ['probe'] });
  // The plugin paths the definitions name, relative to their directory.
  dir = await mkdtemp(join(tmpdir(), 'wasmgate-seed-'));
  const wasm = await probeWasm();
  for (const rel of ['middleware/middleware.wasm', 'middleware/myPlugin.wasm', 'plugins/example-plugin.wasm']) {
    await mkdir(join(dir, rel, '..'), { recursive: true });
    await copyFile(wasm, join(dir, rel));
  }
  await gw.gateway.registry.register('bundle.zip', '1.0.0', await readFile(wasm));
  const bundle = await bundleMiddleware();
  const specs = [];
  for (const file of [
    'classic-id-extractor.json',
    'classic-response-hook.json',
    'oas-post-plugins.json',
    'classic-go-plugin-endpoint.json',
    'classic-analytics-plugin.json',
  ]) {
    const doc = await load(file);
    // Only the upstream changes for the test (no outside network here): httpbin.org → the loopback upstream.
    const text = JSON.stringify(doc)
      .replaceAll('http://httpbin.org/', `${up.url}/`)
      .replaceAll('http://httpbin.org', up.url);
    specs.push(
      parseApiDefinition(JSON.parse(text), file, {
        bundleMiddleware: (n) => (n === 'bundle.zip' ? bundle : undefined),
      }),
    );
  }
  gw.gateway.swap(await gw.gateway.load(specs, dir));
}, 300_000);

afterAll(async () => {
  await gw?.close();
  await up?.close();
});

describe('the seed example definitions serve traffic', () => {
  it("the ID-extractor API authenticates through the bundle's auth_check", async () => {
    const res = await fetch(`${gw.url}/test-api/get`, { headers: { authorization: 'secret-1' } });
    expect(res.status).toBe(200);
    expect(up.last().headers['x-wasmgate-trace']).toBe('auth');
  });

  it('the response hook runs on the way back', async () => {
    const res = await fetch(`${gw.url}/response-hook/get`);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-wasmgate-trace')).toBe('response');
  });

  it('the OAS postPlugins run for GET /anything only', async () => {
    await (await fetch(`${gw.url}/example-endpoint-plugin/anything`)).text();
    expect(up.last().headers['x-wasmgate-trace']).toBe('endpoint');
    await (await fetch(`${gw.url}/example-endpoint-plugin/other`)).text();
    expect(up.last().headers['x-wasmgate-trace']).toBeUndefined();
  });

  it('the Classic go_plugin endpoint runs for GET /anything only', async () => {
    await (await fetch(`${gw.url}/endpoint-plugin/anything`)).text();
    expect(up.last().headers['x-wasmgate-trace']).toBe('endpoint');
    await (await fetch(`${gw.url}/endpoint-plugin/anything`, { method: 'POST', body: 'x' })).text();
    expect(up.last().headers['x-wasmgate-trace']).toBeUndefined();
  });

  it('the analytics-plugin API is loaded with its plugin bound', async () => {
    const api = gw.gateway.api('analytics-plugin')!;
    expect(api.analytics?.exportName).toBe('MaskAnalyticsData');
    expect((await fetch(`${gw.url}/httpbin/get`)).status).toBe(200);
  });
});
