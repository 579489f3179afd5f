import { randomUUID } from "node:crypto";
import { PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { createLocalDynamoDocumentClient } from "../../shared/adapters/dynamo/client.js";
import { ensureTable } from "../../shared/adapters/dynamo/table.js";
import { DynamoTenantDirectory } from "../../shared/adapters/dynamo/tenant-directory.js";
import { DynamoTenantStore } from "../../shared/adapters/dynamo/tenant-store.js";
import { parseAgentConfig } from "../../shared/agent-config.js";
import { agentConfigFromJson } from "../../shared/agent-spec.js";
import { ServiceKeys } from "../../shared/security/service-secret.js";
import { DEFAULT_LIMITS } from "../../shared/tenants.js";
import { TenantAdmin } from "../../shared/use-cases/tenant-admin.js";

// A tenant's config is stored twice: the YAML the admin gave, and its parsed form as JSON, which
// the API and the runner read (no YAML parser on their hot path). Tenants stored before the JSON
// form existed still load, from their YAML.

const doc = createLocalDynamoDocumentClient(inject("dynamodbEndpoint"));
const tableName = `bga-stored-config-${randomUUID()}`;
const store = new DynamoTenantStore(doc, tableName);
const keys = new ServiceKeys(ServiceKeys.generateSecret());
const admin = new TenantAdmin(store, keys);
const directory = new DynamoTenantDirectory(store, keys, { cacheMs: 0 });
const config = [
  "models:",
  "  m: { provider: openai, model: gpt-test, max_tokens: 64 }",
  "agents:",
  "  root: { model: m, instruction: plan, sub_agents: [worker] }",
  "  worker:",
  "    model: m",
  "    toolsets: [{ type: think }]",
].join("\n");

beforeAll(async () => {
  await ensureTable(doc, tableName);
});

describe("stored agent configs", () => {
  it("stores the parsed config as JSON next to the YAML, on create and on every change", async () => {
    await admin.create({ id: "json", config });
    const stored = await store.get("json");
    expect(stored?.config).toBe(config);
    expect(agentConfigFromJson(stored?.config_json ?? "")).toEqual(
      JSON.parse(JSON.stringify(parseAgentConfig(config))),
    );
    const changed = config.replace("max_tokens: 64", "max_tokens: 128");
    await admin.setConfig("json", changed);
    const after = agentConfigFromJson((await store.get("json"))?.config_json ?? "");
    expect(after.agents.worker?.model?.max_tokens).toBe(128);
    // The admin API shows the YAML and the agents, never the internal JSON form.
    const view = await admin.get("json");
    expect(view).not.toHaveProperty("config_json");
    expect(view.agents).toEqual(["root", "worker"]);
  });

  it("serves the tenant from the JSON form", async () => {
    const tenant = await directory.get("json");
    expect(tenant?.config.agents.root?.sub_agents).toEqual(["worker"]);
    expect(tenant?.config.agents.worker?.toolsets).toEqual([{ type: "think" }]);
  });

  it("still loads a tenant stored before the JSON form existed, from its YAML", async () => {
    const at = new Date().toISOString();
    await doc.send(
      new PutCommand({
        TableName: tableName,
        Item: {
          pk: "TENANTS",
          sk: "TENANT#legacy",
          id: "legacy",
          config,
          limits: DEFAULT_LIMITS,
          created_at: at,
          updated_at: at,
        },
      }),
    );
    const tenant = await directory.get("legacy");
    expect(Object.keys(tenant?.config.agents ?? {})).toEqual(["root", "worker"]);
    expect((await admin.get("legacy")).agents).toEqual(["root", "worker"]);
  });

  it("checks the JSON form when it reads it: a damaged one gives a tenant with no agents, not a crash", async () => {
    await doc.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { pk: "TENANTS", sk: "TENANT#json" },
        UpdateExpression: "SET config_json = :j",
        ExpressionAttributeValues: { ":j": JSON.stringify({ agents: { root: { name: "root" } } }) },
      }),
    );
    const tenant = await directory.get("json");
    expect(tenant?.config.agents).toEqual({});
  });
});
