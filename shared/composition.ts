import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { createDynamoDocumentClient, createLocalDynamoDocumentClient } from "./adapters/dynamo/client.js";
import { DynamoTaskRepository } from "./adapters/dynamo/task-repository.js";
import { DynamoTenantDirectory } from "./adapters/dynamo/tenant-directory.js";
import { DynamoTenantStore } from "./adapters/dynamo/tenant-store.js";
import { DynamoWebhookStore } from "./adapters/dynamo/webhook-store.js";
import { LambdaExtensionSecrets } from "./adapters/secrets/lambda-extension-secrets.js";
import { createStepFunctionsClient, SfnExecutions } from "./adapters/sfn/sfn-executions.js";
import type { Env } from "./config.js";
import type { HarnessChannel } from "./harness/channel.js";
import type { Executions, Logger, MetricsSink, ModelFactory } from "./ports.js";
import { ServiceKeys } from "./security/service-secret.js";
import type { Limits, TenantDirectory } from "./tenants.js";
import type { RunnerDeps, RunnerSettings } from "./use-cases/run-agent.js";
import { TaskService } from "./use-cases/task-service.js";
import { TenantAdmin } from "./use-cases/tenant-admin.js";

/**
 * The composition root: the one place the service's parts are built and joined (the table and
 * its repositories, tenants, service keys, executions, the use cases, the runner's dependencies).
 * Each entry point calls these with its own settings: the API, runner and reconciler handlers
 * (functions/*\/handler.ts) and `npm start` and the tests (local/runtime.ts).
 *
 * Only what every entry point may load at a cold start is imported here: the model factory (with
 * the provider SDKs and the network guard behind it) loads with the first model a step builds,
 * the MCP SDK and the YAML parser on their first use, and the local state machine stays in local/.
 */

/** How the process reaches its DynamoDB. */
export type DynamoConnection =
  /** DynamoDB Local (the embedded store, tests, benches): fixed local credentials, no credential chain. */
  | { readonly kind: "dynamodb-local"; readonly endpoint: string }
  /**
   * A DynamoDB of an AWS account, signed with the SDK's default credential chain (Lambda's role,
   * the user's profile): the region's endpoint, or the one given.
   */
  | { readonly kind: "aws"; readonly region: string; readonly endpoint?: string | undefined };

export interface TableSettings {
  readonly connection: DynamoConnection;
  readonly tableName: string;
}

/** The service's one table: the process's document client and the task repository over it. */
export interface Table {
  readonly doc: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly tasks: DynamoTaskRepository;
}

/** Opens the table: one document client per process (per cold start), shared by every repository. */
export function openTable(settings: TableSettings): Table {
  const { connection, tableName } = settings;
  const doc =
    connection.kind === "dynamodb-local"
      ? createLocalDynamoDocumentClient(connection.endpoint)
      : createDynamoDocumentClient({ region: connection.region, endpoint: connection.endpoint });
  return { doc, tableName, tasks: new DynamoTaskRepository(doc, { tableName }) };
}

/** The table of a Lambda function, from its parsed environment. */
export function tableFromEnv(env: Env): Table {
  return openTable({
    tableName: env.BGA_TABLE_NAME,
    connection: { kind: "aws", region: env.AWS_REGION, endpoint: env.BGA_DYNAMODB_ENDPOINT },
  });
}

/**
 * Secrets Manager as Lambda functions read it: through the Parameters and Secrets extension, with
 * the session token and the port Lambda and the layer set in the environment.
 */
export function lambdaSecrets(): { getSecretString(secretId: string): Promise<string> } {
  return LambdaExtensionSecrets.fromEnv();
}

/** The service keys from the service secret as stored (ServiceKeys refuses fewer than 32 bytes). */
export function serviceKeysFromSecret(secret: string | Buffer): ServiceKeys {
  return new ServiceKeys(typeof secret === "string" ? Buffer.from(secret, "utf8") : secret);
}

export interface TenantSettings {
  /** Key the API-key hashes and the encryption of tenant secrets. */
  readonly serviceKeys: ServiceKeys;
  /**
   * The one tenant whose `${env.NAME}` and provider keys come from this environment: the local
   * default tenant. Never set in the cloud, where nothing resolves from the function's environment (SPEC §6).
   */
  readonly processEnvTenant?: { readonly id: string; readonly env: NodeJS.ProcessEnv } | undefined;
  /** Limits of new tenants (the stack's `defaultLimits`). @default {} (LimitsSchema's defaults) */
  readonly defaultLimits?: Partial<Limits> | undefined;
  /**
   * BGA_ALLOW_PRIVATE_NETWORK, as the runner of the same deployment has it: when false, a config
   * whose model `base_url` or MCP `remote.url` names a loopback, private or link-local IP, or
   * `localhost`, is refused when it is written (422), not only when a task runs. @default false
   */
  readonly allowPrivateNetwork?: boolean | undefined;
}

export interface Tenants {
  /** Tenants by API key (the API) and by ID (the runner), cached briefly. */
  readonly directory: DynamoTenantDirectory;
  /** The admin use cases; each change drops the directory's cached copy of the tenant. */
  readonly admin: TenantAdmin;
}

export function createTenants(table: Table, settings: TenantSettings): Tenants {
  const store = new DynamoTenantStore(table.doc, table.tableName);
  const directory = new DynamoTenantDirectory(store, settings.serviceKeys, {
    ...(settings.processEnvTenant
      ? { processEnvTenantId: settings.processEnvTenant.id, env: settings.processEnvTenant.env }
      : {}),
  });
  const admin = new TenantAdmin(store, settings.serviceKeys, (id) => directory.invalidate(id), {
    ...(settings.defaultLimits ? { defaultLimits: settings.defaultLimits } : {}),
    allowPrivateNetwork: settings.allowPrivateNetwork ?? false,
    // Its config comes from BGA_CONFIG at start: the admin API may not rewrite it (or its secrets).
    processEnvTenantId: settings.processEnvTenant?.id,
    webhooks: new DynamoWebhookStore(table.doc, table.tableName),
    runningCount: (tenantId) => table.tasks.runningCount(tenantId),
  });
  return { directory, admin };
}

/**
 * A directory built at its first use, and built again after a failed build: the runner reads the
 * service secret only when a step needs a tenant (recording a failed step needs none).
 */
export function lazyTenantDirectory(build: () => Promise<TenantDirectory>): TenantDirectory {
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

/** Executions of the task state machine on Step Functions (the SDK's default credential chain). */
export function stepFunctionsExecutions(settings: { region: string; stateMachineArn: string }): Executions {
  return new SfnExecutions(createStepFunctionsClient({ region: settings.region }), settings.stateMachineArn);
}

export interface TaskServiceSettings {
  /** Step Functions, or the local state machine runner. */
  readonly executions: Executions;
  readonly log: Logger;
  readonly metrics?: MetricsSink | undefined;
  /** How often `wait` reads the tasks it waits on. */
  readonly waitPollMs: number;
}

/** The task use cases behind every surface (MCP tools, REST, the tool gateway, nested dispatch). */
export function createTaskService(table: Table, settings: TaskServiceSettings): TaskService {
  return new TaskService(table.tasks, settings.executions, settings.log, {
    waitPollMs: settings.waitPollMs,
    ...(settings.metrics ? { metrics: settings.metrics } : {}),
  });
}

export interface RunnerDepsSettings {
  readonly tenants: TenantDirectory;
  /** The step's budget, flush timing and cut-offs (see DEFAULT_RUNNER_SETTINGS). */
  readonly settings: RunnerSettings;
  /** Whether model endpoints and remote MCP servers may be on loopback/private/link-local addresses. */
  readonly allowPrivateNetwork: boolean;
  readonly log: Logger;
  readonly metrics?: MetricsSink | undefined;
  /** The use cases, for nested dispatch (`background_agents`); absent when there is no state machine. */
  readonly service?: TaskService | undefined;
  /** Builds model clients. @default the provider SDKs (shared/adapters/models/) */
  readonly createModel?: ModelFactory | undefined;
  /** Retries the model SDK makes inside a step, before the state machine's own. @default the SDK's */
  readonly modelMaxRetries?: number | undefined;
  readonly onWriter?: RunnerDeps["onWriter"];
}

export interface HarnessChannelSettings {
  readonly tenants: Pick<TenantDirectory, "get">;
  /** Whether a harness's `workspace.git` may reach loopback/private/link-local addresses. */
  readonly allowPrivateNetwork: boolean;
  readonly log?: Logger | undefined;
}

/**
 * The repository-backed HarnessChannel of one task (SPEC §9): the local runner uses it in
 * process, and the API's internal harness routes answer the Fargate container with it. Its
 * module is loaded here, not at a cold start of the API.
 */
export async function harnessChannels(
  table: Pick<Table, "tasks">,
  settings: HarnessChannelSettings,
): Promise<(ref: { tenantId: string; taskId: string }) => HarnessChannel> {
  const { RepositoryHarnessChannel } = await import("./harness/repository-channel.js");
  return (ref) =>
    new RepositoryHarnessChannel(
      {
        repo: table.tasks,
        tenants: settings.tenants,
        allowPrivateNetwork: settings.allowPrivateNetwork,
        log: settings.log,
      },
      ref,
    );
}

/** The model factory, loaded on first use: the API and the reconciler never load it. */
const modelFactory = () => import("./adapters/models/model-factory.js");

/** What the runner step needs. Every model endpoint is checked before its client is built. */
export function createRunnerDeps(table: Table, settings: RunnerDepsSettings): RunnerDeps {
  const { allowPrivateNetwork, modelMaxRetries } = settings;
  // The model SDKs' requests go through the network guard unless private networks are allowed.
  const modelOptions = {
    allowPrivateNetwork,
    ...(modelMaxRetries !== undefined ? { maxRetries: modelMaxRetries } : {}),
  };
  const build: ModelFactory =
    settings.createModel ??
    (async (spec, credentials) => (await modelFactory()).createModelClient(spec, credentials, modelOptions));
  return {
    repo: table.tasks,
    tenants: settings.tenants,
    createModel: async (spec, credentials) => {
      // A missing secret or a refused endpoint fails here, before any work.
      await (await modelFactory()).assertModelEndpoint(spec, credentials, allowPrivateNetwork);
      return build(spec, credentials);
    },
    settings: settings.settings,
    allowPrivateNetwork,
    log: settings.log,
    ...(settings.metrics ? { metrics: settings.metrics } : {}),
    ...(settings.service ? { service: settings.service } : {}),
    ...(settings.onWriter ? { onWriter: settings.onWriter } : {}),
  };
}
