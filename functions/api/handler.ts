import { Hono } from "hono";
import { type LambdaContext, streamHandle } from "hono/aws-lambda";
import * as z from "zod";
import packageJson from "../../package.json" with { type: "json" };
import { createPowertools } from "../../shared/adapters/observability/powertools.js";
import {
  createTaskService,
  createTenants,
  harnessChannels,
  lambdaSecrets,
  serviceKeysFromSecret,
  stepFunctionsExecutions,
  tableFromEnv,
} from "../../shared/composition.js";
import { ConfigError, loadEnv } from "../../shared/config.js";
import { lazy } from "../../shared/lazy.js";
import { LimitsPatchSchema } from "../../shared/tenants.js";
import { errorResponse } from "./errors.js";

/** Logger and metrics: once per cold start. */
const powertools = createPowertools("bga-api");

/** JSON text, parsed; text that is not JSON is an issue like any other. */
const JsonText = lazy(() =>
  z.string().transform((text, ctx): unknown => {
    try {
      return JSON.parse(text);
    } catch {
      ctx.addIssue({ code: "custom", message: "must be JSON" });
      return z.NEVER;
    }
  }),
);

/** What the API needs on AWS beyond shared/config.ts: set by infra/constructs/api-function.ts. */
const CloudEnvSchema = lazy(() =>
  z.object({
    BGA_STATE_MACHINE_ARN: z.string().startsWith("arn:"),
    /** The bearer token of the admin API. */
    BGA_ADMIN_TOKEN_SECRET_ARN: z.string().startsWith("arn:"),
    /** Keys the API-key hashes and the encryption of tenant secrets. */
    BGA_SERVICE_SECRET_ARN: z.string().startsWith("arn:"),
    /** Limits of new tenants (the stack's `defaultLimits` setting), JSON; absent: LimitsSchema's defaults. */
    BGA_DEFAULT_LIMITS: JsonText().pipe(LimitsPatchSchema).default({}),
  }),
);

/** As BGA_ADMIN_TOKEN locally. */
const MIN_ADMIN_TOKEN_LENGTH = 16;

/**
 * Builds the Hono app from the environment: once per cold start, like local/runtime.ts but with
 * no default tenant: every tenant is created through the admin API (SPEC §7).
 */
async function buildApp() {
  const env = loadEnv();
  const parsed = CloudEnvSchema().safeParse(process.env);
  if (!parsed.success) throw new ConfigError(`invalid environment:\n${z.prettifyError(parsed.error)}`);
  const cloud = parsed.data;
  const log = powertools.log;
  const secrets = lambdaSecrets();
  const [adminToken, serviceSecret] = await Promise.all([
    secrets.getSecretString(cloud.BGA_ADMIN_TOKEN_SECRET_ARN),
    secrets.getSecretString(cloud.BGA_SERVICE_SECRET_ARN),
  ]);
  if (adminToken.length < MIN_ADMIN_TOKEN_LENGTH) {
    throw new ConfigError(
      `the admin token (${cloud.BGA_ADMIN_TOKEN_SECRET_ARN}) must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters`,
    );
  }
  const table = tableFromEnv(env);
  // The routes, their validators and the OpenAPI descriptions: loaded with the first request, not
  // at a cold start (most of the API's zod schemas are built by these modules as they load).
  const [{ createApp }, { TaskCapabilities }] = await Promise.all([
    import("./app.js"),
    import("../../shared/security/task-capability.js"),
  ]);
  // No processEnvTenant: in the cloud nothing resolves from the server's environment (SPEC §6).
  // The generated service secret is 64 letters and digits.
  const tenants = createTenants(table, {
    serviceKeys: serviceKeysFromSecret(serviceSecret),
    defaultLimits: cloud.BGA_DEFAULT_LIMITS,
    // As the runner has it: a config naming a private host is refused when written (422).
    allowPrivateNetwork: env.BGA_ALLOW_PRIVATE_NETWORK ?? false,
  });
  const service = createTaskService(table, {
    executions: stepFunctionsExecutions({
      region: env.AWS_REGION,
      stateMachineArn: cloud.BGA_STATE_MACHINE_ARN,
    }),
    log,
    metrics: powertools.sink,
    waitPollMs: 1000,
  });
  return createApp({
    service,
    tenants: tenants.directory,
    admin: { service: tenants.admin, token: adminToken },
    log,
    ssePollMs: 1000,
    version: packageJson.version,
    // Any host (the Function URL answers only to its own name; CloudFront sends that name too);
    // browsers of other origins only when BGA_ALLOWED_ORIGINS names them (the custom domain does).
    originPolicy: { origins: env.BGA_ALLOWED_ORIGINS },
    // Harness containers report here with their task's capability (SPEC §9), keyed from the
    // service secret, which only the API and the runner (PrepareHarness mints them) can read.
    harness: {
      capabilities: new TaskCapabilities(serviceSecret),
      channel: await harnessChannels(table, {
        tenants: tenants.directory,
        allowPrivateNetwork: env.BGA_ALLOW_PRIVATE_NETWORK ?? false,
        log,
      }),
      limits: { repo: table.tasks, tenants: tenants.directory },
    },
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

/** What hono/aws-lambda's streamHandle passes as the env of each request. */
interface LambdaBindings {
  /** The invocation's Lambda context (absent outside Lambda). */
  context?: LambdaContext;
}

const startupLog = powertools.log;
const entry = new Hono<{ Bindings: LambdaBindings }>();
entry.onError((err, c) => {
  startupLog.error("the API could not start", { error: String(err) });
  return errorResponse(c, 503, "unavailable", "the service is starting or misconfigured; try again shortly");
});
// Each request is one invocation: its request ID on the log lines, its metrics published when
// the response starts (an SSE stream's are counted when it starts).
entry.all("*", (c) =>
  powertools.invocation(c.env.context, async () => (await app()).fetch(c.req.raw, c.env)),
);

/** Lambda entry point, streamed (SSE) over a Function URL with invoke mode RESPONSE_STREAM. */
export const handler = streamHandle(entry);
