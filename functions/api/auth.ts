import { createMiddleware } from "hono/factory";
import { InvalidRequestError, UnauthorizedError } from "../../shared/domain/errors.js";
import type { TenantDirectory } from "../../shared/tenants.js";
import type { ApiEnv } from "./context.js";

const CALLER_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;

/** Resolves `Authorization: Bearer <key>` to a tenant and `X-Caller-Agent` to the caller. */
export function requireTenant(tenants: TenantDirectory) {
  return createMiddleware<ApiEnv>(async (c, next) => {
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    const tenant = match?.[1] ? await tenants.authenticate(match[1]) : null;
    if (!tenant) throw new UnauthorizedError();
    const caller = c.req.header("x-caller-agent") ?? "root";
    if (!CALLER_PATTERN.test(caller)) {
      throw new InvalidRequestError(
        "X-Caller-Agent must be an agent name (letters, digits, _ . : -, at most 128)",
      );
    }
    c.set("tenant", tenant);
    c.set("caller", caller);
    await next();
  });
}
