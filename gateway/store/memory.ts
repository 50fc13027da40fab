/**
 * The embedded store: everything in this process, nothing to set up.
 * Sessions, documents and plugin modules are also written to the data
 * directory (write to a temporary file, then rename) so they survive a
 * restart; counters and the ID-extractor cache live in memory only.
 * JavaScript runs one callback at a time, so each counter operation below
 * is atomic by construction (no await between read and write).
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SessionRecord } from '../../runtime/index.ts';
import { APPENDED_TTL_SECONDS, type DocKind, type QuotaResult, type RateResult, type Store } from './store.ts';

interface Expiring<T> {
  value: T;
  /** ms epoch; 0 = never */
  expires: number;
}

const SAFE_ID = /^[A-Za-z0-9._@:-]{1,200}$/;

function fileId(id: string): string {
  // Ids are validated upstream; encode anyway so no id can name a path outside the directory.
  return SAFE_ID.test(id) && id !== '.' && id !== '..' ? id : `~${Buffer.from(id).toString('base64url')}`;
}

function fromFileId(name: string): string {
  return name.startsWith('~') ? Buffer.from(name.slice(1), 'base64url').toString() : name;
}

async function atomicWrite(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

export class MemoryStore implements Store {
  readonly kind = 'memory' as const;
  readonly #sessions = new Map<string, Expiring<SessionRecord>>();
  readonly #cache = new Map<string, Expiring<SessionRecord>>();
  readonly #rate = new Map<string, { tokens: number; at: number }>();
  readonly #quota = new Map<string, { used: number; renews: number }>();
  readonly #docs = new Map<DocKind, Map<string, string>>();
  readonly #subscribers: ((m: string) => void)[] = [];

  private constructor(readonly dataDir: string | null) {}

  /** Opens the store; with a data directory, loads what an earlier run persisted. */
  static async open(dataDir: string | null): Promise<MemoryStore> {
    const store = new MemoryStore(dataDir);
    if (dataDir) await store.#load(dataDir);
    return store;
  }

  async #load(dir: string): Promise<void> {
    for (const kind of ['apis', 'policies', 'plugins'] as DocKind[]) {
      const map = new Map<string, string>();
      this.#docs.set(kind, map);
      const sub = join(dir, kind);
      await mkdir(sub, { recursive: true });
      for (const name of (await readdir(sub)).filter((n) => n.endsWith('.json')).sort()) {
        map.set(fromFileId(name.slice(0, -5)), await readFile(join(sub, name), 'utf8'));
      }
    }
    const sessions = join(dir, 'sessions');
    await mkdir(sessions, { recursive: true });
    await mkdir(join(dir, 'blobs'), { recursive: true });
    for (const name of (await readdir(sessions)).filter((n) => n.endsWith('.json'))) {
      try {
        const stored = JSON.parse(await readFile(join(sessions, name), 'utf8')) as Expiring<SessionRecord>;
        if (!stored.expires || stored.expires > Date.now()) this.#sessions.set(name.slice(0, -5), stored);
      } catch {
        // A torn or foreign file is skipped, never fatal.
      }
    }
  }

  async ping(): Promise<boolean> {
    return true;
  }

  #live<T>(map: Map<string, Expiring<T>>, key: string): T | null {
    const e = map.get(key);
    if (!e) return null;
    if (e.expires && e.expires <= Date.now()) {
      map.delete(key);
      return null;
    }
    return structuredClone(e.value);
  }

  async getSession(keyHash: string): Promise<SessionRecord | null> {
    return this.#live(this.#sessions, keyHash);
  }

  async putSession(keyHash: string, session: SessionRecord, ttlSeconds: number): Promise<void> {
    const entry = { value: structuredClone(session), expires: ttlSeconds > 0 ? Date.now() + ttlSeconds * 1000 : 0 };
    this.#sessions.set(keyHash, entry);
    if (this.dataDir) await atomicWrite(join(this.dataDir, 'sessions', `${keyHash}.json`), JSON.stringify(entry));
  }

  async deleteSession(keyHash: string): Promise<boolean> {
    const had = this.#sessions.delete(keyHash);
    this.#rate.delete(keyHash);
    this.#quota.delete(keyHash);
    if (this.dataDir) await rm(join(this.dataDir, 'sessions', `${keyHash}.json`), { force: true });
    return had;
  }

  async getCachedSession(apiId: string, idHash: string): Promise<SessionRecord | null> {
    return this.#live(this.#cache, `${apiId}\0${idHash}`);
  }

  async putCachedSession(apiId: string, idHash: string, session: SessionRecord, ttlSeconds: number): Promise<void> {
    if (ttlSeconds <= 0) return;
    this.#cache.set(`${apiId}\0${idHash}`, {
      value: structuredClone(session),
      expires: Date.now() + ttlSeconds * 1000,
    });
  }

  async takeRate(keyHash: string, rate: number, per: number): Promise<RateResult> {
    const now = Date.now();
    const refillPerMs = rate / (per * 1000);
    const state = this.#rate.get(keyHash) ?? { tokens: rate, at: now };
    state.tokens = Math.min(rate, state.tokens + (now - state.at) * refillPerMs);
    state.at = now;
    const allowed = state.tokens >= 1;
    if (allowed) state.tokens -= 1;
    this.#rate.set(keyHash, state);
    return {
      allowed,
      remaining: Math.floor(state.tokens),
      resetSeconds: Math.ceil((rate - state.tokens) / refillPerMs / 1000),
    };
  }

  async takeQuota(keyHash: string, max: number, renewalSeconds: number, initialUsed: number): Promise<QuotaResult> {
    const now = Math.floor(Date.now() / 1000);
    if (max < 0) return { allowed: true, remaining: -1, renews: 0 };
    let state = this.#quota.get(keyHash);
    if (!state) {
      state = { used: Math.max(0, initialUsed), renews: renewalSeconds > 0 ? now + renewalSeconds : 0 };
      this.#quota.set(keyHash, state);
    } else if (state.renews && now >= state.renews) {
      state.used = 0;
      state.renews = now + renewalSeconds;
    }
    if (state.used >= max) return { allowed: false, remaining: 0, renews: state.renews };
    state.used++;
    return { allowed: true, remaining: max - state.used, renews: state.renews };
  }

  async resetQuota(keyHash: string): Promise<void> {
    this.#quota.delete(keyHash);
  }

  #kind(kind: DocKind): Map<string, string> {
    let map = this.#docs.get(kind);
    if (!map) this.#docs.set(kind, (map = new Map()));
    return map;
  }

  async getDoc(kind: DocKind, id: string): Promise<string | null> {
    return this.#kind(kind).get(id) ?? null;
  }

  async putDoc(kind: DocKind, id: string, json: string): Promise<void> {
    if (this.dataDir) await atomicWrite(join(this.dataDir, kind, `${fileId(id)}.json`), json);
    this.#kind(kind).set(id, json);
  }

  async deleteDoc(kind: DocKind, id: string): Promise<boolean> {
    if (this.dataDir) await rm(join(this.dataDir, kind, `${fileId(id)}.json`), { force: true });
    return this.#kind(kind).delete(id);
  }

  async listDocs(kind: DocKind): Promise<Map<string, string>> {
    return new Map(this.#kind(kind));
  }

  readonly #blobs = new Map<string, Uint8Array>();

  async getBlob(sha256: string): Promise<Uint8Array | null> {
    const b = this.#blobs.get(sha256);
    if (b) return b;
    if (!this.dataDir || !/^[0-9a-f]{64}$/.test(sha256)) return null;
    return readFile(join(this.dataDir, 'blobs', `${sha256}.wasm`)).then(
      (buf) => new Uint8Array(buf),
      () => null,
    );
  }

  async putBlob(sha256: string, bytes: Uint8Array): Promise<void> {
    if (this.dataDir && /^[0-9a-f]{64}$/.test(sha256))
      await atomicWrite(join(this.dataDir, 'blobs', `${sha256}.wasm`), bytes);
    else this.#blobs.set(sha256, bytes);
  }

  readonly #lists = new Map<string, string[]>();

  readonly #appended = new Set<string>();

  async pushList(key: string, values: string[], batchId?: string): Promise<void> {
    if (batchId !== undefined) {
      if (this.#appended.has(batchId)) return;
      this.#appended.add(batchId);
      setTimeout(() => this.#appended.delete(batchId), APPENDED_TTL_SECONDS * 1000).unref();
    }
    const list = this.#lists.get(key) ?? [];
    list.push(...values);
    this.#lists.set(key, list);
  }

  async publish(message: string): Promise<void> {
    for (const s of this.#subscribers) queueMicrotask(() => s(message));
  }

  async subscribe(onMessage: (message: string) => void): Promise<void> {
    this.#subscribers.push(onMessage);
  }

  async close(): Promise<void> {}
}
