import type { PrismaClient } from "../db/database.ts";
import { scopeToTenant, type ScopedPrisma } from "../db/tenant-scope.ts";

/** A client scoped to one program, or one partner of it; kept so a request does not rebuild its extension. */
export function createTenantCache(prisma: PrismaClient, max = 1000) {
  const cache = new Map<string, ScopedPrisma>();
  return (programId: string, partnerId?: string): ScopedPrisma => {
    const key = partnerId ? `${programId}/${partnerId}` : programId;
    let client = cache.get(key);
    if (!client) {
      if (cache.size >= max) cache.delete(cache.keys().next().value!);
      client = scopeToTenant(prisma, { programId, partnerId });
      cache.set(key, client);
    }
    return client;
  };
}
