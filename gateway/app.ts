/**
 * Assembles a running gateway from settings: the runtime, routing, the
 * proxy, the demo upstream and example plugins when asked, the API
 * definitions from the data and definitions directories, and the listeners.
 * `wasmgate start` and the integration tests both start gateways this way.
 */

import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createAdminServer } from './admin/server.ts';
import type { ApiSpec } from './config/api-spec.ts';
import { loadDefinitionsDir, parseApiDefinition } from './config/load.ts';
import { normalisePath } from './config/paths.ts';
import { Gateway } from './gateway.ts';
import type { Logger } from './log.ts';
import { Forwarder } from './proxy/forward.ts';
import { buildRouter } from './routing/router.ts';
import type { Settings } from './settings.ts';
import { MemoryStore } from './store/memory.ts';
import { RedisStore } from './store/redis.ts';
import type { Store } from './store/store.ts';

const here = dirname(fileURLToPath(import.meta.url));
export const DEMO_APIS_DIR = join(here, 'demo', 'apis');
export const TS_EXAMPLES_DIR = resolve(here, '..', 'plugins-examples', 'ts');

export interface App {
  readonly gateway: Gateway;
  readonly port: number;
  /** The admin API's port. */
  readonly adminPort: number;
  /** The admin secret when none was configured (generated at start); null when configured. */
  readonly generatedSecret: string | null;
  /** Where the demo upstream listens, when the demo runs. */
  readonly demoUpstreamPort: number | null;
  close(graceMs?: number): Promise<void>;
}

/** The store the settings ask for: Redis (or a Cluster) when configured, else embedded. */
export async function openStore(settings: Readonly<Settings>, logger?: Logger): Promise<Store> {
  if (settings.redisUrl || settings.redisClusterNodes.length) {
    let lastState = '';
    const store = new RedisStore({
      url: settings.redisUrl,
      clusterNodes: settings.redisClusterNodes,
      onState: (state, detail) => {
        // One line per change of state, not one per failed retry.
        if (state === lastState) return;
        lastState = state;
        if (state === 'ready') logger?.info({ store: store.kind }, 'redis connected');
        else
          logger?.error(
            { store: store.kind, detail },
            'redis unavailable: authenticated requests answer 503 until it is back',
          );
      },
    });
    // Wait briefly for the first connection; a Redis that is down at start is
    // reported (readiness 503, authenticated requests 503) and retried, never replaced by memory.
    await store
      .connected(3_000)
      .catch((err: Error) =>
        logger?.error(
          { store: store.kind, err: err.message },
          'redis unavailable at start; retrying in the background',
        ),
      );
    return store;
  }
  return MemoryStore.open(settings.dataDir);
}

export function createGateway(settings: Readonly<Settings>, store: Store, logger?: Logger): Gateway {
  const forwarder = new Forwarder({
    connectTimeoutMs: settings.upstreamConnectTimeoutMs,
    timeoutMs: settings.upstreamTimeoutMs,
    connections: settings.upstreamConnections,
    trustedProxies: settings.trustedProxies,
    maxBodyBytes: settings.maxBodyBytes,
  });
  return new Gateway(
    settings,
    {
      normalisePath,
      buildRouter,
      forward: (ctx, api, query) => forwarder.forward(ctx, api, query),
      clientIp: (req) => forwarder.clientIp(req),
      close: () => forwarder.close(),
    },
    store,
    { logger },
  );
}

/** The demo definitions, pointed at the demo upstream and the gateway's own port. */
async function demoSpecs(upstreamPort: number, gatewayPort: number): Promise<ApiSpec[]> {
  const specs: ApiSpec[] = [];
  for (const file of (await readdir(DEMO_APIS_DIR)).filter((f) => f.endsWith('.json')).sort()) {
    const text = (await readFile(join(DEMO_APIS_DIR, file), 'utf8'))
      .replaceAll('127.0.0.1:8089', `127.0.0.1:${upstreamPort}`)
      .replaceAll('localhost:8080', `localhost:${gatewayPort}`);
    specs.push(parseApiDefinition(JSON.parse(text), file));
  }
  return specs;
}

export async function startApp(settings: Readonly<Settings>, logger?: Logger): Promise<App> {
  const store = await openStore(settings, logger);
  const gateway = createGateway(settings, store, logger);
  await gateway
    .reloadPolicies()
    .catch((err) => logger?.error({ err: (err as Error).message }, 'policies could not be read'));
  let demo: Server | null = null;
  try {
    const specs: { spec: ApiSpec; baseDir: string }[] = [];
    if (settings.demo) {
      const { startDemoUpstream } = await import('./demo/upstream.ts');
      const { registerTsExamples } = await import('./demo/examples.ts');
      demo = await startDemoUpstream(settings.demoUpstreamPort);
      const addr = demo.address();
      const upstreamPort = typeof addr === 'object' && addr ? addr.port : settings.demoUpstreamPort;
      await registerTsExamples(gateway.registry, TS_EXAMPLES_DIR);
      for (const spec of await demoSpecs(upstreamPort, settings.port)) specs.push({ spec, baseDir: DEMO_APIS_DIR });
    }
    if (settings.apisDir) {
      for (const spec of await loadDefinitionsDir(settings.apisDir)) specs.push({ spec, baseDir: settings.apisDir });
    }
    const loaded = [];
    for (const { spec, baseDir } of specs) loaded.push(...(await gateway.load([spec], baseDir)));
    gateway.swap(loaded);

    // What the admin API stored: plugins first, then the APIs that use them.
    const dataDir = resolve(settings.dataDir);
    const reloadAll = () => restoreFromStore(gateway, store, dataDir, logger);
    await reloadAll();

    // The admin secret: configured, or generated and printed (never in production).
    let secret = settings.adminSecret;
    let generatedSecret: string | null = null;
    if (!secret) {
      if (settings.production)
        throw new Error(
          'production mode needs an admin secret (adminSecret / WASMGATE_ADMIN_SECRET); refusing to start without one',
        );
      secret = generatedSecret = randomBytes(24).toString('base64url');
    }
    const notice = `reload:${randomBytes(6).toString('hex')}`;
    let pending: Promise<void> | null = null;
    await store
      .subscribe((message) => {
        if (!message.startsWith('reload') || message === notice || pending) return;
        pending = reloadAll()
          .catch((err: Error) => logger?.error({ err: err.message }, 'reload from the store failed'))
          .finally(() => (pending = null));
      })
      .catch((err: Error) => logger?.error({ err: err.message }, 'cannot subscribe to reload notices'));
    const admin = createAdminServer({ gateway, store, secret, baseDir: dataDir, reloadAll, notice });
    await admin.listen({ host: settings.adminHost, port: settings.adminPort });
    const adminPort = (admin.server.address() as { port: number }).port;
    gateway.ownPorts.push(adminPort);
    const { port } = await gateway.listen();
    const demoPort = demo ? ((demo.address() as { port: number }).port ?? null) : null;
    return {
      gateway,
      port,
      adminPort,
      generatedSecret,
      demoUpstreamPort: demoPort,
      close: async (graceMs?: number) => {
        await admin.close();
        await gateway.close(graceMs);
        if (demo) await new Promise<void>((r) => demo!.close(() => r()));
      },
    };
  } catch (err) {
    await gateway.close(0).catch(() => {});
    if (demo) demo.close();
    throw err;
  }
}

/**
 * Applies what the store holds: every uploaded plugin version not yet
 * registered, then every stored API definition (each loads on its own; one
 * that fails is logged and the running version, if any, keeps serving).
 */
export async function restoreFromStore(
  gateway: Gateway,
  store: Store,
  baseDir: string,
  logger?: Logger,
): Promise<void> {
  await gateway.reloadPolicies();
  for (const [id, json] of await store.listDocs('plugins')) {
    try {
      const meta = JSON.parse(json) as {
        name: string;
        version: string;
        source_sha256: string;
        wasi?: boolean;
        uploaded_at?: string;
      };
      if (gateway.registry.get(meta.name, meta.version)) continue;
      const bytes = await store.getBlob(meta.source_sha256);
      if (!bytes) throw new Error(`module ${meta.source_sha256} is missing from the store`);
      await gateway.registry.register(meta.name, meta.version, bytes, {
        wasi: meta.wasi ?? false,
        uploadedAt: meta.uploaded_at,
      });
    } catch (err) {
      logger?.error({ plugin: id, err: (err as Error).message }, 'stored plugin could not be restored');
    }
  }
  const stored = await store.listDocs('apis');
  const present = new Set(stored.keys());
  const loaded = [];
  for (const [id, json] of stored) {
    try {
      loaded.push(...(await gateway.load([parseApiDefinition(JSON.parse(json), `stored API ${id}`)], baseDir)));
    } catch (err) {
      logger?.error(
        { api_id: id, err: (err as Error).message },
        'stored API could not be loaded; the running version (if any) keeps serving',
      );
    }
  }
  // APIs deleted on another node go away here too (only those that came from the store).
  const before = fromStore.get(gateway) ?? new Set<string>();
  const removed = [...before].filter((id) => !present.has(id));
  fromStore.set(gateway, present);
  gateway.swap(loaded, removed);
}

/** Ids of the APIs each gateway last loaded from its store. */
const fromStore = new WeakMap<Gateway, Set<string>>();
