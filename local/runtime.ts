import "./polyfills.js";
import { createApp } from "../functions/api/app.js";
import { LOOPBACK_HOSTS, type OriginPolicy } from "../functions/api/origin-guard.js";
import { createStepHandler } from "../functions/runner/run-agent-step.js";
import { ensureTable } from "../shared/adapters/dynamo/table.js";
import { DynamoWebhookStore } from "../shared/adapters/dynamo/webhook-store.js";
import { agentKind } from "../shared/agent-spec.js";
import {
  createRunnerDeps,
  createTaskService,
  createTenants,
  type DynamoConnection,
  harnessChannels,
  openTable,
  serviceKeysFromSecret,
} from "../shared/composition.js";
import { DEFAULT_TENANT_ID } from "../shared/default-tenant.js";
import { INTERRUPTED_HARNESS_ERROR } from "../shared/harness/repository-channel.js";
import type { RunHarnessOptions } from "../shared/harness/run-harness.js";
import { createLogger } from "../shared/logger.js";
import type { Executions, Logger, ModelFactory } from "../shared/ports.js";
import { ServiceKeys } from "../shared/security/service-secret.js";
import { TaskCapabilities } from "../shared/security/task-capability.js";
import type { Limits } from "../shared/tenants.js";
import {
  DEFAULT_RUNNER_SETTINGS,
  type RunnerDeps,
  type RunnerSettings,
} from "../shared/use-cases/run-agent.js";
import { type SweepOptions, sweepStuckTasks, tasksInStatus } from "../shared/use-cases/sweep.js";
import { sweepMissedTaskEnds } from "../shared/webhooks/missed-task-ends.js";
import { TaskEndNotifyingRepository } from "../shared/webhooks/task-end-hook.js";
import { TimerDeliveryQueue } from "../shared/webhooks/timer-queue.js";
import { WebhookDeliveries } from "../shared/webhooks/webhook-deliveries.js";
import { LocalExecutions } from "./local-executions.js";
import { LocalHarness } from "./local-harness.js";

export const VERSION = "0.1.0";

/** Tasks read per query when resuming after a restart (resumeInterrupted pages through all). */
const RESUME_PAGE_SIZE = 100;

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
  /** The DynamoDB to use: DynamoDB Local, or one the user gave (BGA_DYNAMODB_ENDPOINT). */
  dynamodbEndpoint: string;
  /**
   * How requests to `dynamodbEndpoint` are signed: "dynamodb-local" with DynamoDB Local's fixed
   * credentials (the embedded store, tests, benches); "default-chain" with the SDK's default
   * credential chain in `region`, for a DynamoDB the user gave (it may be AWS itself).
   * @default "dynamodb-local"
   */
  dynamodbCredentials?: "dynamodb-local" | "default-chain";
  /** The region of a "default-chain" DynamoDB. @default "us-east-1" */
  region?: string;
  tableName: string;
  /** The single default tenant of the local path, created or updated at start. */
  defaultTenant?: DefaultTenantOptions;
  /** Enables the admin API. */
  adminToken?: string;
  /** Keys API-key hashes and tenant-secret encryption; default: random (nothing survives a restart). */
  serviceSecret?: Buffer;
  runner?: Partial<RunnerSettings>;
  createModel?: ModelFactory;
  /** Retries the model SDK makes inside a step before the state machine's own retries (default 2). */
  modelMaxRetries?: number;
  /** Milliseconds between retries of a failed step; default: the definition's own backoff. */
  retryIntervalMs?: number;
  ssePollMs?: number;
  sseKeepaliveMs?: number;
  waitPollMs?: number;
  log?: Logger;
  /** Use these executions instead of the local state machine (e.g. real Step Functions). */
  executions?: Executions;
  onWriter?: RunnerDeps["onWriter"];
  /** Run this ASL document instead of the shared definition (e.g. the synthesized one). */
  stateMachineDocument?: Record<string, unknown>;
  /**
   * Whether model endpoints and remote MCP servers may be on loopback/private addresses: when a
   * task connects, and when the admin API writes a config (default true locally).
   */
  allowPrivateNetwork?: boolean;
  /** Hosts and browser origins accepted. @default the loopback names, no other origin */
  originPolicy?: OriginPolicy;
  /** Harness runs (SPEC §9): flush interval, kill grace, temp root, and hooks (onSpawn). */
  harness?: Omit<RunHarnessOptions, "signal" | "log">;
  /** Completion webhooks (SPEC §11): their retry schedule, time-out and how often due ones are looked for. */
  webhooks?: LocalWebhookOptions;
}

export interface LocalWebhookOptions {
  /** Waits before each retry. @default DEFAULT_RETRY_SCHEDULE_MS (5 s, 5 min, … over 27.6 h) */
  retryScheduleMs?: readonly number[];
  /** @default 10 s */
  timeoutMs?: number;
  /**
   * How often the table is read for due deliveries (those whose timer a restart lost); 0: only
   * once, at start (the benches, whose DynamoDB requests model the cloud's). @default 1000
   */
  pollMs?: number;
}

/**
 * The whole service on one machine: the same API app and runner step handler as on AWS, with
 * DynamoDB Local as the store and the project's state machine run by aws-local-stepfunctions.
 */
export async function createLocalRuntime(options: LocalRuntimeOptions) {
  const log = options.log ?? createLogger("info");
  const connection: DynamoConnection =
    options.dynamodbCredentials === "default-chain"
      ? { kind: "aws", region: options.region ?? "us-east-1", endpoint: options.dynamodbEndpoint }
      : { kind: "dynamodb-local", endpoint: options.dynamodbEndpoint };
  const opened = openTable({ connection, tableName: options.tableName });
  // Every task end this process makes is told to the webhook deliveries (below).
  const notifying = new TaskEndNotifyingRepository(opened.doc, { tableName: options.tableName });
  const table = { ...opened, tasks: notifying };
  await ensureTable(table.doc, options.tableName);
  const defaultTenantId = options.defaultTenant?.id ?? DEFAULT_TENANT_ID;
  const allowPrivateNetwork = options.allowPrivateNetwork ?? true;
  const serviceSecret = options.serviceSecret ?? ServiceKeys.generateSecret();
  const serviceKeys = serviceKeysFromSecret(serviceSecret);
  const { directory: tenants, admin: tenantAdmin } = createTenants(table, {
    serviceKeys,
    // Configs are held to the rule the runner applies to their URLs (SPEC §6).
    allowPrivateNetwork,
    ...(options.defaultTenant
      ? { processEnvTenant: { id: defaultTenantId, env: options.defaultTenant.env ?? process.env } }
      : {}),
  });
  if (options.defaultTenant) {
    await tenantAdmin.ensureDefaultTenant(
      defaultTenantId,
      options.defaultTenant.config,
      options.defaultTenant.apiKey,
    );
    if (options.defaultTenant.limits)
      await tenantAdmin.patchLimits(defaultTenantId, options.defaultTenant.limits);
  }
  const repo = table.tasks;

  // Completion webhooks: the same delivery code as the cloud's, driven here by timers and a poll
  // of the table's due deliveries (so a restart during a backoff still delivers).
  const webhookOptions = options.webhooks ?? {};
  const deliveries = new WebhookDeliveries(
    new DynamoWebhookStore(table.doc, options.tableName),
    repo,
    serviceKeys,
    log,
    {
      allowPrivateNetwork,
      ...(webhookOptions.retryScheduleMs ? { retryScheduleMs: webhookOptions.retryScheduleMs } : {}),
      ...(webhookOptions.timeoutMs !== undefined ? { timeoutMs: webhookOptions.timeoutMs } : {}),
    },
  );
  const webhookQueue = new TimerDeliveryQueue(deliveries, log);
  notifying.onTaskEnd((ref, task) => {
    deliveries
      .taskEnded(ref, task)
      .then((delivery) => (delivery ? webhookQueue.run(ref) : undefined))
      .catch((err: unknown) =>
        log.warn("webhook delivery not recorded", {
          tenant_id: ref.tenantId,
          task_id: ref.taskId,
          error: String(err),
        }),
      );
  });
  webhookQueue.start(webhookOptions.pollMs ?? 1000);
  const runnerDeps: RunnerDeps = createRunnerDeps(table, {
    tenants,
    settings: { ...DEFAULT_RUNNER_SETTINGS, ...options.runner },
    allowPrivateNetwork,
    log,
    createModel: options.createModel,
    modelMaxRetries: options.modelMaxRetries,
    onWriter: options.onWriter,
  });
  const capabilities = new TaskCapabilities(serviceSecret);
  const harnessChannel = await harnessChannels(table, { tenants, allowPrivateNetwork, log });
  // PrepareHarness mints the task's capability as in the cloud; RunHarness runs the CLI in process.
  const stepHandler = createStepHandler(runnerDeps, { capabilities: async () => capabilities });
  const harness = new LocalHarness({
    channel: harnessChannel,
    log,
    runner: { flushIntervalMs: options.runner?.flushIntervalMs ?? 1000, ...options.harness },
  });
  // An execution that reaches the model step for a harness agent (started without its kind).
  runnerDeps.runHarness = (ref) => harness.run(ref);
  const local = new LocalExecutions({
    handler: stepHandler,
    harness: { handler: harness.handler, stop: (taskId) => harness.stop(taskId) },
    ...(options.stateMachineDocument ? { definitionDocument: options.stateMachineDocument } : {}),
    ...(options.retryIntervalMs !== undefined ? { retryIntervalMs: options.retryIntervalMs } : {}),
    onEnd: (taskId, outcome) => {
      if (!outcome.ok) log.warn("execution ended with an error", { task_id: taskId, error: outcome.error });
    },
  });
  const executions = options.executions ?? local;
  const service = createTaskService(table, { executions, log, waitPollMs: options.waitPollMs ?? 250 });
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
    originPolicy: options.originPolicy ?? { hosts: LOOPBACK_HOSTS, origins: [] },
    // The internal routes a harness container reports through (as in the cloud), same channel.
    harness: {
      capabilities,
      channel: harnessChannel,
      limits: { repo, tenants },
    },
  });

  /**
   * Starts executions again for tasks that were pending or running when the process stopped: all
   * of them, each tenant's read page by page with the repository's cursor. Every ID is read before
   * any execution starts, so the moves those executions make (pending → running) cannot shift a
   * page under the reading.
   */
  async function resumeInterrupted(resume: { pageSize?: number } = {}): Promise<string[]> {
    const pageSize = resume.pageSize ?? RESUME_PAGE_SIZE;
    const resumed: string[] = [];
    for (const tenantId of await tenants.listIds()) {
      const ids = new Set<string>();
      for (const status of ["running", "pending"] as const) {
        for await (const task of tasksInStatus(repo, tenantId, status, pageSize)) ids.add(task.id);
      }
      const tenant = ids.size > 0 ? await tenants.get(tenantId) : null;
      for (const taskId of ids) {
        const task = await repo.get(tenantId, taskId, true);
        const agent = task ? tenant?.config.agents[task.agent] : undefined;
        if (agent && agentKind(agent) === "harness") {
          // A coding CLI's run is not resumed (SPEC §9): the task ends failed, saying why.
          if (task?.status === "running") {
            await repo.transition(tenantId, taskId, "failed", { error: INTERRUPTED_HARNESS_ERROR });
            continue;
          }
          await executions.start({ tenantId, taskId, kind: "harness" });
        } else {
          await executions.start({ tenantId, taskId, kind: "model" });
        }
        resumed.push(taskId);
      }
    }
    return resumed;
  }

  /** Ends or restarts tasks stuck open: the cloud's scheduled sweep, run here on a timer. */
  const sweep = (sweepOptions?: SweepOptions) =>
    sweepStuckTasks(
      {
        repo,
        executions,
        tenantIds: () => tenants.listIds(),
        agentKind: async (tenantId, name) => {
          const agent = (await tenants.get(tenantId))?.config.agents[name];
          return agent ? agentKind(agent) : "model";
        },
        log,
      },
      sweepOptions,
    );
  /** Task ends whose delivery a dead process never recorded (the sweep's webhook half). */
  const sweepWebhooks = () => sweepMissedTaskEnds({ repo, deliveries, tenantIds: () => tenants.listIds() });
  let sweeper: NodeJS.Timeout | undefined;

  return {
    app,
    /** The table's document client and name (tests read items through their own adapters). */
    table: { doc: table.doc, tableName: options.tableName },
    repo,
    service,
    tenantAdmin,
    tenants,
    executions: local,
    stepHandler,
    resumeInterrupted,
    sweep,
    webhooks: { deliveries, queue: webhookQueue, sweepMissed: sweepWebhooks },
    /** Sweeps every `intervalMs` until close(). */
    startSweeping(intervalMs: number): void {
      clearInterval(sweeper);
      sweeper = setInterval(() => {
        sweep().catch((err: unknown) => log.warn("sweep failed", { error: String(err) }));
        sweepWebhooks().catch((err: unknown) => log.warn("webhook sweep failed", { error: String(err) }));
      }, intervalMs);
      sweeper.unref();
    },
    harness,
    close: async () => {
      clearInterval(sweeper);
      await webhookQueue.close();
      local.abortAll();
      harness.stopAll();
      await harness.drain();
    },
  };
}

export type LocalRuntime = Awaited<ReturnType<typeof createLocalRuntime>>;
