import type { Envelope } from '../../runtime/index.ts';
import type { RequestContext } from '../context.ts';
import type { BoundPlugin } from './plugin.ts';

/** What stages need to know about the API they serve, fixed at load time. */
export interface LoadedApiInfo {
  readonly id: string;
  readonly name: string;
  readonly orgId: string;
  /** The `spec` record of every envelope for this API, built once. */
  readonly envelopeSpec: Envelope['spec'];
  onPluginFailure(ctx: RequestContext, plugin: BoundPlugin, err: unknown): void;
}
