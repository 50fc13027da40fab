/**
 * A running gateway: the runtime, the plugin registry, the loaded APIs and
 * the listeners. API changes swap the routing table atomically; requests in
 * flight finish on the API (and plugin versions) they started with, and the
 * old API's instances are freed once its last request leaves.
 */
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import {
  ABI_VERSION,
  type AnalyticsRecord,
  type CallEvent,
  type Envelope,
  isWasmgateError,
  type PluginLogLine,
  Runtime,
} from '../runtime/index.ts';
import { applyRecordChanges, buildRecord } from './analytics/record.ts';
import { AnalyticsBuffer, FileSink, RedisListSink } from './analytics/sink.ts';
import { type LoadedApi, loadApi } from './chain/build.ts';
import type { ApiSpec } from './config/api-spec.ts';
import type { RequestContext } from './context.ts';
import { createLogger, type Logger } from './log.ts';
import { GatewayMetrics } from './metrics.ts';
import { OutboundClient } from './outbound/client.ts';
import { PluginRegistry } from './plugins/registry.ts';
import { createProxyServer, type RequestPath, type RouteMatch } from './server.ts';
import type { Policy } from './sessions/policies.ts';
import type { Settings } from './settings.ts';
import { type BoundPlugin, requestRecord } from './stages/plugin.ts';
import type { UpstreamAnswer } from './stages/response.ts';
import type { Store } from './store/store.ts';

/** What the gateway needs from routing and the proxy; gateway/routing and gateway/proxy provide it. */
export interface Plumbing {
  normalisePath(path: string): string;
  buildRouter(apis: readonly LoadedApi[]): { match(path: string): RouteMatch | null };
  forward(ctx: RequestContext, api: LoadedApi, query: string): Promise<UpstreamAnswer>;
  clientIp(req: IncomingMessage): string;
  close(): Promise<void>;
}

interface ApiSlot {
  api: LoadedApi;
  inflight: number;
  retired: boolean;
}

export class Gateway {
  readonly runtime: Runtime;
  readonly registry: PluginRegistry;
  readonly log: Logger;
  #slots = new Map<string, ApiSlot>();
  #bySpec = new WeakMap<LoadedApi, ApiSlot>();
  #router: { match(path: string): RouteMatch | null };
  #proxy: FastifyInstance | null = null;
  #inflight = 0;
  #idle: (() => void) | null = null;
  /** Policies by id, loaded from the store (refreshed on reload). */
  #policies = new Map<string, Policy>();
  /** Analytics recording (null when turned off in the settings). */
  readonly analytics: AnalyticsBuffer | null;
  readonly metrics: GatewayMetrics;
  /** The gateway's own ports (proxy, admin): plugins' outbound calls never reach them. */
  readonly ownPorts: number[] = [];
  readonly outbound = new OutboundClient({ ownPorts: () => this.ownPorts });

  constructor(
    readonly settings: Readonly<Settings>,
    readonly plumbing: Plumbing,
    readonly store: Store,
    opts: { logger?: Logger; onCall?: (e: CallEvent) => void } = {},
  ) {
    this.log = opts.logger ?? createLogger(settings.logLevel);
    this.runtime = new Runtime({
      limits: settings.limits,
      logSink: (line: PluginLogLine, tags) =>
        this.log[line.level === 'trace' ? 'trace' : line.level]({ ...tags, plugin_log: true }, line.text),
      onCall: opts.onCall,
    });
    this.analytics = settings.analytics
      ? new AnalyticsBuffer(
          store.kind === 'memory'
            ? new FileSink(join(settings.dataDir, 'analytics'))
            : new RedisListSink((k, v, id) => store.pushList(k, v, id)),
          { maxBuffered: settings.analyticsBufferRecords, batch: 500, intervalMs: 1_000, logger: this.log },
        )
      : null;
    this.metrics = new GatewayMetrics(
      () => this.apis(),
      () => this.analytics?.stats() ?? null,
    );
    this.runtime.onCall = (e) => {
      this.metrics.onCall(e);
      opts.onCall?.(e);
    };
    this.registry = new PluginRegistry(this.runtime);
    this.#router = plumbing.buildRouter([]);
  }

  /** Re-reads every policy from the store. */
  async reloadPolicies(): Promise<void> {
    const next = new Map<string, Policy>();
    for (const [id, json] of await this.store.listDocs('policies')) {
      try {
        next.set(id, { ...(JSON.parse(json) as Policy), id });
      } catch {
        this.log.error({ policy: id }, 'stored policy is not valid JSON; ignored');
      }
    }
    this.#policies = next;
  }

  policy(id: string): Policy | undefined {
    return this.#policies.get(id);
  }

  apis(): LoadedApi[] {
    return [...this.#slots.values()].map((s) => s.api);
  }

  api(id: string): LoadedApi | undefined {
    return this.#slots.get(id)?.api;
  }

  /** Builds the chain of every spec; nothing changes unless all of them load. */
  async load(specs: readonly ApiSpec[], baseDir: string): Promise<LoadedApi[]> {
    const loaded: LoadedApi[] = [];
    try {
      for (const spec of specs) {
        loaded.push(
          await loadApi(spec, {
            runtime: this.runtime,
            registry: this.registry,
            baseDir,
            normalisePath: (p) => this.plumbing.normalisePath(p),
            store: this.store,
            policy: (id) => this.#policies.get(id),
            onPluginFailure: (ctx, plugin, err) => this.#pluginFailed(ctx, plugin, err),
            outbound: this.outbound,
          }),
        );
      }
    } catch (err) {
      await Promise.all(loaded.map((a) => a.drain()));
      throw err;
    }
    for (const api of loaded)
      for (const pv of api.pluginVersions)
        this.metrics.label(pv.prepared.facts.sha256, `${pv.meta.name}@${pv.meta.version}`);
    return loaded;
  }

  /** Replaces (or adds) APIs atomically; `remove` lists API ids to take out. */
  swap(added: readonly LoadedApi[], remove: readonly string[] = []): void {
    const next = new Map(this.#slots);
    const retired: ApiSlot[] = [];
    for (const id of remove) {
      const old = next.get(id);
      if (old) retired.push(old);
      next.delete(id);
    }
    for (const api of added) {
      const old = next.get(api.id);
      if (old) retired.push(old);
      const slot: ApiSlot = { api, inflight: 0, retired: false };
      next.set(api.id, slot);
      this.#bySpec.set(api, slot);
    }
    this.#router = this.plumbing.buildRouter([...next.values()].filter((s) => s.api.spec.active).map((s) => s.api));
    this.#slots = next;
    for (const slot of retired) {
      slot.retired = true;
      if (slot.inflight === 0) void slot.api.drain();
    }
  }

  #pluginFailed(ctx: RequestContext, plugin: BoundPlugin, err: unknown): void {
    const e = err as { code?: string; message?: string };
    this.log.warn(
      { request_id: ctx.id, plugin: plugin.label, hook: plugin.hook, code: e.code, err: e.message },
      'plugin failed',
    );
  }

  requestPath(): RequestPath {
    return {
      normalisePath: (p) => this.plumbing.normalisePath(p),
      route: (p) => {
        const m = this.#router.match(p);
        if (m) {
          const slot = this.#bySpec.get(m.api);
          if (slot) slot.inflight++;
          this.#inflight++;
        }
        return m;
      },
      forward: (ctx, api, query) => this.plumbing.forward(ctx, api, query),
      clientIp: (req) => this.plumbing.clientIp(req),
      finished: (ctx, api, status) => {
        if (!api) return;
        this.metrics.request(api.id, status, ctx.upstreamMs);
        if (!this.analytics) return this.#release(api);
        if (!api.analytics) {
          try {
            this.analytics.add(buildRecord(ctx, api, ctx.reply ?? { status: 500, headers: {}, body: null }));
          } finally {
            this.#release(api);
          }
          return;
        }
        // After the reply: the record, the analytics plugin, the buffer. The API stays in use until done.
        void this.#record(ctx, api).finally(() => this.#release(api));
      },
    };
  }

  /** Builds the request's analytics record, lets the analytics plugin rewrite it, buffers it. */
  async #record(ctx: RequestContext, api: LoadedApi): Promise<void> {
    let record: AnalyticsRecord | null = buildRecord(ctx, api, ctx.reply ?? { status: 500, headers: {}, body: null });
    const plugin = api.analytics;
    if (plugin) {
      const envelope: Envelope = {
        v: ABI_VERSION,
        hook: 'analytics',
        request: requestRecord(ctx, null),
        session: ctx.session,
        record,
        spec: api.envelopeSpec,
        metadata: { request_id: ctx.id, plugin: plugin.label, version: '1', time: ctx.time },
      };
      try {
        const result = await plugin.binding.call(plugin.exportName, 'analytics', envelope, {
          requestId: ctx.id,
          tags: { request_id: ctx.id, plugin: plugin.label, api_id: api.id },
        });
        if (result.record) record = applyRecordChanges(record, result.record);
      } catch (err) {
        // A failed analytics plugin never touches the client's answer. Its record is dropped (and
        // counted): the plugin may exist to mask secrets, so the unmasked record is not stored.
        this.metrics.analyticsPluginDropped.inc();
        this.log.warn(
          { request_id: ctx.id, plugin: plugin.label, code: isWasmgateError(err) ? err.code : undefined },
          'analytics plugin failed; record dropped',
        );
        record = null;
      }
    }
    if (record) this.analytics!.add(record);
  }

  #release(api: LoadedApi): void {
    {
      this.#inflight--;
      const slot = this.#bySpec.get(api);
      if (slot) {
        slot.inflight--;
        if (slot.retired && slot.inflight === 0) void slot.api.drain();
      }
      if (this.#inflight === 0) this.#idle?.();
    }
  }

  async listen(): Promise<{ port: number }> {
    this.#proxy = createProxyServer(this.requestPath(), this.settings);
    await this.#proxy.listen({ host: this.settings.host, port: this.settings.port });
    const addr = this.#proxy.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : this.settings.port;
    this.ownPorts.push(port);
    return { port };
  }

  /** Stops accepting, lets requests in flight finish (up to `graceMs`), then frees everything. */
  async close(graceMs = 10_000): Promise<void> {
    const proxy = this.#proxy;
    this.#proxy = null;
    const closing = proxy?.close();
    if (this.#inflight > 0) {
      await Promise.race([
        new Promise<void>((resolve) => (this.#idle = resolve)),
        new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref()),
      ]);
    }
    await closing;
    await Promise.all([...this.#slots.values()].map((s) => s.api.drain()));
    this.#slots.clear();
    await this.analytics?.close();
    await this.outbound.close();
    await this.plumbing.close();
    await this.runtime.close();
    await this.store.close();
  }
}
