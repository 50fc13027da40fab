/**
 * Plugin versions by name: immutable once registered, content-addressed by
 * the runtime underneath. API definitions name them as `name@version`, as
 * `name` (the newest version), or as a path ending in `.wasm` (a file next to
 * the definitions, for local setups).
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import type { PreparedModule, Runtime } from '../../runtime/index.ts';
import { HttpError } from '../http-error.ts';

export interface PluginVersionMeta {
  name: string;
  version: string;
  sha256: string;
  source_sha256: string;
  bytes: number;
  source_bytes: number;
  exports: string[];
  imports: string[];
  wasi: boolean;
  uploaded_at: string;
}

export interface PluginVersion {
  readonly meta: Readonly<PluginVersionMeta>;
  readonly prepared: PreparedModule;
}

const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const VERSION = /^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$/;

export function checkPluginName(name: string): void {
  if (!NAME.test(name)) {
    throw new HttpError(
      400,
      'invalid_plugin_name',
      {},
      {
        message: 'plugin name must be 1–64 characters of a-z, 0-9, ".", "_", "-", starting with a letter or digit',
      },
    );
  }
}

export function checkPluginVersion(version: string): void {
  if (!VERSION.test(version)) {
    throw new HttpError(
      400,
      'invalid_plugin_version',
      {},
      {
        message: 'plugin version must be 1–64 characters of A-Z, a-z, 0-9, ".", "+", "_", "-"',
      },
    );
  }
}

/** Orders versions by numeric dot-separated parts, then lexically. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.+_-]/);
  const pb = b.split(/[.+_-]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? '';
    const y = pb[i] ?? '';
    const nx = /^\d+$/.test(x) ? Number(x) : Number.NaN;
    const ny = /^\d+$/.test(y) ? Number(y) : Number.NaN;
    if (!Number.isNaN(nx) && !Number.isNaN(ny)) {
      if (nx !== ny) return nx - ny;
    } else if (x !== y) {
      return x < y ? -1 : 1;
    }
  }
  return 0;
}

export class PluginRegistry {
  readonly #plugins = new Map<string, Map<string, PluginVersion>>();
  readonly #files = new Map<string, Promise<PluginVersion>>();

  constructor(readonly runtime: Runtime) {}

  /** Runs the upload pipeline and records an immutable version. 409 if it exists. */
  async register(
    name: string,
    version: string,
    source: Uint8Array,
    opts: { wasi?: boolean; uploadedAt?: string } = {},
  ): Promise<PluginVersion> {
    checkPluginName(name);
    checkPluginVersion(version);
    if (this.#plugins.get(name)?.has(version)) {
      throw new HttpError(
        409,
        'plugin_version_exists',
        {},
        { message: `plugin ${name}@${version} already exists; versions are immutable` },
      );
    }
    const prepared = await this.runtime.prepare(source, { wasi: opts.wasi ?? false });
    // Another upload of the same name and version may have finished while this one ran.
    if (this.#plugins.get(name)?.has(version)) {
      throw new HttpError(
        409,
        'plugin_version_exists',
        {},
        { message: `plugin ${name}@${version} already exists; versions are immutable` },
      );
    }
    const pv: PluginVersion = Object.freeze({
      meta: Object.freeze(metaOf(name, version, prepared, opts.uploadedAt)),
      prepared,
    });
    let versions = this.#plugins.get(name);
    if (!versions) this.#plugins.set(name, (versions = new Map()));
    versions.set(version, pv);
    return pv;
  }

  get(name: string, version?: string): PluginVersion | undefined {
    const versions = this.#plugins.get(name);
    if (!versions) return undefined;
    if (version !== undefined) return versions.get(version);
    let best: PluginVersion | undefined;
    for (const pv of versions.values()) if (!best || compareVersions(pv.meta.version, best.meta.version) > 0) best = pv;
    return best;
  }

  names(): string[] {
    return [...this.#plugins.keys()].sort();
  }

  versions(name: string): PluginVersion[] {
    return [...(this.#plugins.get(name)?.values() ?? [])].sort((a, b) =>
      compareVersions(a.meta.version, b.meta.version),
    );
  }

  remove(name: string, version: string): boolean {
    const versions = this.#plugins.get(name);
    const pv = versions?.get(version);
    if (!versions || !pv) return false;
    versions.delete(version);
    if (versions.size === 0) this.#plugins.delete(name);
    return true;
  }

  /**
   * Resolves an API definition's plugin reference. `baseDir` anchors relative
   * `.wasm` paths (the definitions directory).
   */
  async resolve(ref: string, baseDir: string): Promise<PluginVersion> {
    if (ref.endsWith('.wasm')) {
      const path = isAbsolute(ref) ? ref : resolve(baseDir, ref);
      let entry = this.#files.get(path);
      if (!entry) {
        entry = (async () => {
          const source = await readFile(path).catch(() => {
            throw new HttpError(422, 'plugin_not_found', {}, { message: `plugin file ${ref} cannot be read` });
          });
          const prepared = await this.runtime.prepare(source, { wasi: false });
          return Object.freeze({ meta: Object.freeze(metaOf(ref, 'file', prepared)), prepared });
        })();
        this.#files.set(path, entry);
        entry.catch(() => this.#files.delete(path));
      }
      return entry;
    }
    const at = ref.lastIndexOf('@');
    const name = at > 0 ? ref.slice(0, at) : ref;
    const version = at > 0 ? ref.slice(at + 1) : undefined;
    const pv = this.get(name, version);
    if (!pv) {
      throw new HttpError(
        422,
        'plugin_not_found',
        {},
        {
          message: version ? `plugin ${name}@${version} is not uploaded` : `plugin ${name} has no uploaded version`,
        },
      );
    }
    return pv;
  }
}

function metaOf(name: string, version: string, prepared: PreparedModule, uploadedAt?: string): PluginVersionMeta {
  const f = prepared.facts;
  return {
    name,
    version,
    sha256: f.sha256,
    source_sha256: f.sourceSha256,
    bytes: f.bytes,
    source_bytes: f.sourceBytes,
    exports: [...f.exports],
    imports: [...f.imports],
    wasi: f.wasi,
    uploaded_at: uploadedAt ?? new Date().toISOString(),
  };
}
