import { createMiddleware } from "hono/factory";
import {
  AdminDisabledError,
  ForbiddenError,
  InvalidRequestError,
  UnauthorizedError,
} from "../../shared/domain/errors.js";
import { sameSecret } from "../../shared/security/service-secret.js";
import type { TenantDirectory } from "../../shared/tenants.js";
import type { ApiEnv } from "./context.js";

const CALLER_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;

function bearer(header: string | undefined): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return match?.[1] ?? null;
}

/**
 * Resolves `Authorization: Bearer <key>` to a tenant and `X-Caller-Agent` (default `root`, or the
 * one caller a key is bound to) to the caller. A key bound to callers serves only those.
 */
export function requireTenant(tenants: TenantDirectory) {
  return createMiddleware<ApiEnv>(async (c, next) => {
    const key = bearer(c.req.header("authorization"));
    const auth = key ? await tenants.authenticate(key) : null;
    if (!auth) throw new UnauthorizedError();
    const header = c.req.header("x-caller-agent");
    const caller = header ?? (auth.callers?.length === 1 ? auth.callers[0] : undefined) ?? "root";
    if (!CALLER_PATTERN.test(caller)) {
      throw new InvalidRequestError(
        "X-Caller-Agent must be an agent name (letters, digits, _ . : -, at most 128)",
      );
    }
    if (auth.callers && !auth.callers.includes(caller)) {
      throw new ForbiddenError(
        `this API key is bound to the callers ${auth.callers.join(", ")}; "${caller}" is not one of them`,
      );
    }
    c.set("tenant", auth.tenant);
    c.set("caller", caller);
    await next();
  });
}

/** The admin credential guards /v1/admin/*: a tenant key there is refused with 403. */
export function requireAdmin(adminToken: string | undefined, tenants: TenantDirectory) {
  return createMiddleware(async (c, next) => {
    const token = bearer(c.req.header("authorization"));
    if (!token) throw new UnauthorizedError("the admin API needs Authorization: Bearer <admin token>");
    if (adminToken && sameSecret(token, adminToken)) return next();
    if (await tenants.authenticate(token))
      throw new ForbiddenError("a tenant API key cannot use the admin API");
    if (!adminToken) throw new AdminDisabledError();
    throw new UnauthorizedError("invalid admin token");
  });
}
