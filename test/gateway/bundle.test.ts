/**
 * Plugin bundles over real HTTP: a good bundle becomes plugin versions that
 * serve; every hostile or broken zip and manifest is refused with the code
 * naming what is wrong and leaves nothing behind; signatures (ed25519 over
 * HTTP, RSA through openBundle) are mandatory once a public key is set.
 */
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, startApp } from '../../gateway/app.ts';
import { openBundle, signedBytes } from '../../gateway/bundle/index.ts';
import { createLogger } from '../../gateway/log.ts';
import { loadSettings, type Settings } from '../../gateway/settings.ts';
import { classicApi, startUpstream, type Upstream } from '../harness/gateway.ts';
import { wat } from '../harness/wat.ts';
import { bundle, manifestFor, sha256hex, zip } from '../harness/zip.ts';

const SECRET = 'test-admin-secret-0123456789';
const MiB = 1024 * 1024;
const good = wat('result-fast');

async function boot(dataDir: string, extra: Partial<Settings> = {}): Promise<App> {
  const settings = await loadSettings({
    env: {},
    overrides: {
      host: '127.0.0.1',
      port: 0,
      adminPort: 0,
      demo: false,
      dataDir,
      logLevel: 'silent',
      adminSecret: SECRET,
      analytics: false,
      ...extra,
    },
  });
  return startApp(settings, createLogger('silent'));
}

function client(app: App) {
  return async (path: string, body: Uint8Array | string, type = 'application/zip') => {
    const res = await fetch(`http://127.0.0.1:${app.adminPort}${path}`, {
      method: 'POST',
      headers: { 'x-tyk-authorization': SECRET, 'content-type': type },
      body: typeof body === 'string' ? body : new Uint8Array(body),
    });
    // biome-ignore lint/suspicious/noExplicitAny: the admin API's JSON answers, read field by field
    return { status: res.status, json: (await res.json()) as Record<string, any> };
  };
}

function signed(manifest: Record<string, unknown>, key: KeyObject): Record<string, unknown> {
  const alg = key.asymmetricKeyType === 'ed25519' ? null : 'sha256';
  return { ...manifest, signature: sign(alg, signedBytes(manifest), key).toString('base64') };
}

let up: Upstream;
let dir: string;
beforeAll(async () => {
  up = await startUpstream();
  dir = await mkdtemp(join(tmpdir(), 'wasmgate-bundle-'));
});
afterAll(async () => {
  await up?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('what a signature covers', () => {
  it('is the manifest without "signature", keys sorted at every level, no whitespace, UTF-8', () => {
    const bytes = signedBytes({ b: 1, signature: 'x', a: { é: [1, 'x', null], c: true } });
    expect(bytes.toString('utf8')).toBe('{"a":{"c":true,"é":[1,"x",null]},"b":1}');
  });

  it('verifies RSA (PKCS#1 v1.5, SHA-256) signatures and refuses a changed manifest', () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const files = { 'plugin.wasm': good };
    const manifest = signed(manifestFor(files), privateKey);
    const ok = openBundle(bundle(files, manifest), { name: 'rsa', publicKey });
    expect(ok.signatureVerified).toBe(true);
    expect(ok.modules.map((m) => m.plugin)).toEqual(['rsa']);
    const tampered = { ...manifest, custom_middleware: { driver: 'wasm', post: [{ name: 'run' }] } };
    expect(() => openBundle(bundle(files, tampered), { name: 'rsa', publicKey })).toThrow(
      expect.objectContaining({ code: 'BUNDLE_SIGNATURE_INVALID' }),
    );
  });
});

describe('bundle uploads without a configured key', () => {
  let app: App;
  let post: ReturnType<typeof client>;
  beforeAll(async () => {
    app = await boot(join(dir, 'open'));
    post = client(app);
  }, 60_000);
  afterAll(async () => {
    await app?.close();
  });

  it('stores the module as a plugin version that serves, and refuses the same version twice', async () => {
    const files = { 'plugin.wasm': good, 'README.txt': 'a plugin' };
    const res = await post('/tyk/plugins/bun/1.0.0', bundle(files));
    expect(res.status, JSON.stringify(res.json)).toBe(201);
    expect(res.json.plugin).toMatchObject({ name: 'bun', version: '1.0.0', source_sha256: sha256hex(good) });
    expect(res.json.bundle).toMatchObject({
      files: ['plugin.wasm', 'README.txt'],
      signed: false,
      signature_verified: false,
      modules: { 'plugin.wasm': 'bun@1.0.0' },
      custom_middleware: { driver: 'wasm', pre: [{ name: 'run', path: 'bun@1.0.0' }] },
    });
    const api = await fetch(`http://127.0.0.1:${app.adminPort}/tyk/apis`, {
      method: 'POST',
      headers: { 'x-tyk-authorization': SECRET, 'content-type': 'application/json' },
      body: JSON.stringify({ ...classicApi('bun', up.url), custom_middleware: res.json.bundle.custom_middleware }),
    });
    expect(api.status).toBe(201);
    expect((await fetch(`http://127.0.0.1:${app.port}/bun/x`)).status).toBe(200);
    expect(up.last().headers['x-a']).toBe('1');
    expect((await post('/tyk/plugins/bun/1.0.0', bundle(files))).status).toBe(409);
  });

  it('stores several modules as name.<stem>, and none of them when one is refused by the pipeline', async () => {
    const two = { 'a/first.wasm': good, 'second.wasm': wat('echo-fast') };
    const manifest = manifestFor(two, {
      custom_middleware: {
        driver: 'wasm',
        pre: [{ name: 'run', path: 'a/first.wasm' }],
        post: [{ name: 'echo', path: 'second.wasm' }],
      },
    });
    const res = await post('/tyk/plugins/multi/1.0.0', bundle(two, manifest));
    expect(res.status, JSON.stringify(res.json)).toBe(201);
    expect(res.json.plugins.map((p: { name: string }) => p.name)).toEqual(['multi.first', 'multi.second']);

    const mixed = { 'ok.wasm': good, 'evil.wasm': wat('unknown-import') };
    const bad = await post(
      '/tyk/plugins/mixed/1.0.0',
      bundle(mixed, manifestFor(mixed, { custom_middleware: { driver: 'wasm' } })),
    );
    expect(bad.status).toBe(422);
    expect(bad.json).toMatchObject({ error: 'IMPORT_NOT_ALLOWED', entry: 'evil.wasm' });
    expect(bad.json.message).toMatch(/^evil\.wasm: /);
    const listed = await fetch(`http://127.0.0.1:${app.adminPort}/tyk/plugins/mixed.ok`, {
      headers: { 'x-tyk-authorization': SECRET },
    });
    expect(listed.status).toBe(404);
  });

  const files = { 'plugin.wasm': good };
  const m = manifestFor(files);
  const mf = { name: 'manifest.json', data: JSON.stringify(m) };
  const wasm = { name: 'plugin.wasm', data: good };
  const cases: [string, () => Uint8Array | string, number, string, string?][] = [
    ['not a zip', () => 'this is not a zip', 400, 'BUNDLE_MALFORMED'],
    [
      'a zip over the compressed cap',
      () => zip([mf, { name: 'big.bin', data: Buffer.alloc(20 * MiB), method: 0 }]),
      413,
      'BUNDLE_TOO_LARGE',
    ],
    [
      'entries declaring more than the uncompressed cap',
      () =>
        // Sizes that lie, within the ratio cap: refused from the central directory before inflating anything.
        zip([
          mf,
          { ...wasm, size: 40 * MiB, compressedSize: MiB },
          { name: 'b.bin', data: 'x', size: 40 * MiB, compressedSize: MiB },
        ]),
      413,
      'BUNDLE_UNCOMPRESSED_TOO_LARGE',
    ],
    [
      'more entries than the cap',
      () => zip([mf, wasm, ...Array.from({ length: 63 }, (_, i) => ({ name: `f${i}.txt`, data: 'x' }))]),
      413,
      'BUNDLE_TOO_MANY_ENTRIES',
    ],
    [
      'a zip bomb (ratio)',
      () => zip([mf, { ...wasm, data: Buffer.alloc(10 * MiB) }]),
      413,
      'BUNDLE_RATIO_EXCEEDED',
      'plugin.wasm',
    ],
    [
      'an entry that inflates past its declared size',
      () => zip([mf, { ...wasm, size: 1000, body: deflateRawSync(Buffer.alloc(MiB)) }]),
      413,
      'BUNDLE_UNCOMPRESSED_TOO_LARGE',
      'plugin.wasm',
    ],
    [
      'a ../ path',
      () => zip([mf, wasm, { name: '../evil.wasm', data: good }]),
      422,
      'BUNDLE_UNSAFE_PATH',
      '../evil.wasm',
    ],
    ['a nested ../ path', () => zip([mf, wasm, { name: 'a/../../x', data: 'x' }]), 422, 'BUNDLE_UNSAFE_PATH'],
    ['an absolute path', () => zip([mf, wasm, { name: '/etc/cron.d/x', data: 'x' }]), 422, 'BUNDLE_UNSAFE_PATH'],
    ['a drive letter', () => zip([mf, wasm, { name: 'C:/x', data: 'x' }]), 422, 'BUNDLE_UNSAFE_PATH'],
    ['a backslash', () => zip([mf, wasm, { name: 'a\\..\\x', data: 'x' }]), 422, 'BUNDLE_UNSAFE_PATH'],
    [
      'a symlink',
      () => zip([mf, { ...wasm, data: '/etc/passwd', mode: 0o120777 }]),
      422,
      'BUNDLE_SYMLINK',
      'plugin.wasm',
    ],
    ['a device file', () => zip([mf, { ...wasm, mode: 0o020644 }]), 422, 'BUNDLE_UNSAFE_PATH'],
    ['a duplicate name', () => zip([mf, wasm, wasm]), 422, 'BUNDLE_DUPLICATE_ENTRY', 'plugin.wasm'],
    [
      'names differing only in case',
      () => zip([mf, wasm, { ...wasm, name: 'PLUGIN.wasm' }]),
      422,
      'BUNDLE_DUPLICATE_ENTRY',
    ],
    ['an encrypted entry', () => zip([mf, { ...wasm, flags: 0x0801 }]), 422, 'BUNDLE_ENCRYPTED', 'plugin.wasm'],
    ['an AES entry', () => zip([mf, { ...wasm, method: 99 }]), 422, 'BUNDLE_ENCRYPTED'],
    ['bzip2', () => zip([mf, { ...wasm, method: 12 }]), 422, 'BUNDLE_UNSUPPORTED_METHOD', 'plugin.wasm'],
    ['a CRC mismatch', () => zip([mf, { ...wasm, crc: 1234 }]), 422, 'BUNDLE_CRC_MISMATCH', 'plugin.wasm'],
    [
      'a local header naming another file',
      () => zip([mf, { ...wasm, localName: 'other.wasm' }]),
      400,
      'BUNDLE_MALFORMED',
      'plugin.wasm',
    ],
    ['no manifest', () => zip([wasm]), 422, 'BUNDLE_MANIFEST_MISSING'],
    [
      'a manifest that is not JSON',
      () => zip([{ name: 'manifest.json', data: '{' }, wasm]),
      422,
      'BUNDLE_MANIFEST_INVALID',
    ],
    [
      'a manifest with another driver',
      () => bundle(files, { ...m, custom_middleware: { driver: 'python' } }),
      422,
      'BUNDLE_MANIFEST_INVALID',
    ],
    [
      'a sha256 mismatch',
      () => bundle(files, { ...m, sha256: { 'plugin.wasm': sha256hex('something else') } }),
      422,
      'BUNDLE_CHECKSUM_MISMATCH',
      'plugin.wasm',
    ],
    [
      'a listed file missing from the zip',
      () => zip([{ name: 'manifest.json', data: JSON.stringify(manifestFor({ ...files, 'x.txt': 'x' })) }, wasm]),
      422,
      'BUNDLE_FILE_MISSING',
      'x.txt',
    ],
    [
      'a file the manifest does not list',
      () => zip([mf, wasm, { name: 'extra.txt', data: 'x' }]),
      422,
      'BUNDLE_FILE_UNLISTED',
      'extra.txt',
    ],
    [
      'a hook entry naming a file that is not a module',
      () => bundle(files, { ...m, custom_middleware: { driver: 'wasm', pre: [{ name: 'run', path: 'other.wasm' }] } }),
      422,
      'BUNDLE_MANIFEST_INVALID',
    ],
  ];
  it.each(cases)('refuses %s', async (_what, make, status, code, entry) => {
    const res = await post('/tyk/plugins/hostile/1.0.0', make());
    expect(res.status, JSON.stringify(res.json)).toBe(status);
    expect(res.json).toMatchObject({ status: 'error', error: code });
    if (entry) expect(res.json.entry).toBe(entry);
    expect(typeof res.json.message).toBe('string');
    const listed = await fetch(`http://127.0.0.1:${app.adminPort}/tyk/plugins/hostile`, {
      headers: { 'x-tyk-authorization': SECRET },
    });
    expect(listed.status).toBe(404);
  });
});

describe('bundle uploads with a configured ed25519 key', () => {
  let app: App;
  let post: ReturnType<typeof client>;
  const keys = generateKeyPairSync('ed25519');
  const other = generateKeyPairSync('ed25519');
  const files = { 'plugin.wasm': good };

  beforeAll(async () => {
    const keyFile = join(dir, 'bundle.pub');
    await writeFile(keyFile, keys.publicKey.export({ type: 'spki', format: 'pem' }));
    const settings = await loadSettings({
      env: { WASMGATE_BUNDLE_PUBLIC_KEY: keyFile },
      overrides: {
        host: '127.0.0.1',
        port: 0,
        adminPort: 0,
        demo: false,
        dataDir: join(dir, 'signed'),
        logLevel: 'silent',
        adminSecret: SECRET,
        analytics: false,
      },
    });
    expect(settings.bundlePublicKey).toBe(keyFile);
    app = await startApp(settings, createLogger('silent'));
    post = client(app);
  }, 60_000);
  afterAll(async () => {
    await app?.close();
  });

  it('accepts a bundle signed with the key', async () => {
    const res = await post('/tyk/plugins/sig/1.0.0', bundle(files, signed(manifestFor(files), keys.privateKey)));
    expect(res.status, JSON.stringify(res.json)).toBe(201);
    expect(res.json.bundle).toMatchObject({ signed: true, signature_verified: true });
  });

  it('refuses an unsigned bundle and a raw module', async () => {
    const unsigned = await post('/tyk/plugins/sig/2.0.0', bundle(files));
    expect(unsigned.status).toBe(422);
    expect(unsigned.json.error).toBe('BUNDLE_SIGNATURE_REQUIRED');
    const raw = await post('/tyk/plugins/sig/2.0.0', good, 'application/wasm');
    expect(raw.status).toBe(422);
    expect(raw.json.error).toBe('BUNDLE_SIGNATURE_REQUIRED');
  });

  it('refuses a bundle signed with another key, and a signed manifest changed afterwards', async () => {
    const wrong = await post('/tyk/plugins/sig/3.0.0', bundle(files, signed(manifestFor(files), other.privateKey)));
    expect(wrong.status).toBe(422);
    expect(wrong.json.error).toBe('BUNDLE_SIGNATURE_INVALID');
    // Swapping the module and updating its sha256 breaks the signature over the manifest.
    const evil = { 'plugin.wasm': wat('echo-fast') };
    const swapped = { ...signed(manifestFor(files), keys.privateKey), sha256: manifestFor(evil).sha256 };
    const res = await post('/tyk/plugins/sig/3.0.0', bundle(evil, swapped));
    expect(res.status).toBe(422);
    expect(res.json.error).toBe('BUNDLE_SIGNATURE_INVALID');
    const versions = await fetch(`http://127.0.0.1:${app.adminPort}/tyk/plugins/sig`, {
      headers: { 'x-tyk-authorization': SECRET },
    });
    expect((await versions.json()).versions.map((v: { version: string }) => v.version)).toEqual(['1.0.0']);
  });

  it('refuses to start with a key that cannot be used', async () => {
    await expect(boot(join(dir, 'badkey'), { bundlePublicKey: '-----BEGIN PUBLIC KEY-----\nnope\n' })).rejects.toThrow(
      /bundlePublicKey/,
    );
  });
});
