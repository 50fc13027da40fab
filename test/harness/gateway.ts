/**
 * Real gateways and upstreams on loopback for the integration tests.
 *
 *   const up = await startUpstream();
 *   const gw = await startGateway({ apis: [def], plugins: ['probe', 'pre-enrich'] });
 *   const res = await fetch(`${gw.url}/api/x`);
 */

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type App, createGateway, openStore, startApp } from '../../gateway/app.ts';
import { parseApiDefinition } from '../../gateway/config/load.ts';
import type { Gateway } from '../../gateway/gateway.ts';
import { createLogger } from '../../gateway/log.ts';
import { loadSettings, type Settings } from '../../gateway/settings.ts';
import { buildPlugin } from '../../pdk/build.ts';
import { buildTsExamples } from './examples.ts';

export const FIXTURES = resolve(import.meta.dirname, '..', 'fixtures');

let probe: Promise<string> | null = null;
/** The probe test plugin (test/fixtures/plugins/probe), built once per process. */
export function probeWasm(): Promise<string> {
  probe ??= buildPlugin(join(FIXTURES, 'plugins', 'probe')).then((r) => r.file);
  return probe;
}

export interface SeenRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  rawHeaders: string[];
  body: Buffer;
}

export interface Upstream {
  url: string;
  port: number;
  seen: SeenRequest[];
  last(): SeenRequest;
  close(): Promise<void>;
}

/**
 * A loopback upstream: echoes the request as JSON, except
 * `/status/<code>`, `/slow/<ms>`, `/reset` (destroys the socket mid-body),
 * `/cookies` (two Set-Cookie), `/redirect` (internal Location),
 * `/hop` (hop-by-hop headers in the answer), `/big/<bytes>`.
 */
export async function startUpstream(): Promise<Upstream> {
  const seen: SeenRequest[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://upstream');
      const body = Buffer.concat(chunks);
      seen.push({
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body,
      });
      const parts = url.pathname.split('/').filter(Boolean);
      const last = parts[parts.length - 1] ?? '';
      const echo = () =>
        JSON.stringify({
          method: req.method,
          path: url.pathname,
          query: url.search,
          headers: req.headers,
          body: body.toString('utf8'),
          body_bytes: body.length,
        });
      if (parts.includes('status')) {
        res.writeHead(Number(last) || 200, { 'content-type': 'text/plain' });
        res.end(`status ${last}`);
      } else if (parts.includes('slow')) {
        setTimeout(() => {
          if (!res.destroyed) res.end('slow');
        }, Number(last) || 1000);
      } else if (last === 'reset') {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '1000' });
        res.write('partial');
        setTimeout(() => res.socket?.destroy(), 20);
      } else if (last === 'cookies') {
        res.writeHead(
          200,
          [
            ['content-type', 'text/plain'],
            ['set-cookie', 'a=1'],
            ['set-cookie', 'b=2'],
          ].flat() as never,
        );
        res.end('cookies');
      } else if (last === 'redirect') {
        res.writeHead(302, { location: 'http://internal.local/welcome', 'content-type': 'text/plain' });
        res.end('moved');
      } else if (last === 'hop') {
        res.writeHead(200, {
          'content-type': 'text/plain',
          connection: 'keep-alive, x-secret-hop',
          'x-secret-hop': 'leak',
          'keep-alive': 'timeout=5',
          'proxy-authenticate': 'Basic',
        });
        res.end('hop');
      } else if (parts.includes('big')) {
        const n = Number(last) || 1024;
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(n) });
        res.end(Buffer.alloc(n, 120));
      } else {
        const text = echo();
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) });
        res.end(text);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    seen,
    last: () => seen[seen.length - 1]!,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export interface TestGateway {
  gateway: Gateway;
  url: string;
  port: number;
  settings: Readonly<Settings>;
  dataDir: string;
  close(): Promise<void>;
}

export interface GatewayOptions {
  /** API definitions (Classic or OAS documents). */
  apis?: unknown[];
  /** Plugins to register: TypeScript example folder names, or 'probe'. Registered as name@1.0.0. */
  plugins?: string[];
  settings?: Partial<Settings>;
  env?: NodeJS.ProcessEnv;
}

export async function startGateway(opts: GatewayOptions = {}): Promise<TestGateway> {
  const dataDir = await mkdtemp(join(tmpdir(), 'wasmgate-gw-'));
  const settings = await loadSettings({
    env: opts.env ?? {},
    overrides: { host: '127.0.0.1', port: 0, demo: false, dataDir, logLevel: 'silent', ...opts.settings },
  });
  const logger = createLogger(settings.logLevel);
  const store = await openStore(settings, logger);
  const gateway = createGateway(settings, store, logger);
  await gateway.reloadPolicies().catch(() => {});
  try {
    const examples = opts.plugins?.some((p) => p !== 'probe') ? await buildTsExamples() : null;
    for (const name of opts.plugins ?? []) {
      const file = name === 'probe' ? await probeWasm() : examples?.get(name)?.wasm;
      if (!file) throw new Error(`no test plugin named ${name}`);
      await gateway.registry.register(name, '1.0.0', await readFile(file));
    }
    const specs = (opts.apis ?? []).map((doc, i) => parseApiDefinition(doc, `api[${i}]`));
    gateway.swap(await gateway.load(specs, FIXTURES));
    const { port } = await gateway.listen();
    return {
      gateway,
      url: `http://127.0.0.1:${port}`,
      port,
      settings,
      dataDir,
      close: async () => {
        await gateway.close(2_000);
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await gateway.close(0).catch(() => {});
    throw err;
  }
}

/** A keyless Classic definition with the given custom_middleware and extras. */
/**
 * A whole gateway as `wasmgate start` builds it — proxy and admin API on
 * free loopback ports, no demo, silent — with `overrides` on top (a fresh
 * data directory unless one is given). For tests of the admin API.
 */
export async function startTestApp(
  overrides: Parameters<typeof loadSettings>[0]['overrides'] & { adminSecret: string },
): Promise<App> {
  const settings = await loadSettings({
    env: {},
    overrides: {
      host: '127.0.0.1',
      port: 0,
      adminHost: '127.0.0.1',
      adminPort: 0,
      demo: false,
      dataDir: overrides.dataDir ?? (await mkdtemp(join(tmpdir(), 'wasmgate-app-'))),
      logLevel: 'silent',
      ...overrides,
    },
  });
  return startApp(settings, createLogger('silent'));
}

/** Tyk Classic per-endpoint plugins: the `extended_paths.go_plugin` entries of the default version. */
export function endpointPlugins(rules: Record<string, unknown>[]): { version_data: Record<string, unknown> } {
  return {
    version_data: {
      not_versioned: true,
      versions: { Default: { name: 'Default', extended_paths: { go_plugin: rules } } },
    },
  };
}

export function classicApi(id: string, target: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    api_id: id,
    org_id: 'test',
    name: `API ${id}`,
    use_keyless: true,
    proxy: { listen_path: `/${id}/`, target_url: target, strip_listen_path: true },
    ...extra,
  };
}
