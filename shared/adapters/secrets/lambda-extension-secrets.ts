import { setTimeout as delay } from "node:timers/promises";
import * as z from "zod";
import { ConfigError } from "../../config.js";
import { lazy } from "../../lazy.js";

/** What the extension needs from a function's environment (set by Lambda and by the layer). */
const ExtensionEnvSchema = lazy(() =>
  z.object({
    /** The extension authenticates callers by the function's session token. */
    AWS_SESSION_TOKEN: z.string().min(1),
    PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: z.coerce.number().int().min(1).max(65_535).default(2773),
  }),
);

/** The part of a GetSecretValue result that is used: a text secret. */
const SecretValueSchema = lazy(() => z.object({ SecretString: z.string().min(1) }));

/** A secret could not be read; the message names the secret and why, never a secret value. */
export class SecretReadError extends Error {
  readonly code = "secret_unavailable";
  constructor(
    readonly secretId: string,
    readonly attempts: number,
    reason: string,
  ) {
    super(
      `could not read secret ${secretId} through the Parameters and Secrets extension (${attempts} attempt${attempts === 1 ? "" : "s"}): ${reason}`,
    );
    this.name = "SecretReadError";
  }
}

export interface LambdaExtensionSecretsOptions {
  /** The extension's port (PARAMETERS_SECRETS_EXTENSION_HTTP_PORT). */
  readonly port: number;
  /** This function's AWS_SESSION_TOKEN. */
  readonly sessionToken: string;
  /** Attempts per read. @default 5 */
  readonly attempts?: number;
  /** Pause after attempt n is n × this. @default 100 */
  readonly backoffMs?: number;
  /** Longest wait for one answer. @default 3000 */
  readonly timeoutMs?: number;
  /** How a pause is taken (tests pass their own). @default a timer */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Why a fetch failed, in a few words: `ECONNREFUSED`, a time-out, … */
function describeFetchError(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError")) {
    return `no answer within ${timeoutMs} ms`;
  }
  const cause =
    err instanceof Error ? (err.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  if (typeof cause?.code === "string") return cause.code;
  if (typeof cause?.message === "string") return cause.message;
  return err instanceof Error ? err.message : String(err);
}

/**
 * Reads Secrets Manager secrets through the AWS Parameters and Secrets Lambda extension (a layer
 * of the function, answering on localhost), so no secret value is ever in the environment. On a
 * cold start the extension may not answer yet: a few short retries cover that.
 */
export class LambdaExtensionSecrets {
  private readonly attempts: number;
  private readonly backoffMs: number;
  private readonly timeoutMs: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: LambdaExtensionSecretsOptions) {
    this.attempts = options.attempts ?? 5;
    this.backoffMs = options.backoffMs ?? 100;
    this.timeoutMs = options.timeoutMs ?? 3000;
    this.sleep = options.sleep ?? ((ms) => delay(ms));
    if (!Number.isInteger(this.attempts) || this.attempts < 1) {
      throw new RangeError(`attempts must be an integer ≥ 1 (got ${this.attempts})`);
    }
  }

  /** From the function's environment: the session token and the extension's port. */
  static fromEnv(
    env: NodeJS.ProcessEnv = process.env,
    options: Omit<LambdaExtensionSecretsOptions, "port" | "sessionToken"> = {},
  ): LambdaExtensionSecrets {
    const parsed = ExtensionEnvSchema().safeParse(env);
    if (!parsed.success) {
      throw new ConfigError(
        `invalid environment for the secrets extension:\n${z.prettifyError(parsed.error)}`,
      );
    }
    return new LambdaExtensionSecrets({
      ...options,
      port: parsed.data.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT,
      sessionToken: parsed.data.AWS_SESSION_TOKEN,
    });
  }

  /** The text value of a secret (its ARN or name); throws SecretReadError after the last attempt. */
  async getSecretString(secretId: string): Promise<string> {
    const url = `http://localhost:${this.options.port}/secretsmanager/get?secretId=${encodeURIComponent(secretId)}`;
    let reason = "";
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      let res: Response;
      try {
        res = await fetch(url, {
          headers: { "X-Aws-Parameters-Secrets-Token": this.options.sessionToken },
          signal: AbortSignal.timeout(this.timeoutMs),
        });
      } catch (err) {
        reason = describeFetchError(err, this.timeoutMs);
        if (attempt < this.attempts) await this.sleep(this.backoffMs * attempt);
        continue;
      }
      if (res.ok) {
        // A 2xx that is not a text secret will not get better: no retry. Its body may hold
        // the value, so it is never quoted.
        const parsed = SecretValueSchema().safeParse(await res.json().catch(() => undefined));
        if (parsed.success) return parsed.data.SecretString;
        throw new SecretReadError(secretId, attempt, "the answer holds no SecretString (a binary secret?)");
      }
      // An error answer names the fault (not ready yet, access denied, not found), never a value.
      const body = (await res.text().catch(() => "")).replace(/\s+/g, " ").trim().slice(0, 200);
      reason = `HTTP ${res.status}${body ? `: ${body}` : ""}`;
      if (attempt < this.attempts) await this.sleep(this.backoffMs * attempt);
    }
    throw new SecretReadError(secretId, this.attempts, reason);
  }
}
