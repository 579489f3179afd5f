import { Hono } from "hono";
import { streamHandle } from "hono/aws-lambda";
import * as z from "zod";
import packageJson from "../../package.json" with { type: "json" };
import { createDynamoDocumentClient } from "../../shared/adapters/dynamo/client.js";
import { DynamoTaskRepository } from "../../shared/adapters/dynamo/task-repository.js";
import { DynamoTenantDirectory } from "../../shared/adapters/dynamo/tenant-directory.js";
import { DynamoTenantStore } from "../../shared/adapters/dynamo/tenant-store.js";
import { createPowertools } from "../../shared/adapters/observability/powertools.js";
import { LambdaExtensionSecrets } from "../../shared/adapters/secrets/lambda-extension-secrets.js";
import { createStepFunctionsClient, SfnExecutions } from "../../shared/adapters/sfn/sfn-executions.js";
import { ConfigError, loadEnv } from "../../shared/config.js";

/** Logger and metrics: once per cold start. */
const powertools = createPowertools("bga-api");

import { ServiceKeys } from "../../shared/security/service-secret.js";
import { LimitsPatchSchema } from "../../shared/tenants.js";
import { TaskService } from "../../shared/use-cases/task-service.js";
import { TenantAdmin } from "../../shared/use-cases/tenant-admin.js";
import { createApp } from "./app.js";
import { errorResponse } from "./errors.js";

/** JSON text, parsed; text that is not JSON is an issue like any other. */
const JsonText = z.string().transform((text, ctx): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    ctx.addIssue({ code: "custom", message: "must be JSON" });
    return z.NEVER;
  }
});

/** What the API needs on AWS beyond shared/config.ts: set by infra/constructs/api-function.ts. */
const CloudEnvSchema = z.object({
  BGA_STATE_MACHINE_ARN: z.string().startsWith("arn:"),
  /** The bearer token of the admin API. */
  BGA_ADMIN_TOKEN_SECRET_ARN: z.string().startsWith("arn:"),
  /** Keys the API-key hashes and the encryption of tenant secrets. */
  BGA_SERVICE_SECRET_ARN: z.string().startsWith("arn:"),
  /** Limits of new tenants (the stack's `defaultLimits` setting), JSON; absent: LimitsSchema's defaults. */
  BGA_DEFAULT_LIMITS: JsonText.pipe(LimitsPatchSchema).default({}),
});

/** As BGA_ADMIN_TOKEN locally. */
const MIN_ADMIN_TOKEN_LENGTH = 16;

/**
 * Builds the Hono app from the environment: once per cold start, like local/runtime.ts but with
 * no default tenant: every tenant is created through the admin API (SPEC §7).
 */
async function buildApp() {
  const env = loadEnv();
  const parsed = CloudEnvSchema.safeParse(process.env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new ConfigError(`invalid environment:\n${lines.join("\n")}`);
  }
  const cloud = parsed.data;
  const log = powertools.log;
  // The session token and the extension's port, from the environment Lambda and the layer set.
  const secrets = LambdaExtensionSecrets.fromEnv();
  const [adminToken, serviceSecret] = await Promise.all([
    secrets.getSecretString(cloud.BGA_ADMIN_TOKEN_SECRET_ARN),
    secrets.getSecretString(cloud.BGA_SERVICE_SECRET_ARN),
  ]);
  if (adminToken.length < MIN_ADMIN_TOKEN_LENGTH) {
    throw new ConfigError(
      `the admin token (${cloud.BGA_ADMIN_TOKEN_SECRET_ARN}) must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters`,
    );
  }
  // The generated value is 64 letters and digits; ServiceKeys refuses fewer than 32 bytes.
  const serviceKeys = new ServiceKeys(Buffer.from(serviceSecret, "utf8"));

  const doc = createDynamoDocumentClient({ region: env.AWS_REGION, endpoint: env.BGA_DYNAMODB_ENDPOINT });
  const repo = new DynamoTaskRepository(doc, { tableName: env.BGA_TABLE_NAME });
  const store = new DynamoTenantStore(doc, env.BGA_TABLE_NAME);
  // No processEnvTenantId: in the cloud nothing resolves from the server's environment (SPEC §6).
  const directory = new DynamoTenantDirectory(store, serviceKeys);
  const tenantAdmin = new TenantAdmin(store, serviceKeys, (id) => directory.invalidate(id), {
    defaultLimits: cloud.BGA_DEFAULT_LIMITS,
  });
  const executions = new SfnExecutions(
    createStepFunctionsClient({ region: env.AWS_REGION }),
    cloud.BGA_STATE_MACHINE_ARN,
  );
  const service = new TaskService(repo, executions, log, { waitPollMs: 1000, metrics: powertools.sink });
  return createApp({
    service,
    tenants: directory,
    admin: { service: tenantAdmin, token: adminToken },
    log,
    ssePollMs: 1000,
    version: packageJson.version,
  });
}

type ApiApp = Awaited<ReturnType<typeof buildApp>>;
let built: Promise<ApiApp> | undefined;

/** The app of this cold start; a failed build is tried again by the next request. */
function app(): Promise<ApiApp> {
  built ??= buildApp().catch((err: unknown) => {
    built = undefined;
    throw err;
  });
  return built;
}

const startupLog = powertools.log;
const entry = new Hono();
entry.onError((err, c) => {
  startupLog.error("the API could not start", { error: String(err) });
  return errorResponse(c, 503, "unavailable", "the service is starting or misconfigured; try again shortly");
});
entry.all("*", async (c) => {
  try {
    return await (await app()).fetch(c.req.raw, c.env);
  } finally {
    powertools.flush(); // this request's metrics (an SSE stream's are counted when it starts)
  }
});

/** Lambda entry point, streamed (SSE) over a Function URL with invoke mode RESPONSE_STREAM. */
export const handler = streamHandle(entry);
