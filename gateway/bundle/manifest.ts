/**
 * The bundle manifest: Tyk's `manifest.json` (`file_list`,
 * `custom_middleware`) with `driver: "wasm"`, extended with a sha256 per
 * file and an optional signature.
 *
 * What is signed: the canonical bytes of the manifest without its
 * `signature` member — the parsed manifest serialised as RFC 8785 (JCS)
 * JSON: object members sorted by key (UTF-16 code units), no whitespace,
 * strings and numbers as ECMAScript's JSON.stringify writes them, UTF-8.
 * The per-file sha256s are part of it, so the signature covers every file.
 * Ed25519 keys sign those bytes directly; RSA keys sign them with
 * RSASSA-PKCS1-v1_5 over SHA-256. `signature` is the base64 signature.
 */
import { createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { Ajv } from 'ajv';
import { BundleError } from './errors.ts';

export const MANIFEST_FILE = 'manifest.json';

export interface ManifestEntry {
  name: string;
  path?: string;
  require_session?: boolean;
  raw_body_only?: boolean;
  [key: string]: unknown;
}

export interface BundleManifest {
  /** Default plugin name and version for `wasmgate plugin push` (the upload's path names them on the server). */
  name?: string;
  version?: string;
  file_list: string[];
  /** sha256 (hex) of every file in `file_list`. */
  sha256: Record<string, string>;
  custom_middleware: {
    driver: 'wasm';
    pre?: ManifestEntry[];
    post?: ManifestEntry[];
    post_key_auth?: ManifestEntry[];
    response?: ManifestEntry[];
    auth_check?: ManifestEntry;
    id_extractor?: Record<string, unknown>;
  };
  /** The modules need WASI (Go plugins). */
  wasi?: boolean;
  /** Tyk's MD5 checksum; accepted for compatibility and not used (the sha256s are). */
  checksum?: string;
  signature?: string;
}

const entry = {
  type: 'object',
  required: ['name'],
  properties: {
    name: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]{0,127}$' },
    path: { type: 'string', minLength: 1, maxLength: 255 },
    require_session: { type: 'boolean' },
    raw_body_only: { type: 'boolean' },
  },
} as const;
const entries = { type: 'array', maxItems: 64, items: entry } as const;

const schema = {
  type: 'object',
  required: ['file_list', 'sha256', 'custom_middleware'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', pattern: '^[a-z0-9][a-z0-9._-]{0,63}$' },
    version: { type: 'string', pattern: '^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$' },
    file_list: {
      type: 'array',
      minItems: 1,
      maxItems: 1024,
      uniqueItems: true,
      items: { type: 'string', minLength: 1, maxLength: 255 },
    },
    sha256: { type: 'object', additionalProperties: { type: 'string', pattern: '^[0-9a-f]{64}$' } },
    custom_middleware: {
      type: 'object',
      required: ['driver'],
      additionalProperties: false,
      properties: {
        driver: { const: 'wasm' },
        pre: entries,
        post: entries,
        post_key_auth: entries,
        response: entries,
        auth_check: entry,
        id_extractor: { type: 'object' },
      },
    },
    wasi: { type: 'boolean' },
    checksum: { type: 'string' },
    signature: { type: 'string', minLength: 1, maxLength: 4096 },
  },
} as const;

const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);

/** RFC 8785 canonical JSON of a JSON value (what JSON.parse returns). */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError('non-finite number');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
}

/** The bytes a signature covers: the manifest without `signature`, canonical. */
export function signedBytes(manifest: object): Buffer {
  const { signature: _omit, ...rest } = manifest as { signature?: unknown };
  return Buffer.from(canonicalJson(rest), 'utf8');
}

export function parseManifest(bytes: Uint8Array): BundleManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new BundleError(
      'BUNDLE_MANIFEST_INVALID',
      `manifest.json is not valid JSON: ${(err as Error).message}`,
      MANIFEST_FILE,
    );
  }
  if (!validate(doc)) {
    const what = (validate.errors ?? [])
      .map((e) => {
        const path = e.instancePath.replace(/^\//, '').replace(/\//g, '.') || '(root)';
        if (e.keyword === 'additionalProperties')
          return `${path}: unknown field "${(e.params as { additionalProperty: string }).additionalProperty}"`;
        return `${path}: ${e.message}`;
      })
      .join('; ');
    throw new BundleError('BUNDLE_MANIFEST_INVALID', `manifest.json: ${what}`, MANIFEST_FILE);
  }
  const m = doc as BundleManifest;
  const listed = new Set(m.file_list);
  for (const f of m.file_list)
    if (!m.sha256[f])
      throw new BundleError('BUNDLE_MANIFEST_INVALID', `manifest.json: sha256 has no entry for "${f}"`, f);
  for (const f of Object.keys(m.sha256))
    if (!listed.has(f))
      throw new BundleError(
        'BUNDLE_MANIFEST_INVALID',
        `manifest.json: sha256 names "${f}", which file_list does not`,
        f,
      );
  if (listed.has(MANIFEST_FILE))
    throw new BundleError('BUNDLE_MANIFEST_INVALID', 'manifest.json: file_list must not list the manifest itself');
  return m;
}

/** Verifies the manifest's signature with `key`; throws naming what is wrong. */
export function verifyManifest(manifest: BundleManifest, key: KeyObject): void {
  if (!manifest.signature)
    throw new BundleError(
      'BUNDLE_SIGNATURE_REQUIRED',
      'this gateway requires signed bundles (a public key is configured) and the manifest has no signature',
      MANIFEST_FILE,
    );
  const sig = Buffer.from(manifest.signature, 'base64');
  let ok = false;
  try {
    ok = verify(key.asymmetricKeyType === 'ed25519' ? null : 'sha256', signedBytes(manifest), key, sig);
  } catch {
    ok = false;
  }
  if (!ok)
    throw new BundleError(
      'BUNDLE_SIGNATURE_INVALID',
      `the manifest's signature does not verify with the configured ${key.asymmetricKeyType} public key`,
      MANIFEST_FILE,
    );
}

/** Adds `signature` to a manifest with a private key (ed25519 or RSA). */
export function signManifest<T extends object>(manifest: T, privateKey: KeyObject): T & { signature: string } {
  const type = privateKey.asymmetricKeyType;
  if (type !== 'ed25519' && type !== 'rsa') throw new TypeError(`bundle keys are ed25519 or RSA, not ${type}`);
  const sig = sign(type === 'ed25519' ? null : 'sha256', signedBytes(manifest), privateKey);
  return { ...manifest, signature: sig.toString('base64') };
}

/** A public key from PEM text, or a PEM file's path; only ed25519 and RSA. */
export function loadPublicKey(pem: string): KeyObject {
  const key = createPublicKey(pem);
  if (key.asymmetricKeyType !== 'ed25519' && key.asymmetricKeyType !== 'rsa')
    throw new TypeError(`bundle public keys are ed25519 or RSA, not ${key.asymmetricKeyType}`);
  return key;
}
