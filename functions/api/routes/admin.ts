import * as z from "zod";
import { plainRecord } from "../../../shared/domain/task.js";
import { LimitsPatchSchema, LimitsSchema } from "../../../shared/tenants.js";
import {
  CallerNameSchema,
  TENANT_ID_PATTERN,
  TENANT_ID_RULE,
  type TenantAdmin,
  TenantIdSchema,
} from "../../../shared/use-cases/tenant-admin.js";
import type { ApiEnv } from "../context.js";
import { defineRoute, type OpenApiRoutes } from "../openapi.js";
import { ErrorSchema } from "../schemas.js";

const security = [{ admin: [] }];
const errors = {
  400: { description: "Invalid input", schema: ErrorSchema },
  401: { description: "No or wrong admin token", schema: ErrorSchema },
  403: { description: "A tenant key, or the admin API is disabled", schema: ErrorSchema },
  404: { description: "No such tenant or key", schema: ErrorSchema },
};

const TenantObject = z
  .object({
    id: z.string(),
    config: z.string(),
    agents: z.array(z.string()),
    limits: LimitsSchema,
    created_at: z.string(),
    updated_at: z.string(),
    running_tasks: z.number().int().nonnegative().optional().meta({
      description:
        "In GET /v1/admin/tenants: the tenant's tasks holding a running slot now (pending or running)",
    }),
  })
  .meta({ id: "Tenant" });
const KeyObject = z
  .object({ key_id: z.string(), callers: z.array(z.string()).nullable(), created_at: z.string() })
  .meta({ id: "ApiKey" });
const TenantParam = z.object({ id: z.string().regex(TENANT_ID_PATTERN, TENANT_ID_RULE) });
const ConfigText = z
  .string()
  .min(1)
  .max(256 * 1024);
const SecretsBody = plainRecord(z.string(), z.string().max(64 * 1024))
  .refine((s) => Object.keys(s).length <= 100, "at most 100 secrets")
  .meta({ id: "Secrets" });

const WebhookBody = z.strictObject({
  url: z
    .string()
    .min(1)
    .max(2048)
    .meta({ description: "https URL (http too where private networks are allowed)" }),
});
const WebhookObject = z.object({ url: z.string(), created_at: z.string() }).meta({ id: "Webhook" });
const DeliveryAttemptObject = z
  .object({
    at: z.string(),
    status_code: z.number().int().nullable(),
    error: z.string().nullable(),
    duration_ms: z.number(),
  })
  .meta({ id: "WebhookAttempt" });
const DeliveryObject = z
  .object({
    webhook_id: z.string(),
    task_id: z.string(),
    type: z.enum(["task.completed", "task.failed", "task.stopped"]),
    state: z.enum(["pending", "delivered", "failed", "abandoned"]),
    created_at: z.string(),
    next_attempt_at: z.string().nullable(),
    attempts: z.array(DeliveryAttemptObject),
  })
  .meta({ id: "WebhookDelivery" });

const CreateKeyBody = z.strictObject({ callers: z.array(CallerNameSchema).min(1).max(50).optional() });

const specs = {
  list: defineRoute({
    method: "get",
    path: "/v1/admin/tenants",
    summary: "List tenants",
    security,
    responses: {
      200: { description: "Tenants", schema: z.object({ tenants: z.array(TenantObject) }) },
      ...errors,
    },
  }),
  create: defineRoute({
    method: "post",
    path: "/v1/admin/tenants",
    summary: "Create a tenant with its agent config; returns its first API key (shown once)",
    security,
    request: {
      body: {
        required: true,
        schema: z.strictObject({
          id: TenantIdSchema,
          config: ConfigText,
          limits: LimitsPatchSchema.optional(),
        }),
      },
    },
    responses: {
      201: {
        description: "Created",
        schema: z.object({ tenant: TenantObject, api_key: z.string(), key_id: z.string() }),
      },
      ...errors,
      409: { description: "The tenant exists", schema: ErrorSchema },
      422: { description: "Invalid agent config (every problem listed)", schema: ErrorSchema },
    },
  }),
  config: defineRoute({
    method: "put",
    path: "/v1/admin/tenants/{id}/config",
    summary: "Replace a tenant's agent config",
    security,
    request: {
      params: TenantParam,
      body: { required: true, schema: z.strictObject({ config: ConfigText }) },
    },
    responses: {
      200: { description: "Updated", schema: z.object({ tenant: TenantObject }) },
      ...errors,
      422: { description: "Invalid agent config (every problem listed)", schema: ErrorSchema },
    },
  }),
  limits: defineRoute({
    method: "patch",
    path: "/v1/admin/tenants/{id}/limits",
    summary: "Change some of a tenant's limits",
    security,
    request: { params: TenantParam, body: { required: true, schema: LimitsPatchSchema } },
    responses: { 200: { description: "Updated", schema: z.object({ tenant: TenantObject }) }, ...errors },
  }),
  secrets: defineRoute({
    method: "put",
    path: "/v1/admin/tenants/{id}/secrets",
    summary: "Replace a tenant's secrets (write-only: only their names are ever returned)",
    security,
    request: { params: TenantParam, body: { required: true, schema: SecretsBody } },
    responses: {
      200: { description: "Stored", schema: z.object({ names: z.array(z.string()) }) },
      ...errors,
    },
  }),
  createKey: defineRoute({
    method: "post",
    path: "/v1/admin/tenants/{id}/keys",
    summary: "Create an API key, optionally bound to caller agents (the key is shown once)",
    security,
    request: { params: TenantParam, body: { required: false, schema: CreateKeyBody } },
    responses: {
      201: {
        description: "Created",
        schema: z.object({
          key_id: z.string(),
          api_key: z.string(),
          callers: z.array(z.string()).nullable(),
        }),
      },
      ...errors,
    },
  }),
  listKeys: defineRoute({
    method: "get",
    path: "/v1/admin/tenants/{id}/keys",
    summary: "List a tenant's API keys (never the keys themselves)",
    security,
    request: { params: TenantParam },
    responses: { 200: { description: "Keys", schema: z.object({ keys: z.array(KeyObject) }) }, ...errors },
  }),
  revokeKey: defineRoute({
    method: "delete",
    path: "/v1/admin/tenants/{id}/keys/{key_id}",
    summary: "Revoke an API key",
    security,
    request: {
      params: TenantParam.extend({
        key_id: z.string().min(1).max(64),
      }),
    },
    responses: { 204: { description: "Revoked" }, ...errors },
  }),
  setWebhook: defineRoute({
    method: "put",
    path: "/v1/admin/tenants/{id}/webhook",
    summary:
      "Set the tenant's completion webhook; returns its signing secret (whsec_…, shown this once). Replacing it makes a new secret",
    security,
    request: { params: TenantParam, body: { required: true, schema: WebhookBody } },
    responses: {
      200: {
        description: "Set",
        schema: WebhookObject.extend({ secret: z.string() }).meta({ id: "WebhookWithSecret" }),
      },
      ...errors,
    },
  }),
  getWebhook: defineRoute({
    method: "get",
    path: "/v1/admin/tenants/{id}/webhook",
    summary: "The tenant's completion webhook (never its secret)",
    security,
    request: { params: TenantParam },
    responses: { 200: { description: "The webhook", schema: WebhookObject }, ...errors },
  }),
  deleteWebhook: defineRoute({
    method: "delete",
    path: "/v1/admin/tenants/{id}/webhook",
    summary: "Remove the tenant's completion webhook (pending deliveries are abandoned)",
    security,
    request: { params: TenantParam },
    responses: { 204: { description: "Removed" }, ...errors },
  }),
  deliveries: defineRoute({
    method: "get",
    path: "/v1/admin/tenants/{id}/webhook/deliveries",
    summary: "The tenant's recent webhook deliveries, newest first, each with every attempt",
    security,
    request: {
      params: TenantParam,
      query: z.object({ limit: z.coerce.number().int().min(1).max(100).default(20) }),
    },
    responses: {
      200: { description: "Deliveries", schema: z.object({ deliveries: z.array(DeliveryObject) }) },
      ...errors,
    },
  }),
};

/** The admin API (SPEC §7). The admin credential is checked before these routes. */
export function adminRoutes(routes: OpenApiRoutes<ApiEnv>, admin: TenantAdmin): void {
  routes.route(specs.list, async (c) => c.json({ tenants: await admin.list() }, 200));
  routes.route(specs.create, async (c, input) => {
    const body = input.json;
    return c.json(
      await admin.create({
        id: body.id,
        config: body.config,
        ...(body.limits ? { limits: body.limits } : {}),
      }),
      201,
    );
  });
  routes.route(specs.config, async (c, input) =>
    c.json({ tenant: await admin.setConfig(input.param.id, input.json.config) }, 200),
  );
  routes.route(specs.limits, async (c, input) =>
    c.json({ tenant: await admin.patchLimits(input.param.id, input.json) }, 200),
  );
  routes.route(specs.secrets, async (c, input) =>
    c.json(await admin.putSecrets(input.param.id, input.json), 200),
  );
  routes.route(specs.createKey, async (c, input) =>
    c.json(await admin.createKey(input.param.id, input.json.callers ?? null), 201),
  );
  routes.route(specs.listKeys, async (c, input) =>
    c.json({ keys: await admin.listKeys(input.param.id) }, 200),
  );
  routes.route(specs.revokeKey, async (c, input) => {
    const { id, key_id } = input.param;
    await admin.revokeKey(id, key_id);
    return c.body(null, 204);
  });
  routes.route(specs.setWebhook, async (c, input) =>
    c.json(await admin.setWebhook(input.param.id, input.json.url), 200),
  );
  routes.route(specs.getWebhook, async (c, input) => c.json(await admin.getWebhook(input.param.id), 200));
  routes.route(specs.deleteWebhook, async (c, input) => {
    await admin.deleteWebhook(input.param.id);
    return c.body(null, 204);
  });
  routes.route(specs.deliveries, async (c, input) => {
    const deliveries = await admin.webhookDeliveries(input.param.id, input.query.limit);
    return c.json({ deliveries: deliveries.map(({ tenant_id: _t, ...d }) => d) }, 200);
  });
}
