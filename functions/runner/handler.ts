import * as z from "zod";
import { createDynamoDocumentClient } from "../../shared/adapters/dynamo/client.js";
import { DynamoTaskRepository } from "../../shared/adapters/dynamo/task-repository.js";
import { DynamoTenantDirectory } from "../../shared/adapters/dynamo/tenant-directory.js";
import { DynamoTenantStore } from "../../shared/adapters/dynamo/tenant-store.js";
import { assertModelEndpoint, createModelClient } from "../../shared/adapters/models/model-factory.js";
import { createPowertools } from "../../shared/adapters/observability/powertools.js";
import { LambdaExtensionSecrets } from "../../shared/adapters/secrets/lambda-extension-secrets.js";
import { createStepFunctionsClient, SfnExecutions } from "../../shared/adapters/sfn/sfn-executions.js";
import { ConfigError, loadEnv } from "../../shared/config.js";

/** Logger and metrics: once per cold start. */
const powertools = createPowertools("bga-runner");

import { ServiceKeys } from "../../shared/security/service-secret.js";
import type { TenantDirectory } from "../../shared/tenants.js";
import { DEFAULT_RUNNER_SETTINGS } from "../../shared/use-cases/run-agent.js";
import { TaskService } from "../../shared/use-cases/task-service.js";
import { createStepHandler, type StepOutput } from "./run-agent-step.js";

/** What the runner needs on AWS beyond shared/config.ts: set by infra/constructs/runner-function.ts. */
const CloudEnvSchema = z.object({
  /** Decrypts each tenant's own secrets (`${env.NAME}`, provider keys). */
  BGA_SERVICE_SECRET_ARN: z.string().startsWith("arn:"),
  /** The task state machine: sub-agents with the background_agents toolset start executions of it. */
  BGA_STATE_MACHINE_ARN: z.string().startsWith("arn:").optional(),
});

/**
 * A directory built at its first use, and built again after a failed build. Recording a failed
 * step needs no tenant, so it still works when the service secret cannot be read.
 */
function lazyTenantDirectory(build: () => Promise<TenantDirectory>): TenantDirectory {
  let directory: Promise<TenantDirectory> | undefined;
  const get = () => {
    directory ??= build().catch((err: unknown) => {
      directory = undefined;
      throw err;
    });
    return directory;
  };
  return {
    authenticate: async (apiKey) => (await get()).authenticate(apiKey),
    get: async (tenantId) => (await get()).get(tenantId),
    listIds: async () => (await get()).listIds(),
  };
}

/** Wires the step handler from the environment: once per cold start. */
function buildStepHandler(): (event: unknown) => Promise<StepOutput> {
  const env = loadEnv();
  const parsed = CloudEnvSchema.safeParse(process.env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new ConfigError(`invalid environment:\n${lines.join("\n")}`);
  }
  const cloud = parsed.data;
  const log = powertools.log;
  const doc = createDynamoDocumentClient({ region: env.AWS_REGION, endpoint: env.BGA_DYNAMODB_ENDPOINT });
  const repo = new DynamoTaskRepository(doc, { tableName: env.BGA_TABLE_NAME });
  // The session token and the extension's port, from the environment Lambda and the layer set.
  const secrets = LambdaExtensionSecrets.fromEnv();
  // Each tenant's `${env.NAME}` and provider keys come from its own encrypted secrets, never
  // from this function's environment (SPEC §6): no processEnvTenantId in the cloud.
  const tenants = lazyTenantDirectory(async () => {
    const serviceSecret = await secrets.getSecretString(cloud.BGA_SERVICE_SECRET_ARN);
    const serviceKeys = new ServiceKeys(Buffer.from(serviceSecret, "utf8"));
    return new DynamoTenantDirectory(new DynamoTenantStore(doc, env.BGA_TABLE_NAME), serviceKeys);
  });
  // Nested dispatch: a sub-agent's background_agents tools use the same use cases as the API.
  const service = cloud.BGA_STATE_MACHINE_ARN
    ? new TaskService(
        repo,
        new SfnExecutions(createStepFunctionsClient({ region: env.AWS_REGION }), cloud.BGA_STATE_MACHINE_ARN),
        log,
        { waitPollMs: 1000 },
      )
    : undefined;
  return createStepHandler({
    repo,
    tenants,
    createModel: async (spec, credentials) => {
      // A missing secret or a refused endpoint fails here, before any work.
      await assertModelEndpoint(spec, credentials, env.BGA_ALLOW_PRIVATE_NETWORK ?? false);
      return createModelClient(spec, credentials);
    },
    settings: { ...DEFAULT_RUNNER_SETTINGS, budgetMs: env.BGA_RUNNER_BUDGET_SECONDS * 1000 },
    allowPrivateNetwork: env.BGA_ALLOW_PRIVATE_NETWORK ?? false,
    ...(service ? { service } : {}),
    metrics: powertools.sink,
    log,
  });
}

let cached: ((event: unknown) => Promise<StepOutput>) | undefined;

/** Lambda entry point. Configuration is read and checked once per cold start. */
export async function handler(event: unknown): Promise<StepOutput> {
  cached ??= buildStepHandler();
  try {
    return await cached(event);
  } finally {
    powertools.flush();
  }
}
