/**
 * The admin API (Tyk's Gateway API shape, under /tyk/), on its own listener
 * (127.0.0.1 by default). Every request but liveness carries the secret in
 * `x-tyk-authorization`, compared in constant time; every failure gets the
 * same 403. Bodies are validated at the edge with errors naming the field;
 * updates take `If-Match` (ETag) and answer 412 when it is stale.
 *
 * Plugins arrive as a raw module (`application/wasm`) or as a bundle
 * (`application/zip`, gateway/bundle): both go through the runtime's
 * upload pipeline before anything is stored.
 *
 * Changes are written to the store first, then applied: an API definition
 * is compiled and its plugins bound before it replaces the running one (a
 * broken new version never replaces a working one), and a reload notice
 * tells other nodes sharing the store to re-read.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Ajv } from 'ajv';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { SessionRecord } from '../../runtime/index.ts';
import { BundleError, middlewareFor, openBundle, publicKeyFromSetting } from '../bundle/index.ts';
import { ChainError } from '../chain/build.ts';
import { ApiDefinitionError } from '../config/errors.ts';
import { parseApiDefinition } from '../config/load.ts';
import type { Gateway } from '../gateway.ts';
import { HttpError } from '../http-error.ts';
import { checkPluginName, checkPluginVersion, type PluginVersion } from '../plugins/registry.ts';
import { hashKey } from '../sessions/credentials.ts';
import type { Policy } from '../sessions/policies.ts';
import type { Store } from '../store/store.ts';

const etagOf = (json: string) => `"${createHash('sha256').update(json).digest('hex').slice(0, 32)}"`;

const sessionSchema = {
  type: 'object',
  additionalProperties: true,
  properties: {
    rate: { type: 'number', minimum: 0 },
    per: { type: 'number', minimum: 0 },
    allowance: { type: 'number' },
    quota_max: { type: 'integer', minimum: -1 },
    quota_remaining: { type: 'integer' },
    quota_renews: { type: 'integer' },
    quota_renewal_rate: { type: 'integer', minimum: 0 },
    access_rights: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        properties: {
          api_id: { type: 'string' },
          api_name: { type: 'string' },
          versions: { type: 'array', items: { type: 'string' } },
          allowed_urls: {
            type: 'array',
            items: {
              type: 'object',
              required: ['url'],
              properties: {
                url: { type: 'string', minLength: 1 },
                methods: { type: 'array', items: { type: 'string' } },
              },
            },
          },
        },
      },
    },
    apply_policies: { type: 'array', items: { type: 'string', minLength: 1 } },
    metadata: { type: 'object', additionalProperties: { type: 'string' } },
    tags: { type: 'array', items: { type: 'string' } },
    expires: { type: 'integer' },
    alias: { type: 'string' },
    org_id: { type: 'string' },
  },
} as const;

const policySchema = {
  type: 'object',
  additionalProperties: true,
  properties: {
    id: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,200}$' },
    name: { type: 'string' },
    rate: { type: 'number', minimum: 0 },
    per: { type: 'number', minimum: 0 },
    quota_max: { type: 'integer', minimum: -1 },
    quota_renewal_rate: { type: 'integer', minimum: 0 },
    access_rights: sessionSchema.properties.access_rights,
    tags: { type: 'array', items: { type: 'string' } },
    active: { type: 'boolean' },
    partitions: {
      type: 'object',
      properties: { quota: { type: 'boolean' }, rate_limit: { type: 'boolean' }, acl: { type: 'boolean' } },
    },
  },
} as const;

const ajv = new Ajv({ allErrors: true, strict: false });
const validateSession = ajv.compile(sessionSchema);
const validatePolicy = ajv.compile(policySchema);

function bodyError(what: string, errors: typeof validateSession.errors): HttpError {
  const first = (errors ?? [])
    .map((e) => `${e.instancePath.replace(/^\//, '').replace(/\//g, '.') || what}: ${e.message}`)
    .join('; ');
  return new HttpError(400, 'invalid_body', {}, { message: first });
}

/** JSON answers in Tyk's style: `{status, message}` for errors. */
function fail(reply: FastifyReply, err: unknown): FastifyReply {
  if (err instanceof BundleError || err instanceof BundleModuleError) {
    return reply
      .code(err.status)
      .send({ status: 'error', error: err.code, message: err.message, ...(err.entry && { entry: err.entry }) });
  }
  if (err instanceof ApiDefinitionError) {
    return reply
      .code(400)
      .send({ status: 'error', error: 'invalid_api_definition', message: err.message, problems: err.problems });
  }
  // The chain's only refusal: a definition naming an export its plugin version lacks.
  if (err instanceof ChainError)
    return reply.code(422).send({ status: 'error', error: 'EXPORT_NOT_FOUND', message: err.message });
  if (err instanceof HttpError)
    return reply
      .code(err.status)
      .headers(err.headers)
      .send({ status: 'error', error: err.publicError, message: err.message });
  const e = err as { status?: number; code?: string; message?: string };
  if (typeof e.status === 'number' && typeof e.code === 'string') {
    return reply.code(e.status).send({ status: 'error', error: e.code, message: e.message });
  }
  return reply.code(500).send({ status: 'error', error: 'internal_error', message: 'see the gateway log' });
}

/** A module of a bundle refused by the upload pipeline: the runtime's code, naming the file. */
class BundleModuleError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly entry: string,
  ) {
    super(message);
  }
}

export interface AdminOptions {
  gateway: Gateway;
  store: Store;
  secret: string;
  /** Anchors relative `.wasm` paths of definitions created through the API. */
  baseDir: string;
  /** Applies every API, policy and plugin from the store (reload). */
  reloadAll: () => Promise<void>;
  /** The reload notice this node publishes (other nodes re-read; this node ignores its own). */
  notice: string;
}

export function createAdminServer(opts: AdminOptions): FastifyInstance {
  const { gateway, store } = opts;
  const secretDigest = createHash('sha256').update(opts.secret).digest();
  const bundleKey = publicKeyFromSetting(gateway.settings.bundlePublicKey);
  const app = Fastify({ logger: false, bodyLimit: 32 * 1024 * 1024 });
  app.addContentTypeParser(
    ['application/wasm', 'application/octet-stream', 'application/zip'],
    { parseAs: 'buffer' },
    (_req, body, done) => done(null, body),
  );

  // Liveness needs no secret; everything else does.
  app.get('/tyk/health', async () => ({ status: 'pass' }));
  // Prometheus scrapes without the secret; the admin listener is loopback by default.
  app.get('/metrics', async (_req, reply) =>
    reply.type(gateway.metrics.registry.contentType).send(await gateway.metrics.registry.metrics()),
  );
  app.addHook('onRequest', async (req, reply) => {
    if (req.url === '/tyk/health' || req.url === '/metrics') return;
    const given = req.headers['x-tyk-authorization'];
    const digest = createHash('sha256')
      .update(typeof given === 'string' ? given : '')
      .digest();
    if (!timingSafeEqual(digest, secretDigest)) {
      return reply.code(403).send({
        status: 'error',
        error: 'forbidden',
        message: 'attempted administrative access with invalid or missing key',
      });
    }
  });
  app.setErrorHandler((err, _req, reply) => {
    const status = (err as { statusCode?: number }).statusCode ?? 500;
    if (status < 500)
      return reply.code(status).send({ status: 'error', error: 'bad_request', message: (err as Error).message });
    return fail(reply, err);
  });

  app.get('/tyk/ready', async (_req, reply) => {
    const storeOk = await store.ping();
    return reply.code(storeOk ? 200 : 503).send({
      status: storeOk ? 'pass' : 'fail',
      store: { kind: store.kind, ok: storeOk },
      apis: gateway.apis().length,
    });
  });

  // ---- APIs
  app.get('/tyk/apis', async () => [...(await store.listDocs('apis')).values()].map((j) => JSON.parse(j)));
  app.get('/tyk/apis/:id', async (req: FastifyRequest<{ Params: { id: string } }>, reply) => {
    const json = await store.getDoc('apis', req.params.id);
    if (!json)
      return reply.code(404).send({ status: 'error', error: 'not_found', message: `API ${req.params.id} not found` });
    return reply.header('etag', etagOf(json)).send(JSON.parse(json));
  });
  const putApi = async (
    doc: unknown,
    expectId: string | null,
    req: FastifyRequest,
    reply: FastifyReply,
    create: boolean,
  ) => {
    try {
      const spec = parseApiDefinition(doc, 'body', { bundleMiddleware: () => undefined });
      if (expectId !== null && spec.id !== expectId)
        throw new HttpError(
          400,
          'id_mismatch',
          {},
          { message: `the body's api_id "${spec.id}" differs from the path's "${expectId}"` },
        );
      const existing = await store.getDoc('apis', spec.id);
      if (create && existing)
        throw new HttpError(409, 'api_exists', {}, { message: `API ${spec.id} already exists; update it with PUT` });
      if (!create && !existing) throw new HttpError(404, 'not_found', {}, { message: `API ${spec.id} not found` });
      const ifMatch = req.headers['if-match'];
      if (!create && ifMatch && existing && ifMatch !== etagOf(existing))
        throw new HttpError(
          412,
          'precondition_failed',
          {},
          { message: 'the API changed since you read it (ETag mismatch)' },
        );
      const clash = gateway.apis().find((a) => a.id !== spec.id && a.spec.listenPath === spec.listenPath);
      if (clash)
        throw new HttpError(
          409,
          'listen_path_taken',
          {},
          { message: `listen path ${spec.listenPath} is served by API ${clash.id}` },
        );
      // Compile and bind first: a definition that cannot load never replaces a working one.
      const loaded = await gateway.load([spec], opts.baseDir);
      const json = JSON.stringify(doc);
      await store.putDoc('apis', spec.id, json);
      gateway.swap(loaded);
      await store.publish(opts.notice).catch(() => {});
      return reply
        .code(create ? 201 : 200)
        .header('etag', etagOf(json))
        .send({ key: spec.id, status: 'ok', action: create ? 'added' : 'modified' });
    } catch (err) {
      return fail(reply, err);
    }
  };
  app.post('/tyk/apis', async (req, reply) => putApi(req.body, null, req, reply, true));
  app.put('/tyk/apis/:id', async (req: FastifyRequest<{ Params: { id: string } }>, reply) =>
    putApi(req.body, req.params.id, req, reply, false),
  );
  app.delete('/tyk/apis/:id', async (req: FastifyRequest<{ Params: { id: string } }>, reply) => {
    const existed = await store.deleteDoc('apis', req.params.id);
    if (!existed)
      return reply.code(404).send({ status: 'error', error: 'not_found', message: `API ${req.params.id} not found` });
    gateway.swap([], [req.params.id]);
    await store.publish(opts.notice).catch(() => {});
    return { key: req.params.id, status: 'ok', action: 'deleted' };
  });

  // ---- Keys (stored hashed; a generated key is shown once)
  app.post('/tyk/keys', async (req, reply) => {
    if (!validateSession(req.body)) return fail(reply, bodyError('session', validateSession.errors));
    const key = randomBytes(24).toString('base64url');
    const session = req.body as SessionRecord;
    await store.putSession(
      hashKey(key),
      session,
      session.expires && session.expires > 0 ? Math.max(1, session.expires - Math.floor(Date.now() / 1000)) : 0,
    );
    return reply.code(201).send({ key, key_hash: hashKey(key), status: 'ok', action: 'added' });
  });
  const keyHashOf = (req: FastifyRequest<{ Params: { key: string }; Querystring: { hashed?: string } }>) =>
    req.query.hashed === 'true' ? req.params.key : hashKey(req.params.key);
  app.get(
    '/tyk/keys/:key',
    async (req: FastifyRequest<{ Params: { key: string }; Querystring: { hashed?: string } }>, reply) => {
      const session = await store.getSession(keyHashOf(req));
      if (!session) return reply.code(404).send({ status: 'error', error: 'not_found', message: 'key not found' });
      return session;
    },
  );
  app.put(
    '/tyk/keys/:key',
    async (req: FastifyRequest<{ Params: { key: string }; Querystring: { hashed?: string } }>, reply) => {
      if (!validateSession(req.body)) return fail(reply, bodyError('session', validateSession.errors));
      const h = keyHashOf(req);
      if (!(await store.getSession(h)))
        return reply.code(404).send({ status: 'error', error: 'not_found', message: 'key not found' });
      await store.putSession(h, req.body as SessionRecord, 0);
      return { key_hash: h, status: 'ok', action: 'modified' };
    },
  );
  app.delete(
    '/tyk/keys/:key',
    async (req: FastifyRequest<{ Params: { key: string }; Querystring: { hashed?: string } }>, reply) => {
      if (!(await store.deleteSession(keyHashOf(req))))
        return reply.code(404).send({ status: 'error', error: 'not_found', message: 'key not found' });
      return { status: 'ok', action: 'deleted' };
    },
  );

  // ---- Policies
  app.get('/tyk/policies', async () =>
    [...(await store.listDocs('policies')).entries()].map(([id, j]) => ({ ...JSON.parse(j), id })),
  );
  app.get('/tyk/policies/:id', async (req: FastifyRequest<{ Params: { id: string } }>, reply) => {
    const json = await store.getDoc('policies', req.params.id);
    if (!json) return reply.code(404).send({ status: 'error', error: 'not_found', message: 'policy not found' });
    return reply.header('etag', etagOf(json)).send({ ...JSON.parse(json), id: req.params.id });
  });
  const putPolicy = async (req: FastifyRequest, reply: FastifyReply, id: string | null) => {
    if (!validatePolicy(req.body)) return fail(reply, bodyError('policy', validatePolicy.errors));
    const policy = req.body as Policy;
    const pid = id ?? policy.id ?? randomBytes(8).toString('hex');
    const existing = await store.getDoc('policies', pid);
    if (id === null && existing)
      return fail(reply, new HttpError(409, 'policy_exists', {}, { message: `policy ${pid} already exists` }));
    if (id !== null && !existing)
      return fail(reply, new HttpError(404, 'not_found', {}, { message: 'policy not found' }));
    const ifMatch = req.headers['if-match'];
    if (id !== null && ifMatch && existing && ifMatch !== etagOf(existing))
      return fail(
        reply,
        new HttpError(
          412,
          'precondition_failed',
          {},
          { message: 'the policy changed since you read it (ETag mismatch)' },
        ),
      );
    const json = JSON.stringify({ ...policy, id: pid });
    await store.putDoc('policies', pid, json);
    await gateway.reloadPolicies();
    await store.publish(opts.notice).catch(() => {});
    return reply
      .code(id === null ? 201 : 200)
      .header('etag', etagOf(json))
      .send({ key: pid, status: 'ok', action: id === null ? 'added' : 'modified' });
  };
  app.post('/tyk/policies', async (req, reply) => putPolicy(req, reply, null));
  app.put('/tyk/policies/:id', async (req: FastifyRequest<{ Params: { id: string } }>, reply) =>
    putPolicy(req, reply, req.params.id),
  );
  app.delete('/tyk/policies/:id', async (req: FastifyRequest<{ Params: { id: string } }>, reply) => {
    if (!(await store.deleteDoc('policies', req.params.id)))
      return reply.code(404).send({ status: 'error', error: 'not_found', message: 'policy not found' });
    await gateway.reloadPolicies();
    await store.publish(opts.notice).catch(() => {});
    return { key: req.params.id, status: 'ok', action: 'deleted' };
  });

  // ---- Plugins (raw .wasm uploads and bundles; versions are immutable)
  app.post(
    '/tyk/plugins/:name/:version',
    async (
      req: FastifyRequest<{ Params: { name: string; version: string }; Querystring: { wasi?: string } }>,
      reply,
    ) => {
      try {
        const body = req.body;
        if (!Buffer.isBuffer(body))
          throw new HttpError(
            415,
            'unsupported_media_type',
            {},
            { message: 'send the module as application/wasm, or a bundle as application/zip' },
          );
        const wasi = req.query.wasi === 'true';
        if (req.headers['content-type']?.split(';')[0]?.trim().toLowerCase() === 'application/zip') {
          const added = await uploadBundle(req.params.name, req.params.version, body, wasi);
          return reply.code(201).send({ status: 'ok', action: 'added', plugin: added.plugins[0], ...added });
        }
        // A configured bundle key means only signed code runs: a raw module carries no signature.
        if (bundleKey)
          throw new BundleError(
            'BUNDLE_SIGNATURE_REQUIRED',
            'this gateway requires signed bundles (a public key is configured); upload a signed application/zip bundle',
          );
        const pv = await gateway.registry.register(req.params.name, req.params.version, new Uint8Array(body), { wasi });
        await store.putBlob(pv.meta.source_sha256, new Uint8Array(body));
        await store.putDoc('plugins', `${pv.meta.name}@${pv.meta.version}`, JSON.stringify(pv.meta));
        await store.publish(opts.notice).catch(() => {});
        return reply.code(201).send({ status: 'ok', action: 'added', plugin: pv.meta });
      } catch (err) {
        return fail(reply, err);
      }
    },
  );

  /**
   * A bundle: verified whole in memory first (zip, manifest, signature,
   * checksums), then every module through the upload pipeline; stored only
   * when all of them pass — one refused module leaves nothing behind.
   */
  const uploadBundle = async (name: string, version: string, zip: Buffer, wasiQuery: boolean) => {
    checkPluginName(name);
    checkPluginVersion(version);
    const bundle = openBundle(zip, { name, publicKey: bundleKey });
    for (const m of bundle.modules)
      if (gateway.registry.get(m.plugin, version))
        throw new HttpError(
          409,
          'plugin_version_exists',
          {},
          { message: `plugin ${m.plugin}@${version} already exists; versions are immutable` },
        );
    const wasi = wasiQuery || bundle.manifest.wasi === true;
    const registered: PluginVersion[] = [];
    try {
      for (const m of bundle.modules) {
        try {
          registered.push(await gateway.registry.register(m.plugin, version, new Uint8Array(m.bytes), { wasi }));
        } catch (err) {
          const e = err as { status?: number; code?: string; message?: string };
          if (typeof e.status === 'number' && typeof e.code === 'string')
            throw new BundleModuleError(e.status, e.code, `${m.file}: ${e.message}`, m.file);
          throw err;
        }
      }
      for (const [i, pv] of registered.entries()) {
        await store.putBlob(pv.meta.source_sha256, new Uint8Array(bundle.modules[i]!.bytes));
        await store.putDoc('plugins', `${pv.meta.name}@${pv.meta.version}`, JSON.stringify(pv.meta));
      }
    } catch (err) {
      for (const pv of registered) {
        gateway.registry.remove(pv.meta.name, pv.meta.version);
        await store.deleteDoc('plugins', `${pv.meta.name}@${pv.meta.version}`).catch(() => {});
      }
      throw err;
    }
    await store.publish(opts.notice).catch(() => {});
    const stored = new Map(bundle.modules.map((m) => [m.file, `${m.plugin}@${version}`]));
    return {
      plugins: registered.map((pv) => pv.meta),
      bundle: {
        files: bundle.manifest.file_list,
        signed: Boolean(bundle.manifest.signature),
        signature_verified: bundle.signatureVerified,
        modules: Object.fromEntries(stored),
        custom_middleware: middlewareFor(bundle.manifest, stored),
      },
    };
  };
  app.get('/tyk/plugins', async () =>
    gateway.registry
      .names()
      .map((name) => ({ name, versions: gateway.registry.versions(name).map((v) => v.meta.version) })),
  );
  app.get('/tyk/plugins/:name', async (req: FastifyRequest<{ Params: { name: string } }>, reply) => {
    const versions = gateway.registry.versions(req.params.name);
    if (!versions.length)
      return reply
        .code(404)
        .send({ status: 'error', error: 'not_found', message: `plugin ${req.params.name} not found` });
    return {
      name: req.params.name,
      versions: versions.map((v) => ({
        ...v.meta,
        used_by: gateway
          .apis()
          .filter((a) => a.pluginVersions.includes(v))
          .map((a) => a.id),
      })),
    };
  });
  app.delete(
    '/tyk/plugins/:name/:version',
    async (req: FastifyRequest<{ Params: { name: string; version: string } }>, reply) => {
      const pv = gateway.registry.get(req.params.name, req.params.version);
      if (!pv)
        return reply.code(404).send({ status: 'error', error: 'not_found', message: 'plugin version not found' });
      const users = gateway
        .apis()
        .filter((a) => a.pluginVersions.includes(pv))
        .map((a) => a.id);
      if (users.length)
        return reply
          .code(409)
          .send({ status: 'error', error: 'plugin_in_use', message: `used by API ${users.join(', ')}` });
      gateway.registry.remove(req.params.name, req.params.version);
      await store.deleteDoc('plugins', `${req.params.name}@${req.params.version}`);
      await store.publish(opts.notice).catch(() => {});
      return { status: 'ok', action: 'deleted' };
    },
  );

  // ---- Reload (this node from the store, and a notice to the others)
  app.get('/tyk/reload', async () => {
    await opts.reloadAll();
    await store.publish(opts.notice).catch(() => {});
    return { status: 'ok', message: '' };
  });
  app.post('/tyk/reload', async () => {
    await opts.reloadAll();
    await store.publish(opts.notice).catch(() => {});
    return { status: 'ok', message: '' };
  });

  return app;
}
