/**
 * `wasmgate keygen`, `plugin bundle`, `plugin push` and `api apply` against
 * real running gateways (one open, one requiring signed bundles): what they
 * print, what the gateway ends up serving, and the exit codes.
 */
import { execFile } from 'node:child_process';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type App, startApp } from '../../gateway/app.ts';
import { main } from '../../gateway/cli/main.ts';
import { createLogger } from '../../gateway/log.ts';
import { loadSettings, type Settings } from '../../gateway/settings.ts';
import { classicApi, startUpstream, type Upstream } from '../harness/gateway.ts';
import { paddedModule, wat } from '../harness/wat.ts';

const SECRET = 'cli-admin-secret-0123456789';
const ROOT = resolve(import.meta.dirname, '..', '..');

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

async function run(argv: string[]): Promise<{ code: number; json: Record<string, unknown> | null; text: string }> {
  const lines: string[] = [];
  const code = await main(argv, (l) => lines.push(l));
  const text = lines.join('\n');
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {}
  return { code, json, text };
}

let dir: string;
let up: Upstream;
let open: App;
let locked: App;
let openAdmin: string;
let lockedAdmin: string;
let pluginDir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wasmgate-cli-admin-'));
  up = await startUpstream();
  pluginDir = join(dir, 'stamp');
  await mkdir(join(pluginDir, 'build'), { recursive: true });
  await writeFile(
    join(pluginDir, 'manifest.json'),
    JSON.stringify({ name: 'stamp', version: '1.0.0', entry: 'index.ts', hook: 'pre', export: 'run' }),
  );
  await writeFile(join(pluginDir, 'build', 'plugin.wasm'), wat('result-fast'));
  open = await boot(join(dir, 'open'));
  openAdmin = `http://127.0.0.1:${open.adminPort}`;
}, 60_000);
afterAll(async () => {
  await open?.close();
  await locked?.close();
  await up?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('help and usage', () => {
  it('prints --help for every new command and exits 2 on usage errors', async () => {
    for (const cmd of [['plugin', 'bundle'], ['plugin', 'push'], ['keygen'], ['api', 'apply']]) {
      const r = await run([...cmd, '--help']);
      expect(r.code).toBe(0);
      expect(r.text).toContain(`usage: wasmgate ${cmd.join(' ')}`);
    }
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect((await run(['plugin', 'push'])).code).toBe(2);
      expect((await run(['plugin', 'push', join(dir, 'nope.wasm'), '--secret', SECRET])).code).toBe(2);
      // A raw module needs a name and a version.
      await writeFile(join(dir, 'raw.wasm'), wat('result-fast'));
      expect(
        (await run(['plugin', 'push', join(dir, 'raw.wasm'), '--admin', openAdmin, '--secret', SECRET])).code,
      ).toBe(2);
      expect((await run(['plugin', 'push', join(dir, 'raw.wasm'), '--name', 'x', '--version', '1'])).code).toBe(2);
      expect((await run(['api', 'apply', join(dir, 'raw.wasm'), '--secret', SECRET])).code).toBe(2);
      expect((await run(['plugin', 'bundle', join(dir, 'missing-dir')])).code).toBe(2);
      expect((await run(['keygen', '--bits', '2'])).code).toBe(2);
    } finally {
      err.mockRestore();
    }
  });
});

describe('keygen and plugin bundle', () => {
  it('writes an ed25519 PEM pair once, and never overwrites it', async () => {
    const prefix = join(dir, 'release');
    const r = await run(['keygen', '--out', prefix]);
    expect(r.code).toBe(0);
    expect(r.json).toEqual({ ok: true, private_key: `${prefix}.key`, public_key: `${prefix}.pub`, type: 'ed25519' });
    expect(createPrivateKey(await readFile(`${prefix}.key`)).asymmetricKeyType).toBe('ed25519');
    expect(createPublicKey(await readFile(`${prefix}.pub`)).asymmetricKeyType).toBe('ed25519');
    expect((await stat(`${prefix}.key`)).mode & 0o777).toBe(0o600);
    const before = await readFile(`${prefix}.key`, 'utf8');
    const again = await run(['keygen', '--out', prefix]);
    expect(again.code).toBe(1);
    expect(again.json).toMatchObject({ ok: false, error: { code: 'KEYGEN_FAILED' } });
    expect(await readFile(`${prefix}.key`, 'utf8')).toBe(before);
  });

  it('bundles a plugin folder, signed or not; exit 1 when the module is not built', async () => {
    const unsigned = await run(['plugin', 'bundle', pluginDir]);
    expect(unsigned.code, unsigned.text).toBe(0);
    expect(unsigned.json).toMatchObject({
      ok: true,
      file: join(pluginDir, 'build', 'stamp-1.0.0.zip'),
      name: 'stamp',
      version: '1.0.0',
      files: ['plugin.wasm'],
      signed: false,
    });
    const signed = await run([
      'plugin',
      'bundle',
      pluginDir,
      '--sign',
      join(dir, 'release.key'),
      '--out',
      join(dir, 'stamp-signed.zip'),
    ]);
    expect(signed.code, signed.text).toBe(0);
    expect(signed.json).toMatchObject({ ok: true, signed: true, file: join(dir, 'stamp-signed.zip') });

    const empty = join(dir, 'unbuilt');
    await mkdir(empty);
    await writeFile(join(empty, 'manifest.json'), JSON.stringify({ name: 'unbuilt', version: '1.0.0', hook: 'pre' }));
    const r = await run(['plugin', 'bundle', empty]);
    expect(r.code).toBe(1);
    expect((r.json as { error: { message: string } }).error.message).toContain('wasmgate plugin build');
  });
});

describe('plugin push and api apply against a running gateway', () => {
  it('pushes a raw module, then refuses the same version (exit 1, the server JSON printed)', async () => {
    const file = join(dir, 'raw.wasm');
    await writeFile(file, wat('result-fast'));
    const args = ['plugin', 'push', file, '--admin', openAdmin, '--secret', SECRET, '--name', 'raw', '--version', '1'];
    const r = await run(args);
    expect(r.code, r.text).toBe(0);
    expect(r.json).toMatchObject({ status: 'ok', action: 'added', plugin: { name: 'raw', version: '1' } });
    const again = await run(args);
    expect(again.code).toBe(1);
    expect(again.json).toMatchObject({ status: 'error', error: 'plugin_version_exists' });
  });

  it('pushes a bundle under the name and version of its manifest', async () => {
    const r = await run([
      'plugin',
      'push',
      join(pluginDir, 'build', 'stamp-1.0.0.zip'),
      '--admin',
      openAdmin,
      '--secret',
      SECRET,
    ]);
    expect(r.code, r.text).toBe(0);
    expect(r.json).toMatchObject({
      status: 'ok',
      plugin: { name: 'stamp', version: '1.0.0' },
      bundle: { custom_middleware: { driver: 'wasm', pre: [{ name: 'run', path: 'stamp@1.0.0' }] } },
    });
  });

  it('shows progress on stderr for a large upload', async () => {
    const file = join(dir, 'big.wasm');
    await writeFile(file, paddedModule(1024 * 1024));
    const lines: string[] = [];
    const err = vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
      lines.push(String(s));
      return true;
    });
    let r: Awaited<ReturnType<typeof run>>;
    try {
      r = await run([
        'plugin',
        'push',
        file,
        '--admin',
        openAdmin,
        '--secret',
        SECRET,
        '--name',
        'big',
        '--version',
        '1',
      ]);
    } finally {
      err.mockRestore();
    }
    expect(r.code, r.text).toBe(0);
    const progress = lines.join('');
    expect(progress).toContain('push big@1: ');
    expect(progress).toContain('1.0 MiB / 1.0 MiB (100%)');
    expect(progress.match(/\(\d+%\)/g)!.length).toBeGreaterThan(3);
  });

  it('creates an API, then updates it with If-Match from a GET', async () => {
    const file = join(dir, 'api.json');
    const def = {
      ...classicApi('cliapi', up.url),
      custom_middleware: { driver: 'wasm', pre: [{ name: 'run', path: 'stamp@1.0.0' }] },
    };
    await writeFile(file, JSON.stringify(def));
    const created = await run(['api', 'apply', file, '--admin', openAdmin, '--secret', SECRET]);
    expect(created.code, created.text).toBe(0);
    expect(created.json).toEqual({ key: 'cliapi', status: 'ok', action: 'added' });
    await (await fetch(`http://127.0.0.1:${open.port}/cliapi/x`)).text();
    expect(up.last().headers['x-a']).toBe('1');

    await writeFile(file, JSON.stringify({ ...def, custom_middleware: { driver: 'wasm', pre: [] } }));
    const updated = await run(['api', 'apply', file, '--admin', openAdmin, '--secret', SECRET]);
    expect(updated.code, updated.text).toBe(0);
    expect(updated.json).toEqual({ key: 'cliapi', status: 'ok', action: 'modified' });
    await (await fetch(`http://127.0.0.1:${open.port}/cliapi/x`)).text();
    expect(up.last().headers['x-a']).toBeUndefined();

    await writeFile(file, JSON.stringify({ ...def, proxy: { listen_path: '/cliapi/', target_url: 'not a url' } }));
    const bad = await run(['api', 'apply', file, '--admin', openAdmin, '--secret', SECRET]);
    expect(bad.code).toBe(1);
    expect(bad.json).toMatchObject({ status: 'error', error: 'invalid_api_definition' });
    expect(String(bad.json!.message)).toContain('proxy.target_url');

    await writeFile(file, JSON.stringify({ name: 'no id' }));
    expect((await run(['api', 'apply', file, '--admin', openAdmin, '--secret', SECRET])).json).toMatchObject({
      ok: false,
      error: { code: 'NO_API_ID' },
    });
  });

  it('exits 1 on a wrong secret and on an unreachable gateway', async () => {
    await writeFile(join(dir, 'api2.json'), JSON.stringify(classicApi('cliapi2', up.url)));
    const wrong = await run(['api', 'apply', join(dir, 'api2.json'), '--admin', openAdmin, '--secret', 'nope']);
    expect(wrong.code).toBe(1);
    expect(wrong.json).toMatchObject({ error: 'forbidden' });
    const down = await run([
      'plugin',
      'push',
      join(dir, 'raw.wasm'),
      '--admin',
      'http://127.0.0.1:1',
      '--secret',
      SECRET,
      '--name',
      'x',
      '--version',
      '1',
    ]);
    expect(down.code).toBe(1);
    expect(down.json).toMatchObject({ ok: false, error: { code: 'REQUEST_FAILED' } });
  });
});

describe('a gateway that requires signed bundles', () => {
  beforeAll(async () => {
    locked = await boot(join(dir, 'locked'), { bundlePublicKey: join(dir, 'release.pub') });
    lockedAdmin = `http://127.0.0.1:${locked.adminPort}`;
  }, 60_000);

  it('takes the signed bundle and refuses the unsigned one', async () => {
    const unsigned = await run([
      'plugin',
      'push',
      join(pluginDir, 'build', 'stamp-1.0.0.zip'),
      '--admin',
      lockedAdmin,
      '--secret',
      SECRET,
    ]);
    expect(unsigned.code).toBe(1);
    expect(unsigned.json).toMatchObject({ status: 'error', error: 'BUNDLE_SIGNATURE_REQUIRED' });
    const signed = await run([
      'plugin',
      'push',
      join(dir, 'stamp-signed.zip'),
      '--admin',
      lockedAdmin,
      '--secret',
      SECRET,
    ]);
    expect(signed.code, signed.text).toBe(0);
    expect(signed.json).toMatchObject({ status: 'ok', bundle: { signed: true, signature_verified: true } });
  });

  it('works as a real process: exit code, JSON on stdout, progress on stderr', async () => {
    const file = join(dir, 'big2.wasm');
    await writeFile(file, paddedModule(600 * 1024));
    const r = await promisify(execFile)(
      process.execPath,
      [
        join(ROOT, 'bin', 'wasmgate.js'),
        'plugin',
        'push',
        file,
        '--admin',
        openAdmin,
        '--name',
        'big',
        '--version',
        '2',
      ],
      { cwd: ROOT, env: { ...process.env, WASMGATE_ADMIN_SECRET: SECRET } },
    );
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 'ok', plugin: { name: 'big', version: '2' } });
    expect(r.stderr).toContain('(100%)');
    const refused = await promisify(execFile)(
      process.execPath,
      [
        join(ROOT, 'bin', 'wasmgate.js'),
        'plugin',
        'push',
        file,
        '--admin',
        lockedAdmin,
        '--name',
        'big',
        '--version',
        '3',
      ],
      { cwd: ROOT, env: { ...process.env, WASMGATE_ADMIN_SECRET: SECRET } },
    ).then(
      () => null,
      (e: { code: number; stdout: string }) => e,
    );
    expect(refused?.code).toBe(1);
    expect(JSON.parse(refused!.stdout)).toMatchObject({ error: 'BUNDLE_SIGNATURE_REQUIRED' });
  }, 30_000);
});
