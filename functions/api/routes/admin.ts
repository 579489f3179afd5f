import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { InvalidRequestError } from "../../../shared/domain/errors.js";
import { LimitsPatchSchema, LimitsSchema } from "../../../shared/tenants.js";
import {
  CallerNameSchema,
  TENANT_ID_PATTERN,
  TENANT_ID_RULE,
  type TenantAdmin,
  TenantIdSchema,
} from "../../../shared/use-cases/tenant-admin.js";
import { ErrorSchema } from "../schemas.js";
import { validationHook } from "../validation.js";

const json = <T>(schema: T) => ({ content: { "application/json": { schema } } });
const security = [{ admin: [] }];
const errors = {
  400: { description: "Invalid input", ...json(ErrorSchema) },
  401: { description: "No or wrong admin token", ...json(ErrorSchema) },
  403: { description: "A tenant key, or the admin API is disabled", ...json(ErrorSchema) },
  404: { description: "No such tenant or key", ...json(ErrorSchema) },
};

const TenantObject = z
  .object({
    id: z.string(),
    config: z.string(),
    agents: z.array(z.string()),
    limits: LimitsSchema,
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Tenant");
const KeyObject = z
  .object({ key_id: z.string(), callers: z.array(z.string()).nullable(), created_at: z.string() })
  .openapi("ApiKey");
// Built from @hono/zod-openapi's own z (not the shared schema) so .openapi() exists whatever loads first.
const TenantParam = z.object({
  id: z
    .string()
    .regex(TENANT_ID_PATTERN, TENANT_ID_RULE)
    .openapi({ param: { name: "id", in: "path" } }),
});
const ConfigText = z
  .string()
  .min(1)
  .max(256 * 1024);
const SecretsBody = z
  .record(z.string(), z.string().max(64 * 1024))
  .refine((s) => Object.keys(s).length <= 100, "at most 100 secrets")
  .openapi("Secrets");

const CreateKeyBody = z.strictObject({ callers: z.array(CallerNameSchema).min(1).max(50).optional() });

function parseOrThrow<T>(schema: z.ZodType<T>, value: unknown, target: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".") || target}: ${i.message}`);
    throw new InvalidRequestError(`invalid ${target}: ${problems.join("; ")}`);
  }
  return parsed.data;
}

const routes = {
  list: createRoute({
    method: "get",
    path: "/v1/admin/tenants",
    summary: "List tenants",
    security,
    responses: {
      200: { description: "Tenants", ...json(z.object({ tenants: z.array(TenantObject) })) },
      ...errors,
    },
  }),
  create: createRoute({
    method: "post",
    path: "/v1/admin/tenants",
    summary: "Create a tenant with its agent config; returns its first API key (shown once)",
    security,
    request: {
      body: {
        required: true,
        ...json(
          z.strictObject({ id: TenantIdSchema, config: ConfigText, limits: LimitsPatchSchema.optional() }),
        ),
      },
    },
    responses: {
      201: {
        description: "Created",
        ...json(z.object({ tenant: TenantObject, api_key: z.string(), key_id: z.string() })),
      },
      ...errors,
      409: { description: "The tenant exists", ...json(ErrorSchema) },
      422: { description: "Invalid agent config (every problem listed)", ...json(ErrorSchema) },
    },
  }),
  config: createRoute({
    method: "put",
    path: "/v1/admin/tenants/{id}/config",
    summary: "Replace a tenant's agent config",
    security,
    request: {
      params: TenantParam,
      body: { required: true, ...json(z.strictObject({ config: ConfigText })) },
    },
    responses: {
      200: { description: "Updated", ...json(z.object({ tenant: TenantObject })) },
      ...errors,
      422: { description: "Invalid agent config (every problem listed)", ...json(ErrorSchema) },
    },
  }),
  limits: createRoute({
    method: "patch",
    path: "/v1/admin/tenants/{id}/limits",
    summary: "Change some of a tenant's limits",
    security,
    request: { params: TenantParam, body: { required: true, ...json(LimitsPatchSchema) } },
    responses: { 200: { description: "Updated", ...json(z.object({ tenant: TenantObject })) }, ...errors },
  }),
  secrets: createRoute({
    method: "put",
    path: "/v1/admin/tenants/{id}/secrets",
    summary: "Replace a tenant's secrets (write-only: only their names are ever returned)",
    security,
    request: { params: TenantParam, body: { required: true, ...json(SecretsBody) } },
    responses: {
      200: { description: "Stored", ...json(z.object({ names: z.array(z.string()) })) },
      ...errors,
    },
  }),
  createKey: createRoute({
    method: "post",
    path: "/v1/admin/tenants/{id}/keys",
    summary: "Create an API key, optionally bound to caller agents (the key is shown once)",
    security,
    request: { params: TenantParam, body: { required: false, ...json(CreateKeyBody) } },
    responses: {
      201: {
        description: "Created",
        ...json(
          z.object({ key_id: z.string(), api_key: z.string(), callers: z.array(z.string()).nullable() }),
        ),
      },
      ...errors,
    },
  }),
  listKeys: createRoute({
    method: "get",
    path: "/v1/admin/tenants/{id}/keys",
    summary: "List a tenant's API keys (never the keys themselves)",
    security,
    request: { params: TenantParam },
    responses: { 200: { description: "Keys", ...json(z.object({ keys: z.array(KeyObject) })) }, ...errors },
  }),
  revokeKey: createRoute({
    method: "delete",
    path: "/v1/admin/tenants/{id}/keys/{key_id}",
    summary: "Revoke an API key",
    security,
    request: {
      params: TenantParam.extend({
        key_id: z
          .string()
          .min(1)
          .max(64)
          .openapi({ param: { name: "key_id", in: "path" } }),
      }),
    },
    responses: { 204: { description: "Revoked" }, ...errors },
  }),
};

/** The admin API (SPEC §7). The admin credential is checked before these routes. */
export function adminRoutes(admin: TenantAdmin) {
  const app = new OpenAPIHono({ defaultHook: validationHook });
  app.openapi(routes.list, async (c) => c.json({ tenants: await admin.list() }, 200));
  app.openapi(routes.create, async (c) => {
    const body = c.req.valid("json");
    return c.json(
      await admin.create({
        id: body.id,
        config: body.config,
        ...(body.limits ? { limits: body.limits } : {}),
      }),
      201,
    );
  });
  app.openapi(routes.config, async (c) =>
    c.json({ tenant: await admin.setConfig(c.req.valid("param").id, c.req.valid("json").config) }, 200),
  );
  app.openapi(routes.limits, async (c) =>
    c.json({ tenant: await admin.patchLimits(c.req.valid("param").id, c.req.valid("json")) }, 200),
  );
  app.openapi(routes.secrets, async (c) =>
    c.json(await admin.putSecrets(c.req.valid("param").id, c.req.valid("json")), 200),
  );
  // The body is optional (an empty one means "not bound"), which the JSON validator does not allow:
  // this route parses it itself; the OpenAPI document still describes it.
  app.openAPIRegistry.registerPath(routes.createKey);
  app.post(routes.createKey.path.replace("{id}", ":id"), async (c) => {
    const id = parseOrThrow(TenantIdSchema, c.req.param("id"), "path");
    const text = await c.req.text();
    let raw: unknown = {};
    try {
      raw = text.trim() ? JSON.parse(text) : {};
    } catch {
      throw new InvalidRequestError("the request body is not valid JSON");
    }
    const body = parseOrThrow(CreateKeyBody, raw, "json");
    return c.json(await admin.createKey(id, body.callers ?? null), 201);
  });
  app.openapi(routes.listKeys, async (c) =>
    c.json({ keys: await admin.listKeys(c.req.valid("param").id) }, 200),
  );
  app.openapi(routes.revokeKey, async (c) => {
    const { id, key_id } = c.req.valid("param");
    await admin.revokeKey(id, key_id);
    return c.body(null, 204);
  });
  return app;
}
