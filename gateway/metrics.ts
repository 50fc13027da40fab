/**
 * Prometheus metrics (prom-client), served at `/metrics` on the admin
 * port: requests by API and status, upstream latency, and per plugin
 * version and hook — calls, failures by code, latency, fuel, instances,
 * quarantines — plus the analytics buffer.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { CallEvent } from '../runtime/index.ts';
import type { AnalyticsStats } from './analytics/sink.ts';
import type { LoadedApi } from './chain/build.ts';
import { CellCounter, CellHistogram, type HistogramCell } from './metric-cells.ts';

interface CallCells {
  calls: { value: number };
  seconds: HistogramCell;
  fuel: { value: number };
  plugin: string;
  hook: string;
}

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly requests = new CellCounter(
    this.registry,
    'wasmgate_requests_total',
    'Requests answered, by API and status',
    ['api', 'status'],
  );
  readonly upstream = new CellHistogram(
    this.registry,
    'wasmgate_upstream_seconds',
    'Upstream latency by API',
    ['api'],
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  );
  readonly pluginCalls = new CellCounter(
    this.registry,
    'wasmgate_plugin_calls_total',
    'Plugin calls by plugin version, hook and API',
    ['plugin', 'hook', 'api'],
  );
  readonly pluginFailures = new CellCounter(
    this.registry,
    'wasmgate_plugin_failures_total',
    'Plugin failures by error code',
    ['plugin', 'hook', 'api', 'code'],
  );
  readonly pluginSeconds = new CellHistogram(
    this.registry,
    'wasmgate_plugin_call_seconds',
    'Plugin call latency',
    ['plugin', 'hook'],
    [0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.005, 0.01, 0.1, 1],
  );
  readonly pluginFuel = new CellCounter(this.registry, 'wasmgate_plugin_fuel_total', 'Fuel used by plugin calls', [
    'plugin',
    'hook',
  ]);
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

  /** The cells of one API and status, found once per pair; then a request costs two additions. */
  readonly #requestCells = new Map<string, { value: number }>();
  readonly #upstreamCells = new Map<string, HistogramCell>();
  /** The cells of one binding (plugin version and API) by hook, found once: no key to build per call. */
  #callCells = new WeakMap<object, Map<string, CallCells>>();

  request(api: string, status: number, upstreamMs: number): void {
    const key = `${api}\0${status}`;
    let counter = this.#requestCells.get(key);
    if (!counter) {
      counter = this.requests.cell([api, String(status)]);
      this.#requestCells.set(key, counter);
    }
    counter.value++;
    if (upstreamMs > 0) {
      let h = this.#upstreamCells.get(api);
      if (!h) {
        h = this.upstream.cell([api]);
        this.#upstreamCells.set(api, h);
      }
      h.observe(upstreamMs / 1000);
    }
  }

  label(sha256: string, label: string): void {
    this.#labels.set(sha256, label);
    this.#callCells = new WeakMap();
  }

  onCall(e: CallEvent): void {
    const hook = e.hook ?? 'raw';
    let byHook = this.#callCells.get(e.binding);
    if (!byHook) {
      byHook = new Map();
      this.#callCells.set(e.binding, byHook);
    }
    let cells = byHook.get(hook);
    if (!cells) {
      const plugin = this.#labels.get(e.sha256) ?? e.sha256.slice(0, 12);
      cells = {
        calls: this.pluginCalls.cell([plugin, hook, e.apiId]),
        seconds: this.pluginSeconds.cell([plugin, hook]),
        fuel: this.pluginFuel.cell([plugin, hook]),
        plugin,
        hook,
      };
      byHook.set(hook, cells);
    }
    cells.calls.value++;
    cells.seconds.observe(e.seconds);
    if (e.fuelUsed > 0) cells.fuel.value += e.fuelUsed;
    if (!e.ok) this.pluginFailures.cell([cells.plugin, hook, e.apiId, e.code ?? 'UNKNOWN']).value++;
  }
}

function bindingsOf(api: LoadedApi) {
  const seen = new Map<unknown, { label: string; binding: import('../runtime/index.ts').PluginBinding }>();
  for (const p of [...api.response, ...(api.analytics ? [api.analytics] : []), ...api.requestPlugins])
    seen.set(p.binding, { label: p.label, binding: p.binding });
  return [...seen.values()];
}
