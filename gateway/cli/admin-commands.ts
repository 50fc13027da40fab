/**
 * Commands that talk to a running gateway's admin API: `wasmgate plugin
 * push` (a raw module or a bundle) and `wasmgate api apply` (create or
 * update a definition by its id, guarded by If-Match). Each prints the
 * server's JSON answer on stdout; exit 0 for a 2xx answer, 1 for any other
 * answer or a failed request, 2 for usage errors.
 */
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { BundleError, MANIFEST_FILE, parseManifest, ZipArchive } from '../bundle/index.ts';
import type { CommandSpec, Parsed } from './args.ts';
import { UsageError } from './args.ts';

const adminFlags = {
  admin: {
    type: 'string',
    description: 'admin API base URL',
    default: 'http://127.0.0.1:9090',
  },
  secret: { type: 'string', description: 'admin secret (default: $WASMGATE_ADMIN_SECRET)' },
} as const;

export const pushSpec: CommandSpec = {
  usage: 'wasmgate plugin push FILE --admin URL --secret S [--name N --version V] [--wasi]',
  description:
    "Uploads a raw module (FILE.wasm, needs --name and --version) or a bundle (a zip; name and version default to its manifest) to POST /tyk/plugins/NAME/VERSION, showing progress on stderr for uploads over 256 KiB, and prints the server's JSON answer. Exit 0 when stored, 1 when refused (409, 413, 422, …) or the gateway cannot be reached, 2 on usage errors.",
  positionals: ['file'],
  flags: {
    ...adminFlags,
    name: { type: 'string', description: 'plugin name' },
    version: { type: 'string', description: 'plugin version' },
    wasi: { type: 'boolean', description: 'the module needs WASI (Go plugins)', default: false },
  },
};

export const applySpec: CommandSpec = {
  usage: 'wasmgate api apply FILE.json --admin URL --secret S',
  description:
    "Creates or updates an API definition (Tyk Classic or OAS) by its id: reads the current one with GET /tyk/apis/ID, then PUTs with If-Match (the server answers 412 if it changed in between), or POSTs when it does not exist. Prints the server's JSON answer. Exit 0 when applied, 1 when refused, 2 on usage errors.",
  positionals: ['file'],
  flags: { ...adminFlags },
};

const PROGRESS_FROM = 256 * 1024;

function adminOf(args: Parsed): { base: string; secret: string } {
  const secret = typeof args.flags.secret === 'string' ? args.flags.secret : process.env.WASMGATE_ADMIN_SECRET;
  if (!secret) throw new UsageError('--secret is required (or set WASMGATE_ADMIN_SECRET)');
  const base = String(args.flags.admin);
  try {
    const url = new URL(base);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error();
  } catch {
    throw new UsageError(`--admin must be an http(s) URL, got "${base}"`);
  }
  return { base: base.replace(/\/+$/, ''), secret };
}

async function readInput(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new UsageError(`cannot read ${path}: ${reason}`);
  }
}

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

/** The body in chunks, reporting on stderr as they are handed to the socket. */
async function* withProgress(body: Buffer, label: string): AsyncGenerator<Buffer> {
  const chunk = 64 * 1024;
  const tty = process.stderr.isTTY === true;
  let lastStep = -1;
  for (let at = 0; at < body.length; at += chunk) {
    yield body.subarray(at, Math.min(body.length, at + chunk));
    const sent = Math.min(body.length, at + chunk);
    const pct = Math.floor((sent / body.length) * 100);
    if (tty) process.stderr.write(`\r${label}: ${mib(sent)} / ${mib(body.length)} (${pct}%)`);
    else if (Math.floor(pct / 10) > lastStep) {
      lastStep = Math.floor(pct / 10);
      process.stderr.write(`${label}: ${mib(sent)} / ${mib(body.length)} (${pct}%)\n`);
    }
  }
  if (tty) process.stderr.write('\n');
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

async function call(
  method: 'GET' | 'POST' | 'PUT',
  url: string,
  secret: string,
  opts: { body?: Buffer; type?: string; headers?: Record<string, string>; progress?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { 'x-tyk-authorization': secret, ...opts.headers };
  if (opts.body) {
    headers['content-type'] = opts.type ?? 'application/json';
    headers['content-length'] = String(opts.body.length);
  }
  const body =
    opts.body && opts.progress && opts.body.length > PROGRESS_FROM
      ? Readable.from(withProgress(opts.body, opts.progress))
      : opts.body;
  const res = await request(url, { method, headers, body });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

/** Prints the server's answer (JSON as one line) and maps it to the exit code. */
function report(answer: Answer, out: (line: string) => void): number {
  let line = answer.text;
  try {
    line = JSON.stringify(JSON.parse(answer.text));
  } catch {
    line = JSON.stringify({ status: 'error', http_status: answer.status, body: answer.text });
  }
  out(line);
  return answer.status >= 200 && answer.status < 300 ? 0 : 1;
}

function requestFailed(err: unknown, base: string, out: (line: string) => void): number {
  out(
    JSON.stringify({
      ok: false,
      error: { code: 'REQUEST_FAILED', message: `cannot reach the admin API at ${base}: ${(err as Error).message}` },
    }),
  );
  return 1;
}

const isZip = (b: Buffer) => b.length >= 4 && b.readUInt32LE(0) === 0x04034b50;

export async function pluginPush(args: Parsed, out: (line: string) => void): Promise<number> {
  const { base, secret } = adminOf(args);
  const file = args.positionals[0]!;
  const bytes = await readInput(file);
  const zip = isZip(bytes) || file.endsWith('.zip');
  let name = typeof args.flags.name === 'string' ? args.flags.name : undefined;
  let version = typeof args.flags.version === 'string' ? args.flags.version : undefined;
  if (zip && (!name || !version)) {
    // Only to default the name and version; the gateway does every real check.
    try {
      const archive = new ZipArchive(bytes);
      const entry = archive.files().find((e) => e.name === MANIFEST_FILE);
      if (entry) {
        const m = parseManifest(archive.read(entry));
        name ??= m.name;
        version ??= m.version;
      }
    } catch (err) {
      if (!(err instanceof BundleError)) throw err;
    }
  }
  if (!name || !version)
    throw new UsageError(
      zip
        ? '--name and --version are required (the bundle manifest names no "name"/"version")'
        : '--name and --version are required for a raw module',
    );
  const query = args.flags.wasi ? '?wasi=true' : '';
  const url = `${base}/tyk/plugins/${encodeURIComponent(name)}/${encodeURIComponent(version)}${query}`;
  try {
    const answer = await call('POST', url, secret, {
      body: bytes,
      type: zip ? 'application/zip' : 'application/wasm',
      progress: `push ${name}@${version}`,
    });
    return report(answer, out);
  } catch (err) {
    return requestFailed(err, base, out);
  }
}

/** The id of a definition: Classic `api_id`, OAS `x-tyk-api-gateway.info.id`. */
function apiIdOf(doc: unknown): string | null {
  if (typeof doc !== 'object' || doc === null) return null;
  const d = doc as { api_id?: unknown; openapi?: unknown; 'x-tyk-api-gateway'?: { info?: { id?: unknown } } };
  const id = 'openapi' in d ? d['x-tyk-api-gateway']?.info?.id : d.api_id;
  return typeof id === 'string' && id.length > 0 ? id : null;
}

export async function apiApply(args: Parsed, out: (line: string) => void): Promise<number> {
  const { base, secret } = adminOf(args);
  const file = args.positionals[0]!;
  const text = (await readInput(file)).toString('utf8');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  const id = apiIdOf(doc);
  if (!id) {
    out(
      JSON.stringify({
        ok: false,
        error: { code: 'NO_API_ID', message: `${file} has no api_id (Classic) or x-tyk-api-gateway.info.id (OAS)` },
      }),
    );
    return 1;
  }
  const body = Buffer.from(JSON.stringify(doc));
  const url = `${base}/tyk/apis/${encodeURIComponent(id)}`;
  try {
    const current = await call('GET', url, secret);
    if (current.status === 404) return report(await call('POST', `${base}/tyk/apis`, secret, { body }), out);
    if (current.status !== 200) return report(current, out);
    const etag = current.headers.etag;
    return report(
      await call('PUT', url, secret, { body, headers: typeof etag === 'string' ? { 'if-match': etag } : {} }),
      out,
    );
  } catch (err) {
    return requestFailed(err, base, out);
  }
}
