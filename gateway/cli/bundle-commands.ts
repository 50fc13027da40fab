/**
 * `wasmgate plugin bundle DIR` (a plugin folder → a bundle zip, optionally
 * signed) and `wasmgate keygen` (an ed25519 key pair for signing bundles).
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { BundleError, type BundleManifest, openBundle, signManifest } from '../bundle/index.ts';
import { writeZip } from '../bundle/write.ts';
import type { CommandSpec, Parsed } from './args.ts';
import { UsageError } from './args.ts';

export const bundleSpec: CommandSpec = {
  usage: 'wasmgate plugin bundle DIR [--sign KEY.pem] [--out FILE.zip]',
  description: `Packs a plugin folder into a bundle (docs/admin.md, "Bundles"): manifest.json with a sha256 per file, signed when --sign names a private key (ed25519 or RSA PEM). DIR/manifest.json is either a Tyk bundle manifest (with "file_list"; the listed files are taken from DIR) or a plugin manifest ("name", "version", "hook", "export"; the module is DIR/build/plugin.wasm — run \`wasmgate plugin build DIR\` first). The result is checked like the gateway checks it, then written (default DIR/build/NAME-VERSION.zip) and described in one JSON line. Exit 1 when the folder cannot be bundled, 2 on usage errors.`,
  positionals: ['dir'],
  flags: {
    sign: { type: 'string', description: 'private key (PEM) to sign the manifest with' },
    out: { type: 'string', description: 'where to write the zip' },
  },
};

export const keygenSpec: CommandSpec = {
  usage: 'wasmgate keygen [--out PREFIX]',
  description:
    'Writes a new ed25519 key pair as PEM: PREFIX.key (private, PKCS#8, mode 0600) for `wasmgate plugin bundle --sign`, and PREFIX.pub (public, SPKI) for the gateway setting bundlePublicKey / WASMGATE_BUNDLE_PUBLIC_KEY. Never overwrites a file (exit 1).',
  positionals: [],
  flags: { out: { type: 'string', description: 'path prefix of the two files', default: 'wasmgate-bundle' } },
};

/** Tyk's custom_middleware key for each wasmgate hook that has one. */
const HOOK_KEYS: Record<string, 'pre' | 'post_key_auth' | 'post' | 'response' | 'auth_check'> = {
  pre: 'pre',
  auth: 'auth_check',
  post_auth: 'post_key_auth',
  post: 'post',
  response: 'response',
};

class BundleInputError extends Error {}

async function readInput(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new UsageError(`cannot read ${what} ${path}: ${reason}`);
  }
}

/** The manifest and files of a plugin folder. */
async function collect(dir: string): Promise<{ manifest: BundleManifest; files: { name: string; data: Buffer }[] }> {
  const raw = await readInput(join(dir, 'manifest.json'), 'manifest');
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new BundleInputError(`${join(dir, 'manifest.json')} is not valid JSON: ${(err as Error).message}`);
  }
  const read = async (name: string, path: string) => {
    try {
      return { name, data: await readFile(path) };
    } catch {
      throw new BundleInputError(`cannot read ${path}`);
    }
  };
  if (Array.isArray(doc.file_list)) {
    const { signature: _s, checksum: _c, ...rest } = doc;
    const list = doc.file_list as string[];
    const files = await Promise.all(list.map((f) => read(f, join(dir, f))));
    return { manifest: { ...(rest as unknown as BundleManifest), sha256: {} }, files };
  }
  const { name, version, hook, export: exportName } = doc as Record<string, string | undefined>;
  if (!name || !version) throw new BundleInputError(`${join(dir, 'manifest.json')} needs "name" and "version"`);
  const wasmPath = join(dir, 'build', 'plugin.wasm');
  const wasm = await read('plugin.wasm', wasmPath).catch(() => {
    throw new BundleInputError(`${wasmPath} does not exist; run \`wasmgate plugin build ${dir}\` first`);
  });
  const key = hook ? HOOK_KEYS[hook] : undefined;
  const entry = { name: exportName ?? '', path: 'plugin.wasm' };
  const custom_middleware: BundleManifest['custom_middleware'] = { driver: 'wasm' };
  if (key === 'auth_check') custom_middleware.auth_check = entry;
  else if (key) custom_middleware[key] = [entry];
  return {
    manifest: {
      name,
      version,
      file_list: ['plugin.wasm'],
      sha256: {},
      custom_middleware,
      ...(doc.wasi === true && { wasi: true }),
    },
    files: [wasm],
  };
}

export async function pluginBundle(args: Parsed, out: (line: string) => void): Promise<number> {
  const dir = resolve(args.positionals[0]!);
  let signKey: KeyObject | null = null;
  if (typeof args.flags.sign === 'string') {
    const pem = await readInput(args.flags.sign, 'key file');
    try {
      signKey = createPrivateKey(pem);
    } catch (err) {
      out(
        JSON.stringify({
          ok: false,
          error: { code: 'BAD_KEY', message: `${args.flags.sign}: ${(err as Error).message}` },
        }),
      );
      return 1;
    }
  }
  try {
    const { manifest: unsigned, files } = await collect(dir);
    for (const f of files) unsigned.sha256[f.name] = createHash('sha256').update(f.data).digest('hex');
    const manifest = signKey ? signManifest(unsigned, signKey) : unsigned;
    const zip = writeZip([{ name: 'manifest.json', data: Buffer.from(JSON.stringify(manifest, null, 2)) }, ...files]);
    // The gateway's own checks, so a bundle that would be refused is never written.
    const checked = openBundle(zip, {
      name: manifest.name ?? 'bundle',
      publicKey: signKey ? createPublicKey(signKey) : null,
    });
    const file = resolve(
      typeof args.flags.out === 'string'
        ? args.flags.out
        : join(dir, 'build', `${manifest.name ?? 'bundle'}-${manifest.version ?? '0'}.zip`),
    );
    await writeFile(file, zip);
    out(
      JSON.stringify({
        ok: true,
        file,
        bytes: zip.length,
        sha256: createHash('sha256').update(zip).digest('hex'),
        name: manifest.name ?? null,
        version: manifest.version ?? null,
        files: manifest.file_list,
        modules: checked.modules.map((m) => m.file),
        signed: signKey !== null,
      }),
    );
    return 0;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const code = err instanceof BundleError ? err.code : 'BUNDLE_FAILED';
    out(JSON.stringify({ ok: false, error: { code, message: (err as Error).message } }));
    return 1;
  }
}

export async function keygen(args: Parsed, out: (line: string) => void): Promise<number> {
  const prefix = resolve(String(args.flags.out));
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const keyFile = `${prefix}.key`;
  const pubFile = `${prefix}.pub`;
  let wroteKey = false;
  try {
    await writeFile(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { flag: 'wx', mode: 0o600 });
    wroteKey = true;
    await writeFile(pubFile, publicKey.export({ type: 'spki', format: 'pem' }), { flag: 'wx', mode: 0o644 });
  } catch (err) {
    // Never leave half a pair behind.
    if (wroteKey) await rm(keyFile, { force: true });
    const e = err as NodeJS.ErrnoException;
    const message =
      e.code === 'EEXIST'
        ? `${e.path} exists; keygen never overwrites a key`
        : `cannot write in ${dirname(prefix)}: ${e.message}`;
    out(JSON.stringify({ ok: false, error: { code: 'KEYGEN_FAILED', message } }));
    return 1;
  }
  out(JSON.stringify({ ok: true, private_key: keyFile, public_key: pubFile, type: 'ed25519' }));
  return 0;
}
