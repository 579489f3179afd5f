import "../local/polyfills.js";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createApp } from "../functions/api/app.js";
import packageJson from "../package.json" with { type: "json" };
import { createDynamoDocumentClient } from "../shared/adapters/dynamo/client.js";
import { DynamoTaskRepository } from "../shared/adapters/dynamo/task-repository.js";
import { DynamoTenantDirectory } from "../shared/adapters/dynamo/tenant-directory.js";
import { DynamoTenantStore } from "../shared/adapters/dynamo/tenant-store.js";
import { createLogger } from "../shared/logger.js";
import type { Executions } from "../shared/ports.js";
import { ServiceKeys } from "../shared/security/service-secret.js";
import { TaskService } from "../shared/use-cases/task-service.js";
import { TenantAdmin } from "../shared/use-cases/tenant-admin.js";

/**
 * Writes docs/openapi.json: the OpenAPI 3.1 document the API serves at `GET /openapi.json`
 * (`npm run docs:openapi`). The app is the one every entry point builds (createApp, admin API
 * included, the version of package.json as deployed); serving the document touches none of its
 * stores, so they point at an address nothing listens on and no DynamoDB is needed.
 */

export const OPENAPI_FILE = fileURLToPath(new URL("../docs/openapi.json", import.meta.url));

const UNUSED_ENDPOINT = "http://127.0.0.1:9";

const noExecutions: Executions = {
  start: async () => {
    throw new Error("no executions while writing the OpenAPI document");
  },
  stop: async () => {
    throw new Error("no executions while writing the OpenAPI document");
  },
  describe: async () => {
    throw new Error("no executions while writing the OpenAPI document");
  },
};

/** The document as the app serves it. */
export async function openApiDocument(): Promise<Record<string, unknown>> {
  const log = createLogger("silent");
  const doc = createDynamoDocumentClient({ region: "us-east-1", endpoint: UNUSED_ENDPOINT });
  const store = new DynamoTenantStore(doc, "unused");
  const keys = new ServiceKeys(ServiceKeys.generateSecret());
  const tenants = new DynamoTenantDirectory(store, keys);
  const app = createApp({
    service: new TaskService(new DynamoTaskRepository(doc, { tableName: "unused" }), noExecutions, log),
    tenants,
    admin: { service: new TenantAdmin(store, keys), token: undefined },
    log,
    ssePollMs: 1000,
    version: packageJson.version,
  });
  const res = await app.request("/openapi.json");
  if (res.status !== 200) throw new Error(`GET /openapi.json answered ${res.status}`);
  return (await res.json()) as Record<string, unknown>;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeFileSync(OPENAPI_FILE, `${JSON.stringify(await openApiDocument(), null, 2)}\n`);
  // In the repository's JSON style, so `npm run lint` passes on it as written.
  const biome = fileURLToPath(new URL("../node_modules/.bin/biome", import.meta.url));
  const formatted = spawnSync(biome, ["format", "--write", OPENAPI_FILE], { stdio: "inherit" });
  if (formatted.status !== 0) process.exit(formatted.status ?? 1);
  process.stdout.write(`wrote ${OPENAPI_FILE}\n`);
}
