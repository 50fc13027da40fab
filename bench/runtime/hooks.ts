/**
 * What one request's four plugin hooks cost in process, with no HTTP: the
 * gateway's own stages (runRequestPlugins for pre, post-auth and post,
 * runResponsePlugins for response) over the real runtime, modules and
 * codec: envelope, call, decode, apply. Three sets, as in bench/run.ts:
 * the probe kit plugin's `stamp` on all four hooks; three minimal WAT
 * plugins and the kit on the response hook; and four WAT calls that read
 * and answer nothing (the host's cost alone).
 *
 *   node --import tsx bench/runtime/hooks.ts [--requests N] [--rounds N]
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { RequestContext } from '../../gateway/context.ts';
import { type BoundPlugin, runRequestPlugins } from '../../gateway/stages/plugin.ts';
import { runResponsePlugins } from '../../gateway/stages/response.ts';
import type { LoadedApiInfo } from '../../gateway/stages/types.ts';
import { buildPlugin } from '../../pdk/build.ts';
import { type Hook, newMulti, type PreparedModule, Runtime } from '../../runtime/index.ts';
import { wat } from '../../test/harness/wat.ts';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const REQUESTS = arg('requests', 50_000);
const ROUNDS = arg('rounds', 3);

const rt = new Runtime({});
const probe = await buildPlugin(resolve(import.meta.dirname, '..', '..', 'test', 'fixtures', 'plugins', 'probe'));
const kit = await rt.prepare(await readFile(probe.file));
const trivial = await rt.prepare(wat('result-fast'));

const api = {
  id: 'hooks',
  name: 'hooks',
  orgId: 'bench',
  envelopeSpec: Object.freeze({ api_id: 'hooks', org_id: 'bench', name: 'hooks', config_data: Object.freeze({}) }),
  onPluginFailure: (_ctx: RequestContext, plugin: BoundPlugin, err: unknown) => {
    throw new Error(`${plugin.label} failed`, { cause: err });
  },
  upstreamTargets: new Map(),
} as unknown as LoadedApiInfo;

const bound = (module: PreparedModule, exportName: string, hook: Hook): BoundPlugin => ({
  hook,
  exportName,
  needsBody: false,
  failOpen: false,
  binding: rt.bind(module, { apiId: api.id }),
  label: 'bench@1.0.0',
});
const set = (m: PreparedModule, name: string, response: [PreparedModule, string]) => ({
  pre: [bound(m, name, 'pre')],
  postAuth: [bound(m, name, 'post_auth')],
  post: [bound(m, name, 'post')],
  response: [bound(response[0], response[1], 'response')],
});
const sets = {
  'kit stamp ×4': set(kit, 'stamp', [kit, 'stamp']),
  'WAT ×3 + kit on response': set(trivial, 'run', [kit, 'stamp']),
  'WAT, nothing read or answered, ×4': set(trivial, 'ok', [trivial, 'ok']),
};

/** A GET as the benchmark sends it: a few headers, no query, no body. */
function request(): RequestContext {
  const headers = newMulti();
  headers.host = ['127.0.0.1:8080'];
  headers['user-agent'] = ['autocannon'];
  return {
    id: 'a1b2c3d4-1',
    method: 'GET',
    path: '/x',
    requestUri: '/hooks/x',
    scheme: 'http',
    host: '127.0.0.1:8080',
    clientIp: '127.0.0.1',
    params: newMulti(),
    headers,
    body: null,
    session: null,
    time: Math.floor(Date.now() / 1000),
    outboundCalls: 0,
  } as unknown as RequestContext;
}

const same = (p: string) => p;
for (const [name, s] of Object.entries(sets)) {
  // Warm: the first call of each binding waits for its instance to be created; later ones are direct.
  for (let i = 0; i < 3; i++) {
    const ctx = request();
    for (const list of [s.pre, s.postAuth, s.post]) await runRequestPlugins(ctx, api, list, same);
    await runResponsePlugins(ctx, api, s.response, { status: 200, headers: newMulti(), body: new Uint8Array(0) });
  }
  const results: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < REQUESTS; i++) {
      const ctx = request();
      for (const list of [s.pre, s.postAuth, s.post]) {
        if (runRequestPlugins(ctx, api, list, same) instanceof Promise)
          throw new Error('a hook did not answer at once');
      }
      const headers = newMulti();
      headers['content-type'] = ['application/json'];
      headers['content-length'] = ['188'];
      if (runResponsePlugins(ctx, api, s.response, { status: 200, headers, body: new Uint8Array(0) })) {
        throw new Error('the response hook did not answer at once');
      }
    }
    results.push(Number(process.hrtime.bigint() - started) / REQUESTS / 1000);
  }
  console.log(`${name}: ${results.map((r) => r.toFixed(1)).join(' / ')} µs per request (${ROUNDS} rounds)`);
}
await rt.close();
