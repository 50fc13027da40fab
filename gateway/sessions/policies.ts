/**
 * Policies (Tyk's `apply_policies`): a session names policies, and the
 * policies' rate limit, quota and access rights replace the session's own.
 * With several policies, Tyk's rules: the highest rate (requests per second)
 * wins, the highest quota wins (-1, unlimited, beats any number), access
 * rights are merged (union of APIs; per API, union of versions and URLs).
 * A policy with `partitions` applies only the parts it enables.
 */
import type { AccessDefinition, SessionRecord } from '../../runtime/index.ts';

export interface Policy {
  id: string;
  name?: string;
  org_id?: string;
  rate?: number;
  per?: number;
  quota_max?: number;
  quota_renewal_rate?: number;
  access_rights?: Record<string, AccessDefinition>;
  tags?: string[];
  partitions?: { quota?: boolean; rate_limit?: boolean; acl?: boolean };
  active?: boolean;
}

export class UnknownPolicyError extends Error {}

function ratePerSecond(rate: number | undefined, per: number | undefined): number {
  if (!rate || !per || rate <= 0 || per <= 0) return 0;
  return rate / per;
}

function mergeAccess(into: Record<string, AccessDefinition>, from: Record<string, AccessDefinition>): void {
  for (const [apiId, def] of Object.entries(from)) {
    const have = into[apiId];
    if (!have) {
      into[apiId] = structuredClone(def);
      continue;
    }
    if (def.versions) have.versions = [...new Set([...(have.versions ?? []), ...def.versions])];
    if (def.allowed_urls) have.allowed_urls = [...(have.allowed_urls ?? []), ...structuredClone(def.allowed_urls)];
  }
}

/**
 * The effective session: the stored one with its policies applied. Throws
 * UnknownPolicyError when a named policy does not exist or is inactive (the
 * request is refused rather than served with the key's own, possibly wider,
 * rights).
 */
export function applyPolicies(session: SessionRecord, lookup: (id: string) => Policy | undefined): SessionRecord {
  const ids = session.apply_policies;
  if (!ids?.length) return session;
  const out: SessionRecord = { ...session };
  let rateSet = false;
  let quotaSet = false;
  let aclSet = false;
  const access: Record<string, AccessDefinition> = {};
  const tags = new Set(session.tags ?? []);
  for (const id of ids) {
    const policy = lookup(id);
    if (!policy || policy.active === false)
      throw new UnknownPolicyError(`policy "${id}" does not exist or is inactive`);
    const parts = policy.partitions;
    const any = parts && (parts.quota || parts.rate_limit || parts.acl);
    const doRate = !any || parts!.rate_limit;
    const doQuota = !any || parts!.quota;
    const doAcl = !any || parts!.acl;
    if (doRate && policy.rate !== undefined) {
      if (!rateSet || ratePerSecond(policy.rate, policy.per) > ratePerSecond(out.rate, out.per)) {
        out.rate = policy.rate;
        out.per = policy.per;
      }
      rateSet = true;
    }
    if (doQuota && policy.quota_max !== undefined) {
      const current = out.quota_max ?? 0;
      const better = !quotaSet || (current !== -1 && (policy.quota_max === -1 || policy.quota_max > current));
      if (better) {
        out.quota_max = policy.quota_max;
        out.quota_renewal_rate = policy.quota_renewal_rate ?? out.quota_renewal_rate;
      }
      quotaSet = true;
    }
    if (doAcl && policy.access_rights) {
      mergeAccess(access, policy.access_rights);
      aclSet = true;
    }
    for (const t of policy.tags ?? []) tags.add(t);
  }
  if (aclSet) out.access_rights = access;
  if (tags.size) out.tags = [...tags];
  return out;
}
