import "./polyfills.js";
import { createApp } from "../functions/api/app.js";
import { createStepHandler } from "../functions/runner/run-agent-step.js";
import { createLocalDynamoDocumentClient } from "../shared/adapters/dynamo/client.js";
import { ensureTable } from "../shared/adapters/dynamo/table.js";
import { DynamoTaskRepository } from "../shared/adapters/dynamo/task-repository.js";
import { DynamoTenantDirectory } from "../shared/adapters/dynamo/tenant-directory.js";
import { DynamoTenantStore } from "../shared/adapters/dynamo/tenant-store.js";
import { assertModelEndpoint, createModelClient } from "../shared/adapters/models/model-factory.js";
import { DEFAULT_TENANT_ID } from "../shared/default-tenant.js";
import { createLogger, type StructuredLogger } from "../shared/logger.js";
import type { Executions } from "../shared/ports.js";
import { ServiceKeys } from "../shared/security/service-secret.js";
import type { Limits } from "../shared/tenants.js";
import {
  DEFAULT_RUNNER_SETTINGS,
  type RunnerDeps,
  type RunnerSettings,
} from "../shared/use-cases/run-agent.js";
import { TaskService } from "../shared/use-cases/task-service.js";
import { TenantAdmin } from "../shared/use-cases/tenant-admin.js";
import { LocalExecutions } from "./local-executions.js";

export const VERSION = "0.1.0";

export interface DefaultTenantOptions {
  id?: string;
  /** Agent config YAML (BGA_CONFIG). */
  config: string;
  /** Its API key (BGA_API_KEY). */
  apiKey: string;
  limits?: Partial<Limits>;
  /** Where its `${env.NAME}` and provider keys come from; default: this process's environment. */
  env?: NodeJS.ProcessEnv;
}

export interface LocalRuntimeOptions {
  dynamodbEndpoint: string;
  tableName: string;
  /** The single default tenant of the local path, created or updated at start. */
  defaultTenant?: DefaultTenantOptions;
  /** Enables the admin API. */
  adminToken?: string;
  /** Keys API-key hashes and tenant-secret encryption; default: random (nothing survives a restart). */
  serviceSecret?: Buffer;
  runner?: Partial<RunnerSettings>;
  createModel?: RunnerDeps["createModel"];
  /** Retries the model SDK makes inside a step before the state machine's own retries (default 2). */
  modelMaxRetries?: number;
  /** Milliseconds between retries of a failed step; default: the definition's own backoff. */
  retryIntervalMs?: number;
  ssePollMs?: number;
  sseKeepaliveMs?: number;
  waitPollMs?: number;
  log?: StructuredLogger;
  /** Use these executions instead of the local state machine (e.g. real Step Functions). */
  executions?: Executions;
  onWriter?: RunnerDeps["onWriter"];
  /** Run this ASL document instead of the shared definition (e.g. the synthesized one). */
  stateMachineDocument?: Record<string, unknown>;
  /** Whether remote MCP servers may be on loopback/private addresses (default true locally). */
  allowPrivateNetwork?: boolean;
}

/**
 * The whole service on one machine: the same API app and runner step handler as on AWS, with
 * DynamoDB Local as the store and the project's state machine run by aws-local-stepfunctions.
 */
export async function createLocalRuntime(options: LocalRuntimeOptions) {
  const log = options.log ?? createLogger("info");
  const doc = createLocalDynamoDocumentClient(options.dynamodbEndpoint);
  await ensureTable(doc, options.tableName);
  const serviceKeys = new ServiceKeys(options.serviceSecret ?? ServiceKeys.generateSecret());
  const tenantStore = new DynamoTenantStore(doc, options.tableName);
  const defaultTenantId = options.defaultTenant?.id ?? DEFAULT_TENANT_ID;
  const directory = new DynamoTenantDirectory(tenantStore, serviceKeys, {
    ...(options.defaultTenant
      ? { processEnvTenantId: defaultTenantId, env: options.defaultTenant.env ?? process.env }
      : {}),
  });
  const tenantAdmin = new TenantAdmin(tenantStore, serviceKeys, (id) => directory.invalidate(id));
  if (options.defaultTenant) {
    await tenantAdmin.ensureDefaultTenant(
      defaultTenantId,
      options.defaultTenant.config,
      options.defaultTenant.apiKey,
    );
    if (options.defaultTenant.limits)
      await tenantAdmin.patchLimits(defaultTenantId, options.defaultTenant.limits);
  }
  const tenants = directory;
  const repo = new DynamoTaskRepository(doc, { tableName: options.tableName });
  const allowPrivateNetwork = options.allowPrivateNetwork ?? true;
  const createModel: RunnerDeps["createModel"] =
    options.createModel ??
    ((spec, credentials) =>
      createModelClient(spec, credentials, {
        ...(options.modelMaxRetries !== undefined ? { maxRetries: options.modelMaxRetries } : {}),
      }));
  const runnerDeps: RunnerDeps = {
    repo,
    tenants,
    createModel: async (spec, credentials) => {
      // A missing secret or a refused endpoint fails here, before any work.
      await assertModelEndpoint(spec, credentials, allowPrivateNetwork);
      return createModel(spec, credentials);
    },
    settings: { ...DEFAULT_RUNNER_SETTINGS, ...options.runner },
    allowPrivateNetwork,
    log,
    ...(options.onWriter ? { onWriter: options.onWriter } : {}),
  };
  const stepHandler = createStepHandler(runnerDeps);
  const local = new LocalExecutions({
    handler: stepHandler,
    ...(options.stateMachineDocument ? { definitionDocument: options.stateMachineDocument } : {}),
    ...(options.retryIntervalMs !== undefined ? { retryIntervalMs: options.retryIntervalMs } : {}),
    onEnd: (taskId, outcome) => {
      if (!outcome.ok) log.warn("execution ended with an error", { task_id: taskId, error: outcome.error });
    },
  });
  const executions = options.executions ?? local;
  const service = new TaskService(repo, executions, log, { waitPollMs: options.waitPollMs ?? 250 });
  // The step needs the use cases for nested dispatch; they need the executions that run the step.
  runnerDeps.service = service;
  const app = createApp({
    service,
    tenants,
    admin: { service: tenantAdmin, token: options.adminToken },
    log,
    ssePollMs: options.ssePollMs ?? 250,
    ...(options.sseKeepaliveMs !== undefined ? { sseKeepaliveMs: options.sseKeepaliveMs } : {}),
    version: VERSION,
  });

  /** Starts executions again for tasks that were pending or running when the process stopped. */
  async function resumeInterrupted(): Promise<string[]> {
    const resumed: string[] = [];
    for (const tenantId of await tenants.listIds()) {
      for (const status of ["running", "pending"] as const) {
        for (const task of await repo.listByStatus(tenantId, status, 1000)) {
          await executions.start({ tenantId, taskId: task.id });
          resumed.push(task.id);
        }
      }
    }
    return resumed;
  }

  return {
    app,
    repo,
    service,
    tenantAdmin,
    tenants,
    executions: local,
    stepHandler,
    resumeInterrupted,
    close: async () => {
      local.abortAll();
    },
  };
}

export type LocalRuntime = Awaited<ReturnType<typeof createLocalRuntime>>;
