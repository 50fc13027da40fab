/**
 * Plugin bundles: a zip holding `manifest.json` and the files it lists.
 * `openBundle` checks everything in memory — zip structure and caps, the
 * manifest, the signature (mandatory when a public key is configured), that
 * the zip holds exactly the listed files, each file's sha256 — and only then
 * hands back the modules, which the caller runs through the upload pipeline.
 * Nothing is written anywhere before that.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { BundleError } from './errors.ts';
import { type BundleManifest, loadPublicKey, MANIFEST_FILE, parseManifest, verifyManifest } from './manifest.ts';
import { DEFAULT_ZIP_LIMITS, ZipArchive, type ZipLimits } from './zip.ts';

export { BUNDLE_ERRORS, BundleError, type BundleErrorCode } from './errors.ts';
export {
  type BundleManifest,
  canonicalJson,
  MANIFEST_FILE,
  parseManifest,
  signedBytes,
  signManifest,
} from './manifest.ts';
export { DEFAULT_ZIP_LIMITS, ZipArchive, type ZipEntry, type ZipLimits } from './zip.ts';

const MAX_MANIFEST_BYTES = 256 * 1024;

export interface BundleModule {
  /** Path inside the bundle. */
  file: string;
  /** The plugin name it is stored under. */
  plugin: string;
  bytes: Buffer;
}

export interface VerifiedBundle {
  manifest: BundleManifest;
  /** True when the signature was verified against the configured key. */
  signatureVerified: boolean;
  modules: BundleModule[];
}

/**
 * The configured key (`bundlePublicKey`): PEM text, or the path of a PEM
 * file. A key that cannot be read is an error — never a silent "unsigned is fine".
 */
export function publicKeyFromSetting(value: string | null): KeyObject | null {
  if (!value) return null;
  let pem = value;
  if (!value.includes('-----BEGIN')) {
    try {
      pem = readFileSync(value, 'utf8');
    } catch (err) {
      throw new Error(`bundlePublicKey: cannot read ${value}: ${(err as Error).message}`);
    }
  }
  try {
    return loadPublicKey(pem);
  } catch (err) {
    throw new Error(`bundlePublicKey: not a usable ed25519 or RSA public key: ${(err as Error).message}`);
  }
}

/** The plugin name of each module: the bundle's name for one module, `name.<file stem>` for several. */
function pluginNames(name: string, wasmFiles: string[]): Map<string, string> {
  const out = new Map<string, string>();
  if (wasmFiles.length === 1) return out.set(wasmFiles[0]!, name);
  const taken = new Map<string, string>();
  for (const f of wasmFiles) {
    const stem = f
      .slice(f.lastIndexOf('/') + 1, -'.wasm'.length)
      .toLowerCase()
      .replace(/[^a-z0-9._-]/g, '-');
    const plugin = `${name}.${stem}`;
    const other = taken.get(plugin);
    if (other)
      throw new BundleError(
        'BUNDLE_MANIFEST_INVALID',
        `"${other}" and "${f}" would both be stored as plugin ${plugin}; rename one`,
        f,
      );
    taken.set(plugin, f);
    out.set(f, plugin);
  }
  return out;
}

export function openBundle(
  bytes: Uint8Array,
  opts: { name: string; publicKey: KeyObject | null; limits?: Readonly<ZipLimits> },
): VerifiedBundle {
  const zip = new ZipArchive(bytes, opts.limits ?? DEFAULT_ZIP_LIMITS);
  const files = zip.files();
  const manifestEntry = files.find((e) => e.name === MANIFEST_FILE);
  if (!manifestEntry)
    throw new BundleError('BUNDLE_MANIFEST_MISSING', 'the bundle has no manifest.json at its root', MANIFEST_FILE);
  if (manifestEntry.size > MAX_MANIFEST_BYTES)
    throw new BundleError(
      'BUNDLE_MANIFEST_INVALID',
      `manifest.json is ${manifestEntry.size} bytes; the limit is ${MAX_MANIFEST_BYTES}`,
      MANIFEST_FILE,
    );
  const manifest = parseManifest(zip.read(manifestEntry));
  // The signature first: an unsigned or forged bundle costs no further inflating.
  if (opts.publicKey) verifyManifest(manifest, opts.publicKey);

  const inZip = new Map(files.filter((e) => e !== manifestEntry).map((e) => [e.name, e]));
  for (const f of manifest.file_list)
    if (!inZip.has(f))
      throw new BundleError('BUNDLE_FILE_MISSING', `manifest.json lists "${f}", which the bundle does not hold`, f);
  const listed = new Set(manifest.file_list);
  for (const name of inZip.keys())
    if (!listed.has(name))
      throw new BundleError(
        'BUNDLE_FILE_UNLISTED',
        `the bundle holds "${name}", which manifest.json does not list`,
        name,
      );

  const contents = new Map<string, Buffer>();
  for (const f of manifest.file_list) {
    const data = zip.read(inZip.get(f)!);
    const actual = createHash('sha256').update(data).digest('hex');
    if (actual !== manifest.sha256[f])
      throw new BundleError(
        'BUNDLE_CHECKSUM_MISMATCH',
        `"${f}" has sha256 ${actual}; manifest.json says ${manifest.sha256[f]}`,
        f,
      );
    contents.set(f, data);
  }

  const wasmFiles = manifest.file_list.filter((f) => f.endsWith('.wasm'));
  if (!wasmFiles.length)
    throw new BundleError('BUNDLE_MANIFEST_INVALID', 'manifest.json: file_list names no .wasm module');
  const mw = manifest.custom_middleware;
  const hookEntries: [string, { path?: string }][] = [
    ...(['pre', 'post', 'post_key_auth', 'response'] as const).flatMap((k) =>
      (mw[k] ?? []).map((e, i) => [`custom_middleware.${k}[${i}]`, e] as [string, { path?: string }]),
    ),
    ...(mw.auth_check ? [['custom_middleware.auth_check', mw.auth_check] as [string, { path?: string }]] : []),
  ];
  for (const [field, e] of hookEntries) {
    if (e.path === undefined) {
      if (wasmFiles.length > 1)
        throw new BundleError(
          'BUNDLE_MANIFEST_INVALID',
          `manifest.json: ${field}.path is required when the bundle holds several modules`,
        );
    } else if (!wasmFiles.includes(e.path)) {
      throw new BundleError(
        'BUNDLE_MANIFEST_INVALID',
        `manifest.json: ${field}.path "${e.path}" is not a .wasm file of file_list`,
        e.path,
      );
    }
  }

  const names = pluginNames(opts.name, wasmFiles);
  return {
    manifest,
    signatureVerified: opts.publicKey !== null,
    modules: wasmFiles.map((f) => ({ file: f, plugin: names.get(f)!, bytes: contents.get(f)! })),
  };
}

/** The manifest's hook entries, with each `path` rewritten to the stored `name@version` (for API definitions). */
export function middlewareFor(
  manifest: BundleManifest,
  stored: ReadonlyMap<string, string>,
): BundleManifest['custom_middleware'] {
  const only = stored.size === 1 ? [...stored.values()][0] : undefined;
  const fix = <E extends { path?: string }>(e: E): E => ({ ...e, path: e.path ? stored.get(e.path) : only });
  const mw = manifest.custom_middleware;
  return {
    ...mw,
    ...(mw.pre && { pre: mw.pre.map(fix) }),
    ...(mw.post && { post: mw.post.map(fix) }),
    ...(mw.post_key_auth && { post_key_auth: mw.post_key_auth.map(fix) }),
    ...(mw.response && { response: mw.response.map(fix) }),
    ...(mw.auth_check && { auth_check: fix(mw.auth_check) }),
  };
}
