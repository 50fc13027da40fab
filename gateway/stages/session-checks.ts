/**
 * After authentication, before anything else sees the session: policies
 * applied (`apply_policies`), then key expiry and access rights for this
 * API, method and path. Unknown, expired and unauthorised keys all get the
 * same 403 (a key guesser learns nothing).
 */
import { CONTINUE, type Outcome } from '../chain/outcome.ts';
import type { RequestContext } from '../context.ts';
import { checkAccess } from '../sessions/access.ts';
import { applyPolicies, type Policy, UnknownPolicyError } from '../sessions/policies.ts';
import { ACCESS_DENIED } from './auth.ts';

export function sessionChecksStage(apiId: string, policy: (id: string) => Policy | undefined) {
  return (ctx: RequestContext): Outcome => {
    const stored = ctx.session;
    if (!stored) throw ACCESS_DENIED();
    let session = stored;
    try {
      session = applyPolicies(stored, policy);
    } catch (err) {
      if (err instanceof UnknownPolicyError) throw ACCESS_DENIED();
      throw err;
    }
    if (checkAccess(session, apiId, ctx.method, ctx.apiPath, Math.floor(Date.now() / 1000))) throw ACCESS_DENIED();
    ctx.session = session;
    return CONTINUE;
  };
}
