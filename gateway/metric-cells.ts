/**
 * Counters and histograms for the request path: each label set is a cell of
 * plain numbers, found once and then updated with an addition. prom-client's
 * own metrics hash their labels on every update, which costs microseconds
 * per request; these are read only when `/metrics` is scraped, through the
 * same registry (they implement the part of its metric interface it uses).
 *
 *   const calls = new CellCounter(registry, 'x_total', 'help', ['api']);
 *   calls.cell(['a']).value++;
 */
import type { Registry } from 'prom-client';

interface MetricValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

abstract class CellMetric<C> {
  readonly #cells = new Map<string, { labels: string[]; cell: C }>();

  constructor(
    registry: Registry,
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {
    registry.registerMetric(this as never);
  }

  protected abstract make(): C;

  /** The cell of one label set (values in `labelNames` order), created at first use. */
  cell(labels: readonly string[]): C {
    const key = labels.length === 1 ? labels[0]! : labels.join('\u0000');
    let entry = this.#cells.get(key);
    if (!entry) {
      entry = { labels: [...labels], cell: this.make() };
      this.#cells.set(key, entry);
    }
    return entry.cell;
  }

  protected labelsOf(values: readonly string[]): Record<string, string> {
    const out: Record<string, string> = {};
    this.labelNames.forEach((n, i) => {
      out[n] = values[i]!;
    });
    return out;
  }

  protected entries(): Iterable<{ labels: string[]; cell: C }> {
    return this.#cells.values();
  }

  reset(): void {
    this.#cells.clear();
  }
}

export class CellCounter extends CellMetric<{ value: number }> {
  readonly type = 'counter';
  readonly aggregator = 'sum';

  protected make(): { value: number } {
    return { value: 0 };
  }

  get(): { name: string; help: string; type: string; aggregator: string; values: MetricValue[] } {
    const values: MetricValue[] = [];
    for (const { labels, cell } of this.entries()) values.push({ labels: this.labelsOf(labels), value: cell.value });
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}

export class HistogramCell {
  /** Observations per bucket (not cumulative); the last slot is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && value > b[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

export class CellHistogram extends CellMetric<HistogramCell> {
  readonly type = 'histogram';
  readonly aggregator = 'sum';

  constructor(
    registry: Registry,
    name: string,
    help: string,
    labelNames: readonly string[],
    readonly buckets: readonly number[],
  ) {
    super(registry, name, help, labelNames);
  }

  protected make(): HistogramCell {
    return new HistogramCell(this.buckets);
  }

  get(): { name: string; help: string; type: string; aggregator: string; values: MetricValue[] } {
    const values: MetricValue[] = [];
    for (const { labels, cell } of this.entries()) {
      const base = this.labelsOf(labels);
      let cumulative = 0;
      this.buckets.forEach((le, i) => {
        cumulative += cell.counts[i]!;
        values.push({ labels: { ...base, le }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { ...base, le: '+Inf' }, value: cell.count, metricName: `${this.name}_bucket` });
      values.push({ labels: base, value: cell.sum, metricName: `${this.name}_sum` });
      values.push({ labels: base, value: cell.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}
