import { SFNClient } from "@aws-sdk/client-sfn";
import { Hono } from "hono";
import { streamHandle } from "hono/aws-lambda";
import { z } from "zod";
import packageJson from "../../package.json" with { type: "json" };
import { createDocumentClient } from "../../shared/adapters/dynamo/client.js";
import { DynamoTaskRepository } from "../../shared/adapters/dynamo/task-repository.js";
import { SfnExecutions } from "../../shared/adapters/sfn/sfn-executions.js";
import { parseAgentConfig } from "../../shared/agent-config.js";
import { ConfigError, loadEnv } from "../../shared/config.js";
import { readConfigSource, SingleTenantDirectory } from "../../shared/default-tenant.js";
import { createLogger } from "../../shared/logger.js";
import { DEFAULT_LIMITS } from "../../shared/tenants.js";
import { TaskService } from "../../shared/use-cases/task-service.js";
import { createApp } from "./app.js";
import { errorResponse } from "./errors.js";

/** What the API needs on AWS beyond shared/config.ts: set by infra/constructs/api-function.ts. */
const CloudEnvSchema = z.object({
  BGA_CONFIG: z.string().min(1),
  BGA_STATE_MACHINE_ARN: z.string().startsWith("arn:"),
  BGA_DEFAULT_TENANT_KEY_SECRET_ARN: z.string().startsWith("arn:"),
  /** The Parameters and Secrets extension authenticates callers by the function's session token. */
  AWS_SESSION_TOKEN: z.string().min(1),
  PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: z.coerce.number().int().min(1).max(65_535).default(2773),
});

const SecretValueSchema = z.object({ SecretString: z.string().min(16) });

export class SecretReadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SecretReadError";
  }
}

/**
 * Reads a Secrets Manager secret through the Parameters and Secrets Lambda extension (a layer
 * of this function), so no secret value is ever in the environment. The extension may still
 * be starting on a cold start: a few short retries cover that.
 */
async function readSecret(secretId: string, port: number, sessionToken: string): Promise<string> {
  const url = `http://localhost:${port}/secretsmanager/get?secretId=${encodeURIComponent(secretId)}`;
  let lastError = "";
  for (let attempt = 1; attempt <= 5; attempt++) {
    try {
      const res = await fetch(url, { headers: { "X-Aws-Parameters-Secrets-Token": sessionToken } });
      if (res.ok) return SecretValueSchema.parse(await res.json()).SecretString;
      lastError = `status ${res.status}`;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
  }
  throw new SecretReadError(`could not read secret ${secretId}: ${lastError}`);
}

/** Builds the Hono app from the environment: once per cold start, like local/runtime.ts. */
async function buildApp() {
  const env = loadEnv();
  const parsed = CloudEnvSchema.safeParse(process.env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new ConfigError(`invalid environment:\n${lines.join("\n")}`);
  }
  const cloud = parsed.data;
  const log = createLogger(env.BGA_LOG_LEVEL, "bga-api");
  const apiKey = await readSecret(
    cloud.BGA_DEFAULT_TENANT_KEY_SECRET_ARN,
    cloud.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT,
    cloud.AWS_SESSION_TOKEN,
  );
  const { doc } = createDocumentClient({ region: env.AWS_REGION, endpoint: env.BGA_DYNAMODB_ENDPOINT });
  const repo = new DynamoTaskRepository(doc, {
    tableName: env.BGA_TABLE_NAME,
    retentionDays: DEFAULT_LIMITS.retention_days,
    maxTaskSeconds: DEFAULT_LIMITS.max_task_seconds,
  });
  const executions = new SfnExecutions(
    new SFNClient({ region: env.AWS_REGION, maxAttempts: 5 }),
    cloud.BGA_STATE_MACHINE_ARN,
  );
  // In the cloud nothing resolves from the server's environment (SPEC §6): an empty env.
  const tenants = new SingleTenantDirectory({
    config: parseAgentConfig(readConfigSource(cloud.BGA_CONFIG)),
    apiKey,
    env: {},
  });
  const service = new TaskService(repo, executions, log, { waitPollMs: 1000 });
  return createApp({ service, tenants, log, ssePollMs: 1000, version: packageJson.version });
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

const startupLog = createLogger("error", "bga-api");
const entry = new Hono();
entry.onError((err, c) => {
  startupLog.error("the API could not start", { error: String(err) });
  return errorResponse(c, 503, "unavailable", "the service is starting or misconfigured; try again shortly");
});
entry.all("*", async (c) => (await app()).fetch(c.req.raw, c.env));

/** Lambda entry point, streamed (SSE) over a Function URL with invoke mode RESPONSE_STREAM. */
export const handler = streamHandle(entry);
