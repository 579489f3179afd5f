import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { createLocalDynamoDocumentClient } from "../../shared/adapters/dynamo/client.js";
import { ensureTable } from "../../shared/adapters/dynamo/table.js";
import { DynamoTenantDirectory } from "../../shared/adapters/dynamo/tenant-directory.js";
import { DynamoTenantStore } from "../../shared/adapters/dynamo/tenant-store.js";
import { ServiceKeys } from "../../shared/security/service-secret.js";
import { TenantAdmin } from "../../shared/use-cases/tenant-admin.js";

// Two API instances over one table: the one that makes an admin change forgets its cache at once;
// the other serves what it cached until its cache is older than cacheMs. Its clock is injected,
// so the test moves time instead of waiting for it.

const doc = createLocalDynamoDocumentClient(inject("dynamodbEndpoint"));
const tableName = `bga-tenant-directory-${randomUUID()}`;
const store = new DynamoTenantStore(doc, tableName);
const keys = new ServiceKeys(ServiceKeys.generateSecret());
const CACHE_MS = 5000;
const config = [
  "models:",
  "  m: { provider: openai, model: gpt-test }",
  "agents:",
  "  root: { model: m, sub_agents: [worker] }",
  "  worker: { model: m }",
].join("\n");

/** An instance with its own cache and clock; `admin` changes invalidate only this instance. */
function instance() {
  let now = 1_000_000;
  const directory = new DynamoTenantDirectory(store, keys, { cacheMs: CACHE_MS, now: () => now });
  const admin = new TenantAdmin(store, keys, (id) => directory.invalidate(id));
  return { directory, admin, advance: (ms: number) => (now += ms) };
}

beforeAll(async () => {
  await ensureTable(doc, tableName);
});

describe("tenant directory cache", () => {
  it("a revoked key: refused at once where it was revoked, elsewhere once the cache is older than cacheMs", async () => {
    const a = instance();
    const b = instance();
    const { api_key: apiKey, key_id: keyId } = await a.admin.create({ id: "revoke", config });
    expect((await a.directory.authenticate(apiKey))?.keyId).toBe(keyId);
    expect((await b.directory.authenticate(apiKey))?.keyId).toBe(keyId);

    await a.admin.revokeKey("revoke", keyId);
    expect(await a.directory.authenticate(apiKey)).toBeNull();
    // b cached the key before the revocation: it serves it up to cacheMs, not a moment longer
    b.advance(CACHE_MS);
    expect((await b.directory.authenticate(apiKey))?.keyId).toBe(keyId);
    b.advance(1);
    expect(await b.directory.authenticate(apiKey)).toBeNull();
  });

  it("new secrets: read at once where they were stored, elsewhere once the cache is older than cacheMs", async () => {
    const a = instance();
    const b = instance();
    await a.admin.create({ id: "secrets", config });
    expect((await a.directory.get("secrets"))?.credentials.get("TOKEN")).toBeUndefined();
    expect((await b.directory.get("secrets"))?.credentials.get("TOKEN")).toBeUndefined();

    await a.admin.putSecrets("secrets", { TOKEN: "t-1" });
    expect((await a.directory.get("secrets"))?.credentials.get("TOKEN")).toBe("t-1");
    b.advance(CACHE_MS);
    expect((await b.directory.get("secrets"))?.credentials.get("TOKEN")).toBeUndefined();
    b.advance(1);
    expect((await b.directory.get("secrets"))?.credentials.get("TOKEN")).toBe("t-1");
  });
});
