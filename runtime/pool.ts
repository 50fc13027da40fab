/**
 * A bounded pool of instances of one plugin version for one API. Instances
 * are not reentrant; a call takes one, or waits briefly for one, or fails
 * with POOL_EXHAUSTED. Trapped instances are destroyed, never returned.
 */
import { WasmgateError } from './errors.ts';

interface Waiter<T> {
  resolve: (value: T) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export interface PoolOptions {
  max: number;
  waitMs: number;
  maxWaiters: number;
}

export interface PoolStats {
  size: number;
  idle: number;
  busy: number;
  waiting: number;
  created: number;
  destroyed: number;
}

export class InstancePool<T> {
  readonly #create: () => Promise<T>;
  readonly #destroy: (item: T) => Promise<void> | void;
  readonly #opts: PoolOptions;
  readonly #idle: T[] = [];
  readonly #waiters: Waiter<T>[] = [];
  #size = 0;
  #busy = 0;
  #created = 0;
  #destroyed = 0;
  #closed = false;
  #drained: (() => void) | null = null;

  constructor(create: () => Promise<T>, destroy: (item: T) => Promise<void> | void, opts: PoolOptions) {
    this.#create = create;
    this.#destroy = destroy;
    this.#opts = opts;
  }

  /** An idle instance now, or undefined (then `acquire` grows the pool or waits). */
  tryAcquire(): T | undefined {
    if (this.#closed) return undefined;
    const item = this.#idle.pop();
    if (item !== undefined) this.#busy++;
    return item;
  }

  acquire(): Promise<T> {
    if (this.#closed) return Promise.reject(new WasmgateError('POOL_EXHAUSTED', 'the plugin version was replaced'));
    const item = this.tryAcquire();
    if (item !== undefined) return Promise.resolve(item);
    if (this.#size < this.#opts.max) return this.#grow();
    if (this.#waiters.length >= this.#opts.maxWaiters) {
      return Promise.reject(new WasmgateError('POOL_EXHAUSTED', 'too many calls are waiting for this plugin'));
    }
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter<T> = {
        resolve,
        reject,
        timer: setTimeout(() => {
          const i = this.#waiters.indexOf(waiter);
          if (i >= 0) this.#waiters.splice(i, 1);
          reject(
            new WasmgateError(
              'POOL_EXHAUSTED',
              `no instance of this plugin became free within ${this.#opts.waitMs} ms`,
            ),
          );
        }, this.#opts.waitMs),
      };
      this.#waiters.push(waiter);
    });
  }

  async #grow(): Promise<T> {
    this.#size++;
    this.#busy++;
    try {
      const item = await this.#create();
      this.#created++;
      return item;
    } catch (err) {
      this.#size--;
      this.#busy--;
      this.#wakeForGrowth();
      throw err;
    }
  }

  /** Returns an instance; `destroy` when it trapped or its state is suspect. */
  release(item: T, destroy = false): void {
    this.#busy--;
    if (destroy) {
      this.#discard(item);
      this.#wakeForGrowth();
    } else {
      const waiter = this.#waiters.shift();
      if (waiter) {
        clearTimeout(waiter.timer);
        this.#busy++;
        waiter.resolve(item);
      } else if (this.#closed) {
        this.#discard(item);
      } else {
        this.#idle.push(item);
      }
    }
    if (this.#closed && this.#busy === 0 && this.#waiters.length === 0) this.#drained?.();
  }

  #discard(item: T): void {
    this.#size--;
    this.#destroyed++;
    void Promise.resolve()
      .then(() => this.#destroy(item))
      .catch(() => {});
  }

  /** A slot freed up: a waiter (accepted before any drain) gets a new instance. */
  #wakeForGrowth(): void {
    const waiter = this.#waiters.shift();
    if (!waiter) return;
    clearTimeout(waiter.timer);
    this.#grow().then(waiter.resolve, waiter.reject);
  }

  stats(): PoolStats {
    return {
      size: this.#size,
      idle: this.#idle.length,
      busy: this.#busy,
      waiting: this.#waiters.length,
      created: this.#created,
      destroyed: this.#destroyed,
    };
  }

  /**
   * Refuses new calls, lets every call already made finish (those running
   * and those waiting for an instance), then destroys every instance.
   */
  async drain(): Promise<void> {
    this.#closed = true;
    if (this.#busy > 0 || this.#waiters.length > 0) await new Promise<void>((resolve) => (this.#drained = resolve));
    const idle = this.#idle.splice(0);
    this.#size -= idle.length;
    this.#destroyed += idle.length;
    await Promise.all(idle.map(async (i) => this.#destroy(i)));
  }
}
