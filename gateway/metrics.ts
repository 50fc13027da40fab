/**
 * Prometheus metrics (prom-client), served at `/metrics` on the admin
 * port: requests by API and status, upstream latency, and per plugin
 * version and hook — calls, failures by code, latency, fuel, instances,
 * quarantines — plus the analytics buffer.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CallEvent } from '../runtime/index.ts';
import type { AnalyticsStats } from './analytics/sink.ts';
import type { LoadedApi } from './chain/build.ts';

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'wasmgate_requests_total',
    help: 'Requests answered, by API and status',
    labelNames: ['api', 'status'],
    registers: [this.registry],
  });
  readonly upstream = new Histogram({
    name: 'wasmgate_upstream_seconds',
    help: 'Upstream latency by API',
    labelNames: ['api'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly pluginCalls = new Counter({
    name: 'wasmgate_plugin_calls_total',
    help: 'Plugin calls by plugin version, hook and API',
    labelNames: ['plugin', 'hook', 'api'],
    registers: [this.registry],
  });
  readonly pluginFailures = new Counter({
    name: 'wasmgate_plugin_failures_total',
    help: 'Plugin failures by error code',
    labelNames: ['plugin', 'hook', 'api', 'code'],
    registers: [this.registry],
  });
  readonly pluginSeconds = new Histogram({
    name: 'wasmgate_plugin_call_seconds',
    help: 'Plugin call latency',
    labelNames: ['plugin', 'hook'],
    buckets: [0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.005, 0.01, 0.1, 1],
    registers: [this.registry],
  });
  readonly pluginFuel = new Counter({
    name: 'wasmgate_plugin_fuel_total',
    help: 'Fuel used by plugin calls',
    labelNames: ['plugin', 'hook'],
    registers: [this.registry],
  });
  readonly analyticsPluginDropped = new Counter({
    name: 'wasmgate_analytics_plugin_dropped_total',
    help: 'Records dropped because the analytics plugin failed',
    registers: [this.registry],
  });

  /** Plugin labels by module sha256, so call events (which carry the hash) get a readable name. */
  readonly #labels = new Map<string, string>();

  constructor(apis: () => readonly LoadedApi[], analytics: () => AnalyticsStats | null) {
    const reg = this.registry;
    new Gauge({
      name: 'wasmgate_plugin_instances',
      help: "Instances in each API's pool of a plugin version",
      labelNames: ['plugin', 'api', 'state'],
      registers: [reg],
      collect() {
        this.reset();
        for (const api of apis()) {
          for (const b of bindingsOf(api)) {
            const s = b.binding.stats();
            this.set({ plugin: b.label, api: api.id, state: 'idle' }, s.idle);
            this.set({ plugin: b.label, api: api.id, state: 'busy' }, s.busy);
          }
        }
      },
    });
    new Gauge({
      name: 'wasmgate_plugin_quarantines',
      help: 'Times each plugin version was quarantined on an API',
      labelNames: ['plugin', 'api'],
      registers: [reg],
      collect() {
        this.reset();
        for (const api of apis())
          for (const b of bindingsOf(api)) this.set({ plugin: b.label, api: api.id }, b.binding.health.quarantines);
      },
    });
    new Gauge({
      name: 'wasmgate_analytics_records',
      help: 'Analytics records buffered now, flushed and dropped so far',
      labelNames: ['state'],
      registers: [reg],
      collect() {
        const s = analytics();
        if (!s) return;
        this.set({ state: 'buffered' }, s.buffered);
        this.set({ state: 'flushed' }, s.flushed);
        this.set({ state: 'dropped' }, s.dropped);
      },
    });
  }

  /** Label children by API and status, so the request path does no label hashing. */
  readonly #requestChildren = new Map<string, { inc(): void }>();
  readonly #upstreamChildren = new Map<string, { observe(v: number): void }>();

  request(api: string, status: number, upstreamMs: number): void {
    const key = `${api}\0${status}`;
    let counter = this.#requestChildren.get(key);
    if (!counter) {
      counter = this.requests.labels(api, String(status));
      this.#requestChildren.set(key, counter);
    }
    counter.inc();
    if (upstreamMs > 0) {
      let h = this.#upstreamChildren.get(api);
      if (!h) {
        h = this.upstream.labels(api);
        this.#upstreamChildren.set(api, h);
      }
      h.observe(upstreamMs / 1000);
    }
  }

  label(sha256: string, label: string): void {
    this.#labels.set(sha256, label);
  }

  onCall(e: CallEvent): void {
    const plugin = this.#labels.get(e.sha256) ?? e.sha256.slice(0, 12);
    const hook = e.hook ?? 'raw';
    this.pluginCalls.inc({ plugin, hook, api: e.apiId });
    if (!e.ok) this.pluginFailures.inc({ plugin, hook, api: e.apiId, code: e.code ?? 'UNKNOWN' });
    this.pluginSeconds.observe({ plugin, hook }, e.seconds);
    if (e.fuelUsed > 0) this.pluginFuel.inc({ plugin, hook }, e.fuelUsed);
  }
}

function bindingsOf(api: LoadedApi) {
  const seen = new Map<unknown, { label: string; binding: import('../runtime/index.ts').PluginBinding }>();
  for (const p of [...api.response, ...(api.analytics ? [api.analytics] : []), ...api.requestPlugins])
    seen.set(p.binding, { label: p.label, binding: p.binding });
  return [...seen.values()];
}
