/**
 * Outbound calls on behalf of plugins (docs/outbound.md). The plugin asks
 * for calls as data; the gateway checks each against the API's allowlist,
 * resolves the host itself and refuses private, loopback, link-local,
 * multicast and metadata addresses unless the allowlisted origin names that
 * address literally, never reaches its own listeners, connects to the very
 * address it checked (no second lookup can swap it), follows no redirect,
 * and caps time and response size. Calls run concurrently; nothing blocks
 * the event loop.
 */
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { Pool } from 'undici';
import type { CallResponse, Multi, OutboundCall } from '../../runtime/index.ts';
import type { OutboundSpec } from '../config/extension.ts';

/** Addresses a plugin may reach only through an allowlisted origin that names them literally. */
const REFUSED = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, including 169.254.169.254 (cloud metadata)
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved and broadcast
] as const)
  REFUSED.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['::ffff:0:0', 96], // IPv4-mapped: checked as IPv4 below
  ['64:ff9b::', 96], // NAT64
  ['fc00::', 7], // unique local, including fd00:ec2::254 (cloud metadata)
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
] as const)
  REFUSED.addSubnet(net, prefix, 'ipv6');

/** Cloud metadata services: never reachable, even through an allowlisted origin. */
const METADATA = new Set(['169.254.169.254', 'fd00:ec2::254', '100.100.100.200', '169.254.170.2']);

export function isRefusedAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return REFUSED.check(address, 'ipv4');
  if (family !== 6) return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return REFUSED.check(mapped[1]!, 'ipv4');
  return REFUSED.check(address, 'ipv6');
}

function isLocalAddress(address: string): boolean {
  if (address === '0.0.0.0' || address === '::' || /^127\./.test(address) || address === '::1') return true;
  for (const list of Object.values(networkInterfaces())) {
    for (const i of list ?? []) if (i.address === address) return true;
  }
  return false;
}

function failure(error: string, message: string): CallResponse {
  return { error, message };
}

export interface OutboundOptions {
  /** The gateway's own ports (proxy and admin), never reachable on a local address. */
  ownPorts: () => readonly number[];
}

export class OutboundClient {
  readonly #clients = new Map<string, Pool>();

  constructor(readonly opts: OutboundOptions) {}

  /** Performs `calls` concurrently; every call gets an answer or an error, never a throw. */
  async perform(
    calls: readonly OutboundCall[],
    spec: OutboundSpec,
    deadline: number,
  ): Promise<Record<string, CallResponse>> {
    const answers = await Promise.all(calls.map((c) => this.#one(c, spec, deadline)));
    const out: Record<string, CallResponse> = {};
    calls.forEach((c, i) => {
      out[c.id] = answers[i]!;
    });
    return out;
  }

  async #one(call: OutboundCall, spec: OutboundSpec, deadline: number): Promise<CallResponse> {
    let url: URL;
    try {
      url = new URL(call.url);
    } catch {
      return failure('BAD_URL', 'the call URL is not an absolute URL');
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password) {
      return failure('BAD_URL', 'only http(s) URLs without credentials');
    }
    if (!spec.allow.has(url.origin)) {
      return failure('ORIGIN_NOT_ALLOWED', `${url.origin} is not in this API's outbound allowlist`);
    }
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    let address: string;
    if (isIP(host)) {
      // The allowlist names this address itself: the operator chose it, private or not (not metadata).
      address = host;
    } else {
      let found: { address: string }[];
      try {
        found = await lookup(host, { all: true, verbatim: true });
      } catch {
        return failure('FAILED', `${host} does not resolve`);
      }
      // A name must resolve to public addresses only: a private answer is a rebinding or a misconfiguration.
      if (found.length === 0 || found.some((a) => isRefusedAddress(a.address))) {
        return failure('ADDRESS_REFUSED', `${host} resolves to an address plugins may not reach`);
      }
      address = found[0]!.address;
    }
    if (METADATA.has(address.toLowerCase())) {
      return failure('ADDRESS_REFUSED', 'cloud metadata addresses are not reachable from plugins');
    }
    if (this.opts.ownPorts().includes(port) && isLocalAddress(address)) {
      return failure('ADDRESS_REFUSED', 'the gateway itself is not reachable from plugins');
    }
    const remaining = deadline - Date.now();
    const timeout = Math.min(call.timeout_ms ?? spec.timeoutMs, spec.timeoutMs, remaining);
    if (timeout <= 0) return failure('TIMEOUT', 'no time left in the hook budget');

    const headers: Record<string, string[]> = { ...(call.headers ?? {}) };
    headers.host = [url.host];
    if (call.body) headers['content-length'] = [String(call.body.byteLength)];
    const signal = AbortSignal.timeout(timeout);
    try {
      const res = await this.#client(url.protocol, address, port, host).request({
        path: `${url.pathname}${url.search}`,
        method: call.method as 'GET',
        headers: Object.entries(headers).flatMap(([k, vs]) => vs.flatMap((v) => [k, v])),
        body: call.body ?? null,
        signal,
      });
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body) {
        size += (chunk as Buffer).byteLength;
        if (size > spec.maxResponseBytes) {
          res.body.destroy();
          return failure('TOO_LARGE', `the response is over ${spec.maxResponseBytes} bytes`);
        }
        chunks.push(chunk as Buffer);
      }
      return { status: res.statusCode, headers: toMulti(res.headers), body: new Uint8Array(Buffer.concat(chunks)) };
    } catch (err) {
      if (signal.aborted) return failure('TIMEOUT', `no complete answer within ${timeout} ms`);
      return failure('FAILED', (err as { code?: string }).code ?? 'the call failed');
    }
  }

  /** Keep-alive connections to the checked address itself (TLS still verifies the host name). */
  #client(protocol: string, address: string, port: number, servername: string): Pool {
    const key = `${protocol}${address}:${port}/${servername}`;
    let client = this.#clients.get(key);
    if (!client) {
      const hostPart = isIP(address) === 6 ? `[${address}]` : address;
      client = new Pool(`${protocol}//${hostPart}:${port}`, {
        connect: protocol === 'https:' && !isIP(servername) ? { servername } : {},
        connections: 64,
      });
      if (this.#clients.size >= 256) {
        const [oldKey, old] = this.#clients.entries().next().value as [string, Pool];
        this.#clients.delete(oldKey);
        void old.close();
      }
      this.#clients.set(key, client);
    }
    return client;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#clients.values()].map((c) => c.close()));
    this.#clients.clear();
  }
}

function toMulti(headers: Record<string, string | string[] | undefined>): Multi {
  const out: Multi = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v : [v];
  return out;
}
