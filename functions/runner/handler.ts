import * as z from "zod";
import {
  createPowertools,
  type LambdaInvocationContext,
} from "../../shared/adapters/observability/powertools.js";
import {
  createRunnerDeps,
  createTaskService,
  createTenants,
  lambdaSecrets,
  lazyTenantDirectory,
  serviceKeysFromSecret,
  stepFunctionsExecutions,
  tableFromEnv,
} from "../../shared/composition.js";
import { ConfigError, loadEnv } from "../../shared/config.js";
import { TaskCapabilities } from "../../shared/security/task-capability.js";
import { DEFAULT_RUNNER_SETTINGS } from "../../shared/use-cases/run-agent.js";
import type { PrepareHarnessOutput } from "../harness/prepare.js";
import { createStepHandler, type StepOutput } from "./run-agent-step.js";

type StepResult = StepOutput | PrepareHarnessOutput;

/** Logger and metrics: once per cold start. */
const powertools = createPowertools("bga-runner");

/** What the runner needs on AWS beyond shared/config.ts: set by infra/constructs/runner-function.ts. */
const CloudEnvSchema = z.object({
  /** Decrypts each tenant's own secrets (`${env.NAME}`, provider keys). */
  BGA_SERVICE_SECRET_ARN: z.string().startsWith("arn:"),
  /** The task state machine: sub-agents with the background_agents toolset start executions of it. */
  BGA_STATE_MACHINE_ARN: z.string().startsWith("arn:").optional(),
});

/** Wires the step handler from the environment: once per cold start. */
function buildStepHandler(): (event: unknown) => Promise<StepResult> {
  const env = loadEnv();
  const parsed = CloudEnvSchema.safeParse(process.env);
  if (!parsed.success) throw new ConfigError(`invalid environment:\n${z.prettifyError(parsed.error)}`);
  const cloud = parsed.data;
  const log = powertools.log;
  const table = tableFromEnv(env);
  const secrets = lambdaSecrets();
  // Each tenant's `${env.NAME}` and provider keys come from its own encrypted secrets, never
  // from this function's environment (SPEC §6): no processEnvTenant in the cloud.
  const serviceSecret = () => secrets.getSecretString(cloud.BGA_SERVICE_SECRET_ARN);
  const tenants = lazyTenantDirectory(async () => {
    return createTenants(table, { serviceKeys: serviceKeysFromSecret(await serviceSecret()) }).directory;
  });
  // PrepareHarness mints a harness container's capability for its own task (SPEC §9).
  let capabilities: Promise<TaskCapabilities> | undefined;
  const harness = {
    capabilities: () => {
      capabilities ??= serviceSecret().then(
        (secret) => new TaskCapabilities(secret),
        (err: unknown) => {
          capabilities = undefined;
          throw err;
        },
      );
      return capabilities;
    },
  };
  // Nested dispatch: a sub-agent's background_agents tools use the same use cases as the API.
  const service = cloud.BGA_STATE_MACHINE_ARN
    ? createTaskService(table, {
        executions: stepFunctionsExecutions({
          region: env.AWS_REGION,
          stateMachineArn: cloud.BGA_STATE_MACHINE_ARN,
        }),
        log,
        waitPollMs: 1000,
      })
    : undefined;
  return createStepHandler(
    createRunnerDeps(table, {
      tenants,
      settings: { ...DEFAULT_RUNNER_SETTINGS, budgetMs: env.BGA_RUNNER_BUDGET_SECONDS * 1000 },
      allowPrivateNetwork: env.BGA_ALLOW_PRIVATE_NETWORK ?? false,
      service,
      log,
      metrics: powertools.sink,
    }),
    harness,
  );
}

let cached: ((event: unknown) => Promise<StepResult>) | undefined;

/** Lambda entry point. Configuration is read and checked once per cold start. */
export async function handler(event: unknown, context?: LambdaInvocationContext): Promise<StepResult> {
  return powertools.invocation(context, async () => {
    cached ??= buildStepHandler();
    return cached(event);
  });
}
