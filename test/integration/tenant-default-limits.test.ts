import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { createLocalDynamoDocumentClient } from "../../shared/adapters/dynamo/client.js";
import { ensureTable } from "../../shared/adapters/dynamo/table.js";
import { DynamoTenantStore } from "../../shared/adapters/dynamo/tenant-store.js";
import { ServiceKeys } from "../../shared/security/service-secret.js";
import { DEFAULT_LIMITS } from "../../shared/tenants.js";
import { TenantAdmin } from "../../shared/use-cases/tenant-admin.js";

// The deployment's default limits (the stack's `defaultLimits` setting, BGA_DEFAULT_LIMITS in
// the API Lambda) as the base of every new tenant's limits, stored in DynamoDB Local.

const doc = createLocalDynamoDocumentClient(inject("dynamodbEndpoint"));
const tableName = `bga-default-limits-${randomUUID()}`;
const store = new DynamoTenantStore(doc, tableName);
const keys = new ServiceKeys(ServiceKeys.generateSecret());
const config = [
  "models:",
  "  m: { provider: openai, model: gpt-test }",
  "agents:",
  "  root: { model: m }",
].join("\n");

beforeAll(async () => {
  await ensureTable(doc, tableName);
});

describe("TenantAdmin with default limits", () => {
  const admin = new TenantAdmin(store, keys, () => {}, {
    defaultLimits: { max_running_tasks: 5, retention_days: 7 },
  });

  it("creates a tenant with them, each limit not given taken from the code's defaults", async () => {
    const { tenant } = await admin.create({ id: "plain", config });
    const expected = { ...DEFAULT_LIMITS, max_running_tasks: 5, retention_days: 7 };
    expect(tenant.limits).toEqual(expected);
    expect((await store.get("plain"))?.limits).toEqual(expected);
  });

  it("lets the create request's own limits override them, one by one", async () => {
    const { tenant } = await admin.create({ id: "custom", config, limits: { max_running_tasks: 2 } });
    expect(tenant.limits).toEqual({ ...DEFAULT_LIMITS, max_running_tasks: 2, retention_days: 7 });
    expect((await admin.get("custom")).limits).toEqual(tenant.limits);
  });

  it("changes no existing tenant, and without the option keeps the code's defaults", async () => {
    const before = new TenantAdmin(store, keys);
    const { tenant } = await before.create({ id: "before", config });
    expect(tenant.limits).toEqual(DEFAULT_LIMITS);
    // Another instance with other defaults (a redeploy) leaves the stored limits alone.
    const after = new TenantAdmin(store, keys, () => {}, { defaultLimits: { max_running_tasks: 1 } });
    expect((await after.get("before")).limits).toEqual(DEFAULT_LIMITS);
  });

  it("still refuses limits out of range, whichever side they come from", async () => {
    const bad = new TenantAdmin(store, keys, () => {}, { defaultLimits: { max_running_tasks: 0 } });
    await expect(bad.create({ id: "bad", config })).rejects.toThrow(/max_running_tasks/);
    await expect(admin.create({ id: "bad2", config, limits: { max_task_seconds: 10 ** 9 } })).rejects.toThrow(
      /max_task_seconds/,
    );
    expect(await store.get("bad")).toBeNull();
    expect(await store.get("bad2")).toBeNull();
  });
});
