import "./polyfills.js";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as z from "zod";
import { LOOPBACK_HOSTS } from "../functions/api/origin-guard.js";
import { parseAgentConfigText } from "../shared/agent-spec.js";
import { stepFunctionsExecutions } from "../shared/composition.js";
import { ConfigError, loadEnv } from "../shared/config.js";
import { readConfigSource } from "../shared/default-tenant.js";
import { InvalidConfigError } from "../shared/domain/errors.js";
import { createLogger } from "../shared/logger.js";
import { ServiceKeys } from "../shared/security/service-secret.js";
import { DataDirInUseError, lockDataDir, prepareDataDir } from "./data-dir.js";
import { type EmbeddedDynamo, JavaMissingError, startEmbeddedDynamo } from "./embedded-dynamodb.js";
import { listenOnLoopback, PortInUseError } from "./listen.js";
import { missingKeyWarnings } from "./missing-keys.js";
import { createLocalRuntime, type LocalRuntime } from "./runtime.js";

/** How often `npm start` sweeps for tasks stuck open (the cloud: every 5 minutes). */
const SWEEP_INTERVAL_MS = 60_000;

const EXAMPLE_CONFIG = fileURLToPath(new URL("../examples/local.yaml", import.meta.url));

/** The API key of the default tenant: BGA_API_KEY, or one generated once and kept in the data dir. */
function apiKeyFor(dataDir: string, fromEnv: string | undefined): { key: string; generated: boolean } {
  if (fromEnv) return { key: fromEnv, generated: false };
  const file = join(dataDir, "api-key");
  if (existsSync(file)) return { key: readFileSync(file, "utf8").trim(), generated: false };
  const key = `bga_${randomBytes(24).toString("base64url")}`;
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return { key, generated: true };
}

/** The service secret (keys API-key hashes and tenant-secret encryption), made once per data dir. */
function serviceSecret(dataDir: string): Buffer {
  const file = join(dataDir, "service-secret");
  if (existsSync(file)) return Buffer.from(readFileSync(file, "utf8").trim(), "base64");
  const secret = ServiceKeys.generateSecret();
  writeFileSync(file, `${secret.toString("base64")}\n`, { mode: 0o600 });
  return secret;
}

/**
 * BGA_WEBHOOK_RETRY_SCHEDULE_MS: the waits before each webhook retry, in milliseconds, separated
 * by commas (e.g. `2000,2000` for a test); default the Standard Webhooks schedule (5 s … 27.6 h).
 */
const RetryScheduleSchema = z
  .string()
  .regex(/^\d+(,\d+)*$/, "BGA_WEBHOOK_RETRY_SCHEDULE_MS is milliseconds separated by commas")
  .transform((text) => text.split(",").map(Number));

function webhookRetrySchedule(): number[] | undefined {
  const raw = process.env.BGA_WEBHOOK_RETRY_SCHEDULE_MS;
  if (!raw) return undefined;
  const parsed = RetryScheduleSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(z.prettifyError(parsed.error));
  return parsed.data;
}

/** What a failed start has to stop before exiting, so that no java is left behind. */
let startedDynamo: EmbeddedDynamo | undefined;

async function main(): Promise<void> {
  const env = loadEnv();
  const log = createLogger(env.BGA_LOG_LEVEL, "bga-local");
  prepareDataDir(env.BGA_DATA_DIR);
  const lock = lockDataDir(env.BGA_DATA_DIR);
  process.on("exit", () => lock.release());

  // The port first, before DynamoDB Local starts: a busy port fails at once and leaves nothing
  // behind. Requests that come before the runtime is ready wait for it (and for the resumption
  // of interrupted tasks), as they would in a slow start.
  let ready: (app: LocalRuntime["app"]) => void = () => {};
  const appReady = new Promise<LocalRuntime["app"]>((resolve) => {
    ready = resolve;
  });
  const server = await listenOnLoopback(env.PORT, async (request, bindings) =>
    (await appReady).fetch(request, bindings),
  );

  const configPath = env.BGA_CONFIG ?? EXAMPLE_CONFIG;
  const { key, generated } = apiKeyFor(env.BGA_DATA_DIR, env.BGA_API_KEY);
  const configYaml = readConfigSource(configPath);

  const dynamo: EmbeddedDynamo | undefined = env.BGA_DYNAMODB_ENDPOINT
    ? undefined
    : await startEmbeddedDynamo({ path: join(env.BGA_DATA_DIR, "dynamodb") });
  startedDynamo = dynamo;
  const endpoint = env.BGA_DYNAMODB_ENDPOINT ?? (dynamo as EmbeddedDynamo).endpoint;
  const retrySchedule = webhookRetrySchedule();
  const runtime = await createLocalRuntime({
    dynamodbEndpoint: endpoint,
    // Only the embedded DynamoDB Local takes fixed local credentials; the user's own DynamoDB
    // (BGA_DYNAMODB_ENDPOINT, possibly AWS) is signed with the SDK's default credential chain.
    dynamodbCredentials: dynamo ? "dynamodb-local" : "default-chain",
    region: env.AWS_REGION,
    tableName: env.BGA_TABLE_NAME,
    defaultTenant: { config: configYaml, apiKey: key },
    serviceSecret: serviceSecret(env.BGA_DATA_DIR),
    allowPrivateNetwork: env.BGA_ALLOW_PRIVATE_NETWORK ?? true,
    // It listens on loopback only: it answers to the loopback names, and browsers of other origins
    // only when BGA_ALLOWED_ORIGINS names them (DNS rebinding, SPEC §8).
    originPolicy: { hosts: LOOPBACK_HOSTS, origins: env.BGA_ALLOWED_ORIGINS },
    ...(env.BGA_ADMIN_TOKEN ? { adminToken: env.BGA_ADMIN_TOKEN } : {}),
    log,
    runner: { budgetMs: env.BGA_RUNNER_BUDGET_SECONDS * 1000 },
    webhooks: { ...(retrySchedule ? { retryScheduleMs: retrySchedule } : {}) },
    ...(env.BGA_STATE_MACHINE_ARN
      ? {
          executions: stepFunctionsExecutions({
            region: env.AWS_REGION,
            stateMachineArn: env.BGA_STATE_MACHINE_ARN,
          }),
        }
      : {}),
  });
  // The default tenant reads its provider keys from this process's environment: say at once
  // which are missing, rather than at each task's failure.
  for (const warning of missingKeyWarnings(await parseAgentConfigText(configYaml), process.env)) {
    process.stderr.write(`bga: warning: ${warning}\n`);
  }
  if (dynamo?.listensOn === "all-interfaces") {
    process.stderr.write(
      "bga: warning: DynamoDB Local listens on every interface, with no authentication: install a JDK " +
        "(apt-get install -y default-jdk-headless) so it listens on 127.0.0.1 only\n",
    );
  }
  const resumed = env.BGA_STATE_MACHINE_ARN ? [] : await runtime.resumeInterrupted();
  if (resumed.length) log.info("resumed tasks that were running at the last stop", { tasks: resumed });
  // As the cloud's scheduled sweep: no task stays pending or running without an execution.
  runtime.startSweeping(SWEEP_INTERVAL_MS);
  ready(runtime.app);

  const url = `http://127.0.0.1:${server.port}`;
  process.stdout.write(
    [
      `Background Agents Cloud (local) listening on ${url}`,
      `  MCP endpoint:  ${url}/mcp`,
      `  REST API:      ${url}/v1/tasks   (OpenAPI: ${url}/openapi.json)`,
      `  team console:  ${url}/console   (sign in with the API key below)`,
      `  agent config:  ${configPath}`,
      `  admin API:     ${env.BGA_ADMIN_TOKEN ? `${url}/v1/admin/tenants (BGA_ADMIN_TOKEN)` : "disabled (set BGA_ADMIN_TOKEN)"}`,
      `  data:          ${env.BGA_DATA_DIR}${dynamo ? " (embedded DynamoDB Local)" : ` (DynamoDB at ${endpoint})`}`,
      generated
        ? `  API key (generated, saved in ${join(env.BGA_DATA_DIR, "api-key")}): ${key}`
        : `  API key:       ${env.BGA_API_KEY ? "from BGA_API_KEY" : `in ${join(env.BGA_DATA_DIR, "api-key")}`}`,
      "",
    ].join("\n"),
  );

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    log.info("shutting down", { signal });
    server.close();
    // Running tasks keep their checkpoint and status; the next start resumes them.
    await runtime.close();
    await dynamo?.stop();
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

const ONE_LINE_ERRORS = [
  JavaMissingError,
  ConfigError,
  InvalidConfigError,
  DataDirInUseError,
  PortInUseError,
];

main().catch(async (err: unknown) => {
  if (ONE_LINE_ERRORS.some((type) => err instanceof type)) {
    process.stderr.write(`bga: ${(err as Error).message}\n`);
  } else {
    process.stderr.write(
      `bga: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
  }
  // The watchdog would end java anyway once we exit; stopping it here lets it close its file.
  await startedDynamo?.stop();
  process.exit(1);
});
