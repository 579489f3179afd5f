import { createDocumentClient } from "../../shared/adapters/dynamo/client.js";
import { DynamoTaskRepository } from "../../shared/adapters/dynamo/task-repository.js";
import { createModelClient } from "../../shared/adapters/models/model-factory.js";
import { parseAgentConfig } from "../../shared/agent-config.js";
import { loadEnv } from "../../shared/config.js";
import { readConfigSource, SingleTenantDirectory } from "../../shared/default-tenant.js";
import { DEFAULT_LIMITS } from "../../shared/tenants.js";
import {
  DEFAULT_RUNNER_SETTINGS,
  type RunnerDeps,
  runAgentStep,
  StepInputSchema,
  type StepOutput,
} from "./run-agent-step.js";

/** The step handler: parse the state input, run the use case, return the state output. */
export function createStepHandler(deps: RunnerDeps): (event: unknown) => Promise<StepOutput> {
  return async (event) => runAgentStep(deps, StepInputSchema.parse(event));
}

let cached: ((event: unknown) => Promise<StepOutput>) | undefined;

/** Lambda entry point. Configuration is read and checked once per cold start. */
export async function handler(event: unknown): Promise<StepOutput> {
  if (!cached) {
    const env = loadEnv();
    const { doc } = createDocumentClient({ region: env.AWS_REGION, endpoint: env.BGA_DYNAMODB_ENDPOINT });
    const repo = new DynamoTaskRepository(doc, {
      tableName: env.BGA_TABLE_NAME,
      retentionDays: DEFAULT_LIMITS.retention_days,
      maxTaskSeconds: DEFAULT_LIMITS.max_task_seconds,
    });
    const config = parseAgentConfig(readConfigSource(env.BGA_CONFIG ?? "agents: {}"));
    cached = createStepHandler({
      repo,
      // Nothing resolves from the server's environment in the cloud (SPEC §6); provider keys
      // will come from the tenant's own secrets.
      tenants: new SingleTenantDirectory({ config, env: {} }),
      createModel: (spec, credentials) => createModelClient(spec, credentials),
      settings: { ...DEFAULT_RUNNER_SETTINGS, budgetMs: env.BGA_RUNNER_BUDGET_SECONDS * 1000 },
    });
  }
  return cached(event);
}
