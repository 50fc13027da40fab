import type { Envelope } from '../../runtime/index.ts';
import type { OutboundSpec } from '../config/extension.ts';
import type { RequestContext } from '../context.ts';
import type { OutboundClient } from '../outbound/client.ts';
import type { BoundPlugin } from './plugin.ts';

/** What stages need to know about the API they serve, fixed at load time. */
export interface LoadedApiInfo {
  readonly id: string;
  readonly name: string;
  readonly orgId: string;
  /** The `spec` record of every envelope for this API, built once. */
  readonly envelopeSpec: Envelope['spec'];
  onPluginFailure(ctx: RequestContext, plugin: BoundPlugin, err: unknown): void;
  /** What the API's plugins may call; null: a plugin asking for calls fails. */
  readonly outbound: OutboundSpec | null;
  readonly outboundClient: OutboundClient;
  /** Upstreams a plugin may route a request to, by name. */
  readonly upstreamTargets: ReadonlyMap<string, URL>;
}
